"""robust_controller probe: webhook discovery, manifests and verdicts on recorded RayCluster states
(testdata/probes)."""

from __future__ import annotations

from pathlib import Path

import yaml

from kubectl_aiconf.probe import controller as rc
from kubectl_aiconf.result import Reason, Status

DATA = Path(__file__).resolve().parents[1] / "testdata" / "probes" / "robust_controller"
WEBHOOK_DENIED = (
    '422 Unprocessable Entity: admission webhook "vraycluster.kb.io" denied the request: '
    "worker group names must be unique"
)


def load(name: str):
    return yaml.safe_load((DATA / name).read_text())


def test_finds_the_webhook_that_covers_rayclusters():
    assert rc.webhooks_for(load("webhooks.yaml")) == [
        ("kuberay-validating-webhook-configuration/vraycluster.kb.io", True)
    ]
    assert rc.webhooks_for(load("webhooks.yaml")[1:]) == []


def test_manifests_a_head_only_cluster_and_one_with_duplicate_groups():
    valid, invalid = rc.manifests("ns", "busybox")
    assert [g["groupName"] for g in valid["spec"]["workerGroupSpecs"]] == ["workers"]
    assert [g["groupName"] for g in invalid["spec"]["workerGroupSpecs"]] == ["same", "same"]
    assert all(g["replicas"] == 0 for g in valid["spec"]["workerGroupSpecs"])
    head = valid["spec"]["headGroupSpec"]["template"]["spec"]
    assert head["securityContext"]["runAsNonRoot"] and head["containers"][0]["image"] == "busybox"


def test_reconciled_and_refused_by_the_webhook_passes():
    hooks = rc.webhooks_for(load("webhooks.yaml"))
    invalid = rc.judge_invalid(WEBHOOK_DENIED, hooks)
    result = rc.judge(load("raycluster-reconciled.yaml"), invalid, 3, finished=False)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED
    assert "HeadPodReady=False" in result.message and "its webhook refused" in result.message


def test_webhook_admitting_the_invalid_cluster_fails():
    invalid = rc.judge_invalid(None, [("kuberay/vraycluster.kb.io", True)])
    result = rc.judge(load("raycluster-reconciled.yaml"), invalid, 3, finished=False)
    assert result.status is Status.FAIL and "admitted a RayCluster with duplicate" in result.message


def test_a_webhook_that_may_be_skipped_or_cannot_be_called_shows_nothing():
    # The ai-platform scenario's webhook has no server and failurePolicy Ignore: the API server lets it through.
    hooks = rc.webhooks_for(load("webhooks.yaml"))
    hooks = [(name, False) for name, _ in hooks]
    assert rc.judge_invalid(None, hooks)[0] == "NONE"
    result = rc.judge(load("raycluster-reconciled.yaml"), rc.judge_invalid(None, hooks), 3, finished=False)
    assert result.status is Status.PASS and "failurePolicy Ignore" in result.message
    refused = 'Internal error occurred: failed calling webhook "vraycluster.kb.io": connection refused'
    assert rc.judge_invalid(refused, [(hooks[0][0], True)])[0] == "NONE"


def test_without_a_webhook_only_reconciliation_is_shown_and_said():
    invalid = rc.judge_invalid(None, [])
    result = rc.judge(load("raycluster-reconciled.yaml"), invalid, 3, finished=False)
    assert result.status is Status.PASS and "no validating webhook covers RayClusters" in result.message
    schema = rc.judge_invalid("422 Unprocessable Entity: spec.workerGroupSpecs[1]: Duplicate value", [])
    assert schema[0] == "NONE" and "not a webhook" in schema[1]


def test_no_status_is_a_failure_only_at_the_end():
    obj = load("raycluster-reconciled.yaml")
    obj["status"] = {}
    invalid = rc.judge_invalid(None, [])
    assert rc.judge(obj, invalid, 3, finished=False) is None  # waits on
    result = rc.judge(obj, invalid, 60, finished=True)
    assert result.status is Status.FAIL and "within 60s" in result.message
