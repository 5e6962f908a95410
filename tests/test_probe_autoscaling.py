"""pod_autoscaling probe: metric choice, manifests and verdicts on recorded HPA statuses (testdata/probes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubectl_aiconf.probe import autoscaling as pa
from kubectl_aiconf.result import Reason, Status

DATA = Path(__file__).resolve().parents[1] / "testdata" / "probes" / "pod_autoscaling"
GPU = pa.Metric("Pods", "DCGM_FI_DEV_GPU_UTIL")


def hpa(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text())


def test_prefers_an_accelerator_metric_per_pod():
    custom = ["namespaces/http_requests", "pods/http_requests", "pods/DCGM_FI_DEV_GPU_UTIL", "pods/aaa_total"]
    assert pa.choose_metric(custom, []) == (GPU, "")
    assert pa.choose_metric(["pods/aaa", "pods/vllm_num_requests_running"], [])[0] == pa.Metric(
        "Pods", "vllm_num_requests_running"
    )


def test_external_metrics_when_no_custom_per_pod_one():
    assert pa.choose_metric(["namespaces/x"], ["externalmetrics", "queue_depth"]) == (
        pa.Metric("External", "queue_depth"),
        "",
    )
    metric, why = pa.choose_metric(["namespaces/x"], ["externalmetrics"])
    assert metric is None and "no per-pod custom metric" in why
    assert "neither" in pa.choose_metric([], [])[1]
    assert pa.choose_metric([], [], "made_up") == (pa.Metric("Pods", "made_up"), "")


def test_plan_creates_a_deployment_and_an_hpa_that_cannot_scale():
    objects = pa.manifests("aiconf-probe-x", GPU, "busybox")
    deployment, autoscaler = objects
    assert (deployment["kind"], autoscaler["kind"]) == ("Deployment", "HorizontalPodAutoscaler")
    assert autoscaler["spec"]["metrics"] == [
        {
            "type": "Pods",
            "pods": {"metric": {"name": GPU.name}, "target": {"type": "AverageValue", "averageValue": pa.TARGET}},
        }
    ]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    spec = deployment["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] and spec["containers"][0]["securityContext"]["capabilities"] == {
        "drop": ["ALL"]
    }
    part = pa.make_part("aiconf-probe-x", GPU, "busybox")
    assert part.objects == objects
    assert ("create", "autoscaling", "horizontalpodautoscalers", "", "aiconf-probe-x") in part.permissions
    external = pa.manifests("n", pa.Metric("External", "queue_depth"), "busybox")[1]["spec"]["metrics"][0]
    assert external["type"] == "External" and external["external"]["metric"]["name"] == "queue_depth"


def test_current_value_passes():
    result = pa.judge(hpa("hpa-current.yaml"), GPU, 7)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED
    assert "= 42" in result.message and "ValidMetricFound" in result.evidence[0].fact


def test_a_value_of_another_metric_does_not_count():
    assert pa.judge(hpa("hpa-current.yaml"), pa.Metric("Pods", "other"), 7, finished=True).status is Status.UNKNOWN


@pytest.mark.parametrize(
    "fixture, said",
    [("hpa-api-missing.yaml", "could not find the requested resource"), ("hpa-api-down.yaml", "no known available")],
)
def test_metrics_api_not_answering_fails_at_once(fixture, said):
    result = pa.judge(hpa(fixture), GPU, 3, finished=False)
    assert result.status is Status.FAIL and result.reason is Reason.PROBE_FAILED
    assert said in result.message


@pytest.mark.parametrize("fixture", ["hpa-no-series.yaml", "hpa-new.yaml"])
def test_no_series_or_no_status_is_unknown_at_the_end(fixture):
    assert pa.judge(hpa(fixture), GPU, 3, finished=False) is None  # waits on
    result = pa.judge(hpa(fixture), GPU, 60, finished=True)
    assert result.status is Status.UNKNOWN and result.reason is Reason.PROBE_INCONCLUSIVE
    assert "within 60s" in result.message


def test_unreadable_hpa_is_unknown():
    assert pa.judge(None, GPU, 60).status is Status.UNKNOWN
