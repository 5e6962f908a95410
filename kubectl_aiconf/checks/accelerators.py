"""Accelerators: DRA support, driver and runtime management, GPU sharing, virtualized accelerators."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kubectl_aiconf.catalogue import minor_of
from kubectl_aiconf.checks import common, requirement_check
from kubectl_aiconf.resources import (
    CLUSTERPOLICIES, CRDS, DAEMONSETS, DEPLOYMENTS, DEVICECLASSES, NODES, RESOURCECLAIMS, RESOURCESLICES,
    RUNTIMECLASSES, STATEFULSETS,
)
from kubectl_aiconf.result import CheckResult, Evidence, Status
from kubectl_aiconf.view import ClusterView, Listing

DRA_GROUP = "resource.k8s.io"
_WORKLOADS = (DEPLOYMENTS, STATEFULSETS, DAEMONSETS)

# Workloads of DRA drivers: kubelet plugins and controllers (nvidia-dra-driver-gpu-kubelet-plugin,
# dra-example-driver-kubeletplugin, intel-gpu-resource-driver-kubelet-plugin, dranet, dra-driver-cpu, ...).
_DRA_WORKLOAD_NAME = r"(^|-)dra(-|$)|dranet|kubelet-?plugin|resource-driver"
_DRA_WORKLOAD_IMAGE = r"dra-driver|dra-example-driver|k8s-dra-driver|resource-driver|dranet|dra-plugin"
# Parts of a driver name that say nothing about who publishes it.
_GENERIC_NAME_PARTS = {"com", "io", "net", "org", "dev", "k8s", "x-k8s", "sigs", "kubernetes", "gpu", "dra",
                       "tpu", "accel"}


def _sample(names, limit: int = 3) -> str:
    names = sorted(set(names))
    head = ", ".join(names[:limit])
    return head + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


def _more(items, template: str) -> str:
    """' (and 2 more nodes)'-style suffix for evidence that shows only the first of several nodes."""
    return template.format(_plural(len(items) - 1, "more node")) if len(items) > 1 else ""


def _blind(*listings: Listing) -> list[Listing]:
    return [listing for listing in listings if not listing.visible]


def _workload_listings(view: ClusterView) -> list[Listing]:
    return [view.list(res) for res in _WORKLOADS]


def _workloads(view: ClusterView, name: str = "", image: str = "") -> list[dict]:
    return common.find_workloads(view, name=name, image=image)[0]


# DRA inventory ----------------------------------------------------------------------------------------------
@dataclass
class _Driver:
    name: str
    devices: list[dict] = field(default_factory=list)  # devices of current-generation slices
    device_nodes: list[str] = field(default_factory=list)  # the node of each device ("" when network-attached)
    nodes: set[str] = field(default_factory=set)
    slices: int = 0
    tainted: int = 0  # devices with a NoSchedule/NoExecute taint
    pools: dict[str, tuple[int, int]] = field(default_factory=dict)  # pool -> (slices seen, resourceSliceCount)

    @property
    def incomplete_pools(self) -> list[str]:
        return [p for p, (seen, want) in self.pools.items() if want and seen < want]


def _dra_drivers(slices: list[dict]) -> tuple[dict[str, _Driver], int]:
    """Drivers publishing current-generation ResourceSlices, and the number of stale slices ignored."""
    current, stale = common.current_slices(slices)
    drivers: dict[str, _Driver] = {}
    for s in current:
        spec = s.get("spec") or {}
        drv = drivers.setdefault(str(spec.get("driver")), _Driver(str(spec.get("driver"))))
        drv.slices += 1
        pool = spec.get("pool") or {}
        seen, want = drv.pools.get(str(pool.get("name")), (0, 0))
        drv.pools[str(pool.get("name"))] = (seen + 1, int(pool.get("resourceSliceCount") or 0))
        drv.nodes |= common.slice_node_names(s)
        for device in common.slice_devices(s):
            drv.devices.append(device)
            drv.device_nodes.append(device.get("nodeName") or spec.get("nodeName") or "")
            body = common.device_body(device)
            if any(t.get("effect") in ("NoSchedule", "NoExecute") for t in body.get("taints") or []):
                drv.tainted += 1
    return drivers, stale


def _allocations(claims: list[dict]) -> dict[str, list[dict]]:
    """Allocated ResourceClaims by driver (a claim counts once per driver it got devices from)."""
    out: dict[str, list[dict]] = {}
    for claim in claims:
        results = (((claim.get("status") or {}).get("allocation") or {}).get("devices") or {}).get("results") or []
        for drv in dict.fromkeys(r.get("driver") for r in results if r.get("driver")):
            out.setdefault(drv, []).append(claim)
    return out


def _driver_workloads(driver: str, dra_workloads: list[dict]) -> list[dict]:
    """The DRA driver workloads that belong to `driver`, matched by the distinctive parts of its name
    (`nvidia` for gpu.nvidia.com); when the name has none (e.g. dra.net), every DRA driver workload."""
    tokens = [t for t in re.split(r"[./]", driver) if t and t not in _GENERIC_NAME_PARTS]
    if not tokens:
        return list(dra_workloads)
    return [w for w in dra_workloads
            if any(t in common.name_of(w) or any(t in i for i in common.workload_images(w)) for t in tokens)]


def _server_minor(view: ClusterView) -> tuple[int, int] | None:
    minor = minor_of(view.kubernetes_version or "")
    return tuple(int(x) for x in minor.split(".")) if minor else None  # type: ignore[return-value]


# dra_support ------------------------------------------------------------------------------------------------
@requirement_check("dra_support", reads=(DEVICECLASSES, RESOURCESLICES, RESOURCECLAIMS) + _WORKLOADS)
def dra_support(view: ClusterView) -> CheckResult:
    versions = view.group_versions(DRA_GROUP)
    if not versions:
        return CheckResult(Status.FAIL, "the Dynamic Resource Allocation API (resource.k8s.io) is not served",
                           [Evidence("APIGroup", DRA_GROUP, "not served")])
    served_fact = "served versions: " + ", ".join(versions)
    evidence = [Evidence("APIGroup", DRA_GROUP, served_fact)]
    minor = _server_minor(view)
    # resource.k8s.io/v1 is GA and on by default from Kubernetes 1.34; earlier servers only have betas.
    v1_missing = "v1" not in versions and minor is not None and minor >= (1, 34)
    api_note = (f"resource.k8s.io is served only as {', '.join(versions)} (v1 expected on Kubernetes "
                f"{minor[0]}.{minor[1]})" if v1_missing and minor else f"resource.k8s.io {'/'.join(versions)} served")

    classes, slices, claims = view.list(DEVICECLASSES), view.list(RESOURCESLICES), view.list(RESOURCECLAIMS)
    workload_listings = _workload_listings(view)
    for dc in classes.items[:10]:
        ext = (dc.get("spec") or {}).get("extendedResourceName")
        evidence.append(common.evidence(dc, "defined" + (f"; serves extended resource {ext} requests through DRA"
                                                         if ext else "")))
    if len(classes.items) > 10:
        evidence.append(Evidence("DeviceClass", "...", f"{len(classes.items) - 10} more"))

    drivers, stale = _dra_drivers(slices.items)
    allocations = _allocations(claims.items)
    dra_workloads = _workloads(view, name=_DRA_WORKLOAD_NAME, image=_DRA_WORKLOAD_IMAGE)

    healthy, degraded, unconfirmed = [], [], []
    for name in sorted(drivers):
        drv = drivers[name]
        fact = (f"{_plural(len(drv.devices), 'device')} in {_plural(drv.slices, 'current slice')} on "
                f"{_plural(len(drv.nodes), 'node')}")
        if drv.tainted:
            fact += f", {drv.tainted} tainted (unusable)"
        if drv.incomplete_pools:
            fact += f", incomplete pools: {_sample(drv.incomplete_pools)}"
        if common.is_example_driver(name):
            fact += "; example driver: the API works, but no real accelerator"
        evidence.append(Evidence("ResourceSlice driver", name, fact))
        owned = _driver_workloads(name, dra_workloads)
        states = [common.workload_health(w) for w in owned]
        for w, (_, wfact) in zip(owned, states):
            evidence.append(common.evidence(w, f"{wfact} (DRA driver {name})"))
        used = allocations.get(name, [])
        if used:
            reserved = sum(1 for c in used if (c.get("status") or {}).get("reservedFor"))
            evidence.append(Evidence("ResourceClaim", common.name_of(used[0]),
                                     f"{_plural(len(used), 'claim')} allocated from {name}, {reserved} in use by pods"))
        usable = len(drv.devices) > drv.tainted
        ready = bool(owned) and all(ok for ok, _ in states)
        if usable and (ready or used):
            why = ", ".join(x for x in ("driver workload ready" if ready else "",
                                        f"{_plural(len(used), 'claim')} allocated" if used else "") if x)
            healthy.append(f"{name} ({why})")
        elif owned or not usable:
            degraded.append(name)
        else:
            unconfirmed.append(name)
    if stale:
        evidence.append(Evidence("ResourceSlice", "(stale)",
                                 f"{_plural(stale, 'slice')} of older pool generations ignored"))
    if not drivers:
        for w in dra_workloads[:5]:
            evidence.append(common.evidence(w, common.workload_health(w)[1] + " (DRA driver workload)"))

    if healthy:
        real = [d for d in healthy if not common.is_example_driver(d.partition(" ")[0])]
        msg = (f"{api_note}; DRA driver{'s' if len(healthy) > 1 else ''} {'; '.join(healthy)} "
               f"publish{'es' if len(healthy) == 1 else ''} devices")
        if not real:
            msg += " (example driver only: the API works, but no real accelerator is behind it)"
        return CheckResult(Status.WARN if v1_missing else Status.PASS, msg, evidence)

    blind = _blind(slices, claims, *workload_listings)
    if degraded:
        return CheckResult(Status.WARN, f"{api_note}, but DRA driver {_sample(degraded)} is not healthy "
                                        "(workload not ready or every device tainted)", evidence)
    if unconfirmed:
        if blind:
            return common.unknown(f"{api_note} and {_sample(unconfirmed)} publishes devices, but its driver "
                                  "health cannot be read", blind, evidence)
        return CheckResult(Status.WARN, f"{api_note}; {_sample(unconfirmed)} publishes devices, but no running "
                                        "driver workload was found and no claim is allocated", evidence)
    if not slices.visible:
        return common.unknown(f"{api_note}, but the published devices cannot be read", [slices], evidence)
    what = f" ({_plural(len(classes.items), 'DeviceClass')} defined)" if classes.items else ""
    return CheckResult(Status.WARN, f"{api_note}{what}, but no DRA driver publishes devices (no current "
                                    "ResourceSlices): the API is there, nothing allocates through it", evidence)


# accelerator nodes by vendor --------------------------------------------------------------------------------
def _is_nvidia_node(node: dict) -> bool:
    labels = common.labels_of(node)
    return (any(k.startswith("nvidia.com/") for k in common.accelerator_resources(node))
            or labels.get("nvidia.com/gpu.present") == "true"
            or labels.get("feature.node.kubernetes.io/pci-10de.present") == "true"
            or labels.get("cloud.google.com/gke-accelerator", "").startswith("nvidia"))


def _vendor_hint(node: dict) -> str:
    res = list(common.accelerator_resources(node))
    if res:
        return ", ".join(res)
    labels = common.labels_of(node)
    return ", ".join(f"{k}={labels[k]}" for k in common.ACCELERATOR_NODE_LABELS if labels.get(k))


@dataclass
class _Accelerators:
    """Accelerator nodes (by label, allocatable resource or DRA accelerator slices) and their vendors."""

    nodes: dict[str, dict]  # name -> Node (or {} when only a slice names it)
    nvidia: set[str]
    other: dict[str, str]  # unrecognised vendor: node -> hint
    simulated: set[str]


def _accelerators(node_items: list[dict], drivers: dict[str, _Driver]) -> _Accelerators:
    by_name = {common.name_of(n): n for n in node_items}
    acc = _Accelerators({}, set(), {}, set())
    for name, node in by_name.items():
        if common.is_accelerator_node(node):
            acc.nodes[name] = node
            if _is_nvidia_node(node):
                acc.nvidia.add(name)
            else:
                acc.other[name] = _vendor_hint(node)
            if common.is_simulated_node(node):
                acc.simulated.add(name)
    for drv in drivers.values():
        if not common.is_accelerator_driver(drv.name) or common.is_example_driver(drv.name):
            continue
        for name in drv.nodes:
            acc.nodes.setdefault(name, by_name.get(name, {}))
            if "nvidia" in drv.name:
                acc.nvidia.add(name)
                acc.other.pop(name, None)
            elif name not in acc.nvidia:
                acc.other[name] = f"DRA driver {drv.name}"
    return acc


# driver_runtime_management ----------------------------------------------------------------------------------
_DRIVER_DS = r"^nvidia-(gpu-)?driver|nvidia-driver-installer"
_TOOLKIT_DS = r"nvidia-container-toolkit"
_NVIDIA_RUNTIME = re.compile(r"nvidia")


def _label_versions(node: dict) -> dict[str, str]:
    """Driver and CUDA versions GPU Feature Discovery advertises on a node."""
    labels = common.labels_of(node)
    out = {}
    driver = labels.get("nvidia.com/cuda.driver-version.full")
    if not driver and labels.get("nvidia.com/cuda.driver.major"):
        driver = ".".join(labels[f"nvidia.com/cuda.driver.{p}"] for p in ("major", "minor", "rev")
                          if labels.get(f"nvidia.com/cuda.driver.{p}"))
    if driver:
        out["driver"] = driver
    cuda = labels.get("nvidia.com/cuda.runtime-version.full")
    if not cuda and labels.get("nvidia.com/cuda.runtime.major"):
        cuda = ".".join(labels[f"nvidia.com/cuda.runtime.{p}"] for p in ("major", "minor")
                        if labels.get(f"nvidia.com/cuda.runtime.{p}"))
    if cuda:
        out["cuda"] = cuda
    return out


def _dra_versions(drivers: dict[str, _Driver]) -> dict[str, dict[str, str]]:
    """node -> {driverVersion, cudaDriverVersion} from DRA device attributes of accelerator drivers."""
    out: dict[str, dict[str, str]] = {}
    for drv in drivers.values():
        if not common.is_accelerator_driver(drv.name) or common.is_example_driver(drv.name):
            continue
        for device, node in zip(drv.devices, drv.device_nodes):
            attrs = common.device_attributes(device)
            found = {k: attrs[k] for k in ("driverVersion", "cudaDriverVersion") if attrs.get(k)}
            if found and node:
                out.setdefault(node, {}).update(found)
    return out


@requirement_check("driver_runtime_management",
                   reads=(NODES, CLUSTERPOLICIES, CRDS, RESOURCESLICES, RUNTIMECLASSES) + _WORKLOADS)
def driver_runtime_management(view: ClusterView) -> CheckResult:
    nodes, policies, slices, rcs = view.list(NODES), view.list(CLUSTERPOLICIES), view.list(RESOURCESLICES), \
        view.list(RUNTIMECLASSES)
    workload_listings = _workload_listings(view)
    drivers, _ = _dra_drivers(slices.items)
    acc = _accelerators(nodes.items, drivers)
    evidence: list[Evidence] = []

    # The management layer: GPU Operator, driver/toolkit DaemonSets, or a managed platform's installer.
    healthy_mech, broken_mech = [], []
    for cp in policies.items:
        state = str((cp.get("status") or {}).get("state") or "no state")
        driver_on = ((cp.get("spec") or {}).get("driver") or {}).get("enabled")
        preinstalled = ", driver pre-installed on the nodes (driver.enabled=false)" if driver_on is False else ""
        evidence.append(common.evidence(cp, f"state={state}{preinstalled}"))
        (healthy_mech if state == "ready" else broken_mech).append(f"ClusterPolicy {common.name_of(cp)}")
    if policies.ok and not policies.items:
        operator_crds = [c for c in common.crds_of_group(view, "nvidia.com")
                         if common.crd_plural(c) == "clusterpolicies"]
        evidence.extend(common.evidence(c, "GPU Operator CRD, but no ClusterPolicy") for c in operator_crds)
        broken_mech.extend("GPU Operator CRD without a ClusterPolicy" for _ in operator_crds[:1])
    for w in _workloads(view, name=f"{_DRIVER_DS}|{_TOOLKIT_DS}"):
        ok, fact = common.workload_health(w)
        evidence.append(common.evidence(w, fact))
        (healthy_mech if ok else broken_mech).append(f"{w.get('kind')} {common.name_of(w)}")
    gke_managed = sorted(n for n in acc.nodes if common.labels_of(acc.nodes[n]).get(
        "cloud.google.com/gke-gpu-driver-version", "disabled") != "disabled")
    if gke_managed:
        label = common.labels_of(acc.nodes[gke_managed[0]])["cloud.google.com/gke-gpu-driver-version"]
        evidence.append(Evidence("Node", gke_managed[0], f"GKE installs the driver (gke-gpu-driver-version={label})"
                                 + _more(gke_managed, "; also on {}")))
        healthy_mech.append("GKE-managed driver installation")
    for rc in rcs.items:
        if _NVIDIA_RUNTIME.search(str(rc.get("handler") or "")):
            evidence.append(common.evidence(rc, f"handler {rc.get('handler')} (accelerator container runtime)"))

    if not nodes.visible:
        return common.unknown("accelerator nodes cannot be read", [nodes], evidence)
    if not acc.nodes:
        # No accelerator node at all: N/A rather than FAIL (nothing violates the requirement, which is about
        # accelerator nodes) and rather than UNKNOWN (every node is visible). A cluster without accelerators is
        # flagged by secure_accelerator_access (a MUST); an installed driver manager with no accelerator node yet
        # (node pools scaled to zero) is WARN, since it cannot be verified.
        if healthy_mech or broken_mech:
            return CheckResult(Status.WARN, f"{_sample(healthy_mech + broken_mech)} installed, but there is no "
                                            "accelerator node to verify drivers on", evidence)
        if not slices.visible:
            return common.unknown("no accelerator node found, but DRA devices cannot be read", [slices], evidence)
        return CheckResult(Status.NA, "no accelerator nodes: there are no accelerator drivers to manage", evidence)

    if acc.other:
        first = sorted(acc.other)[0]
        evidence.append(Evidence("Node", first, f"accelerator not recognised for driver checks: {acc.other[first]}"
                                 + _more(acc.other, " (and {})")))
    label_versions = {n: _label_versions(acc.nodes[n]) for n in acc.nvidia if acc.nodes[n]}
    dra_versions = _dra_versions(drivers)
    with_versions = {n for n in acc.nvidia if label_versions.get(n) or dra_versions.get(n)}
    via_dra = {n for n in acc.nvidia if dra_versions.get(n)}
    for n in sorted(with_versions)[:3]:
        v = dra_versions.get(n) or {}
        lv = label_versions.get(n) or {}
        if v:
            fact = "DRA attributes " + ", ".join(f"{k}={v[k]}" for k in ("driverVersion", "cudaDriverVersion")
                                                 if k in v)
        else:
            fact = "GPU Feature Discovery labels: " + ", ".join(
                f"{what} {lv[k]}" for k, what in (("driver", "driver"), ("cuda", "CUDA")) if k in lv)
        evidence.append(Evidence("Node", n, fact))
    bad_runtime = []
    for n in sorted(acc.nvidia | set(acc.other)):
        rt = ((acc.nodes[n].get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", "")
        if acc.nodes[n] and "://" not in rt:
            bad_runtime.append(n)
    if acc.nvidia:
        sample = sorted(acc.nvidia)[0]
        rt = ((acc.nodes[sample].get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", "")
        if rt and sample not in bad_runtime:
            evidence.append(Evidence("Node", sample, f"containerRuntimeVersion {rt}"))
    if bad_runtime:
        evidence.append(Evidence("Node", bad_runtime[0], "no containerRuntimeVersion of the form <runtime>://<version>"
                                 + _more(bad_runtime, " (and {})")))

    if not acc.nvidia:
        # KAR-0001: an accelerator the tool does not recognise is UNKNOWN, never FAIL.
        return CheckResult(Status.UNKNOWN, f"{_plural(len(acc.other), 'accelerator node')} with accelerators this "
                                           "tool does not recognise: driver and runtime management cannot be "
                                           "verified passively", evidence)

    total, covered = len(acc.nvidia), len(with_versions)
    coverage = f"driver versions advertised on {covered}/{total} NVIDIA nodes" + (
        " (DRA attributes)" if via_dra and len(via_dra) == covered else "")
    if healthy_mech and not broken_mech and covered == total and not bad_runtime:
        return CheckResult(Status.PASS, f"{_sample(healthy_mech)} healthy; {coverage}; container runtime "
                                        "versions reported", evidence)
    if not healthy_mech and not broken_mech and covered == total and len(via_dra) == total and not bad_runtime:
        return CheckResult(Status.PASS, f"{coverage}: the DRA driver verifies the installed driver on every "
                                        "accelerator node (drivers come with the node image)", evidence)
    blind = _blind(policies, slices, *workload_listings)
    if healthy_mech or broken_mech or covered:
        parts = []
        if broken_mech:
            parts.append(f"not healthy: {_sample(broken_mech)}")
        elif healthy_mech:
            parts.append(f"in place: {_sample(healthy_mech)}")
        else:
            parts.append("no driver management component found (drivers may be pre-installed in the node image)")
        parts.append(coverage)
        if bad_runtime:
            parts.append(f"{_plural(len(bad_runtime), 'accelerator node')} without a container runtime version")
        if blind and not healthy_mech:
            return common.unknown("; ".join(parts), blind, evidence)
        return CheckResult(Status.WARN, "; ".join(parts), evidence)
    if blind:
        return common.unknown(f"{_plural(total, 'NVIDIA accelerator node')} and no visible driver management",
                              blind, evidence)
    return CheckResult(Status.FAIL, f"{_plural(total, 'NVIDIA accelerator node')}, but no driver management "
                                    "component (GPU Operator, driver DaemonSet) and no advertised driver versions",
                       evidence)


# sharing and virtualisation signals -------------------------------------------------------------------------
@dataclass
class _Signal:
    mechanism: str
    strong: bool  # in effect (resources or devices exposed on a Ready node), not just configured
    evidence: Evidence


def _int(value) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


_HAMI_WORKLOAD = r"hami-device-plugin|hami-scheduler|vgpu-device-plugin"
_VGPU_BRAND = re.compile(r"^(grid|nvidiav(cs|ws|apps|pc)|nvidiacloudgaming)$", re.I)


def _node_signals(nodes: list[dict], hami_ok: bool) -> tuple[list[_Signal], list[_Signal]]:
    """(sharing signals, virtualisation signals) from node labels, annotations and allocatable."""
    sharing: list[_Signal] = []
    virtual: list[_Signal] = []
    for node in nodes:
        labels = common.labels_of(node)
        name = common.name_of(node)
        ready = common.node_ready(node)
        alloc = {k: _int(v) for k, v in ((node.get("status") or {}).get("allocatable") or {}).items()}
        note = "" if ready else " (node not Ready)"

        def add(into: list, mechanism: str, strong: bool, fact: str) -> None:
            into.append(_Signal(mechanism, strong and ready, Evidence("Node", name, fact + note)))

        product = labels.get("nvidia.com/gpu.product", "")
        mig = {k: v for k, v in alloc.items() if k.startswith("nvidia.com/mig-") and v > 0}
        if mig:
            add(sharing, "MIG", True, "MIG partitions schedulable: "
                + ", ".join(f"{k}={v}" for k, v in sorted(mig.items())))
        elif labels.get("nvidia.com/mig.strategy") == "single" and "-MIG-" in product.upper() \
                and alloc.get("nvidia.com/gpu", 0) > 0:
            add(sharing, "MIG", True, f"MIG single strategy: nvidia.com/gpu={alloc['nvidia.com/gpu']} are MIG "
                                      f"slices ({product})")
        elif labels.get("nvidia.com/mig.capable") == "true":
            add(sharing, "MIG", False, "MIG-capable GPU, but no MIG partition is configured")
        replicas = _int(labels.get("nvidia.com/gpu.replicas"))
        strategy = labels.get("nvidia.com/gpu.sharing-strategy", "")
        shared = alloc.get("nvidia.com/gpu.shared", 0)
        gpus = alloc.get("nvidia.com/gpu", 0)
        mech = "MPS" if strategy == "mps" else "time-slicing"
        if (replicas > 1 and (gpus or shared)) or shared or (product.endswith("-SHARED") and gpus):
            fact = ", ".join(x for x in (f"gpu.replicas={replicas}" if replicas else "",
                                         f"sharing-strategy={strategy}" if strategy else "",
                                         f"product {product}" if product.endswith("-SHARED") else "",
                                         f"allocatable nvidia.com/gpu={gpus}" if gpus else "",
                                         f"allocatable nvidia.com/gpu.shared={shared}" if shared else "") if x)
            add(sharing, mech, True, f"{mech} oversubscription: {fact}")
        elif strategy in ("time-slicing", "mps"):
            add(sharing, mech, False, f"sharing-strategy={strategy}, but gpu.replicas={replicas or 'unset'}")
        gke_sharing = labels.get("cloud.google.com/gke-gpu-sharing-strategy")
        clients = _int(labels.get("cloud.google.com/gke-max-shared-clients-per-gpu"))
        if gke_sharing:
            add(sharing, f"GKE {gke_sharing}", clients > 1 and gpus > 0,
                f"GKE GPU sharing {gke_sharing}, max {clients or '?'} clients per GPU")
        partition = labels.get("cloud.google.com/gke-gpu-partition-size")
        if partition:
            add(sharing, "MIG", gpus > 0, f"GKE multi-instance GPU, partition size {partition}")
        hami = "hami.io/node-nvidia-register" in ((node.get("metadata") or {}).get("annotations") or {})
        vgpu_number = alloc.get("volcano.sh/vgpu-number", 0)
        if hami or vgpu_number:
            fact = ("HAMi registered virtual GPUs on this node" if hami else "") + \
                   (f"{'; ' if hami else ''}allocatable volcano.sh/vgpu-number={vgpu_number}" if vgpu_number else "")
            if hami and not hami_ok and not vgpu_number:
                fact += ", but the HAMi device plugin is not ready"
            sig = (f"HAMi", bool(vgpu_number) or hami_ok, fact)
            add(sharing, *sig)
            add(virtual, *sig)
        # Virtualised GPUs.
        if labels.get("nvidia.com/vgpu.present") == "true" or product.upper().startswith("GRID"):
            host = labels.get("nvidia.com/vgpu.host-driver-version")
            add(virtual, "NVIDIA vGPU", gpus > 0,
                f"vGPU {product or '(product unknown)'}" + (f", host driver {host}" if host else "")
                + f", allocatable nvidia.com/gpu={gpus}")
        workload_config = labels.get("nvidia.com/gpu.workload.config", "")
        vm_res = {k: v for k, v in alloc.items() if k.startswith("nvidia.com/") and v > 0
                  and not k.startswith(("nvidia.com/gpu", "nvidia.com/mig-"))}
        if workload_config == "vm-vgpu":
            add(virtual, "NVIDIA vGPU for VMs", bool(vm_res), "vGPU devices for virtual machines"
                + (": " + ", ".join(f"{k}={v}" for k, v in sorted(vm_res.items())) if vm_res else ", none allocatable"))
        elif workload_config == "vm-passthrough":
            add(virtual, "GPU passthrough to VMs", False, "whole GPUs passed through to virtual machines"
                + (": " + ", ".join(f"{k}={v}" for k, v in sorted(vm_res.items())) if vm_res else ""))
        machine = labels.get("nvidia.com/gpu.machine", "")
        if re.search(r"vmware|virtual|kvm|qemu|hvm", machine, re.I):
            add(virtual, "virtual machine", False, f"GPU node is a virtual machine (gpu.machine={machine})")
    return sharing, virtual


def _dra_signals(drivers: dict[str, _Driver], classes: list[dict],
                 claims: list[dict]) -> tuple[list[_Signal], list[_Signal]]:
    """(sharing signals, virtualisation signals) from DRA devices, classes and allocated claims."""
    sharing: list[_Signal] = []
    virtual: list[_Signal] = []
    for drv in drivers.values():
        if not common.is_accelerator_driver(drv.name):
            continue
        counts: dict[str, int] = {}
        for device in drv.devices:
            attrs = common.device_attributes(device)
            body = common.device_body(device)
            kind = attrs.get("type", "")
            if kind == "mig":
                counts["mig"] = counts.get("mig", 0) + 1
            if body.get("consumesCounters"):
                counts["partitionable"] = counts.get("partitionable", 0) + 1
            if body.get("allowMultipleAllocations"):
                counts["shared"] = counts.get("shared", 0) + 1
            if kind == "vfio":
                counts["vfio"] = counts.get("vfio", 0) + 1
            if attrs.get("productName", "").upper().startswith("GRID") or _VGPU_BRAND.match(attrs.get("brand", "")):
                counts["vgpu"] = counts.get("vgpu", 0) + 1
        where = f"on {_plural(len(drv.nodes), 'node')}" if drv.nodes else ""
        ev = lambda fact: Evidence("ResourceSlice driver", drv.name, f"{fact} {where}".strip())  # noqa: E731
        if counts.get("mig"):
            sharing.append(_Signal("MIG (DRA)", True, ev(_plural(counts["mig"], "MIG device") + " (type=mig)")))
        if counts.get("partitionable"):
            sharing.append(_Signal("partitionable devices (DRA)", True,
                                   ev(_plural(counts["partitionable"], "partition") + " drawn from shared counters")))
        if counts.get("shared"):
            sharing.append(_Signal("shared allocation (DRA)", True,
                                   ev(_plural(counts["shared"], "device") + " allowing multiple allocations")))
        if counts.get("vgpu"):
            virtual.append(_Signal("NVIDIA vGPU (DRA)", True, ev(_plural(counts["vgpu"], "vGPU device"))))
        if counts.get("vfio"):
            virtual.append(_Signal("VFIO passthrough (DRA)", False,
                                   ev(_plural(counts["vfio"], "VFIO passthrough device") + " (whole GPUs for VMs)")))
    for dc in classes:
        name = common.name_of(dc)
        if re.search(r"(^|[.-])mig([.-]|$)", name) and not any(s.mechanism == "MIG (DRA)" for s in sharing):
            sharing.append(_Signal("MIG (DRA)", False,
                                   common.evidence(dc, "MIG DeviceClass, but no MIG device is published")))
        if re.search(r"(^|[.-])vfio([.-]|$)", name):
            virtual.append(_Signal("VFIO passthrough (DRA)", False,
                                   common.evidence(dc, "VFIO DeviceClass (passthrough; a class shows no device)")))
    shared_claims = []
    strategies: dict[str, list[dict]] = {}
    for claim in claims:
        status = claim.get("status") or {}
        results = ((status.get("allocation") or {}).get("devices") or {}).get("results") or []
        if not any(common.is_accelerator_driver(r.get("driver", "")) for r in results):
            continue
        if len(status.get("reservedFor") or []) > 1:
            shared_claims.append(claim)
        for cfg in ((status.get("allocation") or {}).get("devices") or {}).get("config") or []:
            params = (cfg.get("opaque") or {}).get("parameters") or {}
            strategy = ((params.get("sharing") or {}) if isinstance(params, dict) else {}).get("strategy")
            if strategy:
                strategies.setdefault(str(strategy), []).append(claim)
    if shared_claims:
        c = shared_claims[0]
        sharing.append(_Signal("shared claims (DRA)", True, common.evidence(
            c, f"one accelerator claim used by {len(c['status']['reservedFor'])} pods"
               + (f"; {len(shared_claims) - 1} more shared claims" if len(shared_claims) > 1 else ""))))
    for strategy, cs in sorted(strategies.items()):
        sharing.append(_Signal(f"{strategy} (DRA)", True, common.evidence(
            cs[0], f"allocated with sharing strategy {strategy}" + (f" ({len(cs)} claims)" if len(cs) > 1 else ""))))
    return sharing, virtual


def _config_signals(policies: list[dict], view: ClusterView) -> list[_Signal]:
    out = []
    for cp in policies:
        spec = cp.get("spec") or {}
        mig = (spec.get("mig") or {}).get("strategy")
        if mig:
            out.append(_Signal("MIG", False, common.evidence(cp, f"mig.strategy={mig} configured")))
        cfg = ((spec.get("devicePlugin") or {}).get("config") or {}).get("name")
        if cfg:
            out.append(_Signal("time-slicing", False, common.evidence(
                cp, f"device plugin config {cfg} (may hold time-slicing/MPS settings)")))
    for w in _workloads(view, name=r"mps-control-daemon"):
        ok, fact = common.workload_health(w)
        out.append(_Signal("MPS", False, common.evidence(w, f"MPS control daemon {fact}")))
    return out


def _collapse(signals: list[_Signal], per_mechanism: int = 2) -> tuple[list[str], list[Evidence]]:
    """Mechanisms in effect (strong) with node counts, and evidence limited per mechanism."""
    strong: dict[str, int] = {}
    by_key: dict[tuple[str, bool], list[Evidence]] = {}
    for s in signals:
        if s.strong:
            strong[s.mechanism] = strong.get(s.mechanism, 0) + 1
        by_key.setdefault((s.mechanism, s.strong), []).append(s.evidence)
    evidence = []
    for (mechanism, _), items in by_key.items():
        if len(items) <= per_mechanism + 1:  # a "1 more" line would take the room of the item itself
            evidence += items
            continue
        evidence += items[:per_mechanism]
        kinds = {e.kind for e in items[per_mechanism:]}
        kind = kinds.pop() if len(kinds) == 1 else "objects"
        evidence.append(Evidence(kind, "...", f"{mechanism}: {len(items) - per_mechanism} more"))
    on_nodes = {m for m in strong if all(s.evidence.kind == "Node" for s in signals if s.mechanism == m and s.strong)}
    return [f"{m} on {_plural(n, 'node')}" if m in on_nodes else m for m, n in strong.items()], evidence


def _scan(view: ClusterView):
    nodes, slices, claims = view.list(NODES), view.list(RESOURCESLICES), view.list(RESOURCECLAIMS)
    classes, policies = view.list(DEVICECLASSES), view.list(CLUSTERPOLICIES)
    drivers, _ = _dra_drivers(slices.items)
    hami = _workloads(view, name=_HAMI_WORKLOAD)
    hami_ok = any(common.workload_health(w)[0] for w in hami if w.get("kind") == "DaemonSet")
    node_sharing, node_virtual = _node_signals(nodes.items, hami_ok)
    dra_sharing, dra_virtual = _dra_signals(drivers, classes.items, claims.items)
    acc = _accelerators(nodes.items, drivers)
    # DRA claims only matter when an accelerator DRA driver publishes devices.
    relevant = [nodes, slices] + ([claims] if any(common.is_accelerator_driver(d) for d in drivers) else [])
    return (node_sharing + dra_sharing + _config_signals(policies.items, view), node_virtual + dra_virtual,
            acc, _blind(*relevant), nodes)


def _no_mechanism(acc: _Accelerators, blind: list[Listing], nodes: Listing, what: str,
                  evidence: list[Evidence]) -> CheckResult:
    """The result when no mechanism is in effect and no weaker sign was found either."""
    if blind:
        return common.unknown(f"no {what} found in what could be read", blind, evidence)
    if not acc.nodes:
        # As for driver_runtime_management: nothing to share without accelerators; secure_accelerator_access
        # reports a cluster without accelerators.
        return CheckResult(Status.NA, f"no accelerator nodes, so no {what} to offer", evidence)
    if not acc.nvidia:
        first = sorted(acc.other)[0]
        evidence.append(Evidence("Node", first, f"accelerator not recognised: {acc.other[first]}"))
        return CheckResult(Status.UNKNOWN, f"{_plural(len(acc.other), 'accelerator node')} with accelerators this "
                                           f"tool does not recognise: {what} cannot be detected passively", evidence)
    return CheckResult(Status.FAIL, f"{_plural(len(acc.nvidia), 'NVIDIA accelerator node')}, but no {what} "
                                    "exposed on any of them", evidence)


# gpu_sharing ------------------------------------------------------------------------------------------------
@requirement_check("gpu_sharing",
                   reads=(NODES, RESOURCESLICES, RESOURCECLAIMS, DEVICECLASSES, CLUSTERPOLICIES) + _WORKLOADS)
def gpu_sharing(view: ClusterView) -> CheckResult:
    sharing, _, acc, blind, nodes = _scan(view)
    in_effect, evidence = _collapse(sharing)
    if in_effect:
        sim = f" (on simulated nodes: {_sample(acc.simulated)})" if acc.simulated else ""
        return CheckResult(Status.PASS, f"GPU sharing in effect: {', '.join(in_effect)}{sim}", evidence)
    if blind:
        return common.unknown("no GPU sharing in effect in what could be read", blind, evidence)
    if sharing:
        mechs = ", ".join(dict.fromkeys(s.mechanism for s in sharing))
        return CheckResult(Status.WARN, f"GPU sharing configured or possible ({mechs}) but not in effect: no "
                                        "partition or shared replica is schedulable", evidence)
    return _no_mechanism(acc, blind, nodes, "GPU sharing (MIG, time-slicing, MPS)", evidence)


# virtualized_accelerator ------------------------------------------------------------------------------------
@requirement_check("virtualized_accelerator",
                   reads=(NODES, RESOURCESLICES, RESOURCECLAIMS, DEVICECLASSES, CLUSTERPOLICIES) + _WORKLOADS)
def virtualized_accelerator(view: ClusterView) -> CheckResult:
    sharing, virtual, acc, blind, nodes = _scan(view)
    view_policies = view.list(CLUSTERPOLICIES).items
    for cp in view_policies:
        sandbox = (cp.get("spec") or {}).get("sandboxWorkloads") or {}
        if sandbox.get("enabled"):
            virtual.append(_Signal("GPU Operator sandbox workloads", False, common.evidence(
                cp, f"sandboxWorkloads enabled (default workload {sandbox.get('defaultWorkload', 'container')})")))
    in_effect, evidence = _collapse(virtual)
    if in_effect:
        return CheckResult(Status.PASS, f"virtualized accelerators exposed: {', '.join(in_effect)}", evidence)
    fractional, frac_evidence = _collapse([s for s in sharing if s.strong], per_mechanism=1)
    if blind:
        return common.unknown("no virtualized accelerator exposed in what could be read", blind,
                              evidence + frac_evidence)
    if virtual or fractional:
        parts = []
        if virtual:
            parts.append("virtualisation configured but no virtual accelerator is exposed ("
                         + ", ".join(dict.fromkeys(s.mechanism for s in virtual)) + ")")
        if fractional:
            parts.append("fractional GPUs are offered through " + ", ".join(fractional)
                         + ", not as virtualized accelerators (vGPU)")
        return CheckResult(Status.WARN, "; ".join(parts), evidence + frac_evidence)
    return _no_mechanism(acc, blind, nodes, "virtualized accelerators (vGPU)", evidence)
