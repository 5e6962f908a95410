"""cluster_autoscaling on a real Karpenter (its kwok provider, tests/sandbox/karpenter.py): the verdicts as the
admin and as the limited user, a pending GPU pod that Karpenter really provisions a kwok GPU node for, and the
controller stopped. One sandbox of its own: Karpenter's CRDs and nodes would change other modules' verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import REPO, unavailable
from tests.sandbox import Sandbox, binaries
from tests.sandbox import karpenter as kp
from tests.sandbox.kube import request

VERSION = "1.36"
SCALE_UP_LIMIT = 60.0  # seconds from a pending GPU pod to it running on a node Karpenter made


@pytest.fixture(scope="module")
def karpenter(sandbox_binaries):
    try:
        kp.ensure(build=os.environ.get("AICONF_SANDBOX_BUILD", "1") != "0")
    except binaries.BinariesMissing as exc:
        unavailable(str(exc))
    sb = Sandbox(build=False, timeout=180, name="aiconf-karpenter")
    try:
        sb.start()
    except Exception as exc:  # noqa: BLE001 - binaries exist, so this is a real failure
        pytest.fail(f"sandbox did not start: {exc}", pytrace=False)
    k = kp.Karpenter(sb)
    try:
        k.start()
        yield k
    except kp.KarpenterError as exc:
        pytest.fail(f"karpenter did not start: {exc}", pytrace=False)
    finally:
        k.close()
        sb.stop()


def check(sb: Sandbox, context: str) -> dict:
    """The cluster_autoscaling result of `check -o json` run from the source tree."""
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", "check", "-o", "json", "--kubeconfig", str(sb.kubeconfig)]
        + ["--context", context, "--conformance-version", VERSION],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode in (0, 1, 3), proc.stderr
    (result,) = [r for r in json.loads(proc.stdout)["requirements"] if r["id"] == "cluster_autoscaling"]
    return result


def text_of(result: dict) -> str:
    return json.dumps(result)


def wait_running(sb: Sandbox, name: str, limit: float) -> tuple[dict, float]:
    client, t0 = sb.admin_client(), time.monotonic()
    pod: dict = {}
    while time.monotonic() < t0 + limit:
        pod = request(client, "GET", f"/api/v1/namespaces/default/pods/{name}")
        if (pod.get("status") or {}).get("phase") == "Running":
            break
        time.sleep(0.25)
    return pod, time.monotonic() - t0


# The tests run in this order on one Karpenter: NodePools accumulate, the controller is stopped last.
def test_cpu_only_nodepool_is_not_enough(karpenter):
    pool = karpenter.apply_nodepool(kp.nodepool("general", family="cpu"))
    conds = {c["type"]: c["status"] for c in pool["status"]["conditions"]}  # written by Karpenter itself
    assert conds["Ready"] == "True" and conds["NodeClassReady"] == "True" and conds["ValidationSucceeded"] == "True"
    result = check(karpenter.sb, "admin")
    assert result["status"] == "WARN", result
    assert result["message"] == (
        "Karpenter runs (karpenter/karpenter 1/1 available) with 1 NodePool, "
        "but no NodePool provisions accelerator nodes"
    )


def test_pending_gpu_pod_gets_a_karpenter_gpu_node(karpenter):
    """A NodePool that names no accelerator anywhere: only the GPU node Karpenter makes in it for a pending GPU
    pod shows that it provisions accelerators."""
    sb = karpenter.sb
    karpenter.apply_nodepool(kp.nodepool("open", family=None))
    before = check(sb, "admin")
    assert before["status"] == "WARN", before

    request(sb.admin_client(), "POST", "/api/v1/namespaces/default/pods", body=kp.gpu_pod("train-0", gpus=1))
    pod, took = wait_running(sb, "train-0", SCALE_UP_LIMIT)
    assert pod["status"].get("phase") == "Running", (
        f"not Running after {SCALE_UP_LIMIT:.0f}s: {pod.get('status')}\n{karpenter.proc.log_tail(30)}"
    )
    print(f"scale-up: the pending GPU pod ran on {pod['spec']['nodeName']} after {took:.1f}s")
    node = request(sb.admin_client(), "GET", f"/api/v1/nodes/{pod['spec']['nodeName']}")
    labels = node["metadata"]["labels"]
    assert labels["karpenter.sh/nodepool"] == "open"
    assert labels["type"] == "kwok"  # the NodePool's template label: what makes the sandbox's kwok run it
    assert labels["node.kubernetes.io/instance-type"] == "gpu-1x-amd64-linux"  # the cheapest type that fits
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    assert node["spec"]["providerID"].startswith("kwok://")
    assert not [t for t in node["spec"].get("taints") or [] if t["key"] == "karpenter.sh/unregistered"]
    # Karpenter's record of the node: Launched, Registered, Initialized and Ready (written moments after the pod runs)
    deadline, conds = time.monotonic() + 10, {}
    while time.monotonic() < deadline:
        claims = [c for c in karpenter.nodeclaims() if c["status"].get("nodeName") == node["metadata"]["name"]]
        conds = {c["type"]: c["status"] for claim in claims[:1] for c in claim["status"].get("conditions") or []}
        if all(conds.get(t) == "True" for t in ("Launched", "Registered", "Initialized", "Ready")):
            break
        time.sleep(0.25)
    assert all(conds.get(t) == "True" for t in ("Launched", "Registered", "Initialized", "Ready")), conds

    after = check(sb, "admin")
    assert after["status"] == "PASS", after
    assert "accelerator NodePools: NodePool open (holds accelerator nodes)" in after["message"]


def test_gpu_nodepool_passes_as_admin(karpenter):
    karpenter.apply_nodepool(kp.nodepool("gpu", family="gpu"))
    result = check(karpenter.sb, "admin")
    assert result["status"] == "PASS", result
    assert result["message"].startswith("Karpenter runs (karpenter/karpenter 1/1 available) with 3 NodePools;")
    assert "NodePool gpu (requirement karpenter.kwok.sh/instance-family In gpu)" in result["message"]
    facts = {(e["kind"], e["name"]): e["fact"] for e in result["evidence"]}
    assert facts[("Deployment", "karpenter/karpenter")] == "1/1 available"
    assert (
        facts[("NodePool", "gpu")] == "Ready=True, accelerators: requirement karpenter.kwok.sh/instance-family In gpu"
    )
    assert facts[("NodePool", "general")] == "Ready=True"


def test_limited_user_cannot_confirm(karpenter):
    # it sees the Deployment, but may not read NodePools, nodes or CRDs: never a PASS without them
    result = check(karpenter.sb, "limited")
    assert result["status"] == "UNKNOWN", result
    assert "NodePools could not be read" in result["message"]


def test_stopped_controller_does_not_pass(karpenter):
    karpenter.stop()
    pool = karpenter.get_nodepool("gpu")
    # what makes this variant matter: Karpenter's last word on its NodePools is still Ready=True
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in pool["status"]["conditions"])
    admin = check(karpenter.sb, "admin")
    assert admin["status"] == "FAIL", admin
    assert admin["message"].startswith("Karpenter controller is not healthy"), admin["message"]
    limited = check(karpenter.sb, "limited")
    # an autoscaler it may not see could still work, but what it sees is said
    assert limited["status"] == "UNKNOWN", limited
    assert limited["message"].startswith("Karpenter is installed but not healthy"), limited["message"]
