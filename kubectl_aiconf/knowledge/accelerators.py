"""Accelerator vendors: how each one shows up in a cluster, and the questions several checks ask about them.

One `Vendor` record per vendor holds everything the tool recognises about it: the extended resources its
device plugin advertises (and what one unit of each grants), the node labels that mark its nodes, Node
Feature Discovery PCI ids, device plugin and DRA driver names, the operator and custom resources that
manage its drivers, where driver versions are advertised, its metrics exporters and their per-device
metric names, the environment variables and device nodes through which a container can reach devices
without a request, its partitioning, sharing and virtualisation mechanisms, and what the probe looks for.

Vendor keys are the device families of the probe (`nvidia`, `amd`, `intel`, `habana`, `neuron`, `tpu`,
`ascend`); `UNRECOGNISED` stands for an accelerator the tool sees but cannot attribute.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kubectl_aiconf.knowledge._base import Api, Component, LabelMatch, Record, any_label, fullmatch, rx, search

UNRECOGNISED = "other"


class Grant(str, enum.Enum):
    """What one unit of an extended resource gives a container."""

    WHOLE = "whole"  # one whole device
    PARTITION = "partition"  # a hardware partition or core of a device (MIG slice, AMD CPX partition, vNPU)
    SHARE = "share"  # a software share: other pods may get the same device (time-slicing, memory/core slices)
    MONITORING = "monitoring"  # read access to every device of the node, on purpose (Intel *_monitoring)
    VM = "vm"  # a device (passthrough or vGPU) for a virtual machine (KubeVirt permitted host devices)


@dataclass(frozen=True)
class ExtendedResource:
    """Extended resources of one kind: `pattern` must match the whole resource name."""

    pattern: str
    grant: Grant
    example: str  # a name the pattern matches; tests hold every record to its example
    shares_device_node: str = ""  # why units of it share one device node (two pods may see the same one)


@dataclass(frozen=True)
class PciId:
    """A PCI vendor id as Node Feature Discovery labels it: `feature.node.kubernetes.io/pci-<fields>.present`.

    NFD builds <fields> from `deviceLabelFields` (default class and vendor: `pci-0302_10de`; the GPU
    Operator configures vendor only: `pci-10de`). `classes` are PCI class prefixes that count (empty: any);
    `vendor_only` says whether a label without a class counts at all.
    """

    vendor: str
    classes: tuple[str, ...] = ()
    vendor_only: bool = True


@dataclass(frozen=True)
class VersionLabel:
    """A node label advertising a version, whole (`full`) or in parts joined with dots (older labels)."""

    what: str  # "driver", "cuda", ...
    full: str
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exporter:
    """A per-device metrics exporter and the metric names that carry utilisation and memory per device."""

    name: str
    component: Component
    utilisation: tuple[str, ...]
    memory: tuple[str, ...]
    temperature: tuple[str, ...] = ()
    power: tuple[str, ...] = ()
    device_labels: tuple[str, ...] = ()  # labels that identify the device a series belongs to
    port: int | None = None
    # The boolean field of a driver manager's custom resource (`switch_api`, dotted `switch_path`) that
    # deploys it or not, and whether it is deployed while the field is unset.
    switch_api: Api | None = None
    switch_path: str = ""
    switch_default: bool = True


@dataclass(frozen=True)
class Setting:
    """A field of a driver manager's custom resource that sets a mechanism up: `path` is dotted from the
    object's root, `value` a regex the value (JSON-rendered when not a string) must match whole."""

    path: str
    value: str = r".+"


@dataclass(frozen=True)
class Mechanism:
    """A partitioning, sharing or virtualisation mechanism and the traces it leaves, strongest first.

    In effect on a node (the requirement is met there): one of `resources` (full-match regex) is allocatable;
    or one of `labels` is set while the vendor's resources of a grant in `units` are allocatable; or, with
    `units_exceed_devices`, the node offers more whole units than its device count labels say it has
    devices. Not in effect, in decreasing closeness: a label without units, a `configured_resources`
    resource or a `hints` label (set up, nothing schedulable); `capable` labels (the hardware could, nothing
    is set up). A node must carry every `requires` label and no `excludes` label for any of this to count.
    Elsewhere: `dra_attributes` on published DRA devices (in effect), `device_classes` and `settings` of the
    vendor's driver managers (defined or configured only), `workloads` (its agents run).

    A `related` mechanism is shown but never meets the requirement: whole devices passed through to virtual
    machines, or an accelerator node that is itself a virtual machine.
    """

    kind: str  # "partition", "oversubscription" or "virtualisation"
    name: str
    resources: str = ""
    labels: tuple[LabelMatch, ...] = ()
    units: tuple[Grant, ...] = (Grant.WHOLE, Grant.PARTITION, Grant.SHARE)
    units_exceed_devices: bool = False
    configured_resources: str = ""
    hints: tuple[LabelMatch, ...] = ()
    capable: tuple[LabelMatch, ...] = ()
    requires: tuple[LabelMatch, ...] = ()
    excludes: tuple[LabelMatch, ...] = ()
    dra_attributes: tuple[tuple[str, str], ...] = ()  # (attribute, value regex) on published DRA devices
    device_classes: str = ""  # regex on DeviceClass names
    settings: tuple[Setting, ...] = ()
    workloads: tuple[Component, ...] = ()
    related: bool = False

    @property
    def sharing(self) -> bool:
        """A way to share a device between workloads (gpu_sharing), not to virtualise it."""
        return self.kind in ("partition", "oversubscription")

    @property
    def node_labels(self) -> tuple[LabelMatch, ...]:
        """Every node label this mechanism reads."""
        return self.labels + self.hints + self.capable + self.requires + self.excludes


@dataclass(frozen=True)
class ProbeCommand:
    """A command that lists the vendor's devices inside a container, when the runtime provides it."""

    command: str
    lists: str  # what one output line names
    uuid: str = ""  # regex whose group 1 is a device's unique id in the output


@dataclass(frozen=True)
class DriverManager:
    """An operator or installer that puts drivers (and the container runtime hook) on accelerator nodes.

    Its custom resources say whether it is healthy: `ready_state` (status.state), `ready_condition` (a
    condition that must be True) and `ready_counts` ((desired, ready) status paths: when desired is above
    zero, ready must reach it); the first of `apis` must have a resource once its CRD is installed.
    `components` are its own workloads (its controller), `node_agents` the DaemonSets through which it
    installs drivers and the runtime hook on each node, whose health is its own. A managed platform that
    installs drivers itself shows in `node_labels` on the nodes it manages.
    """

    name: str
    apis: tuple[Api, ...] = ()  # its custom resources
    ready_state: str = ""
    ready_condition: str = ""
    ready_counts: tuple[tuple[str, str], ...] = ()
    driver_toggle: str = ""  # path to the switch that, when false, leaves drivers pre-installed on the nodes
    components: tuple[Component, ...] = ()
    node_agents: tuple[Component, ...] = ()
    node_labels: tuple[LabelMatch, ...] = ()


@dataclass(frozen=True)
class Vendor(Record):
    key: str
    name: str
    resources: tuple[ExtendedResource, ...]
    node_labels: tuple[LabelMatch, ...] = ()  # labels that mark the vendor's accelerator nodes
    pci: tuple[PciId, ...] = ()
    words: tuple[str, ...] = ()  # words naming the vendor's accelerator components (plugins, taints, drivers)
    pool_words: tuple[str, ...] = ()  # words that, in a node pool or node group name, suggest its accelerators
    device_plugins: tuple[Component, ...] = ()
    dra_driver: str = ""  # regex on DRA driver names
    dra_example: str = ""  # a DRA driver name the regex matches (tested)
    device_classes: tuple[str, ...] = ()  # DeviceClasses its DRA driver creates
    driver_managers: tuple[DriverManager, ...] = ()
    version_labels: tuple[VersionLabel, ...] = ()
    # DRA device attributes that report the installed driver: its version, or for a driver that is part of
    # the kernel, its name (the kernel's version is then the driver's).
    dra_version_attributes: tuple[str, ...] = ()
    # Node labels that say the kernel driver is loaded, for drivers whose version no label advertises.
    driver_loaded: tuple[LabelMatch, ...] = ()
    # (file, regex whose group 1 is the version): where a container given a device reads the loaded driver's
    # version (the driver_runtime_management probe compares it with the advertised one).
    driver_version_files: tuple[tuple[str, str], ...] = ()
    # Regexes of node label keys whose integer values add up to the number of devices on a node (the first
    # regex that matches any key counts).
    device_count_labels: tuple[str, ...] = ()
    runtime_handler: str = ""  # regex on RuntimeClass handlers of its container runtime
    # Its device plugin hands devices out through `visible_devices_env` alone, which only its container runtime
    # turns into device nodes: pods see their devices only under that runtime (the probe then uses its class).
    devices_need_runtime: bool = False
    exporters: tuple[Exporter, ...] = ()
    visible_devices_env: tuple[str, ...] = ()  # env vars a runtime honours to hand out devices
    host_paths: tuple[str, ...] = ()  # device node prefixes; a hostPath mount of one bypasses mediation
    unit_device: str = ""  # regex of the device node that is one accelerator
    probe_globs: tuple[str, ...] = ()  # shell globs of its device nodes, for the probe script
    probe_commands: tuple[ProbeCommand, ...] = ()
    mechanisms: tuple[Mechanism, ...] = ()
    stack_images: str = ""  # regex on images of its own stack (plugins, exporters, operators, drivers)
    # Node labels saying that one unit of the vendor's resources may be a share of a device (time-slicing).
    shared_by_design: tuple[LabelMatch, ...] = ()

    KIND = "accelerator"

    def mechanisms_of(self, sharing: bool) -> tuple[Mechanism, ...]:
        """Its sharing mechanisms (partitions, oversubscription), or with `sharing` False its virtualisation."""
        return tuple(m for m in self.mechanisms if m.sharing is sharing)

    @property
    def verifies_drivers(self) -> bool:
        """Whether the tool knows how this vendor's drivers are managed or reported."""
        return bool(self.driver_managers or self.version_labels or self.dra_version_attributes or self.driver_loaded)


# Values accepted for the *_VISIBLE_DEVICES variables that hand out no device.
NO_DEVICE_VALUES = frozenset({"", "void", "none"})

# NVIDIA -----------------------------------------------------------------------------------------------------
NVIDIA = Vendor(
    key="nvidia",
    name="NVIDIA",
    resources=(
        ExtendedResource(r"nvidia\.com/gpu", Grant.WHOLE, "nvidia.com/gpu"),
        ExtendedResource(r"nvidia\.com/mig-.+", Grant.PARTITION, "nvidia.com/mig-1g.5gb"),
        # gpu.shared: the device plugin's renameByDefault; gpumem/gpucores: HAMi's shares of NVIDIA GPUs.
        ExtendedResource(
            r"nvidia\.com/(gpu\.shared|gpumem(-percentage)?|gpucores)", Grant.SHARE, "nvidia.com/gpu.shared"
        ),
        # KubeVirt permitted host devices are named after the device: nvidia.com/GRID_A100-4C, nvidia.com/GA100_...
        ExtendedResource(r"nvidia\.com/[A-Z][A-Za-z0-9_.-]*", Grant.VM, "nvidia.com/GRID_A100-4C"),
    ),
    node_labels=(LabelMatch("nvidia.com/gpu.present"),),  # GPU Feature Discovery
    pci=(PciId("10de", classes=("03",)),),
    words=("nvidia",),
    pool_words=("nvidia",),
    device_plugins=(Component(r"nvidia-device-plugin", r"nvidia/k8s-device-plugin"),),
    dra_driver=r"(^|\.)nvidia\.com$",
    dra_example="gpu.nvidia.com",
    device_classes=("gpu.nvidia.com", "mig.nvidia.com", "vfio.gpu.nvidia.com"),
    driver_managers=(
        DriverManager(
            "NVIDIA GPU Operator",
            (
                Api("nvidia.com", "clusterpolicies", "ClusterPolicy", False),
                Api("nvidia.com", "nvidiadrivers", "NVIDIADriver", False),
            ),
            ready_state="ready",
            driver_toggle="spec.driver.enabled",
            components=(Component(r"^gpu-operator$", r"nvidia/gpu-operator(:|@|$)"),),
            node_agents=(
                Component(r"^nvidia-(gpu-)?driver|nvidia-driver-installer"),
                Component(r"nvidia-container-toolkit"),
            ),
        ),
        # GKE installs the NVIDIA driver itself unless this label says `disabled`.
        DriverManager(
            "GKE-managed driver installation",
            node_labels=(LabelMatch("cloud.google.com/gke-gpu-driver-version", r"(?!disabled$).+"),),
        ),
    ),
    version_labels=(
        VersionLabel(
            "driver",
            "nvidia.com/cuda.driver-version.full",
            ("nvidia.com/cuda.driver.major", "nvidia.com/cuda.driver.minor", "nvidia.com/cuda.driver.rev"),
        ),
        VersionLabel(
            "cuda",
            "nvidia.com/cuda.runtime-version.full",
            ("nvidia.com/cuda.runtime.major", "nvidia.com/cuda.runtime.minor"),
        ),
    ),
    dra_version_attributes=("driverVersion", "cudaDriverVersion"),
    # "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 ..."; the open modules say
    # "NVIDIA UNIX Open Kernel Module for x86_64  570.86.15 ..."
    driver_version_files=(("/proc/driver/nvidia/version", r"Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)"),),
    runtime_handler=r"nvidia",
    devices_need_runtime=True,  # the device plugin's default envvar strategy
    exporters=(
        Exporter(
            "NVIDIA DCGM exporter",
            Component(r"dcgm-exporter", r"dcgm-exporter"),
            utilisation=("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE"),
            memory=("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"),
            temperature=("DCGM_FI_DEV_GPU_TEMP",),
            power=("DCGM_FI_DEV_POWER_USAGE",),
            device_labels=("gpu", "UUID", "pci_bus_id", "GPU_I_ID"),
            port=9400,
            switch_api=Api("nvidia.com", "clusterpolicies", "ClusterPolicy", False),
            switch_path="spec.dcgmExporter.enabled",
        ),
    ),
    visible_devices_env=("NVIDIA_VISIBLE_DEVICES",),
    host_paths=("/dev/nvidia",),
    unit_device=r"^/dev/nvidia\d+$",  # not nvidiactl, nvidia-uvm, nvidia-modeset, nvidia-caps
    probe_globs=("/dev/nvidia[0-9]*",),
    probe_commands=(ProbeCommand("nvidia-smi -L", "one GPU or MIG device", r"\(UUID: *([^)]*)\)"),),
    mechanisms=(
        Mechanism(
            "partition",
            "MIG",
            resources=r"nvidia\.com/mig-.+",
            # with the "single" strategy MIG slices are nvidia.com/gpu and the product says -MIG-
            labels=(LabelMatch("nvidia.com/gpu.product", r".*-MIG-.*"),),
            # not nvidia.com/mig.strategy: the GPU Operator labels every GPU node with its default strategy
            capable=(LabelMatch("nvidia.com/mig.capable"),),
            dra_attributes=(("type", "mig"),),
            device_classes=r"(^|[.-])mig([.-]|$)",
            # a strategy in the ClusterPolicy: set up, never proof that a GPU is partitioned
            settings=(Setting("spec.mig.strategy"),),
            workloads=(Component(r"nvidia-mig-manager", r"mig-manager"),),
        ),
        # Time-slicing and MPS both label replicas and may rename the resource; the strategy tells them apart.
        Mechanism(
            "oversubscription",
            "time-slicing",
            resources=r"nvidia\.com/gpu\.shared",
            labels=(
                LabelMatch("nvidia.com/gpu.replicas", r"0*([2-9]|[1-9]\d+)"),
                LabelMatch("nvidia.com/gpu.product", r".*-SHARED"),
            ),
            units=(Grant.WHOLE, Grant.SHARE),
            hints=(LabelMatch("nvidia.com/gpu.sharing-strategy", "time-slicing"),),
            excludes=(LabelMatch("nvidia.com/gpu.sharing-strategy", "mps"),),
            # the device plugin's config map, which may hold time-slicing or MPS settings
            settings=(Setting("spec.devicePlugin.config.name"),),
        ),
        Mechanism(
            "oversubscription",
            "MPS",
            resources=r"nvidia\.com/gpu\.shared",
            labels=(
                LabelMatch("nvidia.com/gpu.replicas", r"0*([2-9]|[1-9]\d+)"),
                LabelMatch("nvidia.com/gpu.product", r".*-SHARED"),
            ),
            units=(Grant.WHOLE, Grant.SHARE),
            hints=(LabelMatch("nvidia.com/gpu.sharing-strategy", "mps"), LabelMatch("nvidia.com/mps.capable")),
            requires=(LabelMatch("nvidia.com/gpu.sharing-strategy", "mps"),),
            workloads=(Component(r"mps-control-daemon"),),
        ),
        # GKE's own sharing of NVIDIA GPUs.
        Mechanism(
            "oversubscription",
            "GKE GPU sharing",
            labels=(LabelMatch("cloud.google.com/gke-max-shared-clients-per-gpu", r"0*([2-9]|[1-9]\d+)"),),
            hints=(LabelMatch("cloud.google.com/gke-gpu-sharing-strategy", r".+"),),
        ),
        Mechanism(
            "partition",
            "GKE multi-instance GPU",
            labels=(LabelMatch("cloud.google.com/gke-gpu-partition-size", r".+"),),
        ),
        Mechanism(
            "virtualisation",
            "NVIDIA vGPU",
            labels=(LabelMatch("nvidia.com/vgpu.present"), LabelMatch("nvidia.com/gpu.product", r"GRID.*")),
            units=(Grant.WHOLE,),
            hints=(LabelMatch("nvidia.com/vgpu.host-driver-version", r".+"),),
            # DRA: productName "GRID A100-10C", brand NvidiaVCS and the other vGPU brands
            dra_attributes=(("productName", r"GRID.*"), ("brand", r"grid|nvidiav(cs|ws|apps|pc)|nvidiacloudgaming")),
        ),
        Mechanism(
            "virtualisation",
            "NVIDIA vGPU for VMs",
            labels=(LabelMatch("nvidia.com/gpu.workload.config", "vm-vgpu"),),
            units=(Grant.VM,),
            # sandbox workloads let nodes serve virtual machines (vGPU or passthrough)
            settings=(Setting("spec.sandboxWorkloads.enabled", "true"),),
        ),
        Mechanism(
            "virtualisation",
            "GPU passthrough to VMs",
            related=True,
            hints=(LabelMatch("nvidia.com/gpu.workload.config", "vm-passthrough"),),
            dra_attributes=(("type", "vfio"),),
            device_classes=r"(^|[.-])vfio([.-]|$)",
        ),
        Mechanism(
            "virtualisation",
            "virtual machine",
            related=True,
            hints=(LabelMatch("nvidia.com/gpu.machine", r".*(vmware|virtual|kvm|qemu|hvm).*"),),
        ),
    ),
    shared_by_design=(
        LabelMatch("nvidia.com/gpu.replicas", r"0*([2-9]|[1-9]\d+)"),
        LabelMatch("nvidia.com/gpu.sharing-strategy", r"time-slicing|mps"),
        LabelMatch("cloud.google.com/gke-gpu-sharing-strategy", r"(?!false$).+"),
    ),
    stack_images=(
        r"gpu-operator|dcgm|container-toolkit|gpu-feature-discovery|mig-manager|nvidia/driver|"
        r"/cloud-native/|k8s-driver-manager|vgpu-manager|vgpu-device-manager|k8s-dra-driver"
    ),
)

# AMD --------------------------------------------------------------------------------------------------------
AMD = Vendor(
    key="amd",
    name="AMD",
    resources=(
        # With the device plugin's "single" naming, partitions are amd.com/gpu too.
        ExtendedResource(r"amd\.com/gpu", Grant.WHOLE, "amd.com/gpu"),
        # "mixed" naming: one resource per compute/memory partition mode (amd.com/cpx_nps4).
        ExtendedResource(r"amd\.com/(spx|dpx|tpx|qpx|cpx)_nps\d+", Grant.PARTITION, "amd.com/cpx_nps4"),
        # KubeVirt permitted host devices named after the device (uncertain: AMD's own example keeps
        # amd.com/gpu with externalResourceProvider, but a cluster may name its VFs amd.com/MI300X_VF).
        ExtendedResource(r"amd\.com/[A-Z][A-Za-z0-9_.-]*", Grant.VM, "amd.com/MI300X_VF"),
    ),
    node_labels=(
        LabelMatch("amd.com/gpu.present"),  # as recognised before this registry
        LabelMatch("feature.node.kubernetes.io/amd-gpu"),  # the AMD GPU Operator's NodeFeatureRule
        LabelMatch("feature.node.kubernetes.io/amd-vgpu"),  # the same rule, for a VM given an MxGPU VF
    ),
    # 1002 is AMD's graphics vendor id (its CPUs' devices are 1022). Instinct MI300 is a processing accelerator (12).
    pci=(PciId("1002", classes=("03", "12")),),
    words=("amd", "amdgpu", "rocm"),
    pool_words=(),  # "amd" in a pool name usually means AMD CPUs
    device_plugins=(Component(r"amdgpu-device-plugin|amd-gpu-device-plugin", r"rocm/k8s-device-plugin"),),
    dra_driver=r"(^|\.)amd\.com$",
    dra_example="gpu.amd.com",
    device_classes=("gpu.amd.com",),
    driver_managers=(
        # The driver itself is loaded by Kernel Module Management (module loader pods, no DaemonSet of its
        # own): the DeviceConfig's Ready condition and per-component counts say whether it took.
        DriverManager(
            "AMD GPU Operator",
            (Api("amd.com", "deviceconfigs", "DeviceConfig"),),
            ready_condition="Ready",
            ready_counts=(
                ("status.driver.desiredNumber", "status.driver.availableNumber"),
                ("status.devicePlugin.desiredNumber", "status.devicePlugin.availableNumber"),
            ),
            driver_toggle="spec.driver.enable",
            components=(Component(r"amd-gpu-operator", r"rocm/gpu-operator(:|@|$)"),),
        ),
    ),
    version_labels=(VersionLabel("driver", "amd.com/gpu.driver-version"),),  # the node labeller's
    dra_version_attributes=("driverVersion",),
    driver_version_files=(("/sys/module/amdgpu/version", r"^\s*(\S+)"),),  # empty for the in-tree driver
    runtime_handler=r"amd|rocm",
    exporters=(
        Exporter(
            "AMD device metrics exporter",
            Component(
                r"^(amd|rocm).*(metrics|exporter)|device-metrics-exporter",
                r"device-metrics-exporter|amd-smi-exporter|rocm[^/]*exporter",
            ),
            utilisation=("gpu_gfx_activity",),
            memory=("gpu_used_vram",),
            temperature=("gpu_junction_temperature", "gpu_edge_temperature"),
            power=("gpu_package_power", "gpu_power_usage"),
            device_labels=("gpu_id", "card_id"),
            port=5000,
        ),
    ),
    visible_devices_env=("AMD_VISIBLE_DEVICES",),  # AMD Container Toolkit (runtime "amd")
    host_paths=("/dev/kfd", "/dev/dri"),
    unit_device=r"^/dev/dri/renderD\d+$",  # /dev/kfd is shared by all AMD GPUs of the node
    probe_globs=("/dev/dri/renderD*", "/dev/kfd"),
    probe_commands=(
        ProbeCommand("amd-smi list", "one GPU", r"UUID: *(\S+)"),
        ProbeCommand("rocm-smi --showuniqueid", "one GPU"),
    ),
    mechanisms=(
        # Compute partitions (DPX, TPX, QPX, CPX; SPX is the whole GPU) with memory partitions (NPSn). Under
        # "mixed" naming each mode is its own resource; under "single" naming partitions are amd.com/gpu and
        # the node labeller names the mode. The labeller writes amd.com/gpu.<name>; the GPU Operator's code
        # names the same labels without "gpu." (both kept: which one a given release writes is uncertain).
        Mechanism(
            "partition",
            "AMD GPU partitions",
            resources=r"amd\.com/(dpx|tpx|qpx|cpx)_nps\d+",
            labels=(
                LabelMatch("amd.com/gpu.compute-memory-partition", r"(dpx|tpx|qpx|cpx)_nps\d+"),
                LabelMatch("amd.com/compute-memory-partition", r"(dpx|tpx|qpx|cpx)_nps\d+"),
            ),
            units=(Grant.WHOLE, Grant.PARTITION),
            capable=(
                LabelMatch("amd.com/gpu.compute-partitioning-supported"),
                LabelMatch("amd.com/compute-partitioning-supported"),
            ),
            dra_attributes=(("type", "amdgpu-partition"),),
            # the Device Config Manager applies partition profiles
            settings=(Setting("spec.configManager.enable", "true"),),
            workloads=(Component(r"device-config-manager", r"rocm/device-config-manager"),),
        ),
        # MxGPU: the GIM driver on the host splits a GPU into SR-IOV virtual functions. A VM's node sees a VF
        # (Node Feature Discovery labels amd-vgpu); a host that hands VFs to KubeVirt VMs is labelled with the
        # driver type by the GPU Operator, and its device plugin advertises the VFs.
        Mechanism(
            "virtualisation",
            "AMD MxGPU virtual functions",
            labels=(
                LabelMatch("feature.node.kubernetes.io/amd-vgpu"),
                LabelMatch(r"gpu\.operator\.amd\.com/.+\.driver", "vf-passthrough", key_regex=True),
            ),
            units=(Grant.WHOLE, Grant.VM),
            settings=(Setting("spec.driver.driverType", "vf-passthrough"),),
        ),
        Mechanism(
            "virtualisation",
            "GPU passthrough to VMs",
            related=True,
            hints=(LabelMatch(r"gpu\.operator\.amd\.com/.+\.driver", "pf-passthrough", key_regex=True),),
            settings=(Setting("spec.driver.driverType", "pf-passthrough"),),
        ),
    ),
    stack_images=r"amdgpu|rocm/(k8s|gpu-operator|device-metrics-exporter)|k8s-gpu-dra-driver",
)

# Intel GPUs -------------------------------------------------------------------------------------------------
INTEL = Vendor(
    key="intel",
    name="Intel GPU",
    resources=(
        ExtendedResource(r"gpu\.intel\.com/(i915|xe)", Grant.WHOLE, "gpu.intel.com/i915"),
        # GPU-aware scheduling shares; tiles of a multi-tile GPU.
        ExtendedResource(r"gpu\.intel\.com/(millicores|memory\.max|tiles)", Grant.SHARE, "gpu.intel.com/millicores"),
        # The plugin's monitoring resource grants every GPU of the node on purpose: one resource in its
        # "single" monitoring mode, one per kernel driver in "split" mode.
        ExtendedResource(r"gpu\.intel\.com/((i915|xe)_)?monitoring", Grant.MONITORING, "gpu.intel.com/i915_monitoring"),
    ),
    node_labels=(LabelMatch("intel.feature.node.kubernetes.io/gpu"),),  # Intel's NodeFeatureRule
    # 8086 is on every Intel device (NICs, chipsets, QAT at 0b40): only display-class (03xx) devices count,
    # and only in labels that carry the class.
    pci=(PciId("8086", classes=("03",), vendor_only=False),),
    words=("intel", "xpu"),
    pool_words=(),  # "intel" in a pool name usually means Intel CPUs
    device_plugins=(Component(r"intel-gpu-plugin", r"intel-gpu-plugin"),),
    dra_driver=r"^(?!gaudi\.)([a-z0-9-]+\.)*intel\.com$",
    dra_example="gpu.intel.com",
    device_classes=("gpu.intel.com",),
    # Intel GPU drivers (i915, xe) are part of the kernel: the operator keeps the device plugin, which only
    # advertises GPUs with a bound driver, in place; Node Feature Discovery says the driver is loaded, and the
    # DRA driver names the bound driver.
    driver_managers=(
        DriverManager(
            "Intel Device Plugins Operator",
            (Api("deviceplugin.intel.com", "gpudeviceplugins", "GpuDevicePlugin", False),),
            ready_counts=(("status.desiredNumberScheduled", "status.numberReady"),),
            components=(
                Component(
                    r"inteldeviceplugins-controller-manager|intel-deviceplugin-operator", r"intel-deviceplugin-operator"
                ),
            ),
        ),
    ),
    dra_version_attributes=("driver",),
    driver_loaded=(LabelMatch("intel.feature.node.kubernetes.io/gpu"),),  # its rule requires i915 or xe loaded
    # Node Feature Discovery's Intel GPU rules: per product (data center GPUs), else per PCI device id.
    device_count_labels=(
        r"gpu\.intel\.com/device\.count",
        r"gpu\.intel\.com/device-id\.03[0-9a-f]{2}-[0-9a-f]{4}\.count",
    ),
    exporters=(
        Exporter(
            "Intel XPU Manager",
            Component(r"xpu-?manager|^xpumd?$|intel-gpu-exporter", r"xpumanager|xpu-manager|intel-gpu-exporter"),
            utilisation=("xpum_engine_group_ratio", "xpum_engine_ratio"),
            memory=("xpum_memory_used_bytes", "xpum_memory_ratio"),
            temperature=("xpum_temperature_celsius",),
            power=("xpum_power_watts",),
            device_labels=("dev_id", "uuid"),
        ),
    ),
    host_paths=("/dev/dri",),
    unit_device=r"^/dev/dri/renderD\d+$",
    probe_globs=("/dev/dri/renderD*",),
    probe_commands=(ProbeCommand("xpu-smi discovery", "one GPU"),),
    mechanisms=(
        # The plugin's shared-dev-num lets that many containers share one GPU: each GPU is advertised that many
        # times. GPU-aware scheduling's millicores and memory shares only divide it when it is above 1.
        Mechanism(
            "oversubscription",
            "shared-dev-num",
            units_exceed_devices=True,
            configured_resources=r"gpu\.intel\.com/(millicores|memory\.max|tiles)",
            settings=(Setting("spec.sharedDevNum", r"0*([2-9]|[1-9]\d+)"),),
        ),
        # SR-IOV virtual functions of a Data Center GPU (Flex): the plugin then hands out only the VFs, which a
        # node object does not show; the DRA driver publishes them as type "vf". The Node Feature Discovery
        # labels say the GPU can do SR-IOV (uncertain: NFD's sriov.capable label for display-class devices).
        Mechanism(
            "virtualisation",
            "Intel SR-IOV virtual functions",
            dra_attributes=(("type", "vf"),),
            capable=(
                LabelMatch("feature.node.kubernetes.io/pci-0380_8086.sriov.capable"),
                LabelMatch("feature.node.kubernetes.io/pci-0300_8086.sriov.capable"),
            ),
        ),
    ),
    stack_images=(
        r"intel-gpu-plugin|intel-deviceplugin-operator|xpumanager|intel-gpu-exporter|"
        r"intel-gpu-resource-driver"
    ),
)

# Intel Gaudi (Habana Labs) ----------------------------------------------------------------------------------
HABANA = Vendor(
    key="habana",
    name="Intel Gaudi",
    resources=(ExtendedResource(r"habana\.ai/gaudi", Grant.WHOLE, "habana.ai/gaudi"),),
    pci=(PciId("1da3", classes=("12",)),),
    words=("habana", "gaudi"),
    pool_words=("habana", "gaudi"),
    device_plugins=(Component(r"habana.*device-plugin", r"habana.*device-plugin"),),
    dra_driver=r"^gaudi\.intel\.com$|(^|\.)habana\.ai$",
    dra_example="gaudi.intel.com",
    device_classes=("gaudi.intel.com",),
    runtime_handler=r"habana",
    exporters=(
        Exporter(
            "Intel Gaudi metric exporter",
            Component(r"(habana|gaudi).*(metric|exporter)", r"(habana|gaudi).*(metric|exporter)"),
            utilisation=("habanalabs_utilization",),
            memory=("habanalabs_memory_used_bytes",),
            temperature=("habanalabs_temperature_onchip",),
            power=("habanalabs_power_mW",),
            port=41611,
        ),
    ),
    visible_devices_env=("HABANA_VISIBLE_DEVICES",),  # habana-container-runtime
    host_paths=("/dev/accel", "/dev/hl"),
    unit_device=r"^/dev/accel/accel\d+$",
    probe_globs=("/dev/accel/accel[0-9]*",),
    probe_commands=(ProbeCommand("hl-smi -Q uuid -f csv,noheader", "one Gaudi device", r"^(\S+)$"),),
    # Its operator, plugin and exporter images; not every image of vault.habana.ai, which also serves the
    # PyTorch images users run their workloads from.
    stack_images=r"habana-ai-operator|docker-k8s-device-plugin|gaudi-metric-exporter|habanalabs-device-plugin",
)

# AWS Neuron (Inferentia, Trainium) --------------------------------------------------------------------------
NEURON = Vendor(
    key="neuron",
    name="AWS Neuron",
    resources=(
        ExtendedResource(r"aws\.amazon\.com/neuron(device)?", Grant.WHOLE, "aws.amazon.com/neurondevice"),
        # Cores of one device share its /dev/neuronN node.
        ExtendedResource(
            r"aws\.amazon\.com/neuroncore",
            Grant.PARTITION,
            "aws.amazon.com/neuroncore",
            shares_device_node="Neuron cores of one device share its /dev/neuronN node",
        ),
    ),
    # Amazon's PCI id 1d0f is shared with ENA, EFA and NVMe devices: not a Neuron signal.
    words=("neuron",),
    pool_words=("neuron", "inferentia", "trainium"),
    device_plugins=(Component(r"neuron-device-plugin", r"neuron-device-plugin"),),
    dra_driver=r"(^|[.-])neuron([.-]|$)",
    dra_example="neuron.aws.com",
    runtime_handler=r"neuron",
    exporters=(
        Exporter(
            "AWS Neuron monitor",
            Component(r"neuron-monitor", r"neuron-monitor"),
            utilisation=("neuroncore_utilization_ratio",),
            memory=("neuron_runtime_memory_used_bytes",),
            device_labels=("neuroncore", "neuron_device_index"),
        ),
    ),
    visible_devices_env=("AWS_NEURON_VISIBLE_DEVICES",),  # oci-neuron-hook
    host_paths=("/dev/neuron",),
    unit_device=r"^/dev/neuron\d+$",
    probe_globs=("/dev/neuron[0-9]*",),
    probe_commands=(ProbeCommand("neuron-ls", "one Neuron device"),),
    stack_images=r"neuron-(device|monitor|scheduler)",
)

# Google TPU -------------------------------------------------------------------------------------------------
TPU = Vendor(
    key="tpu",
    name="Google TPU",
    resources=(ExtendedResource(r"google\.com/tpu", Grant.WHOLE, "google.com/tpu"),),
    words=("tpu",),
    pool_words=("tpu",),
    device_plugins=(Component(r"tpu-device-plugin", r"tpu-device-plugin"),),
    dra_driver=r"(^|[.-])tpu([.-]|$)",
    dra_example="tpu.google.com",
    exporters=(
        # GKE's TPU device plugin serves these on port 2112.
        Exporter(
            "TPU metrics exporter",
            Component(r"tpu.*(metrics|exporter)", r"tpu.*(metrics|exporter)"),
            utilisation=("duty_cycle", "tensorcore_utilization"),
            memory=("memory_used",),
            device_labels=("accelerator_id",),
            port=2112,
        ),
    ),
    host_paths=("/dev/accel", "/dev/vfio"),
    unit_device=r"^/dev/(accel\d+|vfio/\d+)$",
    probe_globs=("/dev/accel[0-9]*", "/dev/vfio/[0-9]*"),
    probe_commands=(ProbeCommand("ls /dev/accel* /dev/vfio", "one TPU chip"),),
)

# Huawei Ascend ----------------------------------------------------------------------------------------------
ASCEND = Vendor(
    key="ascend",
    name="Huawei Ascend",
    resources=(
        # Named after the chip (Ascend910, Ascend910B, Ascend310P); newer MindCluster releases also use huawei.com/npu.
        ExtendedResource(r"huawei\.com/(Ascend(910|310P?|710)[A-Za-z0-9]*|npu)", Grant.WHOLE, "huawei.com/Ascend910"),
        # Static vNPU partitions (Ascend910-4c, Ascend310P-2c.1cpu) and dynamic core segmentation.
        ExtendedResource(
            r"huawei\.com/(Ascend[A-Za-z0-9]+-\d+c[A-Za-z0-9.]*|npu-core)", Grant.PARTITION, "huawei.com/Ascend910-4c"
        ),
        ExtendedResource(r"huawei\.com/Ascend[A-Za-z0-9]+-memory", Grant.SHARE, "huawei.com/Ascend910-memory"),  # HAMi
    ),
    node_labels=(LabelMatch("accelerator", r"huawei-Ascend.*"),),  # the Ascend device plugin's node selector
    pci=(PciId("19e5", classes=("12",)),),
    words=("ascend", "huawei"),
    pool_words=("ascend",),
    device_plugins=(Component(r"ascend-device-plugin", r"ascend-k8sdeviceplugin|ascend-device-plugin"),),
    dra_driver=r"(^|\.)huawei\.com$|ascend",
    dra_example="npu.huawei.com",
    runtime_handler=r"ascend",
    devices_need_runtime=True,  # the device plugin's default: Ascend Docker Runtime mounts the devices
    exporters=(
        Exporter(
            "Ascend NPU exporter",
            Component(r"npu-exporter", r"npu-exporter"),
            utilisation=("npu_chip_info_utilization",),
            memory=("npu_chip_info_hbm_used_memory", "npu_chip_info_used_memory"),
            temperature=("npu_chip_info_temperature",),
            power=("npu_chip_info_power",),
            device_labels=("id", "npuID"),
            port=8082,
        ),
    ),
    visible_devices_env=("ASCEND_VISIBLE_DEVICES",),  # Ascend Docker Runtime
    host_paths=("/dev/davinci",),  # davinci<N>, and davinci_manager shared by all
    unit_device=r"^/dev/davinci\d+$",
    probe_globs=("/dev/davinci[0-9]*",),
    probe_commands=(ProbeCommand("npu-smi info -l", "one NPU"),),
    mechanisms=(
        Mechanism("partition", "Ascend vNPU", resources=r"huawei\.com/(Ascend[A-Za-z0-9]+-\d+c[A-Za-z0-9.]*|npu-core)"),
    ),
    stack_images=r"ascend-k8sdeviceplugin|ascend-device-plugin|npu-exporter|ascend-docker-runtime",
)

VENDORS: tuple[Vendor, ...] = (NVIDIA, AMD, INTEL, HABANA, NEURON, TPU, ASCEND)
BY_KEY: dict[str, Vendor] = {v.key: v for v in VENDORS}


# Cloud providers' node labels ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CloudLabel:
    """A cloud provider's node label naming the accelerator of a node. The first record whose key and value
    match decides; `vendor` UNRECOGNISED marks an accelerator node whose vendor the value does not tell."""

    provider: str
    label: LabelMatch
    vendor: str


CLOUD_LABELS: tuple[CloudLabel, ...] = (
    CloudLabel("GKE", LabelMatch("cloud.google.com/gke-accelerator", r"nvidia.*"), "nvidia"),
    CloudLabel("GKE", LabelMatch("cloud.google.com/gke-accelerator", r"(?!false$).+"), UNRECOGNISED),
    CloudLabel("GKE", LabelMatch("cloud.google.com/gke-tpu-accelerator", r"(?!false$).+"), "tpu"),
    # Karpenter's well-known labels on AWS, and EKS Auto Mode's copies of them.
    CloudLabel("AWS", LabelMatch("karpenter.k8s.aws/instance-gpu-manufacturer", "nvidia"), "nvidia"),
    CloudLabel("AWS", LabelMatch("karpenter.k8s.aws/instance-gpu-manufacturer", "amd"), "amd"),
    CloudLabel("AWS", LabelMatch("karpenter.k8s.aws/instance-accelerator-name", "inferentia|trainium"), "neuron"),
    CloudLabel("EKS", LabelMatch("eks.amazonaws.com/instance-gpu-manufacturer", "nvidia"), "nvidia"),
    CloudLabel("EKS", LabelMatch("eks.amazonaws.com/instance-gpu-manufacturer", "amd"), "amd"),
    CloudLabel("AKS", LabelMatch("kubernetes.azure.com/accelerator", "nvidia"), "nvidia"),
)
# Where GKE runs its managed exporters (DCGM for GPUs).
GKE_MANAGED_NAMESPACE = "gke-managed-system"


# Software sharing stacks that work across the vendor's own device plugin ---------------------------------------
@dataclass(frozen=True)
class SharingStack(Record):
    key: str
    name: str
    vendor: str  # whose devices it shares
    resources: tuple[ExtendedResource, ...]
    node_annotations: tuple[str, ...]
    device_plugin: Component  # the DaemonSet that hands out its shares
    components: tuple[Component, ...]  # every workload of the stack (plugin, scheduler extender)

    KIND = "sharing"


# HAMi, and Volcano's vGPU device plugin built on it, virtualise NVIDIA GPUs into memory/core slices.
HAMI = SharingStack(
    key="hami",
    name="HAMi",
    vendor="nvidia",
    resources=(ExtendedResource(r"volcano\.sh/vgpu-(number|memory|cores)", Grant.SHARE, "volcano.sh/vgpu-number"),),
    node_annotations=("hami.io/node-nvidia-register",),
    device_plugin=Component(r"hami-device-plugin|vgpu-device-plugin"),
    components=(Component(r"hami-device-plugin|hami-scheduler|vgpu-device-plugin", r"projecthami/|/hami(:|@|$)"),),
)
SHARING_STACKS: tuple[SharingStack, ...] = (HAMI,)


# Dynamic Resource Allocation -----------------------------------------------------------------------------------
# Drivers whose devices are accelerators (not NICs, CPUs or IMEX channels), by driver name.
ACCELERATOR_DRIVER = r"gpu|(?<![a-z])[tnx]pu|neuron|gaudi|habana|accel"
# The kubernetes-sigs example driver and the e2e test drivers publish devices that do not exist.
EXAMPLE_DRIVER = (
    r"(^|\.)example\.(com|org|net)$|\.example$|^test-driver|(^|\.)test-driver\.cdi\.k8s\.io$|^dra-\d+\.k8s\.io$"
)
# Kubernetes' DRA test driver (test/e2e/dra/test-driver, named `[<prefix>.]test-driver.cdi.k8s.io`): its CDI
# edits name no device in the container, only the claim: `claim_<claim>_<request>=true` (non-alphanumerics as
# `_`). For such drivers the probe judges a container by the claims whose injection it sees.
CLAIM_ENV_DRIVER = r"(^|\.)test-driver\.cdi\.k8s\.io$"
# Workloads of DRA drivers: kubelet plugins and controllers (nvidia-dra-driver-gpu-kubelet-plugin,
# dra-example-driver-kubeletplugin, intel-gpu-resource-driver-kubelet-plugin, dranet, dra-driver-cpu, ...).
DRA_DRIVER_WORKLOAD = Component(
    r"(^|-)dra(-|$)|dranet|kubelet-?plugin|resource-driver",
    r"dra-driver|dra-example-driver|k8s-dra-driver|resource-driver|dranet|dra-plugin",
)
# Parts of a driver name that say nothing about who publishes it.
GENERIC_DRIVER_NAME_PARTS = frozenset(
    {"com", "io", "net", "org", "dev", "k8s", "x-k8s", "sigs", "kubernetes", "gpu", "dra", "tpu", "accel"}
)
# DeviceClasses that select something other than whole accelerators (IMEX channels, VFIO, NICs, CPUs).
NOT_ACCELERATOR_CLASS = r"compute-domain|vfio|channel|net|nic|cpu|sriov|rdma|memory"
# DeviceClass configuration asking the driver to share devices.
DRA_SHARING_CONFIG = r"TimeSlicing|time-slicing|\bMPS\b|\"mps\""


# A workload that looks like an accelerator metrics exporter of a vendor the tool does not know.
GENERIC_EXPORTER = Component(
    r"(gpu|accelerator|npu|xpu).*(exporter|metrics|monitor)", r"(gpu|accelerator|npu|xpu)[^/]*(exporter|metrics)"
)

# Everything else -----------------------------------------------------------------------------------------------
# Words that name an accelerator whatever the vendor.
GENERIC_WORDS = ("gpu", "accelerator", "accel", "npu", "xpu")
# Device nodes any accelerator may be passed through as (VFIO), whoever the vendor.
GENERIC_HOST_PATHS = ("/dev/vfio",)
# Prefixes several vendors use for their own device nodes (the Linux accel subsystem, DRM render nodes).
SHARED_HOST_PATHS = frozenset({"/dev/accel", "/dev/dri"})
# Images of components that legitimately touch devices whatever the vendor.
GENERIC_STACK_IMAGES = r"device-plugin|dra-driver|node-feature-discovery|fake-gpu-operator|hami"
# kwok-managed nodes (and similar fakes) advertise devices that do not exist.
SIMULATED_NODE_ANNOTATIONS = ("kwok.x-k8s.io/node",)
SIMULATED_NODE_LABELS = (LabelMatch("type", "kwok"),)
# A device plugin that fakes GPUs (run-ai fake-gpu-operator answers nvidia-smi on kind).
FAKE_DEVICE_IMAGES = r"fake-gpu-operator"
# Device plugins of network devices and host features that are not accelerators.
NOT_ACCELERATOR_PLUGIN = r"rdma|sriov|network|smarter-device|kvm"
# Node taint values that name an accelerator whole (AKS GPU pools: sku=gpu; but not arch=amd64).
ACCELERATOR_TAINT_VALUE = (
    r"(?i)(nvidia|amd|intel|habana|gaudi|neuron|tpu)?[-_]?(gpus?|accelerators?|"
    r"nvidia|habana|gaudi|neuron|tpus?)"
)


# Queries ----------------------------------------------------------------------------------------------------
def _words_regex(words: Iterable[str]) -> str:
    """Alternatives of words; short ones (tpu, npu, amd) must not follow a letter, so that `output`,
    `input` or `command` do not read as accelerators."""
    return "|".join(dict.fromkeys(re.escape(w) if len(w) > 3 else rf"(?<![a-z]){re.escape(w)}" for w in words))


def accelerator_words(pool: bool = False) -> str:
    """A regex of the words that name accelerators: every vendor's words and the generic ones.

    With `pool`, only the words that still mean an accelerator inside a node pool, node group or instance
    name: there `amd` and `intel` usually name CPUs, so they are left out.
    """
    words = [w for v in VENDORS for w in (v.pool_words if pool else v.words)]
    return _words_regex(list(GENERIC_WORDS) + words)


def _parse_quantity(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


@functools.cache  # a cluster names few distinct resources, every node asks again
def classify_resource(name: str) -> tuple[str, Grant] | None:
    """(vendor key, what one unit grants) for an accelerator extended resource, or None.

    Sharing stacks (HAMi, Volcano vGPU) count for the vendor whose devices they share.
    """
    for vendor in VENDORS:
        for res in vendor.resources:
            if fullmatch(res.pattern, name):
                return vendor.key, res.grant
    for stack in SHARING_STACKS:
        for res in stack.resources:
            if fullmatch(res.pattern, name):
                return stack.vendor, res.grant
    return None


def vendor_of_resource(name: str) -> str | None:
    """The vendor whose devices an extended resource hands out, whatever one unit grants."""
    found = classify_resource(name)
    return found[0] if found else None


def is_accelerator_resource(name: str) -> bool:
    """An extended resource whose units are handed out exclusively: whole devices or hardware partitions
    (MIG slices, AMD partitions, Neuron cores, vNPUs). These are what makes a node an accelerator node
    and what a workload or node pool is counted by. Shares, monitoring and VM resources are not."""
    found = classify_resource(name)
    return found is not None and found[1] in (Grant.WHOLE, Grant.PARTITION)


def is_whole_accelerator_resource(name: str) -> bool:
    """An extended resource of which one unit is one whole device: two units are two different devices."""
    found = classify_resource(name)
    return found is not None and found[1] is Grant.WHOLE


def is_accelerator_request(name: str) -> bool:
    """Whether requesting this extended resource gives a container access to accelerator devices in any
    form (whole, partition, share, monitoring, VM): a pod with such a request is mediated, not bypassing.
    Network device resources of the same vendors (nvidia.com/hostdev, RDMA) are not accelerators."""
    return classify_resource(name) is not None


def accelerator_resources(allocatable: Mapping[str, object] | None) -> dict[str, int]:
    """The exclusive accelerator resources (see `is_accelerator_resource`) with a count above zero."""
    out = {}
    for name, qty in (allocatable or {}).items():
        if is_accelerator_resource(name):
            count = _parse_quantity(qty)
            if count > 0:
                out[name] = count
    return out


_NFD_PCI = r"feature\.node\.kubernetes\.io/pci-([0-9a-f]{4}(?:_[0-9a-f]{4})*)\.present"
_PCI_CLASS_PREFIXES = ("03", "0b", "12")  # NFD labels these classes by default (display, co-processor, accel)


def nfd_pci_device(key: str) -> tuple[str | None, str] | None:
    """(PCI class or None, PCI vendor id) named by a Node Feature Discovery PCI label key, or None.

    NFD orders label fields class, vendor, device, ...; a first field that is a PCI class of the classes NFD
    labels by default is the class, otherwise the label starts with the vendor.
    """
    match = rx(_NFD_PCI).fullmatch(key or "")
    if not match:
        return None
    fields = match.group(1).split("_")
    if len(fields) > 1 and fields[0].startswith(_PCI_CLASS_PREFIXES):
        return fields[0], fields[1]
    return None, fields[0]


def pci_vendor_of_label(key: str, value: object = "true") -> str | None:
    """The accelerator vendor a `feature.node.kubernetes.io/pci-*.present` label shows, or None."""
    if str(value).lower() != "true":
        return None
    device = nfd_pci_device(key)
    if not device:
        return None
    pci_class, pci_vendor = device
    for vendor in VENDORS:
        for pid in vendor.pci:
            if pid.vendor != pci_vendor:
                continue
            if pci_class is None and pid.vendor_only:
                return vendor.key
            if pci_class is not None and (not pid.classes or pci_class.startswith(pid.classes)):
                return vendor.key
    return None


def accelerator_vendors_of_node(
    labels: Mapping[str, object] | None, allocatable: Mapping[str, object] | None
) -> dict[str, str]:
    """{vendor key: what shows it} for the accelerators a node has, from its allocatable resources and its
    labels (vendor labels, NFD PCI ids, cloud providers' labels); UNRECOGNISED for an accelerator whose
    vendor cannot be told. Empty for a node without accelerators.

    Every signal counts on its own, so a node whose device plugin is not running yet is still an accelerator
    node; a label that says `false` (`nvidia.com/gpu.present=false`) never counts.
    """
    try:
        key = (frozenset((labels or {}).items()), frozenset((allocatable or {}).items()))
    except TypeError:  # a value that is not hashable (not a string): compute without the cache
        return _vendors_of_node(dict(labels or {}), allocatable)
    return dict(_vendors_of_node_cached(key))


@functools.lru_cache(maxsize=16384)
def _vendors_of_node_cached(key: tuple[frozenset, frozenset]) -> dict[str, str]:
    # Several checks ask about every node: on 5,000 nodes this saves about a second per run.
    labels, allocatable = key
    return _vendors_of_node(dict(labels), dict(allocatable))


def _vendors_of_node(labels: dict, allocatable: Mapping[str, object] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, count in accelerator_resources(allocatable).items():
        found.setdefault(vendor_of_resource(name) or UNRECOGNISED, f"allocatable {name}={count}")
    for vendor in VENDORS:
        hit = any_label(vendor.node_labels, labels)
        if hit:
            found.setdefault(vendor.key, f"label {hit.key}={labels[hit.key]}")
    for key, value in labels.items():
        vendor_key = pci_vendor_of_label(key, value)
        if vendor_key:
            found.setdefault(vendor_key, f"label {key}={value}")
    seen_keys = set()
    for cloud in CLOUD_LABELS:
        if cloud.label.key in seen_keys or not cloud.label.matches(labels):
            continue
        seen_keys.add(cloud.label.key)  # first match per key decides
        if cloud.vendor != UNRECOGNISED or not found:
            found.setdefault(cloud.vendor, f"label {cloud.label.key}={labels[cloud.label.key]}")
    return found


def is_accelerator_node(labels: Mapping[str, object] | None, allocatable: Mapping[str, object] | None) -> bool:
    """Whether a node has accelerators, by any signal of `accelerator_vendors_of_node`."""
    return bool(accelerator_vendors_of_node(labels, allocatable))


def is_simulated_node(labels: Mapping[str, object] | None, annotations: Mapping[str, object] | None) -> bool:
    """kwok-managed nodes (and similar fakes) advertise devices that do not exist."""
    return (
        any(a in (annotations or {}) for a in SIMULATED_NODE_ANNOTATIONS)
        or any_label(SIMULATED_NODE_LABELS, dict(labels or {})) is not None
    )


def vendor_of_driver(driver: str) -> str | None:
    """The vendor of a DRA driver, by name (`gaudi.intel.com` is Gaudi, `gpu.intel.com` an Intel GPU)."""
    return next((v.key for v in VENDORS if search(v.dra_driver, driver)), None)


def is_accelerator_driver(driver: str) -> bool:
    """A DRA driver whose devices are accelerators (not NICs, CPUs or IMEX channels such as
    compute-domain.nvidia.com), by the accelerator words in its name."""
    return search(ACCELERATOR_DRIVER, driver)


def is_example_driver(driver: str) -> bool:
    """The example and e2e test drivers publish devices that do not exist."""
    return search(EXAMPLE_DRIVER, driver)


def injects_claim_env(driver: str) -> bool:
    """A DRA driver that shows a container only which claims were injected (`claim_<claim>_<request>=true`),
    never which device: Kubernetes' DRA test driver."""
    return search(CLAIM_ENV_DRIVER, driver)


def device_family_of_resource(resource: str, labels: Mapping[str, object] | None = None) -> str:
    """The probe's device family for an extended resource: a vendor key, `nvidia-mig` when units are MIG
    slices (also `nvidia.com/gpu` under the single MIG strategy: two slices share /dev/nvidiaN), or `generic`."""
    vendor = vendor_of_resource(resource)
    if vendor == "nvidia" and (
        resource.startswith("nvidia.com/mig-") or (labels or {}).get("nvidia.com/mig.strategy") == "single"
    ):
        return "nvidia-mig"
    return vendor or "generic"


def device_family_of_driver(driver: str, device_class: str = "") -> str:
    """The probe's device family for a DRA driver and DeviceClass (see `device_family_of_resource`)."""
    if "mig" in device_class or driver.startswith("mig."):
        return "nvidia-mig"
    return vendor_of_driver(driver) or "generic"


# Device families whose units share one device node: (what shares it, the listing command that tells the
# units apart). Without that command in the image, a probe pair cannot compare them.
SHARED_NODE_FAMILIES: dict[str, tuple[str, str]] = {
    "nvidia-mig": ("MIG slices of one GPU share its /dev/nvidiaN node", "nvidia-smi"),
}


def unit_device_patterns() -> dict[str, str]:
    """{device family: regex of the device node that is one accelerator of it}."""
    out = {v.key: v.unit_device for v in VENDORS if v.unit_device}
    out["nvidia-mig"] = NVIDIA.unit_device
    out["generic"] = r"^/dev/"
    return out


def probe_device_globs() -> tuple[str, ...]:
    """Shell globs of every vendor's device nodes, for the probe script (generic VFIO groups last)."""
    globs = [g for v in VENDORS for g in v.probe_globs]
    return tuple(dict.fromkeys(globs + ["/dev/vfio/[0-9]*"]))


def device_count(vendor_key: str, labels: Mapping[str, object] | None) -> int | None:
    """How many of the vendor's devices a node's labels say it has (see `Vendor.device_count_labels`), or None
    when no such label is set."""
    labels = dict(labels or {})
    vendor = BY_KEY.get(vendor_key)
    for pattern in vendor.device_count_labels if vendor else ():
        counts = [_parse_quantity(v) for k, v in labels.items() if fullmatch(pattern, k)]
        if counts:
            return sum(counts)
    return None


class Presence(str, enum.Enum):
    """How far a mechanism goes on a node, closest to the requirement first (see `Mechanism`)."""

    IN_EFFECT = "in effect"
    IDLE = "idle"  # its labels are set, but none of the vendor's units it needs is allocatable
    CONFIGURED = "configured"  # set up, nothing of it is schedulable
    CAPABLE = "capable"  # the hardware could, nothing is set up


@dataclass(frozen=True)
class Trace:
    """What shows a mechanism on a node: how far it goes, and what says so ("key=value" of labels,
    "allocatable resource=count", "device count N")."""

    presence: Presence
    shown: tuple[str, ...]


def mechanisms_on_node(
    labels: Mapping[str, object] | None, allocatable: Mapping[str, object] | None
) -> tuple[tuple[Vendor, Mechanism, Trace], ...]:
    """(vendor, mechanism, trace) for every mechanism of every vendor that leaves a trace on a node with these
    labels and allocatable."""
    exact, patterns = _mechanism_label_keys()
    read = frozenset((k, str(v)) for k, v in (labels or {}).items() if k in exact or patterns.fullmatch(k))
    counts = tuple(sorted((k, n) for k, v in (allocatable or {}).items() if (n := _parse_quantity(v)) > 0))
    return _traces(read, counts)


@functools.cache
def _mechanism_label_keys() -> tuple[frozenset[str], re.Pattern[str]]:
    """The node label keys the mechanisms read: exact keys, and one regex for the keys given as patterns."""
    matches = [m for v in VENDORS for mech in v.mechanisms for m in mech.node_labels]
    patterns = [m.key for m in matches if m.key_regex] + [p for v in VENDORS for p in v.device_count_labels]
    return frozenset(m.key for m in matches if not m.key_regex), rx("|".join(f"(?:{p})" for p in patterns))


# Nodes of one pool carry the same labels and allocatable: each combination is worked out once.
@functools.lru_cache(maxsize=1024)
def _traces(
    labels: frozenset[tuple[str, str]], counts: tuple[tuple[str, int], ...]
) -> tuple[tuple[Vendor, Mechanism, Trace], ...]:
    found = ((v, m, _trace(v, m, dict(labels), dict(counts))) for v in VENDORS for m in v.mechanisms)
    return tuple((v, m, t) for v, m, t in found if t is not None)


def _trace(vendor: Vendor, mechanism: Mechanism, labels: dict, counts: dict[str, int]) -> Trace | None:
    """The trace of one mechanism on a node (see `Mechanism` for what each field shows)."""
    if not all(m.matches(labels) for m in mechanism.requires) or any(m.matches(labels) for m in mechanism.excludes):
        return None

    def found(matches: Iterable[LabelMatch]) -> list[str]:
        hits = (m.found(labels) for m in matches)
        return [f"{k}={v}" for k, v in dict(h for h in hits if h).items()]

    def allocated(test: Callable[[str], bool]) -> list[str]:
        return [f"allocatable {k}={v}" for k, v in sorted(counts.items()) if test(k)]

    def units(*grants: Grant) -> list[str]:
        return allocated(lambda r: classify_resource(r) in [(vendor.key, g) for g in grants])

    context = found(mechanism.labels + mechanism.hints)
    schedulable = allocated(lambda r: fullmatch(mechanism.resources, r)) if mechanism.resources else []
    if schedulable:
        return Trace(Presence.IN_EFFECT, tuple(context + schedulable))
    in_effect_labels = found(mechanism.labels)
    if in_effect_labels and units(*mechanism.units):
        return Trace(Presence.IN_EFFECT, tuple(context + units(*mechanism.units)))
    if mechanism.units_exceed_devices:
        whole = sum(v for k, v in counts.items() if classify_resource(k) == (vendor.key, Grant.WHOLE))
        devices = device_count(vendor.key, labels) if whole else None
        if devices and whole > devices:
            return Trace(Presence.IN_EFFECT, tuple(context + units(Grant.WHOLE) + [f"device count {devices}"]))
    if in_effect_labels:
        return Trace(Presence.IDLE, tuple(context))
    configured = context + (
        allocated(lambda r: fullmatch(mechanism.configured_resources, r)) if mechanism.configured_resources else []
    )
    if configured:
        return Trace(Presence.CONFIGURED, tuple(configured))
    capable = found(mechanism.capable)
    return Trace(Presence.CAPABLE, tuple(capable)) if capable else None


def sharing_reason(labels: Mapping[str, object] | None, resource: str) -> str | None:
    """Why two pods that each get one `resource` on a node with these labels may see the same device
    (time-slicing or MPS replicas, a shared resource, cores of one device), or None."""
    labels = dict(labels or {})
    found = classify_resource(resource)
    if not found:
        return None
    vendor = BY_KEY.get(found[0])
    hit = any_label(vendor.shared_by_design, labels) if vendor else None
    if hit:
        return f"the node shares GPUs by design ({hit.key}={labels[hit.key]})"
    if found[1] is Grant.SHARE:
        return f"{resource} is a shared (time-sliced) resource"
    shares = (
        next((r.shares_device_node for r in vendor.resources if fullmatch(r.pattern, resource)), "") if vendor else ""
    )
    return shares or None


def dra_class_sharing(device_class: Mapping) -> bool:
    """Whether a DeviceClass's configuration asks its driver to share devices (time-slicing, MPS)."""
    return search(DRA_SHARING_CONFIG, json.dumps((device_class.get("spec") or {}).get("config") or []))


def advertised_versions(vendor_key: str, labels: Mapping[str, object] | None) -> dict[str, str]:
    """{what: version} a vendor's node labels advertise ("driver", "cuda"): the full label, else the older
    per-part labels joined with dots."""
    labels = dict(labels or {})
    vendor = BY_KEY.get(vendor_key)
    out: dict[str, str] = {}
    for vl in vendor.version_labels if vendor else ():
        value = labels.get(vl.full)
        if not value and vl.parts and labels.get(vl.parts[0]):
            value = ".".join(str(labels[p]) for p in vl.parts if labels.get(p))
        if value:
            out[vl.what] = str(value)
    return out


def vendor_of_runtime_handler(handler: str) -> str | None:
    """The vendor whose container runtime a RuntimeClass handler names (nvidia, amd/rocm, habana, ...)."""
    return next((v.key for v in VENDORS if search(v.runtime_handler, handler)), None)


def vendor_of_device_path(path: str) -> str | None:
    """The vendor whose device nodes a host path reaches; UNRECOGNISED for VFIO groups and for prefixes
    several vendors share (/dev/dri, /dev/accel) when the path does not tell them apart."""
    path = path or ""
    if path.startswith(GENERIC_HOST_PATHS):
        return UNRECOGNISED
    hits = {v.key for v in VENDORS for p in v.host_paths if path.startswith(p)}
    if len(hits) == 1:
        return hits.pop()
    return UNRECOGNISED if hits else None


def is_accelerator_device_path(path: str) -> bool:
    """A host path (a hostPath volume) that reaches accelerator device nodes without the device plugin."""
    return vendor_of_device_path(path) is not None


def visible_devices_bypass(env_name: str, value: object) -> str | None:
    """The vendor whose runtime would hand devices to a container that sets `env_name=value` without any
    request (NVIDIA_VISIBLE_DEVICES=all and its equivalents), or None when the variable grants nothing."""
    if str(value if value is not None else "").strip().lower() in NO_DEVICE_VALUES:
        return None
    return next((v.key for v in VENDORS if env_name in v.visible_devices_env), None)


def vendor_of_workload(name: str, images: Iterable[str] = ()) -> str | None:
    """The vendor whose device plugin, exporter or driver manager a workload is, or None."""
    images = list(images)
    for vendor in VENDORS:
        comps = (
            list(vendor.device_plugins)
            + [e.component for e in vendor.exporters]
            + [c for m in vendor.driver_managers for c in m.components + m.node_agents]
        )
        if any(c.matches(name, images) for c in comps):
            return vendor.key
    return None


def is_accelerator_device_plugin(name: str, images: Iterable[str] = ()) -> bool:
    """A workload that is an accelerator device plugin: a vendor's known plugin, or anything named
    `device-plugin` with an accelerator word (and not a network or host-feature plugin)."""
    images = list(images)
    if any(c.matches(name, images) for v in VENDORS for c in v.device_plugins) and not any(
        search(NOT_ACCELERATOR_PLUGIN, t) for t in [name] + images
    ):
        return True
    text = " ".join([name] + images)
    return (
        search(r"device-?plugin", text)
        and search(accelerator_words() + "|hami", text)
        and not search(NOT_ACCELERATOR_PLUGIN, text)
    )


@functools.lru_cache(maxsize=4096)  # asked for every container of every pod; images repeat
def is_accelerator_stack_image(image: str) -> bool:
    """An image of a component that legitimately touches accelerator devices directly: device plugins, DRA
    drivers, operators, exporters, driver installers, feature discovery, sharing stacks."""
    return search(GENERIC_STACK_IMAGES, image) or any(search(v.stack_images, image) for v in VENDORS)


def is_accelerator_taint(key: str, value: str = "") -> bool:
    """A taint accelerator nodes carry to keep other workloads off: a key with an accelerator word
    (nvidia.com/gpu, amd.com/gpu, google.com/tpu), or a value naming an accelerator whole (sku=gpu)."""
    return search(accelerator_words(), key or "") or fullmatch(ACCELERATOR_TAINT_VALUE, value or "")


def exporters() -> tuple[tuple[str, Exporter], ...]:
    """(vendor key, exporter) for every known accelerator metrics exporter."""
    return tuple((v.key, e) for v in VENDORS for e in v.exporters)


RECORDS = VENDORS + SHARING_STACKS
