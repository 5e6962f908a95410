"""Trimming objects to the fields the checks keep (view.projector)."""

from __future__ import annotations

from kubectl_aiconf import resources as R
from kubectl_aiconf.view import Resource, projector


def _keep(*paths: str) -> Resource:
    return Resource("", "things", "Thing", True, keep=paths)


OBJ = {
    "apiVersion": "v1",
    "kind": "Thing",
    "metadata": {"name": "a", "namespace": "ns", "labels": {"x": "1"}, "uid": "u", "managedFields": [{"f": 1}]},
    "spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "E"}]}, "not-a-dict"], "other": 1},
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "Initialized", "status": "True", "lastTransitionTime": "t"},
            {"type": "Ready", "status": "False", "reason": "Crash", "lastTransitionTime": "t"},
        ],
    },
}


def test_identity_fields_are_always_kept_and_nothing_else():
    assert projector(_keep())(OBJ) == {
        "apiVersion": "v1",
        "kind": "Thing",
        "metadata": {"name": "a", "namespace": "ns", "labels": {"x": "1"}},
    }


def test_list_items_are_walked_and_non_objects_in_them_become_none():
    out = projector(_keep("spec.containers[].name"))(OBJ)
    assert out["spec"] == {"containers": [{"name": "c"}, None]}


def test_a_whole_list_is_copied_not_shared():
    out = projector(_keep("spec.containers[]"))(OBJ)
    assert out["spec"]["containers"] == OBJ["spec"]["containers"]
    assert out["spec"]["containers"] is not OBJ["spec"]["containers"]


def test_a_list_predicate_keeps_only_matching_items():
    out = projector(_keep("status.conditions[type=Ready].status", "status.conditions[type=Ready].reason"))(OBJ)
    assert out["status"] == {"conditions": [{"status": "False", "reason": "Crash"}]}


def test_a_whole_kept_parent_wins_over_its_children():
    out = projector(_keep("status", "status.phase"))(OBJ)
    assert out["status"] == OBJ["status"]


def test_missing_fields_and_fields_of_the_wrong_type_are_left_out():
    out = projector(_keep("spec.other.deeper", "status.nothing", "spec.containers[].env[].name"))(OBJ)
    assert out["spec"] == {"containers": [{"env": [{"name": "E"}]}, None]}
    assert out["status"] == {}  # the parent exists, none of the kept fields do


def test_nodes_and_pods_keep_their_ready_condition_only():
    node = {"kind": "Node", "status": {"conditions": OBJ["status"]["conditions"]}}
    kept = projector(R.NODES)(node)["status"]["conditions"]
    assert kept == [{"type": "Ready", "status": "False", "reason": "Crash"}]
    assert projector(R.PODS)(node)["status"]["conditions"] == kept


def test_a_presence_predicate_keeps_only_items_that_have_the_field():
    obj = {"spec": {"volumes": [{"name": "token", "projected": {}}, {"name": "dev", "hostPath": {"path": "/dev"}}]}}
    out = projector(_keep("spec.volumes[hostPath].name", "spec.volumes[hostPath].hostPath"))(obj)
    assert out["spec"]["volumes"] == [{"name": "dev", "hostPath": {"path": "/dev"}}]
