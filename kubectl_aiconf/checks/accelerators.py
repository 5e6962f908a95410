"""Accelerators: DRA support, driver and runtime management, GPU sharing, virtualized accelerators.

Every read hands out no objects for a listing that could not be seen, only the listing as a blind spot
(`_read` here, and common's helpers for workloads and CRDs). Each check then decides which of its blind
spots could change its verdict: those make it UNKNOWN and are named; any others (a listing read only for
evidence, or one that cannot undo what was seen) are named in the message of a verdict that holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable

from kubectl_aiconf.catalogue import minor_of
from kubectl_aiconf.checks import blind_reason, common, requirement_check, why_blind
from kubectl_aiconf.resources import (
    CLUSTERPOLICIES, CRDS, DAEMONSETS, DEPLOYMENTS, DEVICECLASSES, NODES, RESOURCECLAIMS, RESOURCESLICES,
    RUNTIMECLASSES, STATEFULSETS,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import join_nonempty, more, plural, sample
from kubectl_aiconf.view import ClusterView, Listing, Resource

DRA_GROUP = "resource.k8s.io"

# Workloads of DRA drivers: kubelet plugins and controllers (nvidia-dra-driver-gpu-kubelet-plugin,
# dra-example-driver-kubeletplugin, intel-gpu-resource-driver-kubelet-plugin, dranet, dra-driver-cpu, ...).
_DRA_WORKLOAD_NAME = r"(^|-)dra(-|$)|dranet|kubelet-?plugin|resource-driver"
_DRA_WORKLOAD_IMAGE = r"dra-driver|dra-example-driver|k8s-dra-driver|resource-driver|dranet|dra-plugin"
# Parts of a driver name that say nothing about who publishes it.
_GENERIC_NAME_PARTS = {"com", "io", "net", "org", "dev", "k8s", "x-k8s", "sigs", "kubernetes", "gpu", "dra",
                       "tpu", "accel"}


def _read(view: ClusterView, res: Resource) -> tuple[list[dict] | None, list[Listing]]:
    """(the objects, []) when the listing is known; (None, [the listing]) when it could not be seen."""
    listing = view.list(res)
    return (listing.items, []) if listing.visible else (None, [listing])


def _settle(result: CheckResult, unread: Iterable[Listing]) -> CheckResult:
    """Vouch for `result` to the guard: the caller decided it with every blind spot that could change it in
    view, so what else could not be read only thins the evidence; the message still names it."""
    unread = list(unread)
    if result.status is Status.UNKNOWN:
        return result
    note = f"; could not read, without effect on this verdict: {why_blind(unread)}" if unread else ""
    return replace(result, message=result.message + note, holds_despite_blind=True)


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
        seen = drv.pools.get(str(pool.get("name")), (0, 0))[0]
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
def _driver_finding(drv: _Driver, owned: list[dict], used: list[dict], workloads_blind: list[Listing],
                    claims_blind: list[Listing]) -> common.Finding:
    """How one DRA driver stands: PASS when its devices are usable and its workload is ready or a claim is
    allocated from it. What could not be read can only leave a driver not yet proven healthy undecided:
    every device tainted is unusable whatever else exists."""
    name = drv.name
    # With workloads unread, a not-ready kubelet plugin may hide beside the ready controller that was seen.
    ready = bool(owned) and all(common.workload_health(w)[0] for w in owned) and not workloads_blind
    health_blind = workloads_blind + claims_blind
    if len(drv.devices) <= drv.tainted:
        tainted = " (every device is tainted)" if drv.tainted else ""
        return common.Finding(Status.WARN, Reason.UNHEALTHY, f"DRA driver {name} publishes no usable device{tainted}")
    if ready or used:
        why = join_nonempty("driver workload ready" if ready else "",
                            f"{plural(len(used), 'claim')} allocated" if used else "", separator=", ")
        return common.Finding(Status.PASS, Reason.HEALTHY, f"DRA driver {name} publishes devices ({why})")
    if health_blind:
        return common.Finding(Status.UNKNOWN, blind_reason(health_blind),
                              f"DRA driver {name} publishes devices, but whether its driver runs or its devices are "
                              f"allocated cannot be read ({why_blind(health_blind)})")
    if owned:
        return common.Finding(Status.WARN, Reason.UNHEALTHY,
                              f"DRA driver {name} is not healthy: its driver workload is not ready")
    return common.Finding(Status.WARN, Reason.PARTIAL, f"DRA driver {name} publishes devices, but no running driver "
                                                       "workload was found and no claim is allocated")


@requirement_check("dra_support", reads=(DEVICECLASSES, RESOURCESLICES, RESOURCECLAIMS, DEPLOYMENTS, STATEFULSETS,
                                         DAEMONSETS))
def dra_support(view: ClusterView) -> CheckResult:
    versions = view.group_versions(DRA_GROUP)
    if not versions:
        return CheckResult(Status.FAIL, "the Dynamic Resource Allocation API (resource.k8s.io) is not served",
                           [Evidence("APIGroup", DRA_GROUP, "not served")], Reason.NOT_INSTALLED)
    evidence = [Evidence("APIGroup", DRA_GROUP, "served versions: " + ", ".join(versions))]
    minor = _server_minor(view)
    # resource.k8s.io/v1 is GA and on by default from Kubernetes 1.34; earlier servers only have betas.
    v1_missing = "v1" not in versions and minor is not None and minor >= (1, 34)
    api_note = (f"resource.k8s.io is served only as {', '.join(versions)} (v1 expected on Kubernetes "
                f"{minor[0]}.{minor[1]})" if v1_missing and minor else f"resource.k8s.io {'/'.join(versions)} served")

    classes, classes_blind = _read(view, DEVICECLASSES)
    slices, slices_blind = _read(view, RESOURCESLICES)
    claims, claims_blind = _read(view, RESOURCECLAIMS)
    dra_workloads, workloads_blind = common.find_workloads(view, name=_DRA_WORKLOAD_NAME, image=_DRA_WORKLOAD_IMAGE)
    health_blind = claims_blind + workloads_blind
    for dc in (classes or [])[:10]:
        ext = (dc.get("spec") or {}).get("extendedResourceName")
        evidence.append(common.evidence(dc, "defined" + (f"; serves extended resource {ext} requests through DRA"
                                                         if ext else "")))
    if classes and len(classes) > 10:
        evidence.append(Evidence("DeviceClass", "...", f"{len(classes) - 10} more"))

    drivers, stale = _dra_drivers(slices) if slices is not None else ({}, 0)
    if stale:
        evidence.append(Evidence("ResourceSlice", "(stale)",
                                 f"{plural(stale, 'slice')} of older pool generations ignored"))
    if not drivers:
        for w in dra_workloads[:5]:
            evidence.append(common.evidence(w, common.workload_health(w)[1] + " (DRA driver workload)"))
        if slices is None:
            return common.unknown(f"{api_note}, but the published devices cannot be read",
                                  slices_blind + health_blind, evidence)
        # No current slice: nothing allocates through the API, whatever runs or is claimed elsewhere.
        defined = f" ({plural(len(classes), 'DeviceClass')} defined)" if classes else ""
        return _settle(CheckResult(Status.WARN, f"{api_note}{defined}, but no DRA driver publishes devices (no "
                                                "current ResourceSlices): the API is there, nothing allocates "
                                                "through it", evidence, Reason.CRDS_ONLY),
                       classes_blind + health_blind)

    allocations = _allocations(claims) if claims is not None else {}
    findings, healthy = [], []
    for name in sorted(drivers):
        drv = drivers[name]
        fact = (f"{plural(len(drv.devices), 'device')} in {plural(drv.slices, 'current slice')} on "
                f"{plural(len(drv.nodes), 'node')}")
        if drv.tainted:
            fact += f", {drv.tainted} tainted (unusable)"
        if drv.incomplete_pools:
            fact += f", incomplete pools: {sample(drv.incomplete_pools)}"
        if common.is_example_driver(name):
            fact += "; example driver: the API works, but no real accelerator"
        found = [Evidence("ResourceSlice driver", name, fact)]
        owned = _driver_workloads(name, dra_workloads)
        found += [common.evidence(w, f"{common.workload_health(w)[1]} (DRA driver {name})") for w in owned]
        used = allocations.get(name, [])
        if used:
            reserved = sum(1 for c in used if (c.get("status") or {}).get("reservedFor"))
            found.append(Evidence("ResourceClaim", common.name_of(used[0]),
                                  f"{plural(len(used), 'claim')} allocated from {name}, {reserved} in use by pods"))
        finding = replace(_driver_finding(drv, owned, used, workloads_blind, claims_blind), evidence=found)
        findings.append(finding)
        if finding.status is Status.PASS:
            healthy.append(name)

    # Each driver was judged with what could not be read in view (unread workloads or claims leave it
    # undecided), and only slices name drivers: no blind spot is left for decide() to weigh.
    result = common.decide(findings, [], "no DRA driver", "no DRA driver")
    result = replace(result, message=f"{api_note}; {result.message}", evidence=evidence + result.evidence)
    if result.status is Status.PASS:
        if all(common.is_example_driver(name) for name in healthy):
            result.message += " (example driver only: the API works, but no real accelerator is behind it)"
        if v1_missing:
            result = replace(result, status=Status.WARN, reason=Reason.PARTIAL)
    return _settle(result, classes_blind + health_blind)


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


def _driver_managers(view: ClusterView, evidence: list[Evidence]) -> tuple[list[str], list[str], list[Listing]]:
    """(healthy, broken, listings not seen) among the installers of drivers a cluster runs itself: the GPU
    Operator's ClusterPolicy (or its CRD alone) and driver or container-toolkit DaemonSets."""
    healthy: list[str] = []
    broken: list[str] = []
    policies, blind = _read(view, CLUSTERPOLICIES)
    for cp in policies or []:
        state = str((cp.get("status") or {}).get("state") or "no state")
        driver_on = ((cp.get("spec") or {}).get("driver") or {}).get("enabled")
        preinstalled = ", driver pre-installed on the nodes (driver.enabled=false)" if driver_on is False else ""
        evidence.append(common.evidence(cp, f"state={state}{preinstalled}"))
        (healthy if state == "ready" else broken).append(f"ClusterPolicy {common.name_of(cp)}")
    if policies == []:
        # An operator installed without its ClusterPolicy shows as its CRD. Asked even when the API seems not
        # served: a snapshot infers served groups from the CRDs it holds, so without them nothing is known.
        crds, crd_blind = common.crds_of_group(view, CLUSTERPOLICIES.group)
        operator_crds = [c for c in crds if common.crd_plural(c) == CLUSTERPOLICIES.resource]
        evidence.extend(common.evidence(c, "GPU Operator CRD, but no ClusterPolicy") for c in operator_crds)
        broken.extend("GPU Operator CRD without a ClusterPolicy" for _ in operator_crds[:1])
        blind += crd_blind
    # Drivers and the toolkit are per node, so their installers are DaemonSets.
    found, ds_blind = common.match_workloads(view, {"driver": (f"{_DRIVER_DS}|{_TOOLKIT_DS}", "", "")},
                                             kinds=(DAEMONSETS,))
    for w in found["driver"]:
        ok, fact = common.workload_health(w)
        evidence.append(common.evidence(w, fact))
        (healthy if ok else broken).append(f"{w.get('kind')} {common.name_of(w)}")
    return healthy, broken, blind + ds_blind


def _runtime_version(node: dict) -> str:
    return ((node.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", "")


@requirement_check("driver_runtime_management",
                   reads=(NODES, CLUSTERPOLICIES, CRDS, RESOURCESLICES, RUNTIMECLASSES, DAEMONSETS))
def driver_runtime_management(view: ClusterView) -> CheckResult:
    evidence: list[Evidence] = []
    nodes, nodes_blind = _read(view, NODES)
    slices, slices_blind = _read(view, RESOURCESLICES)
    drivers = _dra_drivers(slices)[0] if slices is not None else {}
    healthy_mech, broken_mech, mech_blind = _driver_managers(view, evidence)
    runtime_classes, unread = _read(view, RUNTIMECLASSES)  # evidence only
    for rc in runtime_classes or []:
        if _NVIDIA_RUNTIME.search(str(rc.get("handler") or "")):
            evidence.append(common.evidence(rc, f"handler {rc.get('handler')} (accelerator container runtime)"))
    if nodes is None:
        return common.unknown("accelerator nodes cannot be read", nodes_blind, evidence)

    acc = _accelerators(nodes, drivers)
    gke_managed = sorted(n for n in acc.nodes if common.labels_of(acc.nodes[n]).get(
        "cloud.google.com/gke-gpu-driver-version", "disabled") != "disabled")
    if gke_managed:
        label = common.labels_of(acc.nodes[gke_managed[0]])["cloud.google.com/gke-gpu-driver-version"]
        evidence.append(Evidence("Node", gke_managed[0], f"GKE installs the driver (gke-gpu-driver-version={label})"
                                 + more(gke_managed, "; also on {}")))
        healthy_mech.append("GKE-managed driver installation")
    mechanisms = healthy_mech + broken_mech

    if not acc.nodes:
        if slices is None:
            return common.unknown("no node is labelled as or advertises an accelerator, but DRA devices cannot be "
                                  "read", slices_blind, evidence)
        # No accelerator node at all: N/A rather than FAIL (nothing violates the requirement, which is about
        # accelerator nodes); secure_accelerator_access (a MUST) flags a cluster without accelerators. An
        # installed driver manager with no accelerator node yet (node pools scaled to zero) is WARN: it cannot
        # be verified, and nothing unseen makes it verifiable.
        if mechanisms:
            return _settle(CheckResult(Status.WARN, f"{sample(mechanisms)} installed, but there is no accelerator "
                                                    "node to verify drivers on", evidence, Reason.PARTIAL),
                           unread + mech_blind)
        if mech_blind:
            return common.unknown("no accelerator nodes; whether a driver manager is installed", mech_blind, evidence)
        return _settle(CheckResult(Status.NA, "no accelerator nodes: there are no accelerator drivers to manage",
                                   evidence, Reason.NO_ACCELERATORS), unread)

    if acc.other:
        first = min(acc.other)
        evidence.append(Evidence("Node", first, f"accelerator not recognised for driver checks: {acc.other[first]}"
                                 + more(acc.other, " (and {})")))
    if not acc.nvidia:
        if slices is None:
            return common.unknown(f"{plural(len(acc.other), 'accelerator node')} with accelerators this tool does "
                                  "not recognise, and DRA devices (which may name others)", slices_blind, evidence)
        # KAR-0001: an accelerator the tool does not recognise is UNKNOWN, never FAIL.
        return CheckResult(Status.UNKNOWN, f"{plural(len(acc.other), 'accelerator node')} with accelerators this "
                                           "tool does not recognise: driver and runtime management cannot be "
                                           "verified passively", evidence, Reason.UNRECOGNISED)

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
    bad_runtime = [n for n in sorted(acc.nvidia | set(acc.other))
                   if acc.nodes[n] and "://" not in _runtime_version(acc.nodes[n])]
    first_nvidia = min(acc.nvidia)
    runtime = _runtime_version(acc.nodes[first_nvidia])
    if runtime and first_nvidia not in bad_runtime:
        evidence.append(Evidence("Node", first_nvidia, f"containerRuntimeVersion {runtime}"))
    if bad_runtime:
        evidence.append(Evidence("Node", bad_runtime[0], "no containerRuntimeVersion of the form <runtime>://<version>"
                                 + more(bad_runtime, " (and {})")))

    total, covered = len(acc.nvidia), len(with_versions)
    full = covered == total
    coverage = f"driver versions advertised on {covered}/{total} NVIDIA nodes" + (
        " (DRA attributes)" if via_dra and len(via_dra) == covered else "")
    # Which blind spots could change the verdict: a broken manager seen, or a node without a runtime version
    # next to anything that manages or reports drivers, keeps it WARN whatever else exists; otherwise hidden
    # slices may add DRA-reported versions (or DRA-only nodes), and a hidden manager turns FAIL into WARN and,
    # with every version advertised, WARN into PASS or PASS into WARN.
    if broken_mech or (bad_runtime and (healthy_mech or covered)):
        relevant: list[Listing] = []
    elif not full and (healthy_mech or covered):
        relevant = slices_blind
    else:
        relevant = slices_blind + mech_blind
    if broken_mech:
        management = f"not healthy: {sample(broken_mech)}"
    elif healthy_mech:
        management = f"in place: {sample(healthy_mech)}"
    elif mech_blind:
        management = "no driver management component in what could be read"
    else:
        management = "no driver management component found (drivers may be pre-installed in the node image)"
    if relevant:
        return common.unknown(f"{management}; {coverage}", relevant, evidence)
    unread = unread + mech_blind + slices_blind

    if healthy_mech and not broken_mech and full and not bad_runtime:
        return _settle(CheckResult(Status.PASS, f"{sample(healthy_mech)} healthy; {coverage}; container runtime "
                                                "versions reported", evidence, Reason.HEALTHY), unread)
    if not mechanisms and full and len(via_dra) == total and not bad_runtime:
        return _settle(CheckResult(Status.PASS, f"{coverage}: the DRA driver verifies the installed driver on every "
                                                "accelerator node (drivers come with the node image)", evidence,
                                   Reason.HEALTHY), unread)
    if mechanisms or covered:
        message = join_nonempty(management, coverage, f"{plural(len(bad_runtime), 'accelerator node')} without a "
                                                      "container runtime version" if bad_runtime else "")
        return _settle(CheckResult(Status.WARN, message, evidence,
                                   Reason.UNHEALTHY if broken_mech else Reason.PARTIAL), unread)
    return _settle(CheckResult(Status.FAIL, f"{plural(total, 'NVIDIA accelerator node')}, but no driver management "
                                            "component (GPU Operator, driver DaemonSet) and no advertised driver "
                                            "versions", evidence, Reason.NOT_INSTALLED), unread)


# sharing and virtualisation signals -------------------------------------------------------------------------
@dataclass
class _Signal:
    mechanism: str
    strong: bool  # in effect (resources or devices exposed on a Ready node), not just configured
    evidence: Evidence
    # Why a weak signal is not enough: UNHEALTHY (set up, but nothing schedulable), PARTIAL (a related
    # mechanism: passthrough, a VM), CRDS_ONLY (a definition or setting with nothing behind it),
    # NOT_INSTALLED (capable hardware, nothing set up).
    weak_reason: Reason = Reason.UNHEALTHY


# The reason of a WARN with several weak signals: the one closest to working.
_WEAK_REASONS = (Reason.UNHEALTHY, Reason.PARTIAL, Reason.CRDS_ONLY, Reason.NOT_INSTALLED)


def _weak_reason(reasons: Iterable[Reason]) -> Reason:
    present = set(reasons)
    return next(r for r in _WEAK_REASONS if r in present)


def _int(value) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


_HAMI_DAEMONSET = r"hami-device-plugin|vgpu-device-plugin"
_MPS_DAEMONSET = r"mps-control-daemon"
_VGPU_BRAND = re.compile(r"^(grid|nvidiav(cs|ws|apps|pc)|nvidiacloudgaming)$", re.IGNORECASE)


def _node_signals(nodes: list[dict], hami_ok: bool | None) -> tuple[list[_Signal], list[_Signal]]:
    """(sharing signals, virtualisation signals) from node labels, annotations and allocatable.

    `hami_ok`: whether a HAMi device plugin DaemonSet is ready (None when DaemonSets could not be read)."""
    sharing: list[_Signal] = []
    virtual: list[_Signal] = []
    for node in nodes:
        labels = common.labels_of(node)
        name = common.name_of(node)
        ready = common.node_ready(node)
        alloc = {k: _int(v) for k, v in ((node.get("status") or {}).get("allocatable") or {}).items()}
        note = "" if ready else " (node not Ready)"

        def add(into: list, mechanism: str, strong: bool, fact: str, weak: Reason = Reason.UNHEALTHY,
                ready: bool = ready, name: str = name, note: str = note) -> None:
            """A signal of this node: one meant to be strong is weak (and unhealthy) on a node not Ready."""
            into.append(_Signal(mechanism, strong and ready, Evidence("Node", name, fact + note),
                                Reason.UNHEALTHY if strong else weak))

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
            add(sharing, "MIG", False, "MIG-capable GPU, but no MIG partition is configured", Reason.NOT_INSTALLED)
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
            fact = join_nonempty("HAMi registered virtual GPUs on this node" if hami else "",
                                 f"allocatable volcano.sh/vgpu-number={vgpu_number}" if vgpu_number else "")
            if hami and not vgpu_number:
                if hami_ok is None:
                    fact += ", but whether the HAMi device plugin is ready could not be read"
                elif not hami_ok:
                    fact += ", but the HAMi device plugin is not ready"
            add(sharing, "HAMi", bool(vgpu_number) or bool(hami_ok), fact)
            add(virtual, "HAMi", bool(vgpu_number) or bool(hami_ok), fact)
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
                + (": " + ", ".join(f"{k}={v}" for k, v in sorted(vm_res.items())) if vm_res else ""),
                Reason.PARTIAL)
        machine = labels.get("nvidia.com/gpu.machine", "")
        if re.search(r"vmware|virtual|kvm|qemu|hvm", machine, re.IGNORECASE):
            add(virtual, "virtual machine", False, f"GPU node is a virtual machine (gpu.machine={machine})",
                Reason.PARTIAL)
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
        where = f" on {plural(len(drv.nodes), 'node')}" if drv.nodes else ""

        def ev(fact: str, driver: str = drv.name, where: str = where) -> Evidence:
            return Evidence("ResourceSlice driver", driver, fact + where)

        if counts.get("mig"):
            sharing.append(_Signal("MIG (DRA)", True, ev(plural(counts["mig"], "MIG device") + " (type=mig)")))
        if counts.get("partitionable"):
            sharing.append(_Signal("partitionable devices (DRA)", True,
                                   ev(plural(counts["partitionable"], "partition") + " drawn from shared counters")))
        if counts.get("shared"):
            sharing.append(_Signal("shared allocation (DRA)", True,
                                   ev(plural(counts["shared"], "device") + " allowing multiple allocations")))
        if counts.get("vgpu"):
            virtual.append(_Signal("NVIDIA vGPU (DRA)", True, ev(plural(counts["vgpu"], "vGPU device"))))
        if counts.get("vfio"):
            virtual.append(_Signal("VFIO passthrough (DRA)", False,
                                   ev(plural(counts["vfio"], "VFIO passthrough device") + " (whole GPUs for VMs)"),
                                   Reason.PARTIAL))
    for dc in classes:
        name = common.name_of(dc)
        if re.search(r"(^|[.-])mig([.-]|$)", name) and not any(s.mechanism == "MIG (DRA)" for s in sharing):
            sharing.append(_Signal("MIG (DRA)", False,
                                   common.evidence(dc, "MIG DeviceClass, but no MIG device is published"),
                                   Reason.CRDS_ONLY))
        if re.search(r"(^|[.-])vfio([.-]|$)", name):
            virtual.append(_Signal("VFIO passthrough (DRA)", False,
                                   common.evidence(dc, "VFIO DeviceClass (passthrough; a class shows no device)"),
                                   Reason.CRDS_ONLY))
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


def _config_signals(policies: list[dict], mps_daemons: list[dict]) -> tuple[list[_Signal], list[_Signal]]:
    """(sharing signals, virtualisation signals) from GPU Operator settings and MPS control daemons: set up,
    never proof that anything is schedulable."""
    sharing: list[_Signal] = []
    virtual: list[_Signal] = []
    for cp in policies:
        spec = cp.get("spec") or {}
        mig = (spec.get("mig") or {}).get("strategy")
        if mig:
            sharing.append(_Signal("MIG", False, common.evidence(cp, f"mig.strategy={mig} configured"),
                                   Reason.CRDS_ONLY))
        cfg = ((spec.get("devicePlugin") or {}).get("config") or {}).get("name")
        if cfg:
            sharing.append(_Signal("time-slicing", False, common.evidence(
                cp, f"device plugin config {cfg} (may hold time-slicing/MPS settings)"), Reason.CRDS_ONLY))
        sandbox = spec.get("sandboxWorkloads") or {}
        if sandbox.get("enabled"):
            virtual.append(_Signal("GPU Operator sandbox workloads", False, common.evidence(
                cp, f"sandboxWorkloads enabled (default workload {sandbox.get('defaultWorkload', 'container')})"),
                Reason.CRDS_ONLY))
    for w in mps_daemons:
        ok, fact = common.workload_health(w)
        sharing.append(_Signal("MPS", False, common.evidence(w, f"MPS control daemon {fact}"),
                               Reason.CRDS_ONLY if ok else Reason.UNHEALTHY))
    return sharing, virtual


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
    return [f"{m} on {plural(n, 'node')}" if m in on_nodes else m for m, n in strong.items()], evidence


@dataclass
class _Scan:
    sharing: list[_Signal]
    virtual: list[_Signal]
    acc: _Accelerators
    blind: list[Listing]  # every listing the scan could not read: any of them may hold a signal


def _scan(view: ClusterView) -> _Scan:
    nodes, blind = _read(view, NODES)
    slices, slices_blind = _read(view, RESOURCESLICES)
    drivers = _dra_drivers(slices)[0] if slices is not None else {}
    claims: list[dict] | None = []
    # Claims matter only when an accelerator DRA driver publishes devices (or the slices could not be read).
    if slices is None or any(common.is_accelerator_driver(d) for d in drivers):
        claims, claims_blind = _read(view, RESOURCECLAIMS)
        blind += claims_blind
    classes, classes_blind = _read(view, DEVICECLASSES)
    policies, policies_blind = _read(view, CLUSTERPOLICIES)
    # HAMi's device plugin and the MPS control daemon run on every GPU node: DaemonSets.
    daemons, ds_blind = common.match_workloads(
        view, {"hami": (_HAMI_DAEMONSET, "", ""), "mps": (_MPS_DAEMONSET, "", "")}, kinds=(DAEMONSETS,))
    hami_ok = None if ds_blind else any(common.workload_health(w)[0] for w in daemons["hami"])
    node_sharing, node_virtual = _node_signals(nodes or [], hami_ok)
    dra_sharing, dra_virtual = _dra_signals(drivers, classes or [], claims or [])
    config_sharing, config_virtual = _config_signals(policies or [], daemons["mps"])
    return _Scan(node_sharing + dra_sharing + config_sharing, node_virtual + dra_virtual + config_virtual,
                 _accelerators(nodes or [], drivers),
                 blind + slices_blind + classes_blind + policies_blind + ds_blind)


def _no_mechanism(acc: _Accelerators, what: str, evidence: list[Evidence]) -> CheckResult:
    """The result when everything could be read and no mechanism, in effect or configured, was found."""
    if not acc.nodes:
        # As for driver_runtime_management: nothing to share without accelerators; secure_accelerator_access
        # reports a cluster without accelerators.
        return CheckResult(Status.NA, f"no accelerator nodes, so no {what} to offer", evidence,
                           Reason.NO_ACCELERATORS)
    if not acc.nvidia:
        first = min(acc.other)
        evidence.append(Evidence("Node", first, f"accelerator not recognised: {acc.other[first]}"))
        return CheckResult(Status.UNKNOWN, f"{plural(len(acc.other), 'accelerator node')} with accelerators this "
                                           f"tool does not recognise: {what} cannot be detected passively", evidence,
                           Reason.UNRECOGNISED)
    return CheckResult(Status.FAIL, f"{plural(len(acc.nvidia), 'NVIDIA accelerator node')}, but no {what} "
                                    "exposed on any of them", evidence, Reason.NOT_INSTALLED)


_SCAN_READS = (NODES, RESOURCESLICES, RESOURCECLAIMS, DEVICECLASSES, CLUSTERPOLICIES, DAEMONSETS)


# gpu_sharing ------------------------------------------------------------------------------------------------
@requirement_check("gpu_sharing", reads=_SCAN_READS)
def gpu_sharing(view: ClusterView) -> CheckResult:
    scan = _scan(view)
    in_effect, evidence = _collapse(scan.sharing)
    if in_effect:
        # Seen in effect on a Ready node or in published devices: nothing unread can undo it.
        sim = f" (on simulated nodes: {sample(scan.acc.simulated)})" if scan.acc.simulated else ""
        return _settle(CheckResult(Status.PASS, f"GPU sharing in effect: {', '.join(in_effect)}{sim}", evidence,
                                   Reason.HEALTHY), scan.blind)
    if scan.blind:
        return common.unknown("no GPU sharing in effect in what could be read", scan.blind, evidence)
    if scan.sharing:
        mechs = ", ".join(dict.fromkeys(s.mechanism for s in scan.sharing))
        return CheckResult(Status.WARN, f"GPU sharing configured or possible ({mechs}) but not in effect: no "
                                        "partition or shared replica is schedulable", evidence,
                           _weak_reason(s.weak_reason for s in scan.sharing))
    return _no_mechanism(scan.acc, "GPU sharing (MIG, time-slicing, MPS)", evidence)


# virtualized_accelerator ------------------------------------------------------------------------------------
@requirement_check("virtualized_accelerator", reads=_SCAN_READS)
def virtualized_accelerator(view: ClusterView) -> CheckResult:
    scan = _scan(view)
    in_effect, evidence = _collapse(scan.virtual)
    if in_effect:
        # Seen exposed on a Ready node or in published devices: nothing unread can undo it.
        return _settle(CheckResult(Status.PASS, f"virtualized accelerators exposed: {', '.join(in_effect)}",
                                   evidence, Reason.HEALTHY), scan.blind)
    fractional, frac_evidence = _collapse([s for s in scan.sharing if s.strong], per_mechanism=1)
    if scan.blind:
        return common.unknown("no virtualized accelerator exposed in what could be read", scan.blind,
                              evidence + frac_evidence)
    if scan.virtual or fractional:
        parts = []
        if scan.virtual:
            parts.append("virtualisation configured but no virtual accelerator is exposed ("
                         + ", ".join(dict.fromkeys(s.mechanism for s in scan.virtual)) + ")")
        if fractional:
            parts.append("fractional GPUs are offered through " + ", ".join(fractional)
                         + ", not as virtualized accelerators (vGPU)")
        # Fractional GPUs are a related mechanism in effect: PARTIAL, like passthrough.
        reasons = [s.weak_reason for s in scan.virtual] + ([Reason.PARTIAL] if fractional else [])
        return CheckResult(Status.WARN, "; ".join(parts), evidence + frac_evidence, _weak_reason(reasons))
    return _no_mechanism(scan.acc, "virtualized accelerators (vGPU)", evidence)
