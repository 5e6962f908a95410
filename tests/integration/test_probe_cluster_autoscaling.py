"""cluster_autoscaling probe (opt-in) on the sandbox with the real Karpenter and its kwok provider
(tests/sandbox/karpenter.py): the probe's pending GPU pod makes Karpenter launch a kwok GPU node, the real
scheduler puts the pod there, and afterwards the probe deletes the pod and the NodeClaim of that node.
Failing case: Karpenter stopped, so no node comes within the time limit. One sandbox of its own."""

from __future__ import annotations

import io
import os
import time

import pytest

from kubectl_aiconf.probe.plan import ProbeOptions
from kubectl_aiconf.probe.registry import BY_ID
from kubectl_aiconf.probe.suite import run_suite
from kubectl_aiconf.result import Reason, Status
from kubectl_aiconf.view.live import LiveView
from tests.integration.conftest import unavailable
from tests.sandbox import Sandbox, binaries
from tests.sandbox import karpenter as kp


@pytest.fixture(scope="module")
def karpenter(sandbox_binaries):
    try:
        kp.ensure(build=os.environ.get("AICONF_SANDBOX_BUILD", "1") != "0")
    except binaries.BinariesMissing as exc:
        unavailable(str(exc))
    sb = Sandbox(build=False, timeout=180, name="aiconf-scaleup")
    try:
        sb.start()
        k = kp.Karpenter(sb)
        k.start()
        k.apply_nodepool(kp.nodepool("gpu", family="gpu", limits={"cpu": "100", "nvidia.com/gpu": "8"}))
    except Exception as exc:  # noqa: BLE001 - the binaries are there, so this is a real failure
        sb.stop()
        pytest.fail(f"sandbox with Karpenter did not start: {exc}", pytrace=False)
    yield k
    k.close()
    sb.stop()


def probe(sb, timeout: float):
    view = LiveView.connect(str(sb.kubeconfig), None, 30)
    stream = io.StringIO()
    started = time.monotonic()
    options = ProbeOptions(timeout=timeout, allow_scale_up=True)  # what --allow-scale-up gives
    (record,) = run_suite(view, view.conn, [BY_ID["cluster_autoscaling"]], options, stream=stream)
    return record.result, time.monotonic() - started, stream.getvalue()


def test_not_without_allow_scale_up(karpenter):
    assert not BY_ID["cluster_autoscaling"].safe
    view = LiveView.connect(str(karpenter.sb.kubeconfig), None, 30)
    (record,) = run_suite(
        view, view.conn, [BY_ID["cluster_autoscaling"]], ProbeOptions(timeout=5), stream=io.StringIO()
    )
    assert record.result.status is Status.UNKNOWN and "--allow-scale-up" in record.result.message and not record.ran


def test_pending_gpu_pod_gets_a_new_node_and_it_is_removed(karpenter):
    result, seconds, log = probe(karpenter.sb, 60)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED, f"{result.message}\n{log}"
    assert "deleted NodeClaim" in log
    deadline = time.monotonic() + 60
    while karpenter.nodeclaims():  # the probe's NodeClaim, and with it the node, goes away
        assert time.monotonic() < deadline, (
            f"NodeClaims left: {[c['metadata']['name'] for c in karpenter.nodeclaims()]}"
        )
        time.sleep(1)
    print(f"\ncluster_autoscaling PASS in {seconds:.1f}s: {result.message}")


def test_no_scale_up_fails(karpenter):
    karpenter.stop()  # the last test of the module: the sandbox ends with it
    result, seconds, log = probe(karpenter.sb, 20)
    assert result.status is Status.FAIL and result.reason is Reason.PROBE_FAILED, f"{result.message}\n{log}"
    assert "within the 20s limit" in result.message
    print(f"\ncluster_autoscaling FAIL in {seconds:.1f}s: {result.message}")
