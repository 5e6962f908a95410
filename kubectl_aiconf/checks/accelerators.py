"""Accelerators: DRA support, driver and runtime management, GPU sharing, virtualized accelerators.

Every read hands out no objects for a listing that could not be seen, only the listing as a blind spot
(`_read` here, and common's helpers for workloads and CRDs). Each check then decides which of its blind
spots could change its verdict: those make it UNKNOWN and are named; any others (a listing read only for
evidence, or one that cannot undo what was seen) are named in the message of a verdict that holds.

What marks a vendor's accelerators, drivers, sharing and virtualisation comes from knowledge.accelerators.
The three SHOULDs judge each vendor the cluster has accelerators of on that vendor's own evidence, and pass
only when every vendor's nodes do; a vendor the registry knows nothing of for a check is named, not judged
(UNKNOWN when it is the only one).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from kubectl_aiconf.catalogue import minor_of
from kubectl_aiconf.checks import blind_reason, common, requirement_check, why_blind
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge._base import fullmatch
from kubectl_aiconf.resources import (
    CRDS,
    DAEMONSETS,
    DEPLOYMENTS,
    DEVICECLASSES,
    DEVICETAINTRULES,
    NODES,
    RESOURCECLAIMS,
    RESOURCESLICES,
    RUNTIMECLASSES,
    STATEFULSETS,
    resource_for,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import join_nonempty, more, plural, sample
from kubectl_aiconf.view import ClusterView, Listing, Resource

DRA_GROUP = "resource.k8s.io"


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


_KEEPS_PODS_OFF = ("NoSchedule", "NoExecute")


def _rule_selectors(rules: Iterable[dict]) -> list[dict]:
    """The device selectors of the DeviceTaintRules whose taint keeps pods off the devices. A rule without a
    selector selects nothing; an empty one, every device."""
    return [
        sel
        for rule in rules
        for sel in [(rule.get("spec") or {}).get("deviceSelector")]
        if isinstance(sel, dict) and ((rule.get("spec") or {}).get("taint") or {}).get("effect") in _KEEPS_PODS_OFF
    ]


def _dra_drivers(slices: list[dict], taint_rules: Iterable[dict] = ()) -> tuple[dict[str, _Driver], int]:
    """Drivers publishing current-generation ResourceSlices, and the number of stale slices ignored. A device
    is tainted by a taint of its own or by a DeviceTaintRule that selects it."""
    current, stale = common.current_slices(slices)
    selectors = _rule_selectors(taint_rules)
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
            where = {"driver": spec.get("driver"), "pool": pool.get("name"), "device": device.get("name")}
            if any(t.get("effect") in _KEEPS_PODS_OFF for t in body.get("taints") or []) or any(
                all(sel.get(k) in (None, v) for k, v in where.items()) for sel in selectors
            ):
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
    tokens = [t for t in re.split(r"[./]", driver) if t and t not in acc.GENERIC_DRIVER_NAME_PARTS]
    if not tokens:
        return list(dra_workloads)
    return [
        w
        for w in dra_workloads
        if any(t in common.name_of(w) or any(t in i for i in common.workload_images(w)) for t in tokens)
    ]


def _server_minor(view: ClusterView) -> tuple[int, int] | None:
    minor = minor_of(view.kubernetes_version or "")
    return tuple(int(x) for x in minor.split(".")) if minor else None  # type: ignore[return-value]


# dra_support ------------------------------------------------------------------------------------------------
def _driver_finding(
    drv: _Driver,
    owned: list[dict],
    used: list[dict],
    workloads_blind: list[Listing],
    claims_blind: list[Listing],
    rules_blind: list[Listing],
) -> common.Finding:
    """How one DRA driver stands: PASS when its devices are usable and its workload is ready or a claim is
    allocated from it. What could not be read can only leave a driver not yet proven healthy undecided:
    every device tainted is unusable whatever else exists, and unread DeviceTaintRules may taint the rest."""
    name = drv.name
    # With workloads unread, a not-ready kubelet plugin may hide beside the ready controller that was seen.
    ready = bool(owned) and all(common.workload_health(w)[0] for w in owned) and not workloads_blind
    health_blind = workloads_blind + claims_blind
    if len(drv.devices) <= drv.tainted:
        tainted = " (every device is tainted)" if drv.tainted else ""
        return common.Finding(Status.WARN, Reason.UNHEALTHY, f"DRA driver {name} publishes no usable device{tainted}")
    if (ready or used) and rules_blind:
        return common.Finding(
            Status.UNKNOWN,
            blind_reason(rules_blind),
            f"DRA driver {name} publishes devices, but whether DeviceTaintRules keep pods off them cannot be "
            f"read ({why_blind(rules_blind)})",
        )
    if ready or used:
        why = join_nonempty(
            "driver workload ready" if ready else "",
            f"{plural(len(used), 'claim')} allocated" if used else "",
            separator=", ",
        )
        return common.Finding(Status.PASS, Reason.HEALTHY, f"DRA driver {name} publishes devices ({why})")
    if health_blind:
        return common.Finding(
            Status.UNKNOWN,
            blind_reason(health_blind),
            f"DRA driver {name} publishes devices, but whether its driver runs or its devices are "
            f"allocated cannot be read ({why_blind(health_blind)})",
        )
    if owned:
        return common.Finding(
            Status.WARN, Reason.UNHEALTHY, f"DRA driver {name} is not healthy: its driver workload is not ready"
        )
    return common.Finding(
        Status.WARN,
        Reason.PARTIAL,
        f"DRA driver {name} publishes devices, but no running driver workload was found and no claim is allocated",
    )


@requirement_check(
    "dra_support",
    reads=(DEVICECLASSES, RESOURCESLICES, RESOURCECLAIMS, DEVICETAINTRULES, DEPLOYMENTS, STATEFULSETS, DAEMONSETS),
)
def dra_support(view: ClusterView) -> CheckResult:
    versions = view.group_versions(DRA_GROUP)
    if not versions:
        return CheckResult(
            Status.FAIL,
            "the Dynamic Resource Allocation API (resource.k8s.io) is not served",
            [Evidence("APIGroup", DRA_GROUP, "not served")],
            Reason.NOT_INSTALLED,
        )
    evidence = [Evidence("APIGroup", DRA_GROUP, "served versions: " + ", ".join(versions))]
    minor = _server_minor(view)
    # resource.k8s.io/v1 is GA and on by default from Kubernetes 1.34; earlier servers only have betas.
    v1_missing = "v1" not in versions and minor is not None and minor >= (1, 34)
    api_note = (
        f"resource.k8s.io is served only as {', '.join(versions)} (v1 expected on Kubernetes {minor[0]}.{minor[1]})"
        if v1_missing and minor
        else f"resource.k8s.io {'/'.join(versions)} served"
    )

    classes, classes_blind = _read(view, DEVICECLASSES)
    slices, slices_blind = _read(view, RESOURCESLICES)
    claims, claims_blind = _read(view, RESOURCECLAIMS)
    rules, rules_blind = _read(view, DEVICETAINTRULES)
    dra_workloads, workloads_blind = common.find_workloads(
        view, name=acc.DRA_DRIVER_WORKLOAD.name, image=acc.DRA_DRIVER_WORKLOAD.image
    )
    health_blind = claims_blind + workloads_blind
    for dc in (classes or [])[:10]:
        ext = (dc.get("spec") or {}).get("extendedResourceName")
        evidence.append(
            common.evidence(dc, "defined" + (f"; serves extended resource {ext} requests through DRA" if ext else ""))
        )
    if classes and len(classes) > 10:
        evidence.append(Evidence("DeviceClass", "...", f"{len(classes) - 10} more"))

    drivers, stale = _dra_drivers(slices, rules or []) if slices is not None else ({}, 0)
    if stale:
        evidence.append(
            Evidence("ResourceSlice", "(stale)", f"{plural(stale, 'slice')} of older pool generations ignored")
        )
    if not drivers:
        for w in dra_workloads[:5]:
            evidence.append(common.evidence(w, common.workload_health(w)[1] + " (DRA driver workload)"))
        if slices is None:
            return common.unknown(
                f"{api_note}, but the published devices cannot be read", slices_blind + health_blind, evidence
            )
        # No current slice: nothing allocates through the API, whatever runs or is claimed elsewhere.
        defined = f" ({plural(len(classes), 'DeviceClass')} defined)" if classes else ""
        return _settle(
            CheckResult(
                Status.WARN,
                f"{api_note}{defined}, but no DRA driver publishes devices (no "
                "current ResourceSlices): the API is there, nothing allocates "
                "through it",
                evidence,
                Reason.CRDS_ONLY,
            ),
            classes_blind + health_blind,
        )

    allocations = _allocations(claims) if claims is not None else {}
    findings, healthy = [], []
    for name in sorted(drivers):
        drv = drivers[name]
        fact = (
            f"{plural(len(drv.devices), 'device')} in {plural(drv.slices, 'current slice')} on "
            f"{plural(len(drv.nodes), 'node')}"
        )
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
            found.append(
                Evidence(
                    "ResourceClaim",
                    common.name_of(used[0]),
                    f"{plural(len(used), 'claim')} allocated from {name}, {reserved} in use by pods",
                )
            )
        finding = replace(_driver_finding(drv, owned, used, workloads_blind, claims_blind, rules_blind), evidence=found)
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
    return _settle(result, classes_blind + health_blind + rules_blind)


# accelerator nodes by vendor --------------------------------------------------------------------------------
def _vendor_name(key: str) -> str:
    vendor = acc.BY_KEY.get(key)
    return vendor.name if vendor else "vendor unknown"


@dataclass
class _Accelerators:
    """Accelerator nodes (by label, allocatable resource or DRA accelerator slices) and their vendors."""

    nodes: dict[str, dict]  # name -> Node (or {} when only a slice names it)
    vendors: dict[str, dict[str, str]]  # vendor key (acc.UNRECOGNISED when unknown) -> {node: what shows it}
    simulated: set[str]


def _accelerators(node_items: list[dict], drivers: dict[str, _Driver]) -> _Accelerators:
    by_name = {common.name_of(n): n for n in node_items}
    out = _Accelerators({}, {}, set())
    for name, node in by_name.items():
        found = common.accelerator_vendors(node)
        if not found:
            continue
        out.nodes[name] = node
        for vendor, why in found.items():
            out.vendors.setdefault(vendor, {})[name] = why
        if common.is_simulated_node(node):
            out.simulated.add(name)
    for drv in drivers.values():
        if not common.is_accelerator_driver(drv.name) or common.is_example_driver(drv.name):
            continue
        vendor = acc.vendor_of_driver(drv.name) or acc.UNRECOGNISED
        for name in drv.nodes:
            out.nodes.setdefault(name, by_name.get(name, {}))
            out.vendors.setdefault(vendor, {}).setdefault(name, f"DRA driver {drv.name}")
    return out


def _not_recognised(accs: _Accelerators, vendors: Iterable[str], why: str) -> tuple[str, Evidence]:
    """A phrase and one piece of evidence for the accelerator nodes of `vendors`, which this check cannot judge."""
    nodes = {n: hint for v in vendors for n, hint in accs.vendors[v].items()}
    first = min(nodes)
    names = ", ".join(sorted({_vendor_name(v) for v in vendors}))
    return (
        f"{plural(len(nodes), 'accelerator node')} with accelerators this tool does not recognise {why} ({names})",
        Evidence("Node", first, f"accelerator not recognised {why}: {nodes[first]}" + more(nodes, " (and {})")),
    )


# driver managers ----------------------------------------------------------------------------------------------
# The custom resources of every driver manager of the registry, as listed (each needs its Resource in
# resources.py, and a rule in the reader ClusterRole).
_MANAGER_READS = tuple(
    dict.fromkeys(
        resource_for(api) for vendor in acc.VENDORS for manager in vendor.driver_managers for api in manager.apis
    )
)


def _path_value(obj: dict, path: str) -> object:
    """The value at a dotted path of an object, or None."""
    value: object = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _rendered(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def _manager_health(manager: acc.DriverManager, obj: dict) -> tuple[bool, str]:
    """(healthy, fact) for a driver manager's custom resource: every readiness signal the record names must
    hold, and at least one must say that something works."""
    facts: list[str] = []
    ok, proven = True, False
    if manager.ready_state:
        state = str((obj.get("status") or {}).get("state") or "no state")
        facts.append(f"state={state}")
        ok, proven = ok and state == manager.ready_state, True
    if manager.ready_condition:
        facts.append(common.condition_fact(obj, manager.ready_condition))
        ok, proven = ok and common.condition_true(obj, manager.ready_condition), True
    for desired_path, ready_path in manager.ready_counts:
        desired = _int(_path_value(obj, desired_path))
        if desired:
            ready = _int(_path_value(obj, ready_path))
            part = desired_path.split(".")[-2] if desired_path.count(".") > 1 else ""
            facts.append(join_nonempty(part, f"{ready}/{desired} ready", separator=" "))
            ok, proven = ok and ready >= desired, True
    if not proven:
        facts.append("no status says that it works")
    if manager.driver_toggle and _path_value(obj, manager.driver_toggle) is False:
        facts.append(f"driver pre-installed on the nodes ({manager.driver_toggle}=false)")
    return ok and proven, ", ".join(facts)


@dataclass
class _Managed:
    """One vendor's driver managers as seen: healthy and broken ones, and the listings that could hide one."""

    healthy: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    blind: list[Listing] = field(default_factory=list)


def _driver_managers(view: ClusterView, evidence: list[Evidence]) -> dict[str, _Managed]:
    """{vendor key: its driver managers} from their custom resources (or their CRD alone) and DaemonSets."""
    agents = {
        f"{v.key}:{i}:{j}": c.patterns
        for v in acc.VENDORS
        for i, m in enumerate(v.driver_managers)
        for j, c in enumerate(m.node_agents)
    }
    # Drivers and the runtime hook are per node, so their installers are DaemonSets.
    daemons, ds_blind = common.match_workloads(view, agents, kinds=(DAEMONSETS,))
    controllers = {
        f"{v.key}:{i}:{j}": c.patterns
        for v in acc.VENDORS
        for i, m in enumerate(v.driver_managers)
        for j, c in enumerate(m.components)
    }
    # A controller seen down outweighs its custom resource, whose status is its own last word and stays "ready"
    # after it stopped; so Deployments that cannot be read may hide a broken one.
    operators, deploy_blind = common.match_workloads(view, controllers, kinds=(DEPLOYMENTS,))
    out: dict[str, _Managed] = {}
    for vendor in acc.VENDORS:
        managed = out.setdefault(vendor.key, _Managed())
        for i, manager in enumerate(vendor.driver_managers):
            for n, api in enumerate(manager.apis):
                objs, blind = _read(view, resource_for(api))
                managed.blind += blind
                for obj in objs or []:
                    ok, fact = _manager_health(manager, obj)
                    evidence.append(common.evidence(obj, fact))
                    (managed.healthy if ok else managed.broken).append(f"{api.kind} {common.name_of(obj)}")
                if n == 0 and objs == []:
                    # An operator installed without its custom resource shows as its CRD. Asked even when the
                    # API seems not served: a snapshot infers served groups from the CRDs it holds.
                    crds, crd_blind = common.crds_of_group(view, api.group)
                    managed.blind += crd_blind
                    for crd in [c for c in crds if common.crd_plural(c) == api.plural][:1]:
                        evidence.append(common.evidence(crd, f"{manager.name} CRD, but no {api.kind}"))
                        managed.broken.append(f"{manager.name} CRD without a {api.kind}")
            if manager.components:
                managed.blind += deploy_blind
            for j in range(len(manager.components)):
                for w in operators[f"{vendor.key}:{i}:{j}"]:
                    ok, fact = common.workload_health(w)
                    evidence.append(common.evidence(w, f"{manager.name} controller, {fact}"))
                    if not ok:
                        managed.broken.append(f"{manager.name} controller {common.name_of(w)}")
            if manager.node_agents:
                managed.blind += ds_blind
            for j in range(len(manager.node_agents)):
                for w in daemons[f"{vendor.key}:{i}:{j}"]:
                    ok, fact = common.workload_health(w)
                    evidence.append(common.evidence(w, fact))
                    (managed.healthy if ok else managed.broken).append(f"{w.get('kind')} {common.name_of(w)}")
    return out


def _label_managed(vendor: acc.Vendor, nodes: dict[str, dict], evidence: list[Evidence]) -> list[str]:
    """The managed platforms that install this vendor's drivers on some of these nodes, by node label."""
    out = []
    for manager in vendor.driver_managers:
        hits = {}
        for name in sorted(nodes):
            hit = next(filter(None, (m.found(common.labels_of(nodes[name])) for m in manager.node_labels)), None)
            if hit:
                hits[name] = hit
        if hits:
            first = min(hits)
            evidence.append(
                Evidence(
                    "Node", first, f"{manager.name} ({hits[first][0]}={hits[first][1]})" + more(hits, "; also on {}")
                )
            )
            out.append(manager.name)
    return out


# driver_runtime_management ----------------------------------------------------------------------------------
@dataclass
class _Judged:
    """How one vendor's accelerator nodes stand on a requirement. An UNKNOWN names the listings that hide the
    answer (`blind`) and the statuses they could still give (`possible`)."""

    vendor: str
    status: Status
    reason: Reason
    summary: str
    blind: list[Listing] = field(default_factory=list)
    possible: frozenset[Status] = frozenset({Status.PASS, Status.WARN, Status.FAIL})


# The reason of a WARN with several weak signals or vendors: the one closest to working.
_WEAK_REASONS = (Reason.UNHEALTHY, Reason.PARTIAL, Reason.CRDS_ONLY, Reason.NOT_INSTALLED)


def _weak_reason(reasons: Iterable[Reason]) -> Reason:
    present = set(reasons)
    return next(r for r in _WEAK_REASONS if r in present)


def _overall(statuses: set[Status]) -> Status:
    """The cluster meets a requirement when every vendor's nodes do; some vendors meeting it and others not,
    or any vendor partly, is WARN."""
    return statuses.pop() if len(statuses) == 1 else Status.WARN


def _combine(judged: list[_Judged], evidence: list[Evidence]) -> CheckResult:
    """One verdict over the vendors judged (see `_overall`). A vendor that cannot be told leaves it UNKNOWN
    unless every status that vendor could turn out to have gives the same verdict."""
    named = len(judged) > 1
    message = "; ".join(f"{_vendor_name(j.vendor)}: {j.summary}" if named else j.summary for j in judged)
    known = [j for j in judged if j.status is not Status.UNKNOWN]
    unknown = [j for j in judged if j.status is Status.UNKNOWN]
    outcomes = {
        _overall({j.status for j in known} | set(guess)) for guess in itertools.product(*(j.possible for j in unknown))
    }
    if len(outcomes) > 1:
        return common.unknown(message, [listing for j in unknown for listing in j.blind], evidence)
    status = outcomes.pop()
    if status is Status.PASS:
        return CheckResult(status, message, evidence, Reason.HEALTHY)
    if status is Status.FAIL:
        return CheckResult(status, message, evidence, Reason.NOT_INSTALLED)
    warn_reasons = [j.reason for j in known if j.status is Status.WARN]
    some_pass = any(j.status is Status.PASS for j in known)
    reason = Reason.PARTIAL if some_pass or not warn_reasons else _weak_reason(warn_reasons)
    return CheckResult(status, message, evidence, reason)


def _dra_versions(vendor: acc.Vendor, drivers: dict[str, _Driver]) -> dict[str, dict[str, str]]:
    """node -> {attribute: value} of the DRA attributes through which the vendor's driver reports drivers."""
    out: dict[str, dict[str, str]] = {}
    for drv in drivers.values():
        if acc.vendor_of_driver(drv.name) != vendor.key or not common.is_accelerator_driver(drv.name):
            continue
        for device, node in zip(drv.devices, drv.device_nodes, strict=True):
            attrs = common.device_attributes(device)
            found = {k: attrs[k] for k in vendor.dra_version_attributes if attrs.get(k)}
            if found and node:
                out.setdefault(node, {}).update(found)
    return out


def _node_info(node: dict, key: str) -> str:
    return str(((node.get("status") or {}).get("nodeInfo") or {}).get(key) or "")


def _reported_driver(vendor: acc.Vendor, node: dict, dra: dict[str, str]) -> str:
    """How a node reports its driver of this vendor: DRA attributes, version labels, or a driver-loaded label
    (the kernel's version is then the driver's); "" when it does not."""
    if dra:
        return "DRA attributes " + ", ".join(f"{k}={v}" for k, v in dra.items())
    labels = common.labels_of(node)
    versions = acc.advertised_versions(vendor.key, labels)
    if versions:
        return "labels: " + ", ".join(f"{what} {version}" for what, version in versions.items())
    loaded = next(filter(None, (m.found(labels) for m in vendor.driver_loaded)), None)
    if loaded:
        kernel = _node_info(node, "kernelVersion")
        return f"driver loaded ({loaded[0]}={loaded[1]})" + (f", kernel {kernel}" if kernel else "")
    return ""


def _judge_drivers(
    vendor: acc.Vendor,
    accs: _Accelerators,
    managed: _Managed,
    drivers: dict[str, _Driver],
    slices_blind: list[Listing],
    evidence: list[Evidence],
) -> _Judged:
    """Driver and runtime management on one vendor's accelerator nodes."""
    names = sorted(accs.vendors[vendor.key])
    nodes = {n: accs.nodes[n] for n in names}
    healthy = managed.healthy + _label_managed(vendor, {n: o for n, o in nodes.items() if o}, evidence)
    broken = managed.broken
    dra = _dra_versions(vendor, drivers)
    reported = {n: fact for n in names if (fact := _reported_driver(vendor, nodes[n], dra.get(n) or {}))}
    via_dra = {n for n in names if dra.get(n)}
    for n in sorted(reported)[:3]:
        evidence.append(Evidence("Node", n, reported[n]))
    bad_runtime = [n for n in names if nodes[n] and "://" not in _node_info(nodes[n], "containerRuntimeVersion")]
    first = names[0]
    runtime = _node_info(nodes[first], "containerRuntimeVersion") if nodes[first] else ""
    if runtime and first not in bad_runtime:
        evidence.append(Evidence("Node", first, f"containerRuntimeVersion {runtime}"))
    if bad_runtime:
        evidence.append(
            Evidence(
                "Node",
                bad_runtime[0],
                "no containerRuntimeVersion of the form <runtime>://<version>" + more(bad_runtime, " (and {})"),
            )
        )

    total, covered = len(names), len(reported)
    full = covered == total
    coverage = f"driver versions advertised on {covered}/{total} {vendor.name} nodes" + (
        " (DRA attributes)" if via_dra and len(via_dra) == covered else ""
    )
    # Which blind spots could change the verdict: a broken manager seen, or a node without a runtime version
    # next to anything that manages or reports drivers, keeps it WARN whatever else exists; otherwise hidden
    # slices may add DRA-reported drivers (or DRA-only nodes), and a hidden manager turns FAIL into WARN and,
    # with every driver reported, WARN into PASS or PASS into WARN.
    if broken or (bad_runtime and (healthy or covered)):
        relevant: list[Listing] = []
    elif not full and (healthy or covered):
        relevant = slices_blind
    else:
        relevant = slices_blind + managed.blind
    if broken:
        management = f"not healthy: {sample(broken)}"
    elif healthy:
        management = f"in place: {sample(healthy)}"
    elif managed.blind:
        management = "no driver management component in what could be read"
    else:
        management = "no driver management component found (drivers may be pre-installed in the node image)"
    if relevant:
        # What was seen of a manager or a reported driver already rules out FAIL.
        possible = {Status.PASS, Status.WARN} | (set() if healthy or covered else {Status.FAIL})
        return _Judged(
            vendor.key,
            Status.UNKNOWN,
            blind_reason(relevant),
            f"{management}; {coverage}",
            relevant,
            frozenset(possible),
        )
    if healthy and not broken and full and not bad_runtime:
        return _Judged(
            vendor.key,
            Status.PASS,
            Reason.HEALTHY,
            f"{sample(healthy)} healthy; {coverage}; container runtime versions reported",
        )
    if not healthy and not broken and full and len(via_dra) == total and not bad_runtime:
        return _Judged(
            vendor.key,
            Status.PASS,
            Reason.HEALTHY,
            f"{coverage}: the DRA driver verifies the installed driver on every node (drivers come with "
            "the node image)",
        )
    if healthy or broken or covered:
        return _Judged(
            vendor.key,
            Status.WARN,
            Reason.UNHEALTHY if broken else Reason.PARTIAL,
            join_nonempty(
                management,
                coverage,
                f"{plural(len(bad_runtime), 'node')} without a container runtime version" if bad_runtime else "",
            ),
        )
    known = ", ".join(m.name for m in vendor.driver_managers) or "none known"
    return _Judged(
        vendor.key,
        Status.FAIL,
        Reason.NOT_INSTALLED,
        f"{plural(total, vendor.name + ' node')}, but no driver management component ({known}) and no "
        "advertised driver versions",
    )


@requirement_check(
    "driver_runtime_management",
    reads=(NODES, CRDS, RESOURCESLICES, RUNTIMECLASSES, DAEMONSETS, DEPLOYMENTS) + _MANAGER_READS,
)
def driver_runtime_management(view: ClusterView) -> CheckResult:
    evidence: list[Evidence] = []
    nodes, nodes_blind = _read(view, NODES)
    slices, slices_blind = _read(view, RESOURCESLICES)
    drivers = _dra_drivers(slices)[0] if slices is not None else {}
    managed = _driver_managers(view, evidence)
    mech_blind = [listing for m in managed.values() for listing in m.blind]
    runtime_classes, unread = _read(view, RUNTIMECLASSES)  # evidence only
    for rc in runtime_classes or []:
        if acc.vendor_of_runtime_handler(str(rc.get("handler") or "")):
            evidence.append(common.evidence(rc, f"handler {rc.get('handler')} (accelerator container runtime)"))
    if nodes is None:
        return common.unknown("accelerator nodes cannot be read", nodes_blind, evidence)

    accs = _accelerators(nodes, drivers)
    mechanisms = [m for v in managed.values() for m in v.healthy + v.broken]
    if not accs.nodes:
        if slices is None:
            return common.unknown(
                "no node is labelled as or advertises an accelerator, but DRA devices cannot be read",
                slices_blind,
                evidence,
            )
        # No accelerator node at all: N/A rather than FAIL (nothing violates the requirement, which is about
        # accelerator nodes); secure_accelerator_access (a MUST) flags a cluster without accelerators. An
        # installed driver manager with no accelerator node yet (node pools scaled to zero) is WARN: it cannot
        # be verified, and nothing unseen makes it verifiable.
        if mechanisms:
            return _settle(
                CheckResult(
                    Status.WARN,
                    f"{sample(mechanisms)} installed, but there is no accelerator node to verify drivers on",
                    evidence,
                    Reason.PARTIAL,
                ),
                unread + mech_blind,
            )
        if mech_blind:
            return common.unknown("no accelerator nodes; whether a driver manager is installed", mech_blind, evidence)
        return _settle(
            CheckResult(
                Status.NA,
                "no accelerator nodes: there are no accelerator drivers to manage",
                evidence,
                Reason.NO_ACCELERATORS,
            ),
            unread,
        )

    known = [v for v in acc.VENDORS if v.key in accs.vendors and v.verifies_drivers]
    others = [v for v in accs.vendors if v not in {k.key for k in known}]
    note = ""
    if others:
        note, shown = _not_recognised(accs, others, "for driver checks")
        evidence.append(shown)
    if not known:
        if slices is None:
            return common.unknown(f"{note}, and DRA devices (which may name others)", slices_blind, evidence)
        # KAR-0001: an accelerator the tool does not recognise is UNKNOWN, never FAIL.
        return CheckResult(
            Status.UNKNOWN,
            f"{note}: driver and runtime management cannot be verified passively",
            evidence,
            Reason.UNRECOGNISED,
        )
    judged = [_judge_drivers(v, accs, managed[v.key], drivers, slices_blind, evidence) for v in known]
    result = _combine(judged, evidence)
    if note:
        result = replace(result, message=f"{result.message}; not judged: {note}")
    return _settle(result, unread + mech_blind + slices_blind)


# sharing and virtualisation signals -------------------------------------------------------------------------
@dataclass
class _Signal:
    vendor: str  # whose accelerators it concerns (acc.UNRECOGNISED when the tool cannot tell)
    mechanism: str
    strong: bool  # in effect (resources or devices exposed on a Ready node), not just configured
    evidence: Evidence
    # Why a weak signal is not enough: UNHEALTHY (set up, but nothing schedulable), PARTIAL (a related
    # mechanism: passthrough, a VM), CRDS_ONLY (a definition or setting with nothing behind it),
    # NOT_INSTALLED (capable hardware, nothing set up).
    weak_reason: Reason = Reason.UNHEALTHY


# How far a mechanism goes on a node, as a fact and as the reason it is not enough.
_TRACE_FACTS = {
    acc.Presence.IN_EFFECT: ("{}: {}", Reason.UNHEALTHY),
    acc.Presence.IDLE: ("{}: {}, but none of its units is allocatable", Reason.UNHEALTHY),
    acc.Presence.CONFIGURED: ("{} set up ({}), but not in effect", Reason.UNHEALTHY),
    acc.Presence.CAPABLE: ("{} possible ({}), but not set up", Reason.NOT_INSTALLED),
}


def _node_signals(nodes: list[dict], plugin_ready: dict[str, bool | None]) -> tuple[list[_Signal], list[_Signal]]:
    """(sharing signals, virtualisation signals) from node labels, annotations and allocatable.

    `plugin_ready`: whether each sharing stack's device plugin DaemonSet is ready (None when DaemonSets could
    not be read)."""
    sharing: list[_Signal] = []
    virtual: list[_Signal] = []
    for node in nodes:
        labels = common.labels_of(node)
        name = common.name_of(node)
        ready = common.node_ready(node)
        allocatable = common.allocatable_of(node)
        note = "" if ready else " (node not Ready)"

        def add(
            into: list,
            vendor: str,
            mechanism: str,
            strong: bool,
            fact: str,
            weak: Reason = Reason.UNHEALTHY,
            ready: bool = ready,
            name: str = name,
            note: str = note,
        ) -> None:
            """A signal of this node: one meant to be strong is weak (and unhealthy) on a node not Ready."""
            into.append(
                _Signal(
                    vendor,
                    mechanism,
                    strong and ready,
                    Evidence("Node", name, fact + note),
                    Reason.UNHEALTHY if strong else weak,
                )
            )

        for vendor, mech, trace in acc.mechanisms_on_node(labels, allocatable):
            into = sharing if mech.sharing else virtual
            shown = ", ".join(trace.shown)
            if mech.related:  # close to the requirement however far it goes
                add(into, vendor.key, mech.name, False, f"{mech.name}: {shown}", Reason.PARTIAL)
                continue
            template, reason = _TRACE_FACTS[trace.presence]
            add(
                into,
                vendor.key,
                mech.name,
                trace.presence is acc.Presence.IN_EFFECT,
                template.format(mech.name, shown),
                reason,
            )
        annotations = (node.get("metadata") or {}).get("annotations") or {}
        for stack in acc.SHARING_STACKS:
            registered = next((a for a in stack.node_annotations if a in annotations), "")
            units = {
                k: _int(v)
                for k, v in allocatable.items()
                if _int(v) > 0 and any(fullmatch(r.pattern, k) for r in stack.resources)
            }
            if not registered and not units:
                continue
            fact = join_nonempty(
                f"{stack.name} registered virtual GPUs on this node ({registered})" if registered else "",
                *(f"allocatable {k}={v}" for k, v in sorted(units.items())),
                separator=", ",
            )
            plugin = plugin_ready[stack.key]
            if registered and not units:
                if plugin is None:
                    fact += f", but whether the {stack.name} device plugin is ready could not be read"
                elif not plugin:
                    fact += f", but the {stack.name} device plugin is not ready"
            # A sharing stack splits GPUs into virtual ones: sharing and virtualisation both.
            for into in (sharing, virtual):
                add(into, stack.vendor, stack.name, bool(units) or bool(plugin), fact)
    return sharing, virtual


def _dra_hit(mechanism: acc.Mechanism, attrs: dict[str, str]) -> str:
    """ "attribute=value" of the first of the mechanism's DRA attributes a device carries, or ""."""
    return next(
        (
            f"{a}={attrs[a]}"
            for a, value in mechanism.dra_attributes
            if a in attrs and fullmatch(value, attrs[a], re.IGNORECASE)
        ),
        "",
    )


def _dra_signals(
    drivers: dict[str, _Driver], classes: list[dict], claims: list[dict]
) -> tuple[list[_Signal], list[_Signal]]:
    """(sharing signals, virtualisation signals) from DRA devices, classes and allocated claims."""
    sharing: list[_Signal] = []
    virtual: list[_Signal] = []
    for drv in drivers.values():
        if not common.is_accelerator_driver(drv.name):
            continue
        vendor_key = acc.vendor_of_driver(drv.name) or acc.UNRECOGNISED
        vendor = acc.BY_KEY.get(vendor_key)
        mechanisms = [m for m in vendor.mechanisms if m.dra_attributes] if vendor else []
        hits: dict[str, list[str]] = {}
        partitionable = shared = 0
        for device in drv.devices:
            attrs = common.device_attributes(device)
            body = common.device_body(device)
            for m in mechanisms:
                hit = _dra_hit(m, attrs)
                if hit:
                    hits.setdefault(m.name, []).append(hit)
            partitionable += bool(body.get("consumesCounters"))
            shared += bool(body.get("allowMultipleAllocations"))
        where = f" on {plural(len(drv.nodes), 'node')}" if drv.nodes else ""

        def ev(fact: str, driver: str = drv.name, where: str = where) -> Evidence:
            return Evidence("ResourceSlice driver", driver, fact + where)

        for m in mechanisms:
            if m.name in hits:
                found = hits[m.name]
                (sharing if m.sharing else virtual).append(
                    _Signal(
                        vendor_key,
                        f"{m.name} (DRA)",
                        not m.related,
                        ev(f"{plural(len(found), 'device')} of {m.name} ({found[0]})"),
                        Reason.PARTIAL,
                    )
                )
        if partitionable:
            sharing.append(
                _Signal(
                    vendor_key,
                    "partitionable devices (DRA)",
                    True,
                    ev(plural(partitionable, "partition") + " drawn from shared counters"),
                )
            )
        if shared:
            sharing.append(
                _Signal(
                    vendor_key,
                    "shared allocation (DRA)",
                    True,
                    ev(plural(shared, "device") + " allowing multiple allocations"),
                )
            )
    published = {s.mechanism for s in sharing + virtual}
    for dc in classes:
        name = common.name_of(dc)
        owner = acc.vendor_of_driver(name)
        for vendor in acc.VENDORS:
            if owner not in (None, vendor.key):
                continue
            for m in vendor.mechanisms:
                if m.device_classes and re.search(m.device_classes, name) and f"{m.name} (DRA)" not in published:
                    (sharing if m.sharing else virtual).append(
                        _Signal(
                            vendor.key,
                            f"{m.name} (DRA)",
                            False,
                            common.evidence(dc, f"DeviceClass for {m.name}, but no such device is published"),
                            Reason.CRDS_ONLY,
                        )
                    )
    shared_claims: dict[str, list[dict]] = {}
    strategies: dict[tuple[str, str], list[dict]] = {}
    for claim in claims:
        status = claim.get("status") or {}
        results = ((status.get("allocation") or {}).get("devices") or {}).get("results") or []
        driver = next((r.get("driver", "") for r in results if common.is_accelerator_driver(r.get("driver", ""))), "")
        if not driver:
            continue
        vendor_key = acc.vendor_of_driver(driver) or acc.UNRECOGNISED
        if len(status.get("reservedFor") or []) > 1:
            shared_claims.setdefault(vendor_key, []).append(claim)
        for cfg in ((status.get("allocation") or {}).get("devices") or {}).get("config") or []:
            params = (cfg.get("opaque") or {}).get("parameters") or {}
            strategy = ((params.get("sharing") or {}) if isinstance(params, dict) else {}).get("strategy")
            if strategy:
                strategies.setdefault((vendor_key, str(strategy)), []).append(claim)
    for vendor_key, cs in shared_claims.items():
        sharing.append(
            _Signal(
                vendor_key,
                "shared claims (DRA)",
                True,
                common.evidence(
                    cs[0],
                    f"one accelerator claim used by {len(cs[0]['status']['reservedFor'])} pods"
                    + (f"; {len(cs) - 1} more shared claims" if len(cs) > 1 else ""),
                ),
            )
        )
    for (vendor_key, strategy), cs in sorted(strategies.items()):
        sharing.append(
            _Signal(
                vendor_key,
                f"{strategy} (DRA)",
                True,
                common.evidence(
                    cs[0],
                    f"allocated with sharing strategy {strategy}" + (f" ({len(cs)} claims)" if len(cs) > 1 else ""),
                ),
            )
        )
    return sharing, virtual


def _workload_key(vendor: acc.Vendor, mechanism: acc.Mechanism, index: int) -> str:
    return f"{vendor.key}:{mechanism.name}:{index}"


def _config_signals(
    managers: dict[str, list[dict]], daemons: dict[str, list[dict]]
) -> tuple[list[_Signal], list[_Signal]]:
    """(sharing signals, virtualisation signals) from settings of the driver managers' custom resources and
    from the mechanisms' agents: set up, never proof that anything is schedulable."""
    sharing: list[_Signal] = []
    virtual: list[_Signal] = []
    for vendor in acc.VENDORS:
        for m in vendor.mechanisms:
            into = sharing if m.sharing else virtual
            for obj in managers.get(vendor.key, []):
                for setting in m.settings:
                    value = _path_value(obj, setting.path)
                    if value is not None and fullmatch(setting.value, _rendered(value), re.IGNORECASE):
                        into.append(
                            _Signal(
                                vendor.key,
                                m.name,
                                False,
                                common.evidence(obj, f"{setting.path}={_rendered(value)} ({m.name} set up)"),
                                Reason.CRDS_ONLY,
                            )
                        )
            for j in range(len(m.workloads)):
                for w in daemons[_workload_key(vendor, m, j)]:
                    ok, fact = common.workload_health(w)
                    into.append(
                        _Signal(
                            vendor.key,
                            m.name,
                            False,
                            common.evidence(w, f"{fact} ({m.name} agent)"),
                            Reason.CRDS_ONLY if ok else Reason.UNHEALTHY,
                        )
                    )
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
    vendors_blind: list[Listing]  # those that may hide accelerator nodes (of a vendor without the mechanism)


def _scan(view: ClusterView) -> _Scan:
    nodes, nodes_blind = _read(view, NODES)
    slices, slices_blind = _read(view, RESOURCESLICES)
    drivers = _dra_drivers(slices)[0] if slices is not None else {}
    claims: list[dict] | None = []
    blind: list[Listing] = []
    # Claims matter only when an accelerator DRA driver publishes devices (or the slices could not be read).
    if slices is None or any(common.is_accelerator_driver(d) for d in drivers):
        claims, claims_blind = _read(view, RESOURCECLAIMS)
        blind += claims_blind
    classes, classes_blind = _read(view, DEVICECLASSES)
    managers: dict[str, list[dict]] = {}
    for vendor in acc.VENDORS:
        for api in (a for m in vendor.driver_managers for a in m.apis):
            objs, manager_blind = _read(view, resource_for(api))
            managers.setdefault(vendor.key, []).extend(objs or [])
            blind += manager_blind
    # Sharing stacks' device plugins and the mechanisms' agents run on every accelerator node: DaemonSets.
    patterns = {f"stack:{s.key}": s.device_plugin.patterns for s in acc.SHARING_STACKS}
    patterns |= {
        _workload_key(v, m, j): c.patterns for v in acc.VENDORS for m in v.mechanisms for j, c in enumerate(m.workloads)
    }
    daemons, ds_blind = common.match_workloads(view, patterns, kinds=(DAEMONSETS,))
    plugin_ready = {
        s.key: None if ds_blind else any(common.workload_health(w)[0] for w in daemons[f"stack:{s.key}"])
        for s in acc.SHARING_STACKS
    }
    node_sharing, node_virtual = _node_signals(nodes or [], plugin_ready)
    dra_sharing, dra_virtual = _dra_signals(drivers, classes or [], claims or [])
    config_sharing, config_virtual = _config_signals(managers, daemons)
    return _Scan(
        node_sharing + dra_sharing + config_sharing,
        node_virtual + dra_virtual + config_virtual,
        _accelerators(nodes or [], drivers),
        nodes_blind + slices_blind + blind + classes_blind + ds_blind,
        nodes_blind + slices_blind,
    )


def _knows(vendor_key: str, sharing: bool) -> bool:
    """Whether the tool knows this vendor's sharing (or virtualisation) mechanisms, so that finding none of them
    means there is none."""
    vendor = acc.BY_KEY.get(vendor_key)
    return bool(vendor and vendor.mechanisms_of(sharing)) or any(s.vendor == vendor_key for s in acc.SHARING_STACKS)


def _mechanism_verdict(
    scan: _Scan, signals: list[_Signal], sharing: bool, what: str, close: list[_Signal] | None = None
) -> CheckResult:
    """The verdict of gpu_sharing (`sharing`) or virtualized_accelerator over every vendor the cluster has
    accelerators of: a vendor meets it with a mechanism in effect; `close` are mechanisms in effect that
    only come close (fractional GPUs for virtualisation), a partial answer."""
    close = [s for s in close or [] if s.strong]
    evidence = _collapse(signals)[1] + _collapse(close, per_mechanism=1)[1]
    in_effect = {s.vendor for s in signals + close if s.strong}
    present = list(scan.acc.vendors) + sorted(in_effect - set(scan.acc.vendors))
    if not present:  # no accelerator node: what is set up still tells something
        present = list(dict.fromkeys(s.vendor for s in signals))
    judged: list[_Judged] = []
    unjudged: list[str] = []
    for vendor in present:
        mine = [s for s in signals if s.vendor == vendor]
        near = [s for s in close if s.vendor == vendor]
        nodes = scan.acc.vendors.get(vendor, {})
        strong, _ = _collapse([s for s in mine if s.strong])
        if strong:
            judged.append(_Judged(vendor, Status.PASS, Reason.HEALTHY, f"{what} in effect: {', '.join(strong)}"))
        elif not _knows(vendor, sharing) and not near:
            unjudged.append(vendor)
        elif mine or near:
            parts = []
            if mine:
                parts.append(
                    f"no {what} in effect; seen only set up, possible or close: "
                    + ", ".join(dict.fromkeys(s.mechanism for s in mine))
                )
            if near:
                parts.append(f"fractional GPUs are offered through {', '.join(_collapse(near)[0])}, not as {what}")
            reasons = [s.weak_reason for s in mine] + ([Reason.PARTIAL] if near else [])
            judged.append(_Judged(vendor, Status.WARN, _weak_reason(reasons), "; ".join(parts)))
        else:
            names = ", ".join(m.name for m in acc.BY_KEY[vendor].mechanisms_of(sharing) if not m.related)
            judged.append(
                _Judged(
                    vendor,
                    Status.FAIL,
                    Reason.NOT_INSTALLED,
                    f"{plural(len(nodes), _vendor_name(vendor) + ' accelerator node')}, but no {what} "
                    f"({names}) exposed on any of them",
                )
            )
            first = min(nodes)
            evidence.append(
                Evidence(
                    "Node", first, f"{nodes[first]}: no {what} of {_vendor_name(vendor)}" + more(nodes, " (nor on {})")
                )
            )
    note = ""
    if unjudged:
        note, shown = _not_recognised(scan.acc, unjudged, f"for {what}")
        evidence.append(shown)
    if not present:
        if scan.blind:
            return common.unknown(f"no {what} in what could be read", scan.blind, evidence)
        # As for driver_runtime_management: nothing to offer without accelerators; secure_accelerator_access
        # reports a cluster without accelerators.
        return CheckResult(Status.NA, f"no accelerator nodes, so no {what} to offer", evidence, Reason.NO_ACCELERATORS)
    if not judged:
        if scan.blind:
            return common.unknown(f"{note}; no {what} in what could be read", scan.blind, evidence)
        return CheckResult(
            Status.UNKNOWN, f"{note}: {what} cannot be detected passively", evidence, Reason.UNRECOGNISED
        )
    result = _combine(judged, evidence)
    result = replace(result, message=join_nonempty(result.message, f"not judged: {note}" if note else ""))
    if result.status is Status.PASS:
        if scan.acc.simulated:
            result = replace(result, message=f"{result.message} (on simulated nodes: {sample(scan.acc.simulated)})")
        # Seen in effect for every vendor whose accelerators could be listed: what else is unread only adds.
        return (
            common.unknown(result.message, scan.vendors_blind, evidence)
            if scan.vendors_blind
            else _settle(result, scan.blind)
        )
    if scan.blind:
        return common.unknown(result.message, scan.blind, evidence)
    return result


_SCAN_READS = (NODES, RESOURCESLICES, RESOURCECLAIMS, DEVICECLASSES, DAEMONSETS) + _MANAGER_READS


# gpu_sharing ------------------------------------------------------------------------------------------------
@requirement_check("gpu_sharing", reads=_SCAN_READS)
def gpu_sharing(view: ClusterView) -> CheckResult:
    scan = _scan(view)
    return _mechanism_verdict(scan, scan.sharing, True, "GPU sharing")


# virtualized_accelerator ------------------------------------------------------------------------------------
@requirement_check("virtualized_accelerator", reads=_SCAN_READS)
def virtualized_accelerator(view: ClusterView) -> CheckResult:
    scan = _scan(view)
    # Fractional GPUs in effect are a related mechanism: partial, like passthrough.
    return _mechanism_verdict(scan, scan.virtual, False, "virtualized accelerators", close=scan.sharing)
