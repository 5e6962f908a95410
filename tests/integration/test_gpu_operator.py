"""The real NVIDIA GPU Operator (tests/sandbox/gpu_operator.py) on kwok GPU nodes: its ClusterPolicy reconciled to
`ready` by the operator; driver_runtime_management, accelerator_metrics and secure_accelerator_access as the admin
and as the limited user; and the operator stopped. One sandbox of its own: the operator's CRDs and DaemonSets would
change other modules' verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import REPO, unavailable
from tests.sandbox import Sandbox, binaries
from tests.sandbox import gpu_operator as gop
from tests.sandbox.kube import request

VERSION = "1.36"
CHECKED = ("driver_runtime_management", "accelerator_metrics", "secure_accelerator_access")


@pytest.fixture(scope="module")
def operator(sandbox_binaries):
    try:
        gop.ensure(build=os.environ.get("AICONF_SANDBOX_BUILD", "1") != "0")
    except binaries.BinariesMissing as exc:
        unavailable(str(exc))
    sb = Sandbox(build=False, timeout=180, name="aiconf-gpu-operator")
    try:
        sb.start()
    except Exception as exc:  # noqa: BLE001 - binaries exist, so this is a real failure
        pytest.fail(f"sandbox did not start: {exc}", pytrace=False)
    try:
        sb.wait_nodes_ready(sb.create_nodes(2, gpu=True))
        op = gop.GpuOperator(sb).start()
        op.apply_cluster_policy()
        yield op
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the GPU Operator did not reconcile its ClusterPolicy: {exc}", pytrace=False)
    finally:
        sb.stop()


def check(sb: Sandbox, context: str) -> dict[str, dict]:
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
    return {r["id"]: r for r in json.loads(proc.stdout)["requirements"] if r["id"] in CHECKED}


def test_the_operator_reconciles_its_operands(operator):
    client = operator.sb.admin_client()
    policy = request(client, "GET", f"/apis/nvidia.com/v1/clusterpolicies/{gop.POLICY}")
    conds = {c["type"]: c["status"] for c in policy["status"]["conditions"]}
    assert policy["status"]["state"] == "ready" and conds["Ready"] == "True", policy["status"]
    daemonsets = request(client, "GET", f"/apis/apps/v1/namespaces/{gop.NAMESPACE}/daemonsets")["items"]
    ready = {d["metadata"]["name"]: d["status"].get("numberReady") for d in daemonsets}
    for name in ("nvidia-container-toolkit-daemonset", "nvidia-device-plugin-daemonset", "nvidia-dcgm-exporter"):
        assert ready.get(name) == 2, ready  # one pod per GPU node, run by kwok
    node = request(client, "GET", "/api/v1/nodes/gpu-node-0")
    assert node["metadata"]["labels"].get("nvidia.com/gpu.deploy.device-plugin") == "true"  # the operator's label


def test_verdicts_as_admin_and_limited_user(operator):
    admin = check(operator.sb, "admin")
    assert admin["driver_runtime_management"]["status"] == "PASS", admin
    assert admin["driver_runtime_management"]["message"].startswith(f"ClusterPolicy {gop.POLICY}")
    assert admin["accelerator_metrics"]["status"] == "PASS", admin
    assert "gpu-operator/nvidia-dcgm-exporter 2/2 ready" in admin["accelerator_metrics"]["message"]
    # the operator's MPS control daemon runs on no node (none is set up for MPS): not a device plugin "not ready"
    access = admin["secure_accelerator_access"]
    assert access["status"] == "UNKNOWN" and "not ready" not in access["message"], access
    limited = check(operator.sb, "limited")  # may not list nodes: never a PASS without them
    assert {k: r["status"] for k, r in limited.items()} == dict.fromkeys(CHECKED, "UNKNOWN"), limited


def test_stopped_operator_does_not_pass(operator):
    operator.stop()
    policy = request(operator.sb.admin_client(), "GET", f"/apis/nvidia.com/v1/clusterpolicies/{gop.POLICY}")
    assert policy["status"]["state"] == "ready"  # its last word, which no one will update now
    admin = check(operator.sb, "admin")
    assert admin["driver_runtime_management"]["status"] == "WARN", admin
    assert "NVIDIA GPU Operator controller gpu-operator/gpu-operator" in admin["driver_runtime_management"]["message"]
    # the exporters it made still run and export: the metrics requirement still holds
    assert admin["accelerator_metrics"]["status"] == "PASS", admin
