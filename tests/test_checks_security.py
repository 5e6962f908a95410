"""Security checks on hand-written fixtures: secure_accelerator_access, workload_sandboxing."""

from __future__ import annotations

import pytest

from conftest import TESTDATA, facts, names, run_check
from kubectl_aiconf.catalogue import BY_ID
from kubectl_aiconf.checks import check_for
from kubectl_aiconf.resources import (
    CLUSTERPOLICIES,
    CRDS,
    DAEMONSETS,
    DEPLOYMENTS,
    NODES,
    PODS,
    RESOURCESLICES,
    RUNTIMECLASSES,
)
from kubectl_aiconf.result import Reason, Status
from kubectl_aiconf.view import Listing, Outcome
from kubectl_aiconf.view.snapshot import SnapshotView


def run_forbidden(fixture: str, requirement_id: str, res):
    """The result of `requirement_id` on a fixture with one more listing forbidden."""
    view = SnapshotView(TESTDATA / "checks" / fixture, "1.37")
    view._listings[res.key] = Listing(res, Outcome.FORBIDDEN, detail="forbidden")  # load() keeps it
    check = check_for(requirement_id, BY_ID[requirement_id].category)
    view.load(check.reads)
    return check.run(view)


# secure_accelerator_access ----------------------------------------------------------------------------------
def access(case: str):
    return run_check(f"secure_accelerator_access/{case}", "secure_accelerator_access")


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", Status.UNKNOWN, Reason.NEEDS_PROBE),  # passive checking never passes: only a probe can
        ("dra", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("dra-idle-plugin", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("idle-plugin", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("dra-example", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("system-namespace-pod", Status.UNKNOWN, Reason.NEEDS_PROBE),  # a privileged add-on in a *-system namespace
        ("dra-claim-env", Status.UNKNOWN, Reason.NEEDS_PROBE),  # NVIDIA_VISIBLE_DEVICES beside a DRA claim
        ("plugin-namespace-helper", Status.UNKNOWN, Reason.NEEDS_PROBE),  # the device plugin's namespace is infra
        ("simulated", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("amd", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("intel", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("risky", Status.WARN, Reason.NOT_MET),
        ("amd-risky", Status.WARN, Reason.NOT_MET),
        ("intel-risky", Status.WARN, Reason.NOT_MET),
        ("other-vendors-risky", Status.WARN, Reason.NOT_MET),
        ("network-request-risky", Status.WARN, Reason.NOT_MET),
        ("unhealthy", Status.WARN, Reason.UNHEALTHY),
        ("forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
        ("forbidden-nodes", Status.UNKNOWN, Reason.FORBIDDEN),
        ("forbidden-slices", Status.UNKNOWN, Reason.FORBIDDEN),
        ("forbidden-daemonsets", Status.UNKNOWN, Reason.FORBIDDEN),
        ("plugin-forbidden-slices", Status.UNKNOWN, Reason.FORBIDDEN),
        ("risky-forbidden-workloads", Status.UNKNOWN, Reason.FORBIDDEN),
        ("crds-only", Status.FAIL, Reason.NOT_INSTALLED),
        ("absent", Status.FAIL, Reason.NO_ACCELERATORS),
    ],
)
def test_secure_accelerator_access_status(case, status, reason):
    r = access(case)
    assert (r.status, r.reason) == (status, reason), r.message


# Verdicts that rest on what was read, beside a listing that only adds evidence or is not needed for them.
@pytest.mark.parametrize(
    "case, res, status, reason",
    [
        ("absent", RUNTIMECLASSES, Status.FAIL, Reason.NO_ACCELERATORS),
        ("absent", DAEMONSETS, Status.FAIL, Reason.NO_ACCELERATORS),
        ("crds-only", CLUSTERPOLICIES, Status.FAIL, Reason.NOT_INSTALLED),
        ("crds-only", PODS, Status.FAIL, Reason.NOT_INSTALLED),
        ("unhealthy", RUNTIMECLASSES, Status.WARN, Reason.UNHEALTHY),
        ("risky", RESOURCESLICES, Status.WARN, Reason.NOT_MET),
        ("risky", CLUSTERPOLICIES, Status.WARN, Reason.NOT_MET),
    ],
)
def test_secure_accelerator_access_holds_beside_what_it_does_not_rest_on(case, res, status, reason):
    r = run_forbidden(f"secure_accelerator_access/{case}", "secure_accelerator_access", res)
    assert (r.status, r.reason) == (status, reason), r.message


def test_secure_accelerator_access_a_plugin_scheduled_nowhere_is_not_called_not_ready():
    r = access("idle-plugin")
    assert "not ready" not in r.message, r.message  # was: "device plugin ...-mps-control-daemon not ready"
    assert facts(r, "gpu-operator/nvidia-device-plugin-mps-control-daemon") == "device plugin scheduled on no node"
    assert facts(r, "gpu-operator/nvidia-device-plugin-daemonset") == "device plugin 2/2 ready"


def test_secure_accelerator_access_device_plugin_mediation_needs_probe():
    r = access("healthy")
    assert "device plugin (nvidia.com/gpu)" in r.message
    assert "not ready" not in r.message and "simulated" not in r.message
    assert "also on 1 more node" in facts(r, "gpu-a")
    assert facts(r, "gpu-operator/nvidia-device-plugin-daemonset") == "device plugin 2/2 ready"
    assert facts(r, "nvidia") == "handler nvidia (NVIDIA container runtime)"
    assert facts(r, "cluster-policy") == "CDI enabled"
    # The plugin's own privileged pod, the privileged CNI agent, a GPU pod that asked for GPUs and a helper pod
    # in the namespace of Node Feature Discovery are no risk.
    assert not any(e.kind == "Pod" for e in r.evidence)


def test_secure_accelerator_access_dra_mediation():
    r = access("dra")
    assert "DRA (gpu.nvidia.com)" in r.message
    assert "compute-domain.nvidia.com" not in r.message  # IMEX channels are not accelerators
    assert "simulated" not in r.message
    assert "DRA kubelet plugin 1/1 ready" in facts(r, "nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-kubelet-plugin")


def test_secure_accelerator_access_an_idle_device_plugin_beside_dra_is_a_note():
    r = access("dra-idle-plugin")
    assert "DRA (gpu.nvidia.com)" in r.message
    assert "device plugin gpu-operator/nvidia-device-plugin-daemonset not ready" in r.message
    assert facts(r, "gpu-operator/nvidia-device-plugin-daemonset") == "device plugin 0/1 ready"


def test_secure_accelerator_access_unreadable_slices_never_blame_the_device_plugin():
    # The same cluster as dra-idle-plugin: without the slices, DRA may be what mediates access.
    r = access("forbidden-slices")
    assert r.message.startswith("1 accelerator node without an allocatable accelerator resource")
    assert "list resourceslices.resource.k8s.io" in r.message
    assert "no accelerator resource is allocatable" not in r.message


def test_secure_accelerator_access_risk_indicators():
    r = access("risky")
    assert facts(r, "gpu-a") == "nvidia.com/gpu allocatable (device plugin registered)"
    assert facts(r, "team-a/debug-gpu") == "mounts hostPath /dev/nvidia0"
    assert "privileged on accelerator node gpu-a" in facts(r, "team-b/bench-7d9f-xk2")
    assert "NVIDIA_VISIBLE_DEVICES=all" in facts(r, "team-c/notebook")
    assert "team-b/finished-privileged" not in names(r)  # completed pods hold no device
    # An accelerator-stack image, a node agent (DaemonSet) and NVIDIA_VISIBLE_DEVICES=void are no risk.
    assert not {"monitoring/dcgm-exporter-5c8d-q2x", "monitoring/node-agent-7hq2k", "team-d/cpu-job"} & names(r)


def test_secure_accelerator_access_other_vendors_mediated():
    r = access("amd")
    assert "device plugin (amd.com/cpx_nps4, amd.com/gpu)" in r.message  # partitions mediate too
    assert facts(r, "amd") == "handler amd (AMD container runtime)"
    # The operator's exporter mounting /dev/kfd, privileged or AMD_VISIBLE_DEVICES workloads with a request, and
    # AMD_VISIBLE_DEVICES=none are no risk.
    assert not any(e.kind == "Pod" for e in r.evidence)
    r = access("intel")
    assert facts(r, "inteldeviceplugins-system/intel-gpu-plugin-gpudeviceplugin") == "device plugin 1/1 ready"
    assert not any(e.kind == "Pod" for e in r.evidence)  # the monitoring resource is a request


def test_secure_accelerator_access_other_vendors_risk_indicators():
    r = access("amd-risky")
    assert facts(r, "team-a/rocm-debug") == "mounts hostPath /dev/kfd, /dev/dri"
    assert "1 pod with a hostPath device mount" in r.message  # pods are counted, not their volumes
    assert "sets AMD_VISIBLE_DEVICES=all" in facts(r, "team-b/notebook")
    assert "team-c/privileged-cpu" not in names(r)  # not on an accelerator node
    r = access("intel-risky")
    assert names(r, "Pod") == {"media/render-farm-0"}
    r = access("other-vendors-risky")
    # A workload image from Habana's registry is not the accelerator stack.
    assert "sets HABANA_VISIBLE_DEVICES=all" in facts(r, "team-a/gaudi-notebook")
    assert facts(r, "team-b/neuron-debug") == "mounts hostPath /dev/neuron0"
    assert facts(r, "team-c/tpu-debug") == "mounts hostPath /dev/vfio/0"
    assert facts(r, "team-d/npu-debug") == "mounts hostPath /dev/davinci0"
    assert "team-d/npu-train-0" not in names(r)  # requests Ascend NPUs


def test_secure_accelerator_access_a_network_device_request_is_no_accelerator_request():
    r = access("network-request-risky")
    assert "privileged on accelerator node gpu-a" in facts(r, "team-a/rdma-bench")


def test_secure_accelerator_access_risks_need_the_workloads_that_mark_the_accelerator_stack():
    r = access("risky-forbidden-workloads")
    assert "list deployments.apps in all namespaces" in r.message
    assert "team-a/debug-gpu" in names(r)  # what was seen stays in the evidence


def test_secure_accelerator_access_plugin_not_ready():
    r = access("unhealthy")
    assert facts(r, "gpu-operator/nvidia-device-plugin-daemonset") == "device plugin 0/1 ready"


def test_secure_accelerator_access_forbidden_names_permissions():
    assert "list pods in all namespaces" in access("forbidden").message
    assert "device plugin (nvidia.com/gpu)" in access("forbidden").message
    assert "list nodes (cluster scope)" in access("forbidden-nodes").message
    assert "list daemonsets.apps in all namespaces" in access("forbidden-daemonsets").message


def test_secure_accelerator_access_unreadable_slices_leave_dra_only_nodes_unsearched():
    r = access("plugin-forbidden-slices")
    assert "list resourceslices.resource.k8s.io" in r.message
    # The privileged pod runs on a node that is no accelerator node as far as could be seen.
    assert "team-b/bench-0" not in names(r)


def test_secure_accelerator_access_no_accelerator_device_plugin():
    # A DCGM exporter and an SR-IOV network device plugin mediate no accelerator.
    assert not {"monitoring/nvidia-dcgm-exporter", "network-operator/sriov-device-plugin"} & names(access("crds-only"))


def test_secure_accelerator_access_flags_simulated_devices():
    # kwok nodes, even with DRA devices of a real driver's name; the example DRA driver, even on a real node.
    assert "only simulated or example devices" in access("simulated").message
    r = access("dra-example")
    assert "only simulated or example devices" in r.message
    assert facts(r, "gpu.example.com") == "publishes accelerator devices on 1 node (example driver: simulated devices)"


# workload_sandboxing ----------------------------------------------------------------------------------------
def sandboxing(case: str):
    return run_check(f"workload_sandboxing/{case}", "workload_sandboxing", "1.37")


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", Status.PASS, Reason.HEALTHY),
        ("kata", Status.PASS, Reason.HEALTHY),
        ("agent-sandbox", Status.PASS, Reason.HEALTHY),
        ("installer-only", Status.PASS, Reason.HEALTHY),
        ("running-pod", Status.PASS, Reason.HEALTHY),
        ("quark", Status.PASS, Reason.HEALTHY),
        ("quark-krun-idle", Status.WARN, Reason.CRDS_ONLY),
        ("unhealthy", Status.WARN, Reason.CRDS_ONLY),
        ("selector-only", Status.WARN, Reason.CRDS_ONLY),
        ("labelled-elsewhere", Status.WARN, Reason.CRDS_ONLY),
        ("installer-unready", Status.WARN, Reason.CRDS_ONLY),
        ("crds-only", Status.WARN, Reason.CRDS_ONLY),
        ("agent-sandbox-only", Status.WARN, Reason.PARTIAL),
        ("agent-sandbox-unready", Status.WARN, Reason.UNHEALTHY),
        ("agent-sandbox-no-crds", Status.WARN, Reason.UNHEALTHY),
        ("forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
        ("forbidden-pods", Status.UNKNOWN, Reason.FORBIDDEN),
        ("forbidden-crds", Status.UNKNOWN, Reason.FORBIDDEN),
        ("absent", Status.FAIL, Reason.NOT_INSTALLED),
        ("misnamed", Status.FAIL, Reason.NOT_INSTALLED),
    ],
)
def test_workload_sandboxing_status(case, status, reason):
    r = sandboxing(case)
    assert (r.status, r.reason) == (status, reason), r.message


@pytest.mark.parametrize(
    "case, res, status, reason",
    [
        ("kata", CRDS, Status.PASS, Reason.HEALTHY),
        ("healthy", PODS, Status.PASS, Reason.HEALTHY),  # the installer's node label is enough
        ("unhealthy", CRDS, Status.WARN, Reason.CRDS_ONLY),  # agent-sandbox would only add a note
        ("agent-sandbox-only", DEPLOYMENTS, Status.WARN, Reason.PARTIAL),
        ("absent", PODS, Status.FAIL, Reason.NOT_INSTALLED),
        # Quark and libkrun leave no node label and have no known installer: only pods could show them.
        ("quark-krun-idle", NODES, Status.WARN, Reason.CRDS_ONLY),
        ("quark-krun-idle", DAEMONSETS, Status.WARN, Reason.CRDS_ONLY),
    ],
)
def test_workload_sandboxing_holds_beside_what_it_does_not_rest_on(case, res, status, reason):
    r = run_forbidden(f"workload_sandboxing/{case}", "workload_sandboxing", res)
    assert (r.status, r.reason) == (status, reason), r.message


def test_workload_sandboxing_gke_sandbox_nodes():
    r = sandboxing("healthy")
    assert "gke-sandbox-pool-1" in r.message and "gke-default-pool-1" not in r.message
    assert "sandbox.gke.io/runtime=gvisor" in facts(r, "gvisor")


def test_workload_sandboxing_kata_running_pod_and_installer():
    r = sandboxing("kata")
    assert "agents/untrusted-job" in r.message
    assert "installer kube-system/kata-deploy ready" in facts(r, "kata-qemu")
    assert facts(r, "kube-system/kata-deploy") == "sandbox runtime installer 1/1 ready"
    assert "nvidia" not in names(r)


def test_workload_sandboxing_a_runtime_without_known_installer_is_shown_by_its_running_pod():
    r = sandboxing("running-pod")
    assert "1 pod running with it, e.g. agents/tool-runner" in facts(r, "krun")  # the Succeeded pod does not count


def test_workload_sandboxing_agent_sandbox_controller():
    r = sandboxing("agent-sandbox")
    assert "agent-sandbox (agents.x-k8s.io) controller running" in r.message
    assert facts(r, "sandboxes.agents.x-k8s.io") == "Established"
    assert "agent-sandbox-system/agent-sandbox-controller" in names(r)


@pytest.mark.parametrize("case", ["selector-only", "labelled-elsewhere", "unhealthy"])
def test_workload_sandboxing_what_a_runtimeclass_declares_proves_nothing(case):
    # Its nodeSelector (matched by every Linux node, or by nodes the installer did not label) and its overhead
    # are its author's claims; a Pending pod does not show the runtime either.
    r = sandboxing(case)
    rc = next(e for e in r.evidence if e.kind == "RuntimeClass")
    assert rc.fact.endswith("no sign of the runtime on any node")


def test_workload_sandboxing_installer_not_ready_is_no_sign():
    r = sandboxing("installer-unready")
    assert facts(r, "kube-system/kata-deploy") == "sandbox runtime installer 0/1 ready"
    assert "declares pod overhead" in facts(r, "kata-qemu")


def test_workload_sandboxing_a_class_is_recognised_by_its_handler():
    r = sandboxing("installer-only")
    assert "untrusted" in names(r) and "installer kube-system/gvisor-installer ready" in facts(r, "untrusted")


def test_workload_sandboxing_agent_sandbox_without_a_runtime():
    assert facts(sandboxing("crds-only"), "sandboxes.agents.x-k8s.io") == "Established"
    r = sandboxing("agent-sandbox-unready")
    assert facts(r, "agent-sandbox-system/agent-sandbox-controller") == "agent-sandbox controller 0/1 available"
    r = sandboxing("agent-sandbox-no-crds")
    assert "no CRD of agents.x-k8s.io is established" in r.message


def test_workload_sandboxing_forbidden_names_permissions():
    assert "list runtimeclasses.node.k8s.io (cluster scope)" in sandboxing("forbidden").message
    r = sandboxing("forbidden-pods")
    assert "list pods in all namespaces" in r.message and "gvisor" in names(r)
    assert facts(r, "gvisor").endswith("no sign of the runtime in what could be read")
    assert "list customresourcedefinitions.apiextensions.k8s.io" in sandboxing("forbidden-crds").message


def test_workload_sandboxing_absent_and_misnamed():
    r = sandboxing("absent")
    assert "(only 1 other RuntimeClass)" in r.message
    assert facts(r, "nvidia (nvidia)") == "not a sandbox runtime"
    r = sandboxing("misnamed")
    assert "handler runc runs containers on the host kernel" in facts(r, "sandboxed")
