"""cluster_autoscaling probe: pool choice, the pod and verdicts on recorded pod states (testdata/probes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubectl_aiconf.probe import cluster_autoscaling as ca
from kubectl_aiconf.probe.plan import PlanError, ProbeOptions
from kubectl_aiconf.result import Reason, Status

DATA = Path(__file__).resolve().parents[1] / "testdata" / "probes" / "cluster_autoscaling"


def pools() -> list[dict]:
    return yaml.safe_load((DATA / "nodepools.yaml").read_text())


def test_gpu_pool_is_chosen_and_its_taint_tolerated():
    choice = ca.choose_pool(pools(), [])
    assert (choice.resource, choice.pool) == ("nvidia.com/gpu", "gpu")
    assert choice.tolerations == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    pod = ca.manifest("ns", choice, "busybox")
    assert pod["spec"]["nodeSelector"] == {"karpenter.sh/nodepool": "gpu"}
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"nvidia.com/gpu": "1"}


def test_without_karpenter_the_resource_comes_from_the_nodes():
    nodes = [
        {
            "metadata": {"name": "n"},
            "spec": {"taints": [{"key": "amd.com/gpu", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"amd.com/gpu": "8"}},
        }
    ]
    choice = ca.choose_pool([], nodes)
    assert (choice.resource, choice.pool) == ("amd.com/gpu", None)
    assert choice.tolerations == [{"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert ca.choose_pool([], []).resource == ca.DEFAULT_RESOURCE


def test_opt_in_only():
    with pytest.raises(PlanError, match="--allow-scale-up"):
        ca.plan(object(), ProbeOptions(namespace="ns"))


def pod(node: str | None) -> dict:
    return {"metadata": {"name": ca.POD}, "spec": {"nodeName": node} if node else {}, "status": {"phase": "Pending"}}


def test_a_new_node_for_the_pod_passes():
    result = ca.judge(pod("gpu-abc12"), {"cpu-1"}, ["gpu-abc12"], 60, 14, finished=False)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED and "gpu-abc12" in result.message


def test_an_existing_node_shows_nothing():
    assert ca.judge(pod("cpu-1"), {"cpu-1"}, [], 60, 3, finished=False).status is Status.UNKNOWN


def test_no_node_within_the_limit_fails():
    assert ca.judge(pod(None), {"cpu-1"}, [], 60, 10, finished=False) is None  # waits on
    result = ca.judge(pod(None), {"cpu-1"}, ["gpu-x"], 60, 60, finished=True)
    assert result.status is Status.FAIL and "within the 60s limit" in result.message and "gpu-x" in result.message


class Nodes:
    """Answers the node listing of the probe's cleanup (or refuses it)."""

    def __init__(self, provider: str | None = None, status: int = 0) -> None:
        self.provider, self.status = provider, status

    def request(self, method, path, query=None):
        from kubectl_aiconf.view.live import ApiError

        assert (method, path, query) == ("GET", "/api/v1/nodes", [("fieldSelector", "metadata.name=gpu-abc12")])
        if self.status:
            raise ApiError(self.status, "forbidden")
        return {"items": [{"metadata": {"name": "gpu-abc12"}, "spec": {"providerID": self.provider}}]}


def test_the_claim_that_launched_the_pods_node_is_found_by_name_or_provider_id():
    named = {"metadata": {"name": "gpu-abc12"}, "status": {"nodeName": "gpu-abc12"}}
    registering = {"metadata": {"name": "gpu-x"}, "status": {"providerID": "kwok://gpu-abc12"}}
    other = {"metadata": {"name": "gpu-y"}, "status": {"providerID": "kwok://other"}}
    claims = [named, registering, other]
    assert ca._claims_of_node(Nodes("kwok://gpu-abc12"), claims, "gpu-abc12") == [named, registering]
    assert ca._claims_of_node(Nodes(status=403), claims, "gpu-abc12") == [named]  # the name still matches
    assert ca._claims_of_node(Nodes("kwok://gpu-abc12"), claims, "") == []
