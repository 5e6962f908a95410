"""Accelerator checks on hand-written fixtures: dra_support, driver_runtime_management, gpu_sharing,
virtualized_accelerator."""

from __future__ import annotations

import pytest
from conftest import names, facts, run_check

from kubectl_aiconf.result import Status


# dra_support ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, status", [
    ("healthy", Status.PASS),
    ("example-driver", Status.PASS),
    ("managed-used", Status.PASS),
    ("unhealthy", Status.WARN),
    ("crds-only", Status.WARN),
    ("unconfirmed", Status.WARN),
    ("beta-only", Status.WARN),
    ("forbidden", Status.UNKNOWN),
    ("absent", Status.FAIL),
])
def test_dra_support_status(case, status):
    assert run_check(f"dra_support/{case}", "dra_support").status is status


def test_dra_support_healthy_names_driver_workloads_claims_and_ignores_stale_slices():
    r = run_check("dra_support/healthy", "dra_support")
    assert "resource.k8s.io v1 served" in r.message
    assert "gpu.nvidia.com (driver workload ready, 1 claim allocated)" in r.message
    assert "nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-kubelet-plugin" in names(r)
    assert "nvidia-dra-driver-gpu/nvidia-dra-driver-gpu-controller" in names(r)
    assert "default/web" not in names(r)
    # gpu-a's generation-1 slice is stale: 2 devices on gpu-a + 1 on gpu-b are current.
    assert "3 devices in 2 current slices on 2 nodes" in facts(r, "gpu.nvidia.com")
    assert "1 slice of older pool generations ignored" in facts(r, "(stale)")
    assert "1 claim allocated from gpu.nvidia.com, 1 in use by pods" in facts(r, "ml/train-0-gpu")


def test_dra_support_example_driver_is_flagged_as_no_real_accelerator():
    r = run_check("dra_support/example-driver", "dra_support")
    assert "no real accelerator" in r.message
    assert "example driver" in facts(r, "gpu.example.com")


def test_dra_support_managed_driver_counts_through_allocated_claims():
    r = run_check("dra_support/managed-used", "dra_support")
    assert "tpu.google.com (1 claim allocated)" in r.message
    assert "research/jax-worker-0-tpu" in names(r)


def test_dra_support_unhealthy_reports_the_not_ready_plugin():
    r = run_check("dra_support/unhealthy", "dra_support")
    assert "gpu.nvidia.com is not healthy" in r.message
    assert facts(r, "nvidia-dra-driver/nvidia-dra-driver-gpu-kubelet-plugin").startswith("0/2 ready")


def test_dra_support_api_without_driver():
    r = run_check("dra_support/crds-only", "dra_support")
    assert "no DRA driver publishes devices" in r.message
    assert "1 DeviceClass defined" in r.message


def test_dra_support_unconfirmed_reads_v1beta1_devices_and_incomplete_pools():
    r = run_check("dra_support/unconfirmed", "dra_support")
    assert "npu.acme.io publishes devices, but no running driver workload" in r.message
    assert "1 device in 1 current slice" in facts(r, "npu.acme.io")
    assert "incomplete pools: node-1" in facts(r, "npu.acme.io")


def test_dra_support_beta_only_on_134_wants_v1():
    r = run_check("dra_support/beta-only", "dra_support", "1.34")
    assert r.status is Status.WARN
    assert "only as v1beta2 (v1 expected on Kubernetes 1.34)" in r.message


def test_dra_support_forbidden_names_the_permission():
    r = run_check("dra_support/forbidden", "dra_support")
    assert "list resourceslices.resource.k8s.io (cluster scope)" in r.message
    assert "gpu.nvidia.com" in names(r)  # the DeviceClass that was visible


def test_dra_support_not_served():
    r = run_check("dra_support/absent", "dra_support")
    assert "not served" in r.message
    assert names(r) == {"resource.k8s.io"}


# driver_runtime_management ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case, status", [
    ("healthy", Status.PASS),
    ("dra-versions", Status.PASS),
    ("unhealthy", Status.WARN),
    ("crds-only", Status.WARN),
    ("gke-managed", Status.WARN),
    ("forbidden", Status.UNKNOWN),
    ("unrecognised", Status.UNKNOWN),
    ("absent", Status.FAIL),
    ("no-accelerators", Status.NA),
])
def test_driver_runtime_management_status(case, status):
    assert run_check(f"driver_runtime_management/{case}", "driver_runtime_management").status is status


def test_driver_runtime_management_healthy_operator_and_label_versions():
    r = run_check("driver_runtime_management/healthy", "driver_runtime_management")
    assert "ClusterPolicy cluster-policy" in r.message
    assert "driver versions advertised on 2/2 NVIDIA nodes" in r.message
    assert facts(r, "cluster-policy") == "state=ready"
    assert "gpu-operator/nvidia-driver-daemonset" in names(r)
    assert "gpu-operator/nvidia-container-toolkit-daemonset" in names(r)
    # The full label and the major/minor/rev labels both give the version.
    assert "driver 580.82.07, CUDA 13.0" in facts(r, "gpu-a")
    assert "driver 580.82.07" in facts(r, "gpu-b")
    assert "cpu-1" not in names(r)
    assert facts(r, "nvidia") == "handler nvidia (accelerator container runtime)"


def test_driver_runtime_management_versions_through_dra():
    r = run_check("driver_runtime_management/dra-versions", "driver_runtime_management")
    assert "(DRA attributes)" in r.message
    assert "driverVersion=570.172.8, cudaDriverVersion=12.8.0" in facts(r, "gpu-a")


def test_driver_runtime_management_unhealthy_names_what_is_not_ready():
    r = run_check("driver_runtime_management/unhealthy", "driver_runtime_management")
    assert "not healthy: ClusterPolicy gpu-cluster-policy" in r.message
    assert "1/2 NVIDIA nodes" in r.message
    assert facts(r, "gpu-cluster-policy") == "state=notReady"
    assert facts(r, "nvidia-gpu-operator/nvidia-driver-daemonset") == "1/2 ready"


def test_driver_runtime_management_crd_without_clusterpolicy():
    r = run_check("driver_runtime_management/crds-only", "driver_runtime_management")
    assert "GPU Operator CRD without a ClusterPolicy" in r.message
    assert "clusterpolicies.nvidia.com" in names(r)


def test_driver_runtime_management_gke_managed_driver_without_versions():
    r = run_check("driver_runtime_management/gke-managed", "driver_runtime_management")
    assert "GKE-managed driver installation" in r.message
    assert "0/1 NVIDIA nodes" in r.message
    assert "gke-gpu-driver-version=latest" in facts(r, "gke-pool-gpu-1")


def test_driver_runtime_management_forbidden_names_permissions():
    r = run_check("driver_runtime_management/forbidden", "driver_runtime_management")
    assert "list clusterpolicies.nvidia.com (cluster scope)" in r.message
    assert "list daemonsets.apps in all namespaces" in r.message


def test_driver_runtime_management_unrecognised_accelerator_is_unknown_not_fail():
    r = run_check("driver_runtime_management/unrecognised", "driver_runtime_management")
    assert "does not recognise" in r.message
    assert "amd.com/gpu" in facts(r, "mi300-1")


def test_driver_runtime_management_absent_and_no_accelerators():
    r = run_check("driver_runtime_management/absent", "driver_runtime_management")
    assert "1 NVIDIA accelerator node, but no driver management component" in r.message
    na = run_check("driver_runtime_management/no-accelerators", "driver_runtime_management")
    assert "no accelerator nodes" in na.message


# gpu_sharing ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, status", [
    ("healthy", Status.PASS),
    ("time-slicing", Status.PASS),
    ("dra-mig", Status.PASS),
    ("gke", Status.PASS),
    ("hami", Status.PASS),
    ("unhealthy", Status.WARN),
    ("crds-only", Status.WARN),
    ("forbidden", Status.UNKNOWN),
    ("unrecognised", Status.UNKNOWN),
    ("absent", Status.FAIL),
    ("no-accelerators", Status.NA),
])
def test_gpu_sharing_status(case, status):
    assert run_check(f"gpu_sharing/{case}", "gpu_sharing").status is status


def test_gpu_sharing_mig_mixed():
    r = run_check("gpu_sharing/healthy", "gpu_sharing")
    assert r.message == "GPU sharing in effect: MIG on 2 nodes"
    assert "nvidia.com/mig-1g.5gb=7" in facts(r, "a100-1")
    assert "nvidia.com/mig-3g.20gb=2" in facts(r, "a100-2")


def test_gpu_sharing_time_slicing():
    r = run_check("gpu_sharing/time-slicing", "gpu_sharing")
    assert "time-slicing on 1 node" in r.message
    fact = facts(r, "a40-1")
    assert "gpu.replicas=4" in fact and "NVIDIA-A40-SHARED" in fact and "nvidia.com/gpu=8" in fact
    assert "time-slicing-config" in facts(r, "gpu-cluster-policy")


def test_gpu_sharing_through_dra():
    r = run_check("gpu_sharing/dra-mig", "gpu_sharing")
    assert "MIG (DRA)" in r.message and "shared claims (DRA)" in r.message and "TimeSlicing (DRA)" in r.message
    assert "2 MIG devices (type=mig)" in facts(r, "gpu.nvidia.com")
    assert "used by 2 pods" in facts(r, "inference/shared-gpu")


def test_gpu_sharing_gke_and_hami():
    gke = run_check("gpu_sharing/gke", "gpu_sharing")
    assert "GKE time-sharing" in gke.message
    assert "max 3 clients per GPU" in facts(gke, "gke-ts-pool-1")
    hami = run_check("gpu_sharing/hami", "gpu_sharing")
    assert "HAMi" in hami.message
    assert "HAMi registered" in facts(hami, "gpu-1")


def test_gpu_sharing_configured_but_not_in_effect():
    r = run_check("gpu_sharing/unhealthy", "gpu_sharing")
    assert "not in effect" in r.message
    assert "no MIG partition is configured" in facts(r, "a100-1")
    assert "(node not Ready)" in facts(r, "t4-1")
    assert "mig.strategy=single" in facts(r, "cluster-policy")
    mig_class_only = run_check("gpu_sharing/crds-only", "gpu_sharing")
    assert "no MIG device is published" in facts(mig_class_only, "mig.nvidia.com")


def test_gpu_sharing_forbidden_absent_unrecognised():
    assert "list nodes (cluster scope)" in run_check("gpu_sharing/forbidden", "gpu_sharing").message
    assert "no GPU sharing" in run_check("gpu_sharing/absent", "gpu_sharing").message
    r = run_check("gpu_sharing/unrecognised", "gpu_sharing")
    assert "habana.ai/gaudi" in facts(r, "gaudi-1")


# virtualized_accelerator ------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, status", [
    ("healthy", Status.PASS),
    ("dra-vgpu", Status.PASS),
    ("kubevirt-vgpu", Status.PASS),
    ("hami", Status.PASS),
    ("unhealthy", Status.WARN),
    ("crds-only", Status.WARN),
    ("fractional-only", Status.WARN),
    ("forbidden", Status.UNKNOWN),
    ("unrecognised", Status.UNKNOWN),
    ("absent", Status.FAIL),
    ("no-accelerators", Status.NA),
])
def test_virtualized_accelerator_status(case, status):
    assert run_check(f"virtualized_accelerator/{case}", "virtualized_accelerator").status is status


def test_virtualized_accelerator_vgpu_guest():
    r = run_check("virtualized_accelerator/healthy", "virtualized_accelerator")
    assert "NVIDIA vGPU on 1 node" in r.message
    assert "GRID-A100-10C" in facts(r, "vm-gpu-1") and "host driver 550.90.05" in facts(r, "vm-gpu-1")


def test_virtualized_accelerator_dra_and_kubevirt():
    dra = run_check("virtualized_accelerator/dra-vgpu", "virtualized_accelerator")
    assert "NVIDIA vGPU (DRA)" in dra.message
    assert "1 vGPU device" in facts(dra, "gpu.nvidia.com")
    kv = run_check("virtualized_accelerator/kubevirt-vgpu", "virtualized_accelerator")
    assert "vGPU for VMs" in kv.message
    assert "nvidia.com/GRID_A100-4C=10" in facts(kv, "kv-host-1")
    assert "sandboxWorkloads enabled" in facts(kv, "cluster-policy")


def test_virtualized_accelerator_partial_signals():
    r = run_check("virtualized_accelerator/unhealthy", "virtualized_accelerator")
    assert "no virtual accelerator is exposed" in r.message
    assert "(node not Ready)" in facts(r, "vm-gpu-1")
    assert "passed through" in facts(r, "kv-host-2")
    vfio = run_check("virtualized_accelerator/crds-only", "virtualized_accelerator")
    assert "VFIO" in facts(vfio, "vfio.gpu.nvidia.com")
    frac = run_check("virtualized_accelerator/fractional-only", "virtualized_accelerator")
    assert "fractional GPUs are offered through MIG" in frac.message
    assert "a100-1" in names(frac)


def test_virtualized_accelerator_forbidden_absent():
    assert "list nodes (cluster scope)" in run_check("virtualized_accelerator/forbidden",
                                                     "virtualized_accelerator").message
    assert "no virtualized accelerators" in run_check("virtualized_accelerator/absent",
                                                      "virtualized_accelerator").message
