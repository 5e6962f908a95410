"""Accelerator checks on hand-written fixtures: dra_support, driver_runtime_management, gpu_sharing,
virtualized_accelerator.

Tables pin the status and reason of every fixture; the other tests check the evidence behind a verdict, and
what happens when listings cannot be read (see `run_unread`).
"""

from __future__ import annotations

import pytest

from conftest import TESTDATA, facts, names, run_check
from kubectl_aiconf import resources
from kubectl_aiconf.resources import (
    CLUSTERPOLICIES,
    CRDS,
    DAEMONSETS,
    DEVICECLASSES,
    NODES,
    RESOURCECLAIMS,
    RESOURCESLICES,
    RUNTIMECLASSES,
)
from kubectl_aiconf.result import Reason, Status
from kubectl_aiconf.view import Listing, Outcome, Resource

S, R = Status, Reason


def run_unread(fixture: str, requirement_id: str, *unread: Resource, outcome: Outcome = Outcome.FORBIDDEN):
    """The result of `requirement_id` on a fixture with the `unread` listings forbidden (or failed, or missing
    from the snapshot), as the blind sweep injects them."""
    from kubectl_aiconf.catalogue import BY_ID
    from kubectl_aiconf.checks import check_for
    from kubectl_aiconf.view.snapshot import SnapshotView

    view = SnapshotView(TESTDATA / "checks" / fixture, "1.35")
    check = check_for(requirement_id, BY_ID[requirement_id].category)
    for res in unread:
        view._listings[res.key] = Listing(res, outcome, detail="injected by the test")
    view.load(check.reads)
    return check.run(view)


def verdict(result) -> tuple[Status, Reason | None]:
    return result.status, result.reason


# dra_support ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", S.PASS, R.HEALTHY),
        ("example-driver", S.PASS, R.HEALTHY),
        ("managed-used", S.PASS, R.HEALTHY),
        ("unhealthy", S.WARN, R.UNHEALTHY),
        ("all-tainted", S.WARN, R.UNHEALTHY),
        ("crds-only", S.WARN, R.CRDS_ONLY),
        ("unconfirmed", S.WARN, R.PARTIAL),
        ("other-drivers-workload", S.WARN, R.PARTIAL),  # a ready workload of another driver vouches for nothing
        ("beta-only", S.WARN, R.PARTIAL),
        ("forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("absent", S.FAIL, R.NOT_INSTALLED),
    ],
)
def test_dra_support_status(case, status, reason):
    assert verdict(run_check(f"dra_support/{case}", "dra_support")) == (status, reason)


def test_dra_support_healthy_names_driver_workloads_claims_and_ignores_stale_slices():
    r = run_check("dra_support/healthy", "dra_support")
    assert "nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-kubelet-plugin" in names(r)
    assert "nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-controller" in names(r)
    assert "default/web" not in names(r)
    # gpu-a's generation-1 slice is stale: 2 devices on gpu-a + 1 on gpu-b are current.
    assert "3 devices in 2 current slices on 2 nodes" in facts(r, "gpu.nvidia.com")
    assert "1 slice of older pool generations ignored" in facts(r, "(stale)")
    assert "1 claim allocated from gpu.nvidia.com, 1 in use by pods" in facts(r, "ml/train-0-gpu")


def test_dra_support_example_driver_is_flagged_as_no_real_accelerator():
    r = run_check("dra_support/example-driver", "dra_support")
    assert "example driver" in facts(r, "gpu.example.com")


def test_dra_support_managed_driver_counts_through_allocated_claims():
    r = run_check("dra_support/managed-used", "dra_support")
    assert "research/jax-worker-0-tpu" in names(r)


def test_dra_support_unhealthy_shows_the_not_ready_plugin():
    r = run_check("dra_support/unhealthy", "dra_support")
    assert facts(r, "nvidia-dra-driver/nvidia-dra-driver-gpu-kubelet-plugin").startswith("0/2 ready")


def test_dra_support_devices_that_are_all_tainted_are_unusable_even_with_a_ready_driver():
    r = run_check("dra_support/all-tainted", "dra_support")
    assert "2 tainted (unusable)" in facts(r, "gpu.nvidia.com")  # NoSchedule and NoExecute both count
    assert facts(r, "nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-kubelet-plugin").startswith("1/1 ready")
    # Nothing unread can make a tainted device usable.
    assert verdict(run_unread("dra_support/all-tainted", "dra_support", RESOURCECLAIMS, DAEMONSETS)) == (
        S.WARN,
        R.UNHEALTHY,
    )


def test_dra_support_devices_tainted_by_device_taint_rules_are_unusable():
    """Kubernetes 1.37: DeviceTaintRules taint devices without touching the slices. Rules select by driver,
    pool and device; effect None only informs and a rule without a selector selects nothing."""
    r = run_check("dra_support/taint-rules", "dra_support")
    assert verdict(r) == (S.WARN, R.UNHEALTHY)
    assert "every device is tainted" in r.message
    assert "3 tainted (unusable)" in facts(r, "gpu.nvidia.com")


def test_dra_support_taint_rules_that_cannot_be_read_leave_a_ready_driver_unknown():
    r = run_unread("dra_support/healthy", "dra_support", resources.DEVICETAINTRULES)
    assert verdict(r) == (S.UNKNOWN, R.FORBIDDEN)
    assert "whether DeviceTaintRules keep pods off them cannot be read" in r.message
    assert "list devicetaintrules.resource.k8s.io (cluster scope)" in r.message


def test_dra_support_unconfirmed_reads_v1beta1_devices_and_incomplete_pools():
    r = run_check("dra_support/unconfirmed", "dra_support")
    assert "1 device in 1 current slice" in facts(r, "npu.acme.io")
    assert "incomplete pools: node-1" in facts(r, "npu.acme.io")


def test_dra_support_beta_only_on_134_wants_v1():
    r = run_check("dra_support/beta-only", "dra_support", "1.34")
    assert verdict(r) == (S.WARN, R.PARTIAL)
    assert "only as v1beta2 (v1 expected on Kubernetes 1.34)" in r.message


def test_dra_support_forbidden_names_the_permission_and_keeps_what_was_seen():
    r = run_check("dra_support/forbidden", "dra_support")
    assert "list resourceslices.resource.k8s.io (cluster scope)" in r.message
    assert "gpu.nvidia.com" in names(r)  # the DeviceClass that was visible


def test_dra_support_not_served():
    r = run_check("dra_support/absent", "dra_support")
    assert names(r) == {"resource.k8s.io"}


def test_dra_support_driver_health_that_cannot_be_read_is_unknown():
    # No claim allocated: only the driver workloads can prove it healthy, and they cannot be read.
    assert verdict(run_unread("dra_support/unconfirmed", "dra_support", DAEMONSETS)) == (S.UNKNOWN, R.FORBIDDEN)
    # A ready controller is seen, but the kubelet plugin may be the DaemonSet that cannot be read.
    r = run_unread("dra_support/healthy", "dra_support", RESOURCECLAIMS, DAEMONSETS)
    assert verdict(r) == (S.UNKNOWN, R.FORBIDDEN)
    assert "gpu.nvidia.com publishes devices, but whether its driver runs" in r.message


def test_dra_support_verdicts_that_unread_listings_cannot_change_hold_and_name_them():
    r = run_unread("dra_support/healthy", "dra_support", RESOURCECLAIMS)  # the driver workloads are ready
    assert verdict(r) == (S.PASS, R.HEALTHY)
    assert "list resourceclaims.resource.k8s.io in all namespaces" in r.message
    # No current slice: whatever runs or is claimed, nothing publishes devices.
    r = run_unread("dra_support/crds-only", "dra_support", DAEMONSETS, RESOURCECLAIMS, DEVICECLASSES)
    assert verdict(r) == (S.WARN, R.CRDS_ONLY)
    assert "DeviceClass defined" not in r.message  # the DeviceClasses were not read


@pytest.mark.parametrize(
    "outcome, reason",
    [(Outcome.FORBIDDEN, R.FORBIDDEN), (Outcome.ERROR, R.READ_FAILED), (Outcome.NO_DATA, R.NOT_IN_SNAPSHOT)],
)
def test_dra_support_unread_slices_give_the_reason_of_the_blind_spot(outcome, reason):
    assert verdict(run_unread("dra_support/crds-only", "dra_support", RESOURCESLICES, outcome=outcome)) == (
        S.UNKNOWN,
        reason,
    )


# driver_runtime_management ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", S.PASS, R.HEALTHY),
        ("dra-versions", S.PASS, R.HEALTHY),
        ("unhealthy", S.WARN, R.UNHEALTHY),
        ("operator-controller-down", S.WARN, R.UNHEALTHY),  # was PASS: the stale ClusterPolicy state was believed
        ("crds-only", S.WARN, R.UNHEALTHY),
        ("gke-managed", S.WARN, R.PARTIAL),
        ("labels-only", S.WARN, R.PARTIAL),
        ("no-runtime-version", S.WARN, R.PARTIAL),
        ("operator-no-accelerators", S.WARN, R.PARTIAL),
        ("forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("crds-forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("policies-forbidden-no-accelerators", S.UNKNOWN, R.FORBIDDEN),
        ("unrecognised", S.UNKNOWN, R.UNRECOGNISED),
        ("dra-unrecognised", S.UNKNOWN, R.UNRECOGNISED),
        ("absent", S.FAIL, R.NOT_INSTALLED),
        ("signal-amd-label", S.FAIL, R.NOT_INSTALLED),  # was UNKNOWN: AMD nodes are judged on their own evidence
        ("signal-gpu-present", S.FAIL, R.NOT_INSTALLED),
        ("signal-pci-10de", S.FAIL, R.NOT_INSTALLED),
        ("signal-gke-accelerator", S.FAIL, R.NOT_INSTALLED),
        ("signal-mig-resource", S.FAIL, R.NOT_INSTALLED),
        ("no-accelerators", S.NA, R.NO_ACCELERATORS),
        ("labelled-false", S.NA, R.NO_ACCELERATORS),
        # AMD and Intel, each on its own evidence; a mixed cluster passes only when every vendor's nodes do.
        ("amd-healthy", S.PASS, R.HEALTHY),
        ("amd-dra-versions", S.PASS, R.HEALTHY),
        ("amd-unhealthy", S.WARN, R.UNHEALTHY),
        ("amd-crds-only", S.WARN, R.UNHEALTHY),
        ("intel-healthy", S.PASS, R.HEALTHY),
        ("intel-driver-only", S.WARN, R.PARTIAL),
        ("intel-plugin-not-ready", S.WARN, R.UNHEALTHY),
        ("intel-absent", S.FAIL, R.NOT_INSTALLED),
        ("mixed-healthy", S.PASS, R.HEALTHY),
        ("mixed-amd-missing", S.WARN, R.PARTIAL),
    ],
)
def test_driver_runtime_management_status(case, status, reason):
    assert verdict(run_check(f"driver_runtime_management/{case}", "driver_runtime_management")) == (status, reason)


def test_driver_runtime_management_healthy_operator_and_label_versions():
    r = run_check("driver_runtime_management/healthy", "driver_runtime_management")
    assert facts(r, "cluster-policy") == "state=ready"
    assert "gpu-operator/nvidia-driver-daemonset" in names(r)
    assert "gpu-operator/nvidia-container-toolkit-daemonset" in names(r)
    # The full label and the major/minor/rev labels both give the version.
    assert "driver 580.82.07, cuda 13.0" in facts(r, "gpu-a")
    assert "driver 580.82.07" in facts(r, "gpu-b")
    assert "cpu-1" not in names(r)
    assert facts(r, "nvidia") == "handler nvidia (accelerator container runtime)"


def test_driver_runtime_management_versions_through_dra():
    r = run_check("driver_runtime_management/dra-versions", "driver_runtime_management")
    assert "driverVersion=570.172.8, cudaDriverVersion=12.8.0" in facts(r, "gpu-a")


def test_driver_runtime_management_unhealthy_shows_what_is_not_ready():
    r = run_check("driver_runtime_management/unhealthy", "driver_runtime_management")
    assert facts(r, "gpu-cluster-policy") == "state=notReady"
    assert facts(r, "nvidia-gpu-operator/nvidia-driver-daemonset") == "1/2 ready"


def test_driver_runtime_management_operator_seen_down_outweighs_its_last_state():
    r = run_check("driver_runtime_management/operator-controller-down", "driver_runtime_management")
    assert facts(r, "cluster-policy") == "state=ready"
    assert facts(r, "gpu-operator/gpu-operator") == "NVIDIA GPU Operator controller, 0/1 available"
    assert "NVIDIA GPU Operator controller gpu-operator/gpu-operator" in r.message
    healthy = run_check("driver_runtime_management/healthy", "driver_runtime_management")
    assert "controller" not in healthy.message


def test_driver_runtime_management_crd_without_clusterpolicy():
    r = run_check("driver_runtime_management/crds-only", "driver_runtime_management")
    assert facts(r, "clusterpolicies.nvidia.com") == "NVIDIA GPU Operator CRD, but no ClusterPolicy"


def test_driver_runtime_management_unreadable_crds_leave_an_empty_operator_api_unknown():
    # Was FAIL: the CRD listing was read as empty whatever its outcome.
    r = run_check("driver_runtime_management/crds-forbidden", "driver_runtime_management")
    assert "list customresourcedefinitions.apiextensions.k8s.io (cluster scope)" in r.message
    assert "no driver management component found" not in r.message


def test_driver_runtime_management_unreadable_clusterpolicies_without_accelerators_are_unknown():
    # Was N/A: with no accelerator node, an installed GPU Operator (WARN) cannot be told from none (N/A).
    r = run_check("driver_runtime_management/policies-forbidden-no-accelerators", "driver_runtime_management")
    assert "list clusterpolicies.nvidia.com (cluster scope)" in r.message
    failed = run_unread(
        "driver_runtime_management/operator-no-accelerators",
        "driver_runtime_management",
        CLUSTERPOLICIES,
        outcome=Outcome.ERROR,
    )
    assert verdict(failed) == (S.UNKNOWN, R.READ_FAILED)


def test_driver_runtime_management_gke_managed_driver_without_versions():
    r = run_check("driver_runtime_management/gke-managed", "driver_runtime_management")
    assert "gke-gpu-driver-version=latest" in facts(r, "gke-pool-gpu-1")
    # gke-gpu-driver-version=disabled: GKE does not install the driver.
    off = run_check("driver_runtime_management/signal-gke-accelerator", "driver_runtime_management")
    assert "GKE installs the driver" not in facts(off, "gpu-a")


def test_driver_runtime_management_node_without_runtime_version():
    r = run_check("driver_runtime_management/no-runtime-version", "driver_runtime_management")
    assert "no containerRuntimeVersion of the form <runtime>://<version>" in facts(r, "gpu-b")


def test_driver_runtime_management_forbidden_names_permissions():
    r = run_check("driver_runtime_management/forbidden", "driver_runtime_management")
    assert "list clusterpolicies.nvidia.com (cluster scope)" in r.message
    assert "list daemonsets.apps in all namespaces" in r.message


def test_driver_runtime_management_unrecognised_accelerator_is_unknown_not_fail():
    r = run_check("driver_runtime_management/unrecognised", "driver_runtime_management")
    assert "habana.ai/gaudi=8" in facts(r, "gaudi-1")
    # A node known only through a DRA driver's slices; the example driver's node is no accelerator node.
    dra = run_check("driver_runtime_management/dra-unrecognised", "driver_runtime_management")
    assert "DRA driver npu.acme.io" in facts(dra, "npu-1")
    assert "1 accelerator node" in dra.message


def test_driver_runtime_management_amd_and_intel_evidence():
    amd = run_check("driver_runtime_management/amd-healthy", "driver_runtime_management")
    assert facts(amd, "kube-amd-gpu/gpu-operator") == "Ready=True, driver 2/2 ready, devicePlugin 2/2 ready"
    assert "labels: driver 6.12.12" in facts(amd, "mi300-2")
    assert facts(amd, "amd") == "handler amd (accelerator container runtime)"
    broken = run_check("driver_runtime_management/amd-unhealthy", "driver_runtime_management")
    assert "Ready=False" in facts(broken, "kube-amd-gpu/gpu-operator") and "driver 1/2 ready" in broken.evidence[0].fact
    assert "AMD GPU Operator CRD, but no DeviceConfig" in facts(
        run_check("driver_runtime_management/amd-crds-only", "driver_runtime_management"), "deviceconfigs.amd.com"
    )
    dra = run_check("driver_runtime_management/amd-dra-versions", "driver_runtime_management")
    assert "DRA attributes driverVersion=6.12.12" in facts(dra, "mi300-1")
    intel = run_check("driver_runtime_management/intel-healthy", "driver_runtime_management")
    assert facts(intel, "gpudeviceplugin-sample") == "2/2 ready"
    assert "driver loaded (intel.feature.node.kubernetes.io/gpu=true), kernel 6.8.0-45-generic" in facts(
        intel, "flex-1"
    )


def test_driver_runtime_management_judges_every_vendor_of_a_mixed_cluster():
    r = run_check("driver_runtime_management/mixed-amd-missing", "driver_runtime_management")
    assert r.message.startswith("NVIDIA: ") and "AMD: 1 AMD node, but no driver management component" in r.message
    both = run_check("driver_runtime_management/mixed-healthy", "driver_runtime_management")
    assert "driver pre-installed on the nodes (spec.driver.enable=false)" in facts(both, "kube-amd-gpu/gpu-operator")


@pytest.mark.parametrize(
    "case, unread, status, reason",
    [
        # AMD's driver manager shows in its DeviceConfig: unread, a PASS or FAIL cannot stand.
        ("amd-healthy", (resources.AMD_DEVICECONFIGS,), S.UNKNOWN, R.FORBIDDEN),
        ("intel-absent", (resources.INTEL_GPUDEVICEPLUGINS,), S.UNKNOWN, R.FORBIDDEN),
        # Another vendor's manager is not this vendor's: NVIDIA's verdict holds without AMD's DeviceConfigs.
        ("healthy", (resources.AMD_DEVICECONFIGS, resources.INTEL_GPUDEVICEPLUGINS), S.PASS, R.HEALTHY),
        # Whatever is hidden, NVIDIA passing and AMD failing stays a partial answer unless AMD's own manager is hidden.
        ("mixed-amd-missing", (DAEMONSETS,), S.WARN, R.PARTIAL),
        ("mixed-amd-missing", (resources.AMD_DEVICECONFIGS,), S.UNKNOWN, R.FORBIDDEN),
        # A broken manager seen keeps WARN, whatever else exists.
        ("unhealthy", (DAEMONSETS, RESOURCESLICES), S.WARN, R.UNHEALTHY),
        # A node without a runtime version next to a healthy manager keeps WARN.
        ("no-runtime-version", (DAEMONSETS, RESOURCESLICES), S.WARN, R.PARTIAL),
        # With no ClusterPolicy, an operator without one shows only as its CRD.
        ("absent", (CRDS,), S.UNKNOWN, R.FORBIDDEN),
        # Partial coverage: a hidden manager cannot complete it; hidden slices (DRA-reported versions) could.
        ("gke-managed", (DAEMONSETS, CLUSTERPOLICIES), S.WARN, R.PARTIAL),
        ("gke-managed", (RESOURCESLICES,), S.UNKNOWN, R.FORBIDDEN),
        # Every version reported and a healthy manager: a broken DaemonSet may hide among the unread ones.
        ("healthy", (DAEMONSETS,), S.UNKNOWN, R.FORBIDDEN),
        ("labels-only", (CLUSTERPOLICIES,), S.UNKNOWN, R.FORBIDDEN),
        ("absent", (DAEMONSETS,), S.UNKNOWN, R.FORBIDDEN),
        # With nothing installed and no accelerator node, hidden slices may name accelerator nodes.
        ("no-accelerators", (RESOURCESLICES,), S.UNKNOWN, R.FORBIDDEN),
        ("operator-no-accelerators", (DAEMONSETS,), S.WARN, R.PARTIAL),
        # Without nodes nothing can be told; without slices, unrecognised nodes may sit beside NVIDIA ones.
        ("healthy", (NODES,), S.UNKNOWN, R.FORBIDDEN),
        ("unrecognised", (RESOURCESLICES,), S.UNKNOWN, R.FORBIDDEN),
        # RuntimeClasses are evidence only.
        ("healthy", (RUNTIMECLASSES,), S.PASS, R.HEALTHY),
        ("no-accelerators", (RUNTIMECLASSES,), S.NA, R.NO_ACCELERATORS),
    ],
)
def test_driver_runtime_management_blind_spots_only_matter_where_they_could_change_the_verdict(
    case, unread, status, reason
):
    r = run_unread(f"driver_runtime_management/{case}", "driver_runtime_management", *unread)
    assert verdict(r) == (status, reason)
    for res in unread:
        assert res.qualified in r.message  # held or not, the verdict names what it could not read


# gpu_sharing ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", S.PASS, R.HEALTHY),
        ("time-slicing", S.PASS, R.HEALTHY),
        ("replicas-only", S.PASS, R.HEALTHY),
        ("shared-product-only", S.PASS, R.HEALTHY),
        ("shared-resource-only", S.PASS, R.HEALTHY),
        ("mps", S.PASS, R.HEALTHY),
        ("mig-single", S.PASS, R.HEALTHY),
        ("dra-mig", S.PASS, R.HEALTHY),
        ("dra-partitionable", S.PASS, R.HEALTHY),
        ("dra-multiple-allocations", S.PASS, R.HEALTHY),
        ("dra-shared-claim", S.PASS, R.HEALTHY),  # a GPU claim reserved for two pods counts for its vendor
        ("gke", S.PASS, R.HEALTHY),
        ("gke-partition", S.PASS, R.HEALTHY),
        ("hami", S.PASS, R.HEALTHY),
        ("unhealthy", S.WARN, R.UNHEALTHY),
        ("hami-not-ready", S.WARN, R.UNHEALTHY),
        ("strategy-without-replicas", S.WARN, R.UNHEALTHY),
        ("crds-only", S.WARN, R.CRDS_ONLY),
        ("mps-daemon-only", S.WARN, R.CRDS_ONLY),
        ("policy-no-accelerators", S.WARN, R.CRDS_ONLY),
        ("mig-capable", S.WARN, R.NOT_INSTALLED),
        ("forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("classes-forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("hami-daemonsets-forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("unrecognised", S.UNKNOWN, R.UNRECOGNISED),
        ("absent", S.FAIL, R.NOT_INSTALLED),
        ("nic-shared", S.FAIL, R.NOT_INSTALLED),
        ("no-accelerators", S.NA, R.NO_ACCELERATORS),
        ("labelled-false", S.NA, R.NO_ACCELERATORS),
        ("amd-partitions", S.PASS, R.HEALTHY),
        ("amd-partition-label", S.PASS, R.HEALTHY),
        ("amd-dra-partitions", S.PASS, R.HEALTHY),
        ("amd-dcm-configured", S.WARN, R.CRDS_ONLY),
        ("amd-capable", S.WARN, R.NOT_INSTALLED),
        ("amd-absent", S.FAIL, R.NOT_INSTALLED),
        ("intel-shared-dev-num", S.PASS, R.HEALTHY),
        ("intel-configured", S.WARN, R.UNHEALTHY),
        ("intel-absent", S.FAIL, R.NOT_INSTALLED),
        ("mixed", S.PASS, R.HEALTHY),
        ("mixed-amd-missing", S.WARN, R.PARTIAL),
        ("mixed-unrecognised", S.PASS, R.HEALTHY),
    ],
)
def test_gpu_sharing_status(case, status, reason):
    assert verdict(run_check(f"gpu_sharing/{case}", "gpu_sharing")) == (status, reason)


def test_gpu_sharing_mig_mixed():
    r = run_check("gpu_sharing/healthy", "gpu_sharing")
    assert "MIG on 2 nodes" in r.message
    assert "nvidia.com/mig-1g.5gb=7" in facts(r, "a100-1")
    assert "nvidia.com/mig-3g.20gb=2" in facts(r, "a100-2")


def test_gpu_sharing_time_slicing():
    r = run_check("gpu_sharing/time-slicing", "gpu_sharing")
    fact = facts(r, "a40-1")
    assert "gpu.replicas=4" in fact and "NVIDIA-A40-SHARED" in fact and "nvidia.com/gpu=8" in fact
    assert "time-slicing-config" in facts(r, "gpu-cluster-policy")


def test_gpu_sharing_each_node_signal_alone():
    assert "time-slicing: nvidia.com/gpu.replicas=4" in facts(
        run_check("gpu_sharing/replicas-only", "gpu_sharing"), "gpu-1"
    )
    assert "gpu.product=NVIDIA-A40-SHARED" in facts(
        run_check("gpu_sharing/shared-product-only", "gpu_sharing"), "gpu-1"
    )
    assert "nvidia.com/gpu.shared=8" in facts(run_check("gpu_sharing/shared-resource-only", "gpu_sharing"), "gpu-1")
    assert facts(run_check("gpu_sharing/mps", "gpu_sharing"), "gpu-1").startswith("MPS: ")
    assert "-MIG-" in facts(run_check("gpu_sharing/mig-single", "gpu_sharing"), "gpu-1")
    assert "gke-gpu-partition-size=1g.5gb" in facts(run_check("gpu_sharing/gke-partition", "gpu_sharing"), "gpu-1")


def test_gpu_sharing_through_dra():
    r = run_check("gpu_sharing/dra-mig", "gpu_sharing")
    assert "MIG (DRA)" in r.message and "shared claims (DRA)" in r.message and "TimeSlicing (DRA)" in r.message
    assert "2 devices of MIG (type=mig)" in facts(r, "gpu.nvidia.com")
    assert "used by 2 pods" in facts(r, "inference/shared-gpu")
    parts = run_check("gpu_sharing/dra-partitionable", "gpu_sharing")
    assert "2 partitions drawn from shared counters" in facts(parts, "gpu.nvidia.com")
    multi = run_check("gpu_sharing/dra-multiple-allocations", "gpu_sharing")
    assert "1 device allowing multiple allocations" in facts(multi, "gpu.nvidia.com")


def test_gpu_sharing_gke_and_hami():
    gke = run_check("gpu_sharing/gke", "gpu_sharing")
    assert "gke-max-shared-clients-per-gpu=3" in facts(gke, "gke-ts-pool-1")
    hami = run_check("gpu_sharing/hami", "gpu_sharing")
    assert "HAMi registered" in facts(hami, "gpu-1")


def test_gpu_sharing_amd_and_intel_evidence():
    mixed_naming = run_check("gpu_sharing/amd-partitions", "gpu_sharing")
    assert "allocatable amd.com/cpx_nps4=64" in facts(mixed_naming, "mi300-1")
    single_naming = run_check("gpu_sharing/amd-partition-label", "gpu_sharing")
    assert "amd.com/compute-memory-partition=dpx_nps2, allocatable amd.com/gpu=16" in facts(single_naming, "mi300-1")
    dra = run_check("gpu_sharing/amd-dra-partitions", "gpu_sharing")
    assert "2 devices of AMD GPU partitions (type=amdgpu-partition)" in facts(dra, "gpu.amd.com")
    assert "spec.configManager.enable=true" in facts(
        run_check("gpu_sharing/amd-dcm-configured", "gpu_sharing"), "kube-amd-gpu/gpu-operator"
    )
    intel = run_check("gpu_sharing/intel-shared-dev-num", "gpu_sharing")
    assert "allocatable gpu.intel.com/i915=10, device count 1" in facts(intel, "flex-1")
    configured = run_check("gpu_sharing/intel-configured", "gpu_sharing")
    assert "spec.sharedDevNum=10" in facts(configured, "gpudeviceplugin-sample")
    assert "allocatable gpu.intel.com/millicores=1000" in facts(configured, "flex-1")


def test_gpu_sharing_judges_every_vendor_of_a_mixed_cluster():
    r = run_check("gpu_sharing/mixed-amd-missing", "gpu_sharing")
    assert "NVIDIA: GPU sharing in effect: MIG on 1 node" in r.message and "AMD: 1 AMD accelerator node" in r.message
    assert "no GPU sharing of AMD" in facts(r, "mi300-1")
    # AMD's DeviceConfig may set up partitioning on the AMD nodes: unread, WARN cannot stand; nor PASS with the
    # nodes unread (they may hold another vendor's).
    assert verdict(run_unread("gpu_sharing/mixed-amd-missing", "gpu_sharing", resources.AMD_DEVICECONFIGS)) == (
        S.UNKNOWN,
        R.FORBIDDEN,
    )
    assert verdict(run_unread("gpu_sharing/mixed", "gpu_sharing", NODES)) == (S.UNKNOWN, R.FORBIDDEN)
    assert verdict(run_unread("gpu_sharing/mixed", "gpu_sharing", resources.AMD_DEVICECONFIGS)) == (S.PASS, R.HEALTHY)
    # A vendor the tool knows no sharing of, beside one it judges: named, not judged.
    r = run_check("gpu_sharing/mixed-unrecognised", "gpu_sharing")
    assert (
        "not judged: 1 accelerator node with accelerators this tool does not recognise for GPU sharing "
        "(Intel Gaudi)" in r.message
    )
    assert "habana.ai/gaudi=8" in facts(r, "gaudi-1")


def test_gpu_sharing_configured_but_not_in_effect():
    r = run_check("gpu_sharing/unhealthy", "gpu_sharing")
    assert "MIG possible (nvidia.com/mig.capable=true), but not set up" in facts(r, "a100-1")
    assert "(node not Ready)" in facts(r, "t4-1")
    assert "mig.strategy=single" in facts(r, "cluster-policy")
    mig_class_only = run_check("gpu_sharing/crds-only", "gpu_sharing")
    assert "DeviceClass for MIG, but no such device is published" in facts(mig_class_only, "mig.nvidia.com")
    mps = run_check("gpu_sharing/mps-daemon-only", "gpu_sharing")
    assert "1/1 ready (MPS agent)" in facts(mps, "gpu-operator/nvidia-device-plugin-mps-control-daemon")


@pytest.mark.parametrize("check", ["gpu_sharing", "virtualized_accelerator"])
def test_hami_plugin_health_is_stated_only_when_read(check):
    # Was PASS turned WARN, with the evidence claiming the plugin was not ready.
    r = run_check(f"{check}/hami-daemonsets-forbidden", check)
    assert "list daemonsets.apps in all namespaces" in r.message
    assert "not ready" not in facts(r, "gpu-1")
    assert "could not be read" in facts(r, "gpu-1")
    failed = run_unread(f"{check}/hami", check, DAEMONSETS, outcome=Outcome.ERROR)
    assert verdict(failed) == (S.UNKNOWN, R.READ_FAILED)
    assert "HAMi device plugin is not ready" in facts(run_check(f"{check}/hami-not-ready", check), "gpu-1")


@pytest.mark.parametrize("check", ["gpu_sharing", "virtualized_accelerator"])
def test_unreadable_deviceclasses_are_unknown_not_fail(check):
    # Was FAIL: a MIG or VFIO DeviceClass, the only sign of sharing or passthrough, may be among them.
    r = run_check(f"{check}/classes-forbidden", check)
    assert "list deviceclasses.resource.k8s.io (cluster scope)" in r.message


def test_gpu_sharing_a_hidden_clusterpolicy_is_unknown_not_no_accelerators():
    # Was N/A: the ClusterPolicy set up for MIG was the only sign of sharing on a cluster without GPU nodes.
    r = run_unread("gpu_sharing/policy-no-accelerators", "gpu_sharing", CLUSTERPOLICIES, outcome=Outcome.NO_DATA)
    assert verdict(r) == (S.UNKNOWN, R.NOT_IN_SNAPSHOT)
    assert "mig.strategy=mixed" in facts(
        run_check("gpu_sharing/policy-no-accelerators", "gpu_sharing"), "cluster-policy"
    )


def test_gpu_sharing_in_effect_holds_whatever_else_cannot_be_read():
    r = run_unread("gpu_sharing/healthy", "gpu_sharing", DAEMONSETS, DEVICECLASSES, RESOURCECLAIMS, CLUSTERPOLICIES)
    assert verdict(r) == (S.PASS, R.HEALTHY)
    assert "list daemonsets.apps in all namespaces" in r.message
    # Unread slices may name the DRA-only nodes of a vendor without sharing: then no PASS.
    r = run_unread("gpu_sharing/healthy", "gpu_sharing", RESOURCESLICES)
    assert verdict(r) == (S.UNKNOWN, R.FORBIDDEN)


def test_gpu_sharing_forbidden_absent_unrecognised():
    assert "list nodes (cluster scope)" in run_check("gpu_sharing/forbidden", "gpu_sharing").message
    r = run_check("gpu_sharing/unrecognised", "gpu_sharing")
    assert "habana.ai/gaudi" in facts(r, "gaudi-1")


@pytest.mark.parametrize("check", ["driver_runtime_management", "gpu_sharing", "virtualized_accelerator"])
def test_nodes_labelled_false_are_not_accelerator_nodes(check):
    r = run_check(f"{check}/labelled-false", check)
    assert not names(r, "Node")


# virtualized_accelerator ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", S.PASS, R.HEALTHY),
        ("vgpu-label-only", S.PASS, R.HEALTHY),
        ("vgpu-product-only", S.PASS, R.HEALTHY),
        ("dra-vgpu", S.PASS, R.HEALTHY),
        ("dra-vgpu-brand-only", S.PASS, R.HEALTHY),
        ("dra-vgpu-product-only", S.PASS, R.HEALTHY),
        ("kubevirt-vgpu", S.PASS, R.HEALTHY),
        ("hami", S.PASS, R.HEALTHY),
        ("unhealthy", S.WARN, R.UNHEALTHY),
        ("hami-not-ready", S.WARN, R.UNHEALTHY),
        ("fractional-only", S.WARN, R.PARTIAL),
        ("vm-machine", S.WARN, R.PARTIAL),
        ("dra-vfio", S.WARN, R.PARTIAL),
        ("crds-only", S.WARN, R.CRDS_ONLY),
        ("sandbox-only", S.WARN, R.CRDS_ONLY),
        ("forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("classes-forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("hami-daemonsets-forbidden", S.UNKNOWN, R.FORBIDDEN),
        ("unrecognised", S.UNKNOWN, R.UNRECOGNISED),
        ("absent", S.FAIL, R.NOT_INSTALLED),
        ("no-accelerators", S.NA, R.NO_ACCELERATORS),
        ("labelled-false", S.NA, R.NO_ACCELERATORS),
        ("amd-vf-guest", S.PASS, R.HEALTHY),
        ("amd-vf-host", S.PASS, R.HEALTHY),
        ("amd-pf-passthrough", S.WARN, R.PARTIAL),
        ("amd-vf-configured", S.WARN, R.CRDS_ONLY),
        ("amd-absent", S.FAIL, R.NOT_INSTALLED),
        ("intel-sriov-dra", S.PASS, R.HEALTHY),
        ("intel-sriov-capable", S.WARN, R.NOT_INSTALLED),
        ("intel-absent", S.FAIL, R.NOT_INSTALLED),
        ("mixed-amd-missing", S.WARN, R.PARTIAL),
    ],
)
def test_virtualized_accelerator_status(case, status, reason):
    assert verdict(run_check(f"virtualized_accelerator/{case}", "virtualized_accelerator")) == (status, reason)


def test_virtualized_accelerator_vgpu_guest():
    r = run_check("virtualized_accelerator/healthy", "virtualized_accelerator")
    assert "NVIDIA vGPU on 1 node" in r.message
    assert "GRID-A100-10C" in facts(r, "vm-gpu-1") and "vgpu.host-driver-version=550.90.05" in facts(r, "vm-gpu-1")


def test_virtualized_accelerator_dra_and_kubevirt():
    dra = run_check("virtualized_accelerator/dra-vgpu", "virtualized_accelerator")
    assert "1 device of NVIDIA vGPU" in facts(dra, "gpu.nvidia.com")
    kv = run_check("virtualized_accelerator/kubevirt-vgpu", "virtualized_accelerator")
    assert "nvidia.com/GRID_A100-4C=10" in facts(kv, "kv-host-1")
    assert "spec.sandboxWorkloads.enabled=true" in facts(kv, "cluster-policy")


def test_virtualized_accelerator_partial_signals():
    r = run_check("virtualized_accelerator/unhealthy", "virtualized_accelerator")
    assert "(node not Ready)" in facts(r, "vm-gpu-1")
    assert "GPU passthrough to VMs: nvidia.com/gpu.workload.config=vm-passthrough" in facts(r, "kv-host-2")
    vfio = run_check("virtualized_accelerator/crds-only", "virtualized_accelerator")
    assert "DeviceClass for GPU passthrough to VMs" in facts(vfio, "vfio.gpu.nvidia.com")
    assert "1 device of GPU passthrough to VMs (type=vfio)" in facts(
        run_check("virtualized_accelerator/dra-vfio", "virtualized_accelerator"), "gpu.nvidia.com"
    )
    frac = run_check("virtualized_accelerator/fractional-only", "virtualized_accelerator")
    assert "a100-1" in names(frac)
    vm = run_check("virtualized_accelerator/vm-machine", "virtualized_accelerator")
    assert "gpu.machine=KVM" in facts(vm, "gpu-1")
    sandbox = run_check("virtualized_accelerator/sandbox-only", "virtualized_accelerator")
    assert "sandboxWorkloads.enabled=true (NVIDIA vGPU for VMs set up)" in facts(sandbox, "cluster-policy")


def test_virtualized_accelerator_amd_and_intel_evidence():
    guest = run_check("virtualized_accelerator/amd-vf-guest", "virtualized_accelerator")
    assert "feature.node.kubernetes.io/amd-vgpu=true, allocatable amd.com/gpu=1" in facts(guest, "vm-mi300-1")
    host = run_check("virtualized_accelerator/amd-vf-host", "virtualized_accelerator")
    assert "gpu-operator.driver=vf-passthrough, allocatable amd.com/gpu=8" in facts(host, "mi300-host-1")
    pf = run_check("virtualized_accelerator/amd-pf-passthrough", "virtualized_accelerator")
    assert "GPU passthrough to VMs: " in facts(pf, "mi300-host-1")
    assert "spec.driver.driverType=vf-passthrough" in facts(
        run_check("virtualized_accelerator/amd-vf-configured", "virtualized_accelerator"), "kube-amd-gpu/gpu-operator"
    )
    sriov = run_check("virtualized_accelerator/intel-sriov-dra", "virtualized_accelerator")
    assert "2 devices of Intel SR-IOV virtual functions (type=vf)" in facts(sriov, "gpu.intel.com")
    capable = run_check("virtualized_accelerator/intel-sriov-capable", "virtualized_accelerator")
    assert "pci-0380_8086.sriov.capable=true" in facts(capable, "flex-1")
    mixed = run_check("virtualized_accelerator/mixed-amd-missing", "virtualized_accelerator")
    assert "no virtualized accelerators of AMD" in facts(mixed, "mi300-1")


def test_virtualized_accelerator_forbidden():
    assert (
        "list nodes (cluster scope)"
        in run_check("virtualized_accelerator/forbidden", "virtualized_accelerator").message
    )
