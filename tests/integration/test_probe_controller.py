"""robust_controller probe on the sandbox with the real KubeRay operator (tests/sandbox/components.py).

The sandbox's KubeRay runs without its admission webhook (no ValidatingWebhookConfiguration covers
RayClusters), so the probe shows reconciliation only and says so; the webhook decision is unit-tested on
recorded refusals (tests/test_probe_controller.py).
Passing case: the operator writes the probe RayCluster's status. Failing case: the operator is stopped, and
nothing writes it within the time limit. One sandbox of its own: KubeRay's CRDs would change other modules'
verdicts."""

from __future__ import annotations

import io
import time

import pytest

from kubectl_aiconf.probe.plan import ProbeOptions
from kubectl_aiconf.probe.registry import BY_ID
from kubectl_aiconf.probe.suite import run_suite
from kubectl_aiconf.result import Reason, Status
from kubectl_aiconf.view.live import LiveView
from tests.integration.conftest import unavailable
from tests.sandbox import Sandbox
from tests.sandbox import components as comps

NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
        "name": "kwok-cpu-0",
        "annotations": {"kwok.x-k8s.io/node": "fake"},
        "labels": {"type": "kwok", "kubernetes.io/hostname": "kwok-cpu-0", "kubernetes.io/os": "linux"},
    },
    "status": {
        "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
    },
}


@pytest.fixture(scope="module")
def kuberay(sandbox_binaries):
    built = [p for p in comps.missing() if "kuberay" in str(p)]
    if built:
        unavailable(f"KubeRay is not built: {built[0]} (tests/sandbox/build.sh components)")
    sb = Sandbox(build=False, timeout=180, name="aiconf-kuberay")
    try:
        sb.start()
        # A node for kwok to run the operator's placeholder pod and the RayCluster's head pod on.
        sb.apply_objects([NODE])
        c = comps.Components(sb)
        c.start("kuberay")
    except Exception as exc:  # noqa: BLE001 - the binaries are there, so this is a real failure
        sb.stop()
        pytest.fail(f"sandbox with KubeRay did not start: {exc}", pytrace=False)
    yield sb, c
    sb.stop()


def probe(sb, timeout: float):
    view = LiveView.connect(str(sb.kubeconfig), None, 30)
    stream = io.StringIO()
    started = time.monotonic()
    (record,) = run_suite(view, view.conn, [BY_ID["robust_controller"]], ProbeOptions(timeout=timeout), stream=stream)
    return record.result, time.monotonic() - started, stream.getvalue()


def test_kuberay_reconciles_the_probe_raycluster(kuberay):
    sb, _ = kuberay
    result, seconds, log = probe(sb, 60)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED, f"{result.message}\n{log}"
    assert "no validating webhook covers RayClusters" in result.message
    print(f"\nrobust_controller PASS in {seconds:.1f}s: {result.message}")


def test_stopped_operator_fails(kuberay):
    sb, c = kuberay
    c.stop("kuberay")
    try:
        result, seconds, log = probe(sb, 20)
    finally:
        c.start("kuberay")
    assert result.status is Status.FAIL and result.reason is Reason.PROBE_FAILED, f"{result.message}\n{log}"
    assert "wrote no status" in result.message
    print(f"\nrobust_controller FAIL in {seconds:.1f}s: {result.message}")
