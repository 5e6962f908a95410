"""dra_support's and driver_runtime_management's probes: their plans on the DRA and device-plugin fixtures, and
their verdicts on recorded claims, events and pod output (the NVIDIA driver's version file, which the sandbox's
devices do not have)."""

from __future__ import annotations

import pytest
from test_probe_plan import SERVED_DRA, FakeView, device_class, node, resource_slice

from kubectl_aiconf.probe import dra, driver
from kubectl_aiconf.probe.plan import PlanError, ProbeOptions
from kubectl_aiconf.probe.pods import PodRun
from kubectl_aiconf.result import Reason, Status

NS = "aiconf-probe-dra"
DRIVER = "gpu.nvidia.com"


def dra_view(devices=2, slice_attrs=None):
    s = resource_slice("gpu-0", devices=devices)
    if slice_attrs:
        for d in s["spec"]["devices"]:
            d["attributes"].update(slice_attrs)
    return FakeView([node("gpu-0", labels={"nvidia.com/gpu.present": "true"}), device_class(), s], dra=SERVED_DRA)


def claim(devices=("gpu-1",), reserved=("dra-support",), status_devices=()):
    status: dict = {}
    if devices:
        status["allocation"] = {
            "devices": {
                "results": [{"request": "device", "driver": DRIVER, "pool": "gpu-0", "device": d} for d in devices]
            }
        }
    if reserved:
        status["reservedFor"] = [{"resource": "pods", "name": r} for r in reserved]
    if status_devices:
        status["devices"] = list(status_devices)
    return {"metadata": {"name": "dra-support"}, "status": status}


def test_dra_plan_is_a_claim_of_the_free_class_and_a_pod_using_it():
    part = dra.plan(dra_view(), ProbeOptions(namespace=NS))
    claim_obj, pod = part.objects
    assert claim_obj["kind"] == "ResourceClaim"
    assert claim_obj["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == DRIVER
    assert pod["spec"]["resourceClaims"] == [{"name": "device", "resourceClaimName": "dra-support"}]
    assert pod["spec"]["containers"][0]["resources"]["claims"] == [{"name": "device"}]
    assert pod["metadata"]["labels"]["kubectl-aiconf/probe"] == "dra_support"
    assert part.holds_devices
    assert ("create", "resource.k8s.io", "resourceclaims", "", NS) in part.permissions


def test_no_dra_device_free_is_a_plan_error():
    with pytest.raises(PlanError):
        dra.plan(FakeView([node("cpu-0")], dra=SERVED_DRA), ProbeOptions(namespace=NS))


def target():
    return dra.ClaimTarget(DRIVER, DRIVER, "gpu-0", "v1", {})


RAN = PodRun(
    "dra-support", "done", node="gpu-0", logs={"probe": "AICONF device=/dev/nvidia1\nAICONF count=1\nAICONF done\n"}
)


def test_a_claim_allocated_and_prepared_passes_with_the_device_in_evidence():
    ready = {"driver": DRIVER, "pool": "gpu-0", "device": "gpu-1", "conditions": [{"type": "Ready", "status": "True"}]}
    result = dra.judge(target(), RAN, claim(status_devices=[ready]), [])
    assert (result.status, result.reason) == (Status.PASS, Reason.PROBE_PASSED)
    assert f"was allocated {DRIVER}/gpu-0/gpu-1 and prepared by the node" in result.message
    assert "saw /dev/nvidia1" in result.message
    facts = [e.fact for e in result.evidence]
    assert "reserved for dra-support" in facts
    assert f"device status by the driver: {DRIVER}/gpu-0/gpu-1 (Ready=True)" in facts


def test_allocated_but_never_prepared_fails_with_the_kubelets_reason():
    stuck = PodRun("dra-support", "timeout", "timed out after 20s (still Pending on gpu-0: ContainerCreating)", "gpu-0")
    events = [
        "Scheduled: Successfully assigned aiconf-probe-dra/dra-support to gpu-0",
        "FailedPrepareDynamicResources: Failed to prepare dynamic resources: plugin gpu.nvidia.com not found",
    ]
    result = dra.judge(target(), stuck, claim(), events)
    assert (result.status, result.reason) == (Status.FAIL, Reason.PROBE_FAILED)
    assert f"the scheduler allocated {DRIVER}/gpu-0/gpu-1" in result.message
    assert "never prepared it: FailedPrepareDynamicResources: " in result.message


def test_a_claim_the_scheduler_did_not_allocate_is_unknown():
    pending = PodRun(
        "dra-support", "unschedulable", "unschedulable: 0/1 nodes are available: cannot allocate all claims."
    )
    result = dra.judge(target(), pending, claim(devices=(), reserved=()), [])
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.PROBE_INCONCLUSIVE)
    assert "the claim was not allocated (unschedulable: 0/1 nodes" in result.message


# driver_runtime_management ---------------------------------------------------------------------------------------
NVIDIA_VERSION = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024"
OPEN_VERSION = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  (dvs-builder@U16-I3-B03-4-3)"
)


def subject(advertised=None):
    return driver.Subject(
        "gpu-0", "nvidia.com/gpu through the device plugin", "nvidia", advertised or {}, "containerd://2.4.2"
    )


def version_run(line):
    text = (f"AICONF version-file=/proc/driver/nvidia/version:{line}\n" if line else "") + "AICONF done\n"
    return PodRun("driver-version", "done", node="gpu-0", logs={"probe": text})


def test_the_driver_plan_reads_the_vendors_version_file_and_the_nodes_label():
    view = FakeView(
        [node("gpu-0", gpus=1, labels={"nvidia.com/cuda.driver-version.full": "550.54.15"})], dra=SERVED_DRA
    )
    part = driver.plan(view, ProbeOptions(namespace=NS))
    [pod] = part.objects
    container = pod["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "/proc/driver/nvidia/version" in container["command"][2]
    assert "the node advertises label nvidia.com/cuda.driver-version.full=550.54.15" in part.summary


@pytest.mark.parametrize("line", [NVIDIA_VERSION, OPEN_VERSION])
def test_the_version_the_container_sees_matches_the_advertised_one(line):
    version = "550.54.15" if "550" in line else "570.86.15"
    result = driver.judge(subject({"label nvidia.com/cuda.driver-version.full": version}), version_run(line))
    assert (result.status, result.reason) == (Status.PASS, Reason.PROBE_PASSED)
    assert f"sees driver {version}, the version the node advertises" in result.message


def test_a_stale_advertised_version_fails():
    result = driver.judge(
        subject({"label nvidia.com/cuda.driver-version.full": "535.104.05"}), version_run(NVIDIA_VERSION)
    )
    assert (result.status, result.reason) == (Status.FAIL, Reason.PROBE_FAILED)
    assert (
        "sees driver 550.54.15, but the node advertises label nvidia.com/cuda.driver-version.full=535.104.05"
        in result.message
    )


def test_nothing_to_compare_is_unknown():
    result = driver.judge(subject(), version_run(NVIDIA_VERSION))
    assert result.status is Status.UNKNOWN and "the node advertises no driver version for nvidia" in result.message
    result = driver.judge(subject({"label x": "550.54.15"}), version_run(""))
    assert result.status is Status.UNKNOWN and "sees no driver version file" in result.message
    failed = PodRun("driver-version", "image", "image pull failed for busybox")
    assert driver.judge(subject({"label x": "1"}), failed).status is Status.UNKNOWN


def test_dra_slices_advertise_versions_by_the_vendors_attribute():
    view = dra_view(slice_attrs={"driverVersion": {"version": "550.54.15"}})
    assert driver.slice_versions(view, "gpu-0", DRIVER, "nvidia") == {
        "ResourceSlice attribute driverVersion": "550.54.15"
    }
