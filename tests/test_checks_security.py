"""Security checks on hand-written fixtures: secure_accelerator_access, workload_sandboxing."""

from __future__ import annotations

import pytest
from conftest import names, facts, run_check

from kubectl_aiconf.result import Status


# secure_accelerator_access ----------------------------------------------------------------------------------
def access(case: str):
    return run_check(f"secure_accelerator_access/{case}", "secure_accelerator_access")


@pytest.mark.parametrize("case, status", [
    ("healthy", Status.UNKNOWN),  # passive checking never passes: only a probe can
    ("dra", Status.UNKNOWN),
    ("simulated", Status.UNKNOWN),
    ("risky", Status.WARN),
    ("unhealthy", Status.WARN),
    ("forbidden", Status.UNKNOWN),
    ("forbidden-nodes", Status.UNKNOWN),
    ("crds-only", Status.FAIL),
    ("absent", Status.FAIL),
])
def test_secure_accelerator_access_status(case, status):
    assert access(case).status is status


def test_secure_accelerator_access_device_plugin_mediation_needs_probe():
    r = access("healthy")
    assert "device plugin (nvidia.com/gpu)" in r.message and "--probe" in r.message
    assert "also on 1 more node" in facts(r, "gpu-a")
    assert facts(r, "gpu-operator/nvidia-device-plugin-daemonset") == "device plugin 2/2 ready"
    assert facts(r, "nvidia") == "handler nvidia (accelerator container runtime)"
    assert facts(r, "cluster-policy") == "CDI enabled"
    # The plugin's own privileged pod, the privileged CNI agent and a GPU pod that asked for GPUs are no risk.
    assert not any(e.kind == "Pod" for e in r.evidence)


def test_secure_accelerator_access_dra_mediation():
    r = access("dra")
    assert "DRA (gpu.nvidia.com)" in r.message and "--probe" in r.message
    assert "compute-domain.nvidia.com" not in r.message  # IMEX channels are not accelerators
    assert "DRA kubelet plugin 1/1 ready" in facts(r, "nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-kubelet-plugin")


def test_secure_accelerator_access_risk_indicators():
    r = access("risky")
    assert "1 pod with a hostPath device mount" in r.message
    assert "1 pod privileged without an accelerator request" in r.message
    assert "1 pod setting NVIDIA_VISIBLE_DEVICES without a request" in r.message
    assert facts(r, "team-a/debug-gpu") == "mounts hostPath /dev/nvidia0"
    assert "privileged on accelerator node gpu-a" in facts(r, "team-b/bench-7d9f-xk2")
    assert "NVIDIA_VISIBLE_DEVICES=all" in facts(r, "team-c/notebook")
    assert "team-b/finished-privileged" not in names(r)  # completed pods hold no device


def test_secure_accelerator_access_plugin_not_ready():
    r = access("unhealthy")
    assert "no accelerator resource is allocatable" in r.message
    assert facts(r, "gpu-operator/nvidia-device-plugin-daemonset") == "device plugin 0/1 ready"


def test_secure_accelerator_access_forbidden_names_permissions():
    assert "list pods in all namespaces" in access("forbidden").message
    assert "device plugin (nvidia.com/gpu)" in access("forbidden").message
    assert "list nodes (cluster scope)" in access("forbidden-nodes").message


def test_secure_accelerator_access_fails_without_mediation_or_accelerators():
    assert "nothing mediates access" in access("crds-only").message
    assert "cluster without accelerators cannot meet" in access("absent").message


def test_secure_accelerator_access_flags_simulated_devices():
    assert "only simulated or example devices" in access("simulated").message


# workload_sandboxing ----------------------------------------------------------------------------------------
def sandboxing(case: str):
    return run_check(f"workload_sandboxing/{case}", "workload_sandboxing", "1.37")


@pytest.mark.parametrize("case, status", [
    ("healthy", Status.PASS),
    ("kata", Status.PASS),
    ("agent-sandbox", Status.PASS),
    ("unhealthy", Status.WARN),
    ("crds-only", Status.WARN),
    ("forbidden", Status.UNKNOWN),
    ("forbidden-pods", Status.UNKNOWN),
    ("absent", Status.FAIL),
    ("misnamed", Status.FAIL),
])
def test_workload_sandboxing_status(case, status):
    assert sandboxing(case).status is status


def test_workload_sandboxing_gke_sandbox_nodes():
    r = sandboxing("healthy")
    assert "RuntimeClass gvisor (1 Ready node matches its nodeSelector, e.g. gke-sandbox-pool-1)" in r.message
    assert "sandbox.gke.io/runtime=gvisor" in facts(r, "gvisor")


def test_workload_sandboxing_kata_running_pod_and_installer():
    r = sandboxing("kata")
    assert "kata-qemu (1 pod running with it, e.g. agents/untrusted-job)" in r.message
    assert "installer kube-system/kata-deploy ready" in facts(r, "kata-qemu")
    assert facts(r, "kube-system/kata-deploy") == "sandbox runtime installer 1/1 ready"
    assert "nvidia" not in names(r)


def test_workload_sandboxing_agent_sandbox_controller():
    r = sandboxing("agent-sandbox")
    assert "agent-sandbox (agents.x-k8s.io) controller running" in r.message
    assert facts(r, "sandboxes.agents.x-k8s.io") == "Established"
    assert "agent-sandbox-system/agent-sandbox-controller" in names(r)


def test_workload_sandboxing_runtimeclass_without_runtime():
    r = sandboxing("unhealthy")
    assert "no node, pod or installer shows the runtime installed" in r.message
    # Overhead is reported, but is not taken as proof that a node runs the runtime; a Pending pod is not either.
    assert "declares pod overhead; no sign of the runtime on any node" in facts(r, "gvisor")


def test_workload_sandboxing_agent_sandbox_crds_only():
    r = sandboxing("crds-only")
    assert "installed but not running" in r.message and "no sandbox RuntimeClass" in r.message


def test_workload_sandboxing_forbidden_names_permissions():
    assert "list runtimeclasses.node.k8s.io (cluster scope)" in sandboxing("forbidden").message
    r = sandboxing("forbidden-pods")
    assert "list pods in all namespaces" in r.message and "gvisor" in names(r)


def test_workload_sandboxing_absent_and_misnamed():
    assert "(only 1 other RuntimeClass)" in sandboxing("absent").message
    r = sandboxing("misnamed")
    assert "handler runc runs containers on the host kernel" in facts(r, "sandboxed")
