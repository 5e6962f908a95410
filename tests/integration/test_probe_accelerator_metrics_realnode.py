"""accelerator_metrics probe on the sandbox's real node: the probe reads an exporter's page through the real
API server's pod proxy, from a pod that the real kubelet, containerd and runc run on the real node's pod
network. The exporter is a stand-in (tests/sandbox/exporter.py: busybox httpd serving a page in the DCGM
exporter's format), not NVIDIA's DCGM exporter: the node's GPUs are the test device plugin's fakes.

Passing case: one series per GPU the device plugin announces, for utilisation and memory. Failing cases: one
GPU's memory series missing; no memory metric at all.

Needs root and `tests/sandbox/build.sh real-node`; run under `flock /tmp/aiconf-realnode-tests.lock`.
"""

from __future__ import annotations

import io
import time

import pytest

from kubectl_aiconf.probe.plan import ProbeOptions
from kubectl_aiconf.probe.registry import BY_ID
from kubectl_aiconf.probe.suite import run_suite
from kubectl_aiconf.result import Reason, Status
from kubectl_aiconf.view.live import LiveView
from tests.integration.test_realnode import started_sandbox
from tests.sandbox import exporter
from tests.sandbox.kube import KubeError, exists, request
from tests.sandbox.realnode import DEVICE_PLUGIN_DEVICES, LABELS

DS_PATH = f"/apis/apps/v1/namespaces/{exporter.NAMESPACE}/daemonsets/{exporter.NAME}"


@pytest.fixture(scope="module")
def sb(sandbox_binaries):
    # The test device plugin makes the node's nvidia.com/gpu allocatable: the GPUs the exporter must cover.
    box = started_sandbox(lambda b: b.real_node.start_device_plugin(leaky=False))
    yield box
    box.stop()


def deploy(sb, broken: str = "") -> None:
    """The stand-in exporter (again), and wait until its pod on the real node is Running and serving."""
    client = sb.admin_client()
    deadline = time.monotonic() + 60
    try:
        request(client, "DELETE", DS_PATH, body={"propagationPolicy": "Foreground", "gracePeriodSeconds": 0})
        while exists(client, DS_PATH):  # the old one and its pod, gone first
            assert time.monotonic() < deadline, "the previous stand-in exporter was not deleted"
            time.sleep(0.5)
    except KubeError:
        pass
    node = sb.real_node
    objs = exporter.objects(LABELS, node.toleration(), node.probe_image, DEVICE_PLUGIN_DEVICES, node.name, broken)
    paths = {
        "Namespace": "/api/v1/namespaces",
        "DaemonSet": f"/apis/apps/v1/namespaces/{exporter.NAMESPACE}/daemonsets",
        "Service": f"/api/v1/namespaces/{exporter.NAMESPACE}/services",
    }
    for obj in objs:
        try:
            request(client, "POST", paths[obj["kind"]], body=obj)
        except KubeError as exc:
            if "already exists" not in str(exc).lower():  # the Namespace and Service of an earlier test
                raise
    while True:
        pods = request(client, "GET", f"/api/v1/namespaces/{exporter.NAMESPACE}/pods").get("items") or []
        running = [
            p
            for p in pods
            if p["status"].get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")
            and all(cs.get("ready") for cs in p["status"].get("containerStatuses") or [])
        ]
        if len(running) == 1 and len(pods) == 1:
            return
        assert time.monotonic() < deadline, f"the stand-in exporter did not run: {[p['status'] for p in pods]}"
        time.sleep(0.5)


def probe(sb):
    view = LiveView.connect(str(sb.kubeconfig), None, 30)
    stream = io.StringIO()
    started = time.monotonic()
    (record,) = run_suite(view, view.conn, [BY_ID["accelerator_metrics"]], ProbeOptions(timeout=30), stream=stream)
    return record.result, time.monotonic() - started, stream.getvalue()


def test_per_device_metrics_pass(sb):
    deploy(sb)
    result, seconds, log = probe(sb)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED, f"{result.message}\n{log}"
    assert f"DCGM_FI_DEV_GPU_UTIL for {DEVICE_PLUGIN_DEVICES} devices" in result.evidence[0].fact
    assert (
        f"/pods/{exporter.NAME}-" in result.evidence[0].name
        and f":{exporter.PORT}/proxy/metrics" in result.evidence[0].name
    )
    print(f"\naccelerator_metrics PASS in {seconds:.1f}s: {result.message}")


@pytest.mark.parametrize(
    "broken, said",
    [
        ("missing-device", f"covers {DEVICE_PLUGIN_DEVICES - 1} devices, the node has {DEVICE_PLUGIN_DEVICES}"),
        ("no-memory", "no memory metric"),
    ],
)
def test_broken_exporter_fails(sb, broken, said):
    deploy(sb, broken)
    result, seconds, log = probe(sb)
    assert result.status is Status.FAIL and result.reason is Reason.PROBE_FAILED, f"{result.message}\n{log}"
    assert said in result.message
    print(f"\naccelerator_metrics FAIL ({broken}) in {seconds:.1f}s: {result.message}")
