"""gang_scheduling probe on the sandbox with the real Kueue controller (tests/sandbox/components.py) and the
real scheduler; kwok runs the pods on a kwok node.

Passing case: a ClusterQueue with 2 CPUs; the probe's gang of two 10m pods is admitted and both start, its
gang of two 1001m pods (one would fit, two cannot) is held by Kueue and none of its pods exists.
Failing case: the same gang that cannot fit, judged after the ClusterQueue's quota was raised while the probe
ran, so that Kueue admits it and its pods start: the probe must see them.
One sandbox of its own: Kueue's CRDs would change other modules' verdicts."""

from __future__ import annotations

import io
import threading
import time

import pytest

from kubectl_aiconf.probe import gang
from kubectl_aiconf.probe.plan import ProbeOptions
from kubectl_aiconf.probe.registry import BY_ID
from kubectl_aiconf.probe.suite import run_suite
from kubectl_aiconf.result import Reason, Status
from kubectl_aiconf.view.live import LiveView
from tests.integration.conftest import unavailable
from tests.sandbox import Sandbox
from tests.sandbox import components as comps
from tests.sandbox.kube import request

CQ = "aiconf-test-cq"
CQ_PATH = f"/apis/kueue.x-k8s.io/v1beta2/clusterqueues/{CQ}"


def cluster_objects(cpu: str) -> list[dict]:
    return [
        {
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
        },
        {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "default-flavor"}},
        {
            "apiVersion": "kueue.x-k8s.io/v1beta2",
            "kind": "ClusterQueue",
            "metadata": {"name": CQ},
            "spec": {
                "namespaceSelector": {},
                "resourceGroups": [
                    {
                        "coveredResources": ["cpu", "memory"],
                        "flavors": [
                            {
                                "name": "default-flavor",
                                "resources": [
                                    {"name": "cpu", "nominalQuota": cpu},
                                    {"name": "memory", "nominalQuota": "8Gi"},
                                ],
                            }
                        ],
                    }
                ],
            },
        },
    ]


@pytest.fixture(scope="module")
def kueue(sandbox_binaries):
    built = [p for p in comps.missing() if "kueue" in str(p)]
    if built:
        unavailable(f"Kueue is not built: {built[0]} (tests/sandbox/build.sh components)")
    sb = Sandbox(build=False, timeout=180, name="aiconf-gang")
    try:
        sb.start()
        objs = cluster_objects("2")
        sb.apply_objects(objs[:1])  # the node first: kwok runs the controller's placeholder pod there
        c = comps.Components(sb)
        c.start("kueue")
        sb.apply_objects(objs[1:])
        c.wait_for("ClusterQueue Active", CQ_PATH, lambda o: comps.condition_true(o, "Active"))
    except Exception as exc:  # noqa: BLE001 - the binaries are there, so this is a real failure
        sb.stop()
        pytest.fail(f"sandbox with Kueue did not start: {exc}", pytrace=False)
    yield sb
    sb.stop()


def probe(sb, timeout: float = 60, stream=None):
    view = LiveView.connect(str(sb.kubeconfig), None, 30)
    stream = stream or io.StringIO()
    started = time.monotonic()
    (record,) = run_suite(view, view.conn, [BY_ID["gang_scheduling"]], ProbeOptions(timeout=timeout), stream=stream)
    return record.result, time.monotonic() - started, stream.getvalue()


def test_kueue_starts_the_gang_that_fits_and_holds_the_one_that_cannot(kueue):
    result, seconds, log = probe(kueue)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED, f"{result.message}\n{log}"
    assert f"ClusterQueue {CQ}" in result.message and "insufficient quota" in result.message
    assert seconds < 60, log
    print(f"\ngang_scheduling PASS in {seconds:.1f}s: {result.message}")


def test_gang_admitted_beyond_the_quota_fails(kueue, monkeypatch):
    # The probe plans against the 2-CPU queue; once its jobs exist the quota is raised, so Kueue admits the
    # gang the probe planned as one that cannot fit, as a gang scheduler that ignored its quota would.
    client = kueue.admin_client()
    monkeypatch.setattr(gang, "OVER_GRACE", 20.0)

    class Raise(io.StringIO):
        def write(self, text):
            if f"created Job {gang.OVER}" in text:
                threading.Thread(target=set_quota, args=("100",), daemon=True).start()
            return super().write(text)

    def set_quota(cpu: str) -> None:
        body = {"spec": {"resourceGroups": cluster_objects(cpu)[2]["spec"]["resourceGroups"]}}
        request(client, "PATCH", CQ_PATH, body=body, content_type="application/merge-patch+json")

    try:
        result, seconds, log = probe(kueue, stream=Raise())
    finally:
        set_quota("2")
    assert result.status is Status.FAIL and result.reason is Reason.PROBE_FAILED, f"{result.message}\n{log}"
    assert "admitted the gang that cannot fit" in result.message or "started" in result.message
    print(f"\ngang_scheduling FAIL in {seconds:.1f}s: {result.message}")


def test_no_usable_queue_cannot_run(kueue):
    client = kueue.admin_client()
    request(
        client,
        "PATCH",
        CQ_PATH,
        body={"spec": {"namespaceSelector": {"matchLabels": {"team": "x"}}}},
        content_type="application/merge-patch+json",
    )
    try:
        result, _, log = probe(kueue)
    finally:
        request(
            client,
            "PATCH",
            CQ_PATH,
            body={"spec": {"namespaceSelector": {}}},
            content_type="application/merge-patch+json",
        )
    assert result.status is Status.UNKNOWN and "does not admit the probe namespace" in result.message, log
