"""pod_autoscaling probe on the sandbox: the real kube-controller-manager's HPA controller reads a custom
metric through the real API server's aggregation from the sandbox's custom-metrics server (metrics_api.py).

Passing case: the ai-platform scenario's APIService is Available and the HPA gets the metric's value.
Failing case: the APIService points at a port nothing listens on (an adapter that is down), and the HPA
controller reports that the custom metrics API does not answer.
Also: without any metrics API the probe cannot run (UNKNOWN), and a metric the API does not serve never
makes a PASS."""

from __future__ import annotations

import io
import time

from kubectl_aiconf.probe import autoscaling
from kubectl_aiconf.probe.plan import ProbeOptions
from kubectl_aiconf.probe.registry import BY_ID
from kubectl_aiconf.probe.suite import run_suite
from kubectl_aiconf.result import Reason, Status
from kubectl_aiconf.view.live import LiveView
from tests.sandbox.kube import get, request

MERGE = "application/merge-patch+json"
APISERVICE = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.custom.metrics.k8s.io"


class Log(io.StringIO):
    """The progress lines; calls `on_done` once the probe has its verdict (before the namespace is deleted)."""

    def __init__(self, on_done=None):
        super().__init__()
        self.on_done = on_done

    def write(self, text: str) -> int:
        if self.on_done and "done in" in text:
            self.on_done()
            self.on_done = None
        return super().write(text)


def run(sandbox, timeout: float = 60, on_done=None):
    view = LiveView.connect(str(sandbox.kubeconfig), None, 30)
    stream = Log(on_done)
    started = time.monotonic()
    (record,) = run_suite(view, view.conn, [BY_ID["pod_autoscaling"]], ProbeOptions(timeout=timeout), stream=stream)
    return record, time.monotonic() - started, stream.getvalue()


def force_metric(monkeypatch, name: str) -> None:
    """Plan with `name` whatever the discovery says (as a plan made just before the API broke would)."""
    metric = autoscaling.Metric("Pods", name)
    monkeypatch.setattr(autoscaling, "plan", lambda view, o: autoscaling.make_part(o.namespace, metric, o.image))


def test_hpa_reads_the_custom_metric(sandbox):
    sandbox.use_scenario("ai-platform")
    record, seconds, log = run(sandbox)
    result = record.result
    assert result.status is Status.PASS, f"{result.message}\n{log}"
    assert result.reason is Reason.PROBE_PASSED
    assert "DCGM_FI_DEV_GPU_UTIL = 42" in result.message  # the sandbox server's constant for that metric
    assert seconds < 60, log
    print(f"\npod_autoscaling PASS in {seconds:.1f}s")


def test_metric_the_api_does_not_serve_is_never_a_pass(sandbox, monkeypatch):
    sandbox.use_scenario("ai-platform")
    force_metric(monkeypatch, "aiconf_not_served")
    record, _, log = run(sandbox, timeout=30)
    assert record.result.status is Status.UNKNOWN, log
    assert "could not find the metric aiconf_not_served" in record.result.message, log


def test_adapter_down_fails(sandbox, monkeypatch):
    sandbox.use_scenario("ai-platform")
    client = sandbox.admin_client()
    port = get(client, APISERVICE)["spec"]["service"]["port"]
    force_metric(monkeypatch, "DCGM_FI_DEV_GPU_UTIL")

    def serve(port: int) -> None:
        request(client, "PATCH", APISERVICE, body={"spec": {"service": {"port": port}}}, content_type=MERGE)

    serve(1)
    try:
        # Back as soon as the verdict is in: an unavailable aggregated API blocks namespace deletion.
        record, seconds, log = run(sandbox, on_done=lambda: serve(port))
    finally:
        serve(port)
    result = record.result
    assert result.status is Status.FAIL and result.reason is Reason.PROBE_FAILED, f"{result.message}\n{log}"
    assert "cannot get the custom per-pod metric DCGM_FI_DEV_GPU_UTIL" in result.message
    print(f"\npod_autoscaling FAIL in {seconds:.1f}s: {result.message}")


def test_no_metrics_api_cannot_run(sandbox):
    sandbox.use_scenario("bare")
    record, _, log = run(sandbox)
    assert record.result.status is Status.UNKNOWN and not record.ran, log
    assert "neither custom.metrics.k8s.io nor external.metrics.k8s.io is served" in record.result.message
