"""The knowledge registry: records are well-formed, no two records claim the same thing, every query function
answers positive and negative examples, and which records still lack fixtures."""

from __future__ import annotations

import dataclasses
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_aiconf import knowledge
from kubectl_aiconf.knowledge import (
    _base,
    autoscalers,
    gateways,
    monitoring,
    networks,
    operators,
    sandboxes,
    schedulers,
    serving,
)
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge.accelerators import Grant

MODULES = (_base, acc, autoscalers, gateways, monitoring, networks, operators, sandboxes, schedulers, serving)
RECORDS = knowledge.all_records()


# well-formed records ------------------------------------------------------------------------------------------
def _strings(value, path: str):
    """(path, string) of every string inside a record, recursively."""
    if isinstance(value, str):
        yield path, value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, (tuple, list, frozenset, set)):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def test_every_pattern_compiles():
    bad = []
    for rid, record in RECORDS.items():
        for path, text in _strings(record, rid):
            try:
                re.compile(text)
            except re.error as exc:
                bad.append(f"{path}: {text!r}: {exc}")
    for module in MODULES:
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str):
                try:
                    re.compile(value)
                except re.error as exc:
                    bad.append(f"{module.__name__}.{name}: {exc}")
    assert not bad, "\n".join(bad)


def test_records_are_frozen_and_ids_unique():
    ids = [
        r.record_id
        for name in knowledge.MODULES
        for r in __import__(f"kubectl_aiconf.knowledge.{name}", fromlist=["RECORDS"]).RECORDS
    ]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    for record in RECORDS.values():
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.key = "changed"  # type: ignore[misc]


def test_importing_the_registry_is_cheap():
    code = (
        "import sys; from kubectl_aiconf import knowledge; knowledge.all_records(); "
        "bad = [m for m in sys.modules if m.startswith(('kubernetes', 'yaml', 'kubectl_aiconf.checks', "
        "'kubectl_aiconf.view', 'kubectl_aiconf.probe'))]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"knowledge imports {out}"


# examples recorded with the records --------------------------------------------------------------------------
@pytest.mark.parametrize("vendor", acc.VENDORS, ids=lambda v: v.key)
def test_resource_examples_classify_to_their_own_vendor_and_grant(vendor):
    for res in vendor.resources:
        assert re.fullmatch(res.pattern, res.example), res
        assert acc.classify_resource(res.example) == (vendor.key, res.grant), res


@pytest.mark.parametrize("vendor", [v for v in acc.VENDORS if v.dra_driver], ids=lambda v: v.key)
def test_dra_driver_examples(vendor):
    assert acc.vendor_of_driver(vendor.dra_example) == vendor.key
    for other in acc.VENDORS:
        if other is not vendor:
            assert not re.search(other.dra_driver, vendor.dra_example), (other.key, vendor.dra_example)


@pytest.mark.parametrize("impl", gateways.GATEWAY_IMPLEMENTATIONS, ids=lambda g: g.key)
def test_gateway_examples_resolve_to_their_implementation(impl):
    assert impl.example, impl.key
    assert gateways.gateway_implementation(impl.example) is impl


# no two records claim the same thing -------------------------------------------------------------------------
def _domain(resource: str) -> str:
    return resource.partition("/")[0]


def test_no_two_vendors_claim_a_resource():
    domains: dict[str, str] = {}
    for owner, resources in [(v.key, v.resources) for v in acc.VENDORS] + [
        (s.record_id, s.resources) for s in acc.SHARING_STACKS
    ]:
        for res in resources:
            prev = domains.setdefault(_domain(res.example), owner)
            assert prev == owner, f"{_domain(res.example)} claimed by {prev} and {owner}"
    examples = [(v.key, r.example) for v in acc.VENDORS for r in v.resources]
    for key, example in examples:
        claimants = {v.key for v in acc.VENDORS for r in v.resources if re.fullmatch(r.pattern, example)}
        assert claimants == {key}, (example, claimants)


def _vendor_label_keys(vendor: acc.Vendor) -> set[str]:
    keys = {m.key for m in vendor.node_labels + vendor.shared_by_design}
    keys |= {vl.full for vl in vendor.version_labels} | {p for vl in vendor.version_labels for p in vl.parts}
    keys |= {m.key for mech in vendor.mechanisms for m in mech.node_labels}
    keys |= {m.key for m in vendor.driver_loaded} | {m.key for dm in vendor.driver_managers for m in dm.node_labels}
    return keys


def test_no_two_vendors_claim_a_node_label_pci_id_env_var_or_device_class():
    for attr in ("label keys", "pci", "env", "device classes"):
        seen: dict[str, str] = {}
        for vendor in acc.VENDORS:
            items = {
                "label keys": _vendor_label_keys(vendor),
                "pci": {p.vendor for p in vendor.pci},
                "env": set(vendor.visible_devices_env),
                "device classes": set(vendor.device_classes),
            }[attr]
            for item in items:
                assert seen.setdefault(item, vendor.key) == vendor.key, f"{attr} {item}: {seen[item]} and {vendor.key}"


def test_cloud_labels_name_one_vendor_per_value():
    cases = {
        ("cloud.google.com/gke-accelerator", "nvidia-l4"): "nvidia",
        ("cloud.google.com/gke-accelerator", "some-new-chip"): acc.UNRECOGNISED,
        ("cloud.google.com/gke-tpu-accelerator", "tpu-v5-lite-podslice"): "tpu",
        ("karpenter.k8s.aws/instance-gpu-manufacturer", "amd"): "amd",
        ("karpenter.k8s.aws/instance-accelerator-name", "inferentia"): "neuron",
        ("eks.amazonaws.com/instance-gpu-manufacturer", "nvidia"): "nvidia",
        ("kubernetes.azure.com/accelerator", "nvidia"): "nvidia",
    }
    for (key, value), vendor in cases.items():
        assert acc.accelerator_vendors_of_node({key: value}, {}) == {vendor: f"label {key}={value}"}
    assert {c.label.key for c in acc.CLOUD_LABELS} <= {k for k, _ in cases}  # every cloud label is exercised


def test_host_paths_overlap_only_where_vendors_really_share_them():
    owners: dict[str, set[str]] = {}
    for vendor in acc.VENDORS:
        for path in vendor.host_paths:
            owners.setdefault(path, set()).add(vendor.key)
    shared = {p for p, vs in owners.items() if len(vs) > 1}
    assert shared <= acc.SHARED_HOST_PATHS | set(acc.GENERIC_HOST_PATHS), shared
    for vendor in acc.VENDORS:
        assert all(g.startswith(vendor.host_paths) for g in vendor.probe_globs), vendor.key


def _record_apis(record) -> set[str]:
    apis = set()
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, _base.Api):
                apis.add(item.qualified)
            elif isinstance(item, (acc.DriverManager, operators.Reconciled)):
                apis |= {a.qualified for a in getattr(item, "apis", ())} | (
                    {item.api.qualified} if isinstance(item, operators.Reconciled) else set()
                )
    return apis


def test_no_two_records_claim_an_api():
    derived = {o.record_id for o in operators.SCHEDULER_OPERATORS} | {operators.LWS.record_id}
    seen: dict[str, str] = {}
    for rid, record in RECORDS.items():
        if rid in derived:
            continue
        for api in _record_apis(record):
            assert seen.setdefault(api, rid) == rid, f"{api}: {seen[api]} and {rid}"
    assert "clusterqueues.kueue.x-k8s.io" in seen and "rayjobs.ray.io" in seen


def test_scheduler_operators_are_derived_from_the_schedulers():
    for op in operators.SCHEDULER_OPERATORS + (operators.LWS,):
        sched = schedulers.BY_KEY[op.key]
        assert op.workloads == sched.workloads and set(op.groups) == set(sched.api_groups)
    assert set(operators.BY_KEY["volcano"].groups) >= {"batch.volcano.sh", "scheduling.volcano.sh"}


# query functions: positive and negative examples ---------------------------------------------------------------
def test_classify_resource_and_grants():
    assert acc.classify_resource("nvidia.com/gpu") == ("nvidia", Grant.WHOLE)
    assert acc.classify_resource("nvidia.com/mig-2g.10gb") == ("nvidia", Grant.PARTITION)
    assert acc.classify_resource("volcano.sh/vgpu-memory") == ("nvidia", Grant.SHARE)
    assert acc.classify_resource("gpu.intel.com/xe_monitoring") == ("intel", Grant.MONITORING)
    assert acc.classify_resource("huawei.com/Ascend310P-2c.1cpu") == ("ascend", Grant.PARTITION)
    for name in (
        "nvidia.com/hostdev",
        "nvidia.com/rdma_shared_device_a",
        "rdma/ib",
        "vpc.amazonaws.com/efa",
        "cpu",
        "amd.com/cpu",
        "gpu.intel.com/qat",
    ):
        assert acc.classify_resource(name) is None, name
        assert acc.vendor_of_resource(name) is None, name


def test_resource_predicates():
    assert acc.is_accelerator_resource("nvidia.com/mig-1g.5gb") and acc.is_accelerator_resource("amd.com/cpx_nps4")
    assert acc.is_accelerator_resource("aws.amazon.com/neuroncore")
    assert not acc.is_accelerator_resource("nvidia.com/gpu.shared")
    assert not acc.is_accelerator_resource("gpu.intel.com/i915_monitoring")
    assert not acc.is_accelerator_resource("nvidia.com/GRID_A100-4C")
    assert acc.is_whole_accelerator_resource("gpu.intel.com/xe") and acc.is_whole_accelerator_resource("google.com/tpu")
    assert not acc.is_whole_accelerator_resource("nvidia.com/mig-1g.5gb")
    assert acc.is_accelerator_request("nvidia.com/gpumem") and acc.is_accelerator_request("volcano.sh/vgpu-number")
    assert acc.is_accelerator_request("nvidia.com/GA100_A100_PCIE_40GB")
    assert not acc.is_accelerator_request("nvidia.com/hostdev") and not acc.is_accelerator_request("memory")


def test_accelerator_resources_keeps_positive_exclusive_counts():
    alloc = {
        "cpu": "8",
        "nvidia.com/gpu": "4",
        "nvidia.com/mig-1g.5gb": "0",
        "nvidia.com/gpu.shared": "16",
        "habana.ai/gaudi": "bad",
        "amd.com/gpu": 2,
    }
    assert acc.accelerator_resources(alloc) == {"nvidia.com/gpu": 4, "amd.com/gpu": 2}
    assert acc.accelerator_resources(None) == {}


@pytest.mark.parametrize(
    "key, parsed, vendor",
    [
        ("feature.node.kubernetes.io/pci-10de.present", (None, "10de"), "nvidia"),
        ("feature.node.kubernetes.io/pci-0302_10de.present", ("0302", "10de"), "nvidia"),
        ("feature.node.kubernetes.io/pci-0300_1002.present", ("0300", "1002"), "amd"),
        ("feature.node.kubernetes.io/pci-1200_1002.present", ("1200", "1002"), "amd"),
        ("feature.node.kubernetes.io/pci-0380_8086.present", ("0380", "8086"), "intel"),
        ("feature.node.kubernetes.io/pci-8086.present", (None, "8086"), None),  # any Intel device
        ("feature.node.kubernetes.io/pci-0b40_8086.present", ("0b40", "8086"), None),  # QAT
        ("feature.node.kubernetes.io/pci-1200_1da3.present", ("1200", "1da3"), "habana"),
        ("feature.node.kubernetes.io/pci-1200_19e5.present", ("1200", "19e5"), "ascend"),
        ("feature.node.kubernetes.io/pci-10de_2330.present", (None, "10de"), "nvidia"),  # vendor, device
        ("feature.node.kubernetes.io/pci-15b3.present", (None, "15b3"), None),  # Mellanox NIC
        ("feature.node.kubernetes.io/cpu-model.vendor_id", None, None),
    ],
)
def test_nfd_pci_labels(key, parsed, vendor):
    assert acc.nfd_pci_device(key) == parsed
    assert acc.pci_vendor_of_label(key, "true") == vendor
    assert acc.pci_vendor_of_label(key, "false") is None


def test_accelerator_vendors_of_node():
    assert acc.accelerator_vendors_of_node({}, {"cpu": "4"}) == {}
    assert acc.accelerator_vendors_of_node({"nvidia.com/gpu.present": "false"}, {}) == {}
    assert acc.accelerator_vendors_of_node({"nvidia.com/gpu.present": "true"}, {}) == {
        "nvidia": "label nvidia.com/gpu.present=true"
    }
    assert acc.accelerator_vendors_of_node({}, {"amd.com/gpu": "8"}) == {"amd": "allocatable amd.com/gpu=8"}
    assert set(
        acc.accelerator_vendors_of_node({"intel.feature.node.kubernetes.io/gpu": "true"}, {"nvidia.com/gpu": "1"})
    ) == {"nvidia", "intel"}
    assert acc.accelerator_vendors_of_node({"accelerator": "huawei-Ascend910"}, {}) == {
        "ascend": "label accelerator=huawei-Ascend910"
    }
    # an unrecognised GKE accelerator counts only when nothing better tells the vendor
    assert acc.accelerator_vendors_of_node({"cloud.google.com/gke-accelerator": "x"}, {"nvidia.com/gpu": "1"}) == {
        "nvidia": "allocatable nvidia.com/gpu=1"
    }
    assert acc.accelerator_vendors_of_node({"cloud.google.com/gke-accelerator": "false"}, {}) == {}
    assert acc.is_accelerator_node({"feature.node.kubernetes.io/amd-gpu": "true"}, None)
    assert not acc.is_accelerator_node({"accelerator": "none"}, {"nvidia.com/gpu": "0"})


def test_is_simulated_node():
    assert acc.is_simulated_node({}, {"kwok.x-k8s.io/node": "fake"})
    assert acc.is_simulated_node({"type": "kwok"}, {})
    assert not acc.is_simulated_node({"type": "gpu"}, {"other": "x"})


@pytest.mark.parametrize(
    "driver, vendor, accelerator, example, family",
    [
        ("gpu.nvidia.com", "nvidia", True, False, "nvidia"),
        ("compute-domain.nvidia.com", "nvidia", False, False, "nvidia"),  # IMEX channels
        ("gpu.amd.com", "amd", True, False, "amd"),
        ("gpu.intel.com", "intel", True, False, "intel"),
        ("gaudi.intel.com", "habana", True, False, "habana"),  # not an Intel GPU: its devices are /dev/accel
        ("tpu.google.com", "tpu", True, False, "tpu"),
        ("neuron.aws.com", "neuron", True, False, "neuron"),
        ("gpu.example.com", None, True, True, "generic"),
        ("npu.acme.io", None, True, False, "generic"),
        ("dra.net", None, False, False, "generic"),
        ("output.example.org", None, False, True, "generic"),  # "tpu" inside a word is not a TPU
        ("gpu.test-driver.cdi.k8s.io", None, True, True, "generic"),  # Kubernetes' DRA test driver
        ("test-driver.cdi.k8s.io", None, False, True, "generic"),  # its default name has no accelerator word
    ],
)
def test_dra_driver_queries(driver, vendor, accelerator, example, family):
    assert acc.vendor_of_driver(driver) == vendor
    assert acc.is_accelerator_driver(driver) is accelerator
    assert acc.is_example_driver(driver) is example
    assert acc.injects_claim_env(driver) is driver.endswith("test-driver.cdi.k8s.io")
    assert acc.device_family_of_driver(driver) == family
    assert acc.device_family_of_driver(driver, "mig.nvidia.com") == "nvidia-mig"


def test_device_family_of_resource():
    assert acc.device_family_of_resource("nvidia.com/gpu") == "nvidia"
    assert acc.device_family_of_resource("nvidia.com/gpu", {"nvidia.com/mig.strategy": "single"}) == "nvidia-mig"
    assert acc.device_family_of_resource("nvidia.com/mig-1g.5gb") == "nvidia-mig"
    assert acc.device_family_of_resource("habana.ai/gaudi") == "habana"
    assert acc.device_family_of_resource("example.com/thing") == "generic"


def test_unit_devices_and_probe_globs():
    units = acc.unit_device_patterns()
    assert re.match(units["nvidia"], "/dev/nvidia0") and not re.match(units["nvidia"], "/dev/nvidiactl")
    assert re.match(units["ascend"], "/dev/davinci3") and not re.match(units["ascend"], "/dev/davinci_manager")
    assert re.match(units["habana"], "/dev/accel/accel0") and not re.match(units["tpu"], "/dev/accel/accel0")
    assert units["nvidia-mig"] == units["nvidia"] and re.match(units["generic"], "/dev/anything")
    globs = acc.probe_device_globs()
    # what the probe script listed before this registry, and Ascend's device nodes it did not
    assert {
        "/dev/nvidia[0-9]*",
        "/dev/dri/renderD*",
        "/dev/kfd",
        "/dev/accel[0-9]*",
        "/dev/accel/accel[0-9]*",
        "/dev/neuron[0-9]*",
        "/dev/vfio/[0-9]*",
        "/dev/davinci[0-9]*",
    } == set(globs)
    assert len(globs) == len(set(globs))


def test_sharing_reason():
    assert (
        acc.sharing_reason({"nvidia.com/gpu.replicas": "4"}, "nvidia.com/gpu")
        == "the node shares GPUs by design (nvidia.com/gpu.replicas=4)"
    )
    assert acc.sharing_reason({"nvidia.com/gpu.sharing-strategy": "MPS"}, "nvidia.com/gpu")
    assert acc.sharing_reason({"cloud.google.com/gke-gpu-sharing-strategy": "time-sharing"}, "nvidia.com/gpu")
    assert acc.sharing_reason({}, "nvidia.com/gpu.shared") == "nvidia.com/gpu.shared is a shared (time-sliced) resource"
    assert "Neuron cores" in acc.sharing_reason({}, "aws.amazon.com/neuroncore")
    assert acc.sharing_reason({"nvidia.com/gpu.replicas": "1"}, "nvidia.com/gpu") is None
    assert acc.sharing_reason({"nvidia.com/gpu.replicas": "4"}, "amd.com/gpu") is None  # not NVIDIA's resource
    assert acc.sharing_reason({}, "example.com/gpu") is None


def test_dra_class_sharing():
    assert acc.dra_class_sharing({"spec": {"config": [{"opaque": {"parameters": {"sharing": {"strategy": "MPS"}}}}]}})
    assert acc.dra_class_sharing({"spec": {"config": [{"opaque": {"parameters": {"kind": "TimeSlicing"}}}]}})
    assert not acc.dra_class_sharing({"spec": {}}) and not acc.dra_class_sharing({})


def test_advertised_versions():
    assert acc.advertised_versions(
        "nvidia", {"nvidia.com/cuda.driver-version.full": "580.65.06", "nvidia.com/cuda.runtime-version.full": "12.9"}
    ) == {"driver": "580.65.06", "cuda": "12.9"}
    assert acc.advertised_versions(
        "nvidia",
        {
            "nvidia.com/cuda.driver.major": "535",
            "nvidia.com/cuda.driver.minor": "104",
            "nvidia.com/cuda.driver.rev": "05",
        },
    ) == {"driver": "535.104.05"}
    assert acc.advertised_versions("amd", {"amd.com/gpu.driver-version": "6.12.12"}) == {"driver": "6.12.12"}
    assert acc.advertised_versions("amd", {"nvidia.com/cuda.driver-version.full": "580"}) == {}
    assert acc.advertised_versions("nobody", {"x": "y"}) == {}


def _trace(vendor: acc.Vendor, mechanism: str, labels: dict, allocatable: dict) -> acc.Trace | None:
    found = [t for v, m, t in acc.mechanisms_on_node(labels, allocatable) if v is vendor and m.name == mechanism]
    return found[0] if found else None


def test_mechanisms_on_node():
    nvidia, amd, intel = acc.BY_KEY["nvidia"], acc.BY_KEY["amd"], acc.BY_KEY["intel"]
    assert [(v.key, m.name, t) for v, m, t in acc.mechanisms_on_node({}, {"nvidia.com/mig-1g.5gb": "7"})] == [
        ("nvidia", "MIG", acc.Trace(acc.Presence.IN_EFFECT, ("allocatable nvidia.com/mig-1g.5gb=7",)))
    ]
    assert acc.mechanisms_on_node({"nvidia.com/mig.capable": "false"}, {"nvidia.com/gpu": "1"}) == ()
    assert (
        _trace(nvidia, "MIG", {"nvidia.com/mig.capable": "true"}, {"nvidia.com/gpu": "1"}).presence
        is acc.Presence.CAPABLE
    )
    # labels in effect need the vendor's units: replicas on a node with no GPU allocatable are idle
    replicas = {"nvidia.com/gpu.replicas": "4"}
    assert _trace(nvidia, "time-slicing", replicas, {"nvidia.com/gpu": "8"}).presence is acc.Presence.IN_EFFECT
    assert _trace(nvidia, "time-slicing", replicas, {"amd.com/gpu": "8"}).presence is acc.Presence.IDLE
    # the strategy tells time-slicing from MPS
    with_mps = replicas | {"nvidia.com/gpu.sharing-strategy": "mps"}
    assert _trace(nvidia, "time-slicing", with_mps, {"nvidia.com/gpu": "8"}) is None
    assert _trace(nvidia, "MPS", with_mps, {"nvidia.com/gpu": "8"}).presence is acc.Presence.IN_EFFECT
    assert _trace(nvidia, "MPS", replicas, {"nvidia.com/gpu": "8"}) is None
    assert _trace(nvidia, "MPS", {"nvidia.com/gpu.sharing-strategy": "mps"}, {}).presence is acc.Presence.CONFIGURED
    # AMD: "single" naming shows partitions by label, "mixed" by resource; SPX is the whole GPU
    partitions, vf = "AMD GPU partitions", "AMD MxGPU virtual functions"
    assert (
        _trace(amd, partitions, {"amd.com/gpu.compute-memory-partition": "cpx_nps4"}, {"amd.com/gpu": "64"}).presence
        is acc.Presence.IN_EFFECT
    )
    assert _trace(amd, partitions, {}, {"amd.com/spx_nps1": "8"}) is None
    assert (
        _trace(amd, partitions, {"amd.com/gpu.compute-partitioning-supported": "true"}, {"amd.com/gpu": "8"}).presence
        is acc.Presence.CAPABLE
    )
    host = {"gpu.operator.amd.com/kube-amd-gpu.gpu-operator.driver": "vf-passthrough"}
    assert _trace(amd, vf, host, {"amd.com/gpu": "8"}).shown == (
        "gpu.operator.amd.com/kube-amd-gpu.gpu-operator.driver=vf-passthrough",
        "allocatable amd.com/gpu=8",
    )
    assert _trace(amd, vf, {"gpu.operator.amd.com/ns.dc.driver": "container"}, {"amd.com/gpu": "8"}) is None
    # Intel: shared-dev-num shows as more units than devices; GPU-aware scheduling shares alone are set up only
    flex = {"gpu.intel.com/device.count": "1"}
    assert _trace(intel, "shared-dev-num", flex, {"gpu.intel.com/i915": "10"}).presence is acc.Presence.IN_EFFECT
    assert _trace(intel, "shared-dev-num", flex, {"gpu.intel.com/i915": "1"}) is None
    gas = {"gpu.intel.com/i915": "1", "gpu.intel.com/millicores": "1000"}
    assert _trace(intel, "shared-dev-num", flex, gas).presence is acc.Presence.CONFIGURED
    assert (
        acc.device_count(
            "intel", {"gpu.intel.com/device-id.0380-56c0.count": "2", "gpu.intel.com/device-id.0300-56a0.count": "1"}
        )
        == 3
    )
    assert (
        acc.device_count("intel", {"gpu.intel.com/device.count": "2", "gpu.intel.com/device-id.0380-0bd5.count": "2"})
        == 2
    )  # the first pattern
    assert acc.device_count("intel", {}) is None and acc.device_count("nvidia", flex) is None


def test_what_the_tool_knows_per_vendor():
    assert {v.key for v in acc.VENDORS if v.mechanisms_of(True)} == {"nvidia", "amd", "intel", "ascend"}
    assert {v.key for v in acc.VENDORS if v.mechanisms_of(False)} == {"nvidia", "amd", "intel"}
    assert {v.key for v in acc.VENDORS if v.verifies_drivers} == {"nvidia", "amd", "intel"}
    for vendor in acc.VENDORS:
        for mech in vendor.mechanisms:
            assert mech.units and mech.kind in ("partition", "oversubscription", "virtualisation"), mech.name


def test_runtime_handlers_device_paths_and_env():
    assert acc.vendor_of_runtime_handler("nvidia-cdi") == "nvidia" and acc.vendor_of_runtime_handler("rocm") == "amd"
    assert acc.vendor_of_runtime_handler("runc") is None and acc.vendor_of_runtime_handler("kata-qemu") is None
    assert acc.vendor_of_device_path("/dev/nvidia0") == "nvidia"
    assert acc.vendor_of_device_path("/dev/davinci1") == "ascend"
    assert acc.vendor_of_device_path("/dev/dri") == acc.UNRECOGNISED  # AMD or Intel
    assert acc.vendor_of_device_path("/dev/vfio/12") == acc.UNRECOGNISED
    assert acc.is_accelerator_device_path("/dev/kfd") and acc.is_accelerator_device_path("/dev/neuron0")
    assert not acc.is_accelerator_device_path("/dev/shm") and not acc.is_accelerator_device_path("/var/run")
    assert acc.visible_devices_bypass("NVIDIA_VISIBLE_DEVICES", "all") == "nvidia"
    assert acc.visible_devices_bypass("AMD_VISIBLE_DEVICES", "0,1") == "amd"
    assert acc.visible_devices_bypass("HABANA_VISIBLE_DEVICES", "all") == "habana"
    assert acc.visible_devices_bypass("NVIDIA_VISIBLE_DEVICES", "void") is None
    assert acc.visible_devices_bypass("NVIDIA_VISIBLE_DEVICES", "") is None
    assert acc.visible_devices_bypass("CUDA_VISIBLE_DEVICES", "0") is None  # in-process only


def test_devices_that_only_the_vendors_runtime_hands_out():
    # The probe runs these vendors' pods under their runtime's RuntimeClass: it must be findable, and the
    # variables it honours known.
    needs = [v for v in acc.VENDORS if v.devices_need_runtime]
    assert {v.key for v in needs} == {"nvidia", "ascend"}
    assert all(v.runtime_handler and v.visible_devices_env for v in needs)


@pytest.mark.parametrize(
    "name, images, vendor, plugin",
    [
        ("nvidia-device-plugin-daemonset", ["nvcr.io/nvidia/k8s-device-plugin:v0.17.0"], "nvidia", True),
        ("intel-gpu-plugin", ["intel/intel-gpu-plugin:0.32.1"], "intel", True),
        ("amdgpu-device-plugin-daemonset", ["rocm/k8s-device-plugin:1.31"], "amd", True),
        ("ascend-device-plugin-daemonset", ["ascend-k8sdeviceplugin:v6.0"], "ascend", True),
        ("neuron-device-plugin-daemonset", ["public.ecr.aws/neuron/neuron-device-plugin:2.x"], "neuron", True),
        ("hami-device-plugin", ["projecthami/hami:v2"], None, True),
        ("nvidia-dcgm-exporter", ["nvcr.io/nvidia/k8s/dcgm-exporter:4"], "nvidia", False),
        ("rdma-shared-dp-ds", ["ghcr.io/mellanox/k8s-rdma-shared-dev-plugin"], None, False),
        ("sriov-device-plugin", ["ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin"], None, False),
        ("input-device-plugin", ["example/input-device-plugin"], None, False),
        ("coredns", ["registry.k8s.io/coredns/coredns:v1.11"], None, False),
    ],
)
def test_workload_recognition(name, images, vendor, plugin):
    assert acc.vendor_of_workload(name, images) == vendor
    assert acc.is_accelerator_device_plugin(name, images) is plugin


def test_stack_images_and_taints():
    for image in (
        "nvcr.io/nvidia/gpu-operator:v25",
        "rocm/device-metrics-exporter:v1.3",
        "intel/intel-gpu-plugin:0.32",
        "registry.k8s.io/nfd/node-feature-discovery:v0.17",
        "ghcr.io/run-ai/fake-gpu-operator/device-plugin",
    ):
        assert acc.is_accelerator_stack_image(image), image
    assert not acc.is_accelerator_stack_image("docker.io/library/ubuntu:22.04")
    assert acc.is_accelerator_stack_image("vault.habana.ai/gaudi-metric-exporter/metric-exporter:1.21.0")
    assert not acc.is_accelerator_stack_image(  # a Gaudi user's workload image, from Habana's registry
        "vault.habana.ai/gaudi-docker/1.21.0/ubuntu24.04/habanalabs/pytorch-installer-2.6.0:latest"
    )
    assert acc.is_accelerator_taint("nvidia.com/gpu") and acc.is_accelerator_taint("sku", "gpu")
    assert acc.is_accelerator_taint("huawei.com/Ascend910")
    assert not acc.is_accelerator_taint("kubernetes.io/arch", "amd64")
    assert not acc.is_accelerator_taint("example.com/output-only")  # "tpu" inside a word


def test_accelerator_words_and_exporters():
    words = acc.accelerator_words()
    pool = acc.accelerator_words(pool=True)
    assert re.search(words, "amd-gpu-pool") and not re.search(pool, "amd-epyc-pool")
    assert not re.search(pool, "intel-cpu-pool") and re.search(pool, "trainium-pool")
    assert not re.search(words, "throughput") and not re.search(words, "command")
    names = {vendor: e.name for vendor, e in acc.exporters()}
    assert set(names) == {v.key for v in acc.VENDORS}
    for _, exporter in acc.exporters():
        assert exporter.utilisation and exporter.memory, exporter.name
    assert acc.GENERIC_EXPORTER.matches("acme-gpu-exporter") and not acc.GENERIC_EXPORTER.matches("node-exporter")


def test_exporter_switches_belong_to_the_vendors_driver_managers():
    switched = [(v, e) for v, e in acc.exporters() if e.switch_api]
    assert [e.name for _, e in switched] == ["NVIDIA DCGM exporter"]
    for vendor, exporter in switched:
        assert exporter.switch_api in {a for m in acc.BY_KEY[vendor].driver_managers for a in m.apis}
        assert exporter.switch_path.startswith("spec.") and exporter.switch_default


def test_monitoring_stacks_instances_collectors_and_managed_metrics():
    operator, gmp = monitoring.BY_KEY["prometheus-operator"], monitoring.BY_KEY["gmp"]
    assert operator.instances in operator.apis and operator.instances not in operator.monitors
    assert monitoring.EXPORTER_MONITORS == operator.monitors
    assert {a.kind for a in operator.monitors} >= set(monitoring.SERVICE_MONITOR_KINDS)
    assert operator.instance_workload.format(name="k8s") == "prometheus-k8s"

    def made(labels):
        return any(all(m.matches(labels) for m in marks) for marks in operator.instance_labels)

    assert made({"operator.prometheus.io/name": "k8s"})
    assert made({"app.kubernetes.io/managed-by": "prometheus-operator"})
    assert made({"app.kubernetes.io/name": "prometheus", "prometheus": "k8s"})  # kube-prometheus's older labels
    assert not made({"app.kubernetes.io/name": "prometheus"}) and not made({"app.kubernetes.io/managed-by": "Helm"})
    assert gmp.collectors.matches("collector") and not gmp.collectors.matches("rule-evaluator")
    assert gmp.idle_at_zero.matches("alertmanager") and not gmp.idle_at_zero.matches("collector")
    for stack in monitoring.MONITORING_STACKS:  # each stack is judged one way
        assert not (stack.instances and stack.managed), stack.key
        assert stack.managed or not (stack.collectors.visible or stack.idle_at_zero.visible), stack.key
        assert bool(stack.instances) is bool(stack.instance_workload), stack.key
    providers = {c.provider for c in acc.CLOUD_LABELS}
    assert all(m.provider in providers for m in monitoring.MANAGED_ACCELERATOR_METRICS)


def test_apis_the_checks_list_have_a_resource_definition():
    import knowledge_coverage as kc

    from kubectl_aiconf import resources

    missing = []
    for rid, api in kc.listed_apis():
        try:
            res = resources.resource_for(api)
        except KeyError:
            missing.append(f"{rid}: {api.qualified}")
            continue
        assert (res.group, res.resource, res.kind, res.namespaced) == (
            api.group,
            api.plural,
            api.kind,
            api.namespaced,
        ), f"{rid}: {api} defined as {res}"
    assert missing == [], "add these to kubectl_aiconf/resources.py"
    apis = {api.qualified for _, api in kc.listed_apis()}
    assert {
        "clusterqueues.kueue.x-k8s.io",
        "clusterpolicies.nvidia.com",
        "servicemonitors.monitoring.coreos.com",
        "rayjobs.ray.io",
        "nodepools.karpenter.sh",
        "inferencepools.inference.networking.k8s.io",
    } <= apis
    with pytest.raises(KeyError, match="leaderworkersets.leaderworkerset.x-k8s.io"):
        resources.resource_for(schedulers.LWS.apis[0])  # served or not, never listed


def test_base_matchers():
    comp = _base.Component(r"^kueue-", r"kueue/kueue", namespace=r"^kueue-system$")
    assert comp.matches("kueue-controller-manager", [], "kueue-system")
    assert not comp.matches("kueue-controller-manager", [], "default")
    assert not _base.Component().matches("anything", ["any"]) and not _base.Component().visible
    assert _base.LabelMatch("a/b").matches({"a/b": "True"}) and not _base.LabelMatch("a/b").matches({"a/b": "false"})
    assert _base.any_label([_base.LabelMatch("x"), _base.LabelMatch("y", "1|2")], {"y": "2"}).key == "y"
    assert _base.any_label([_base.LabelMatch("x")], {}) is None
    embedded = _base.LabelMatch(r"op\.example/.+\.driver", "vf-.*", key_regex=True)
    assert embedded.found({"op.example/ns.name.driver": "vf-passthrough"}) == (
        "op.example/ns.name.driver",
        "vf-passthrough",
    )
    assert not embedded.matches({"op.example/ns.name.driver": "container"}) and not embedded.matches({})
    assert _base.LabelMatch("a/b", ".*").found({"a/b": ""}) == ("a/b", "")
    assert _base.search("a+", "caat") and not _base.search("", "anything")
    assert _base.fullmatch("a+", "aa") and not _base.fullmatch("a+", "aab")
    assert _base.rx("x") is _base.rx("x")
    assert _base.Api("ray.io", "rayjobs", "RayJob").qualified == "rayjobs.ray.io"
    assert _base.Api("", "nodes", "Node", False).qualified == "nodes"
    assert comp.patterns == (r"^kueue-", r"kueue/kueue", r"^kueue-system$")


def test_gateway_implementation():
    assert gateways.gateway_implementation("openshift.io/gateway-controller/v1").key == "openshift"  # before Istio
    assert gateways.gateway_implementation("istio.io/gateway-controller").key == "istio"
    assert gateways.gateway_implementation("example.com/my-controller") is None
    assert not gateways.BY_KEY["gke"].workloads.visible
    # OpenShift's Ingress Operator runs its own istiod in openshift-ingress: neither claims the other's.
    openshift, istio = gateways.BY_KEY["openshift"].workloads, gateways.BY_KEY["istio"].workloads
    assert openshift.matches("istiod-openshift-gateway", [], "openshift-ingress")
    assert not openshift.matches("istiod", ["docker.io/istio/pilot:1.27.1"], "istio-system")
    assert istio.matches("istiod", [], "istio-system") and not istio.matches(
        "istiod-openshift-gateway", [], "openshift-ingress"
    )


def test_autoscaler_queries():
    assert autoscalers.karpenter_accelerator_requirement("karpenter.k8s.aws/instance-gpu-count", "Gt", ["0"])
    assert autoscalers.karpenter_accelerator_requirement("karpenter.k8s.aws/instance-family", "In", ["p5", "m5"])
    assert autoscalers.karpenter_accelerator_requirement("karpenter.azure.com/sku-family", "In", ["Standard_NC"])
    assert not autoscalers.karpenter_accelerator_requirement("karpenter.k8s.aws/instance-gpu-count", "DoesNotExist", [])
    assert not autoscalers.karpenter_accelerator_requirement("karpenter.k8s.aws/instance-family", "In", ["m5", "c7"])
    assert autoscalers.is_accelerator_pool_name("gke-a100-gpu-pool") and autoscalers.is_accelerator_pool_name("gaudi")
    assert not autoscalers.is_accelerator_pool_name("amd-epyc") and not autoscalers.is_accelerator_pool_name("output")
    assert [m.apiservice for m in autoscalers.METRICS_APIS if m.custom] == [
        "v1beta1.custom.metrics.k8s.io",
        "v1beta1.external.metrics.k8s.io",
    ]
    assert re.match(autoscalers.CLUSTER_AUTOSCALER.node_group_arg, "--nodes=0:4:gpu-a100").group(1) == "gpu-a100"
    assert not re.match(autoscalers.CLUSTER_AUTOSCALER.node_group_arg, "--node-group-auto-discovery=asg:tag=x")
    assert autoscalers.OPENSHIFT.accelerator_limits == "spec.resourceLimits.gpus"


@pytest.mark.parametrize(
    "text, metric",
    [
        ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_GPU_UTIL"),
        ("sum(rate(vllm:num_requests_waiting[1m]))", "vllm:num_requests_waiting"),
        ("HostGPUMemoryUsage", "HostGPUMemoryUsage"),  # camelCase (HAMi)
        ("habanalabs_utilization", "habanalabs_utilization"),  # a vendor word from the accelerator records
        ("xpum_engine_ratio", "xpum_engine_ratio"),
        ("http_requests_per_second", None),
        ("output_bytes_total", None),  # "tpu" inside a word
        ("node_intel_rapl_joules", None),  # CPU vendors' words are left out
    ],
)
def test_ai_metric_name(text, metric):
    assert autoscalers.ai_metric_name(text) == metric


def test_scheduler_queues_usage_and_hints():
    kueue, volcano, kai = (schedulers.BY_KEY[k] for k in ("kueue", "volcano", "kai"))
    assert [q.fields for q in kueue.queues] == [("status.conditions",), ("status.conditions", "spec.clusterQueue")]
    assert volcano.queues[0].fields == ("status.state",) and kai.queues[0].fields == ()
    assert kueue.usage_fields == ("status.conditions",) and volcano.usage_fields == ("spec.minMember", "status.phase")
    assert "kueue.x-k8s.io" in kueue.api_groups and "batch.volcano.sh" in volcano.api_groups
    for sched in schedulers.SCHEDULERS:
        assert bool(sched.hint) is not sched.gang, sched.key  # a hint says why it is one; gang schedulers need none
        assert sched.gang is bool(sched.core), sched.key  # a gang scheduler's scheduler proper is recognised
        assert all(q.api in sched.apis for q in sched.queues), sched.key  # its queues must be served
        assert sched.usage is None or sched.usage in sched.apis, sched.key


def test_other_module_tables():
    assert schedulers.BY_KEY["kueue"].workloads.matches("x", ["registry.k8s.io/kueue/kueue:v0.10.0"])
    assert not schedulers.BY_KEY["kueue"].workloads.matches("x", ["example/kueue-viz:1"])
    assert [s.key for s in schedulers.GANG_SCHEDULERS] == ["kueue", "volcano", "kai", "coscheduling"]
    assert monitoring.BY_KEY["gmp"].workloads.matches("collector", [], "gmp-system")
    assert not monitoring.BY_KEY["gmp"].workloads.matches("collector", [], "observability")
    assert operators.BY_KEY["kuberay"].reconciled[0].api.qualified == "rayclusters.ray.io"
    assert re.search(operators.AI_LOOKING_GROUP, "serving.example.ai") and not re.search(
        operators.AI_LOOKING_GROUP, "cert-manager.io"
    )
    assert serving.ROLE_LABELS[0] == "llm-d.ai/role" and serving.BY_KEY["dynamo"].operator == "dynamo"
    assert re.search(serving.PREFILL_ARGS, "--disaggregation-mode prefill") and not re.search(
        serving.PREFILL_ARGS, "--disaggregation-mode decode"
    )
    assert "mellanox.com" in networks.NET_CRD_GROUPS and re.search(networks.NET_RESOURCE, "rdma/ib")
    assert not re.search(networks.NET_RESOURCE, "nvidia.com/gpu")
    assert re.search(serving.BY_KEY["dynamo"].worker_args, "python3 -m dynamo.vllm --model m")


@pytest.mark.parametrize(
    "labels, text, stack",
    [
        ({"llm-d.ai/role": "decode"}, "vllm serve m", "llm-d"),  # an llm-d pod running vLLM is llm-d's
        ({"nvidia.com/dynamo-component-type": "worker"}, "", "dynamo"),
        ({}, "python3 -m dynamo.sglang", "dynamo"),
        ({}, "lmsysorg/SGLang:v0.5 python3 -m sglang.launch_server", "sglang"),
        ({}, "vllm/vllm-openai:v0.11 vllm serve m", "vllm"),
        ({"app": "acme"}, "acme-server --kv-transfer-config {}", None),
    ],
)
def test_stack_of_pod(labels, text, stack):
    found = serving.stack_of_pod(labels, text)
    assert (found.key if found else None) == stack


def test_network_queries():
    assert networks.is_network_device("dra.net") and networks.is_network_device("nic.acme.example")
    assert networks.is_network_device("dpu.acme.example", ["ifName", "pciAddress"])  # told by an attribute
    assert not networks.is_network_device("gpu.nvidia.com", ["productName", "uuid"])
    assert not networks.is_network_device("internet-of-things.example")  # "net" inside a word
    assert networks.is_network_resource("rdma/rdma_shared_device_a")
    assert networks.is_network_resource("vpc.amazonaws.com/efa")
    assert networks.is_network_resource("openshift.io/mlxnics")
    assert not networks.is_network_resource("nvidia.com/gpu") and not networks.is_network_resource("cpu")
    assert networks.has_network_hardware({"feature.node.kubernetes.io/rdma.capable": "true"})
    assert not networks.has_network_hardware({"feature.node.kubernetes.io/rdma.capable": "false"})
    assert not networks.has_network_hardware(None)
    assert re.search(sandboxes.SANDBOX_WORDS, "gvisor") and not re.search(sandboxes.SANDBOX_WORDS, "runc")
    assert re.fullmatch(sandboxes.PLAIN_HANDLER, "nvidia") and not re.fullmatch(sandboxes.PLAIN_HANDLER, "kata-qemu")


def test_every_public_query_function_is_exercised_here():
    source = Path(__file__).read_text(encoding="utf-8")
    untested = [
        f"{m.__name__}.{name}"
        for m in MODULES
        for name, fn in vars(m).items()
        if inspect.isfunction(fn)
        and fn.__module__ == m.__name__
        and not name.startswith("_")
        and not re.search(rf"\.{name}\(", source)
    ]
    assert not untested, untested


# fixtures ------------------------------------------------------------------------------------------------------
# Records that still lack a fixture on which their check PASSes or one on which it does not (see
# knowledge_coverage.missing()). This list may only shrink: a new record comes with its fixtures.
KNOWN_GAPS: frozenset[str] = frozenset()


def test_fixture_coverage_is_known_for_every_record():
    import knowledge_coverage as kc

    cov = kc.coverage()
    assert set(cov) == set(RECORDS)
    for record in cov.values():
        for name in record.passing + record.other:
            assert (kc.FIXTURES / name).is_dir(), name
    assert cov["accelerator:nvidia"].passing and cov["accelerator:nvidia"].other
    assert cov["scheduler:kueue"].passing and cov["scheduler:kueue"].other


def test_no_new_record_without_fixtures():
    import knowledge_coverage as kc

    gaps = kc.missing()
    new = {rid: gaps[rid] for rid in set(gaps) - KNOWN_GAPS}
    assert not new, f"records without the fixtures they need: {new}"
    assert KNOWN_GAPS <= set(gaps), f"covered now, remove from KNOWN_GAPS: {sorted(KNOWN_GAPS - set(gaps))}"
