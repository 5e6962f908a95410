"""Networking: Gateway API for inference, the Gateway API Inference Extension, specialised NICs and
disaggregated (prefill/decode) serving."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kubectl_aiconf.checks import common, requirement_check
from kubectl_aiconf.knowledge import gateways, networks, operators, serving
from kubectl_aiconf.knowledge._base import Component
from kubectl_aiconf.resources import (
    CRDS,
    GATEWAYCLASSES,
    GATEWAYS,
    HTTPROUTES,
    INFERENCEPOOLS,
    INFERENCEPOOLS_X,
    NETWORK_ATTACHMENT_DEFINITIONS,
    NIC_CLUSTERPOLICIES,
    NODES,
    PODS,
    RESOURCESLICES,
    SERVICES,
    resource_for,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import join_nonempty, more, plural, sample
from kubectl_aiconf.view import ClusterView, Listing, Outcome, Resource

MAX_EVIDENCE = 5  # objects of one kind shown per result; the rest are counted


def _cap(items: list[Evidence], limit: int = MAX_EVIDENCE) -> list[Evidence]:
    """The first `limit` items, then one item counting the rest."""
    if len(items) <= limit:
        return items
    rest = len(items) - limit
    kind = items[limit].kind
    return items[:limit] + [Evidence(kind, f"(+{rest} more)", f"{plural(rest, 'more ' + kind)} not shown")]


def _merge(*groups: list[Listing]) -> list[Listing]:
    """The listings of all `groups`, each resource once (the first listing of it kept)."""
    found: dict[str, Listing] = {}
    for listing in (listing for group in groups for listing in group):
        found.setdefault(listing.resource.key, listing)
    return list(found.values())


def _unseen(view: ClusterView, *listings: Listing) -> list[Listing]:
    """What leaves the contents of `listings` unknown: a listing that could not be read, and, for a listing
    the view calls not served, what that answer rests on and could not be read (a snapshot without discovery
    tells served resources from the CRDs it holds)."""
    crds = view.list(CRDS)
    gaps: list[list[Listing]] = []
    for listing in listings:
        if not listing.visible:
            gaps.append([listing])
        elif listing.outcome is Outcome.NOT_SERVED:
            found = view.discovery_gaps(listing.resource.group, listing.resource.resource)
            # A gap in the CRD listing is named by the listing itself: forbidden, failed or not in the snapshot.
            gaps.append([crds if gap.resource.key == CRDS.key else gap for gap in found])
    return _merge(*gaps)


def _components(view: ClusterView, components: dict[str, Component]) -> tuple[dict[str, list[dict]], list[Listing]]:
    """The workloads of each of `components` (registry records' controllers and agents) in one pass over
    the workload listings, and the listings that could not be read; nothing is read for no component."""
    if not components:
        return {}, []
    return common.match_workloads(view, {key: c.patterns for key, c in components.items()})


def _judged(
    status: Status, reason: Reason, message: str, evidence: list[Evidence], blind: list[Listing], unsure: str
) -> CheckResult:
    """`status` when nothing in `blind` (what the verdict rests on and could not be seen) is there: then nothing
    else left unread can overturn it, so it holds. Otherwise UNKNOWN: `unsure` says what cannot be told."""
    if blind:
        return common.unknown(unsure, blind, evidence)
    return CheckResult(status, message, evidence, reason, holds_despite_blind=True)


@dataclass
class _Api:
    """Which resources of an API group are served, and what leaves more of them unknown."""

    served: set[str]
    evidence: list[Evidence]
    blind: list[Listing] = field(default_factory=list)
    from_crds: bool = True  # False: told by discovery because the CRD listing could not be read


def _api_state(view: ClusterView, group: str, plurals: tuple[str, ...] = ()) -> _Api:
    """Plurals of `group` whose CRDs are Established (all of the group's when `plurals` is empty), with
    evidence. Falls back to discovery when the CRD list cannot be read; a snapshot that holds neither cannot
    tell, and `blind` says so."""
    crds = view.list(CRDS)
    if crds.visible:
        mine = [
            c for c in crds.items if common.crd_group(c) == group and (not plurals or common.crd_plural(c) in plurals)
        ]
        established = sorted(common.crd_plural(c) for c in mine if common.crd_established(view, c))
        evidence = (
            [Evidence("CustomResourceDefinition", f"*.{group}", f"Established: {', '.join(established)}")]
            if established
            else []
        )
        evidence += [common.evidence(c, "not Established") for c in mine if common.crd_plural(c) not in established]
        return _Api(set(established), evidence)
    served = (
        {p for p in plurals if view.serves(group, p)}
        if plurals
        else ({r for v in view.group_versions(group) for r in view.discovered_resources(group, v)})
    )
    evidence = (
        [Evidence("APIGroup", group, f"serves {', '.join(sorted(served))} (per discovery; {crds.why_unknown()})")]
        if served
        else []
    )
    gaps = view.discovery_gaps(group)
    blind = _merge([crds], gaps) if gaps else []
    return _Api(served, evidence, blind, from_crds=False)


def _parents_accepted(obj: dict) -> tuple[bool, list[str]]:
    """Whether any status parent (Gateway API route/InferencePool status) reports Accepted=True, and one
    fact per parent. Reads `status.parents` and the older `status.parent`."""
    status = obj.get("status") or {}
    parents = status.get("parents") or status.get("parent") or []
    accepted, facts = False, []
    for parent in parents:
        ref = parent.get("parentRef") or {}
        name = ref.get("name") or "?"
        if ref.get("namespace"):
            name = f"{ref['namespace']}/{name}"
        conds = {c.get("type"): c for c in parent.get("conditions") or []}
        acc = conds.get("Accepted")
        if acc and str(acc.get("status")) == "True":
            accepted = True
            facts.append(f"Accepted by {name}")
        elif acc:
            why = acc.get("reason") or acc.get("message") or ""
            facts.append(f"not Accepted by {name}" + (f" ({why})" if why else ""))
        else:
            facts.append(f"no Accepted condition from {name}")
    return accepted, facts


# ai_inference -------------------------------------------------------------------------------------------
def _controller_name(gc: dict) -> str:
    return (gc.get("spec") or {}).get("controllerName") or ""


def _class_subject(classes: list[dict], one: str = "", many: str = "") -> str:
    """'GatewayClass eg', 'GatewayClasses a, b', followed by the verb `one` or `many` when given."""
    names = [common.name_of(gc) for gc in classes]
    if len(names) == 1:
        return join_nonempty(f"GatewayClass {names[0]}", one, separator=" ")
    return join_nonempty(f"GatewayClasses {sample(names)}", many, separator=" ")


def _gateway_addresses(gw: dict) -> list[str]:
    return [a.get("value") for a in (gw.get("status") or {}).get("addresses") or [] if a.get("value")]


def _route_features(route: dict) -> tuple[bool, bool]:
    """(weighted traffic split, header-based match) used by any rule of an HTTPRoute."""
    weighted = header = False
    for rule in (route.get("spec") or {}).get("rules") or []:
        refs = rule.get("backendRefs") or []
        if len(refs) >= 2 and any("weight" in ref for ref in refs):
            weighted = True
        if any(m.get("headers") for m in rule.get("matches") or []):
            header = True
    return weighted, header


def _route_note(view: ClusterView, routes: Listing) -> tuple[str, list[Evidence]]:
    """A note on the traffic-management features Accepted HTTPRoutes use (informative, never decisive)."""
    blind = _unseen(view, routes)
    if blind:
        return f"HTTPRoutes not checked ({common.why_blind(blind)})", []
    used, evidence = {"weighted": 0, "header": 0}, []
    for route in routes.items:
        weighted, header = _route_features(route)
        if not (weighted or header):
            continue
        accepted, facts = _parents_accepted(route)
        features = " and ".join(x for x, on in (("weighted backends", weighted), ("header matches", header)) if on)
        evidence.append(common.evidence(route, f"{features}; {', '.join(facts) or 'no status from a Gateway'}"))
        if accepted:
            used["weighted"] += weighted
            used["header"] += header
    if used["weighted"] or used["header"]:
        kinds = [
            f"{n} with {what}"
            for what, n in (("weighted backends", used["weighted"]), ("header matches", used["header"]))
            if n
        ]
        note = f"Accepted HTTPRoutes in use: {' and '.join(kinds)}"
    else:
        note = "no Accepted HTTPRoute uses weights or header matches yet (not required)"
    return note, _cap(evidence)


@requirement_check("ai_inference", reads=(CRDS, GATEWAYCLASSES, GATEWAYS, HTTPROUTES) + common.WORKLOAD_RESOURCES)
def ai_inference(view: ClusterView) -> CheckResult:
    api = _api_state(view, gateways.GATEWAY_GROUP, gateways.GATEWAY_CRDS)
    evidence = list(api.evidence)
    classes, gws, routes = view.list(GATEWAYCLASSES), view.list(GATEWAYS), view.list(HTTPROUTES)
    class_blind, gateway_blind = _unseen(view, classes), _unseen(view, gws)

    class_items = classes.items if classes.visible else []
    accepted: list[tuple[dict, gateways.GatewayImplementation | None]] = []
    not_accepted: list[dict] = []
    for gc in class_items:
        controller = _controller_name(gc) or "?"
        impl = gateways.gateway_implementation(controller)
        if common.condition_true(gc, "Accepted"):
            accepted.append((gc, impl))
        else:
            not_accepted.append(gc)
        evidence.append(
            common.evidence(
                gc,
                f"{common.condition_fact(gc, 'Accepted')}, controller {controller} "
                f"({impl.name if impl else 'unrecognised implementation'})",
            )
        )

    # Controller workloads of the recognised implementations any class names (managed ones run out of
    # sight); those of accepted classes decide, the others are shown as evidence.
    in_cluster = [
        impl
        for impl in dict.fromkeys(gateways.gateway_implementation(_controller_name(gc)) for gc in class_items)
        if impl and impl.workloads.visible
    ]
    controllers, ctrl_blind = _components(view, {impl.key: impl.workloads for impl in in_cluster})
    for impl in in_cluster:
        evidence += [
            common.evidence(w, f"{impl.name} controller: {common.workload_health(w)[1]}") for w in controllers[impl.key]
        ]
    accepted_impls = list(dict.fromkeys(impl for _, impl in accepted))
    healthy_ctrl = [
        w for impl in accepted_impls if impl for w in controllers.get(impl.key, []) if common.workload_health(w)[0]
    ]
    # Every accepted class belongs to an implementation whose controller was found, and none of them runs.
    all_down = (
        bool(accepted_impls)
        and not healthy_ctrl
        and all(impl is not None and controllers.get(impl.key) for impl in accepted_impls)
    )

    programmed, unprogrammed = [], []
    for gw in gws.items if gws.visible else []:
        cls = (gw.get("spec") or {}).get("gatewayClassName") or "?"
        addresses = _gateway_addresses(gw)
        if common.condition_true(gw, "Programmed") and addresses:
            programmed.append(common.evidence(gw, f"Programmed=True, class {cls}, address {', '.join(addresses[:3])}"))
        else:
            fact = common.condition_fact(gw, "Programmed") + ("" if addresses else ", no address")
            unprogrammed.append(common.evidence(gw, f"{fact}, class {cls}"))
    evidence += _cap(programmed) + _cap(unprogrammed, 3)

    route_note, route_evidence = _route_note(view, routes)
    evidence += route_evidence
    impls = ", ".join(
        dict.fromkeys(impl.name if impl else f"unrecognised controller {_controller_name(gc)}" for gc, impl in accepted)
    )
    accepted_classes = [gc for gc, _ in accepted]
    gateways_programmed = f"{plural(len(programmed), 'Gateway')} Programmed with an address"

    # A healthy implementation decides whatever else could not be read.
    if accepted and (programmed or healthy_ctrl):
        how = (
            gateways_programmed
            if programmed
            else (
                f"controller {common.name_of(healthy_ctrl[0])} available ("
                + ("Gateways not checked" if gateway_blind else "no Programmed Gateway yet")
                + ")"
            )
        )
        return CheckResult(
            Status.PASS,
            f"Gateway API served by {impls}: {_class_subject(accepted_classes)} Accepted, {how}; {route_note}",
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )
    if programmed:  # only a running controller programs a Gateway and gives it an address
        classes_note = (
            f"GatewayClasses not readable: {common.why_blind(class_blind)}"
            if class_blind
            else "though no GatewayClass reports Accepted"
        )
        return CheckResult(
            Status.PASS,
            f"{gateways_programmed} by a running controller ({classes_note}); {route_note}",
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )
    if accepted:
        prefix = f"{_class_subject(accepted_classes, 'is', 'are')} Accepted by {impls}, but"
        unsure = f"{prefix} no running controller or Programmed Gateway was seen in what could be read"
        if all_down:
            return _judged(
                Status.FAIL,
                Reason.UNHEALTHY,
                f"{prefix} its controller is not available and no Gateway is Programmed with an address",
                evidence,
                _merge(gateway_blind, ctrl_blind),
                unsure,
            )
        return _judged(
            Status.WARN,
            Reason.PARTIAL,
            f"{prefix} no Gateway is Programmed with an address and no "
            "running controller workload was found (managed or "
            "unrecognised): a Programmed Gateway would show it works",
            evidence,
            _merge(gateway_blind, ctrl_blind),
            unsure,
        )
    if class_blind:
        what = (
            "whether a Gateway API controller accepted a GatewayClass"
            if api.served
            else "whether Gateway API is installed"
        )
        return common.unknown(f"cannot tell {what}", _merge(class_blind, api.blind, gateway_blind), evidence)
    rejected = [gc for gc in not_accepted if str((common.condition(gc, "Accepted") or {}).get("status")) == "False"]
    if rejected:
        subject = f"{_class_subject(rejected, 'was', 'were')} rejected by its controller (Accepted=False)"
        return _judged(
            Status.FAIL,
            Reason.UNHEALTHY,
            f"{subject} and no Gateway is Programmed: the Gateway API implementation is not working",
            evidence,
            gateway_blind,
            f"{subject}, and whether a Gateway is Programmed cannot be told",
        )
    if not_accepted:
        subject = f"{_class_subject(not_accepted, 'exists', 'exist')} but no controller has Accepted it"
        return _judged(
            Status.WARN,
            Reason.CRDS_ONLY,
            f"{subject}: Gateway API is installed without a working implementation",
            evidence,
            gateway_blind,
            f"{subject}, and whether a Gateway is Programmed cannot be told",
        )
    if api.served:
        missing = [p for p in gateways.GATEWAY_CORE_CRDS if p not in api.served] if api.from_crds else []
        extra = f" (missing: {', '.join(missing)})" if missing else ""
        return _judged(
            Status.WARN,
            Reason.CRDS_ONLY,
            f"Gateway API CRDs are installed{extra} but there is no GatewayClass: no implementation is running",
            evidence,
            gateway_blind,
            "Gateway API CRDs are installed and there is no GatewayClass, but whether a "
            "Gateway is Programmed cannot be told",
        )
    how = (
        f"no {gateways.GATEWAY_GROUP} CRDs and no GatewayClass"
        if api.from_crds
        else f"discovery serves no {gateways.GATEWAY_GROUP} resources and there is no GatewayClass"
    )
    return _judged(
        Status.FAIL,
        Reason.NOT_INSTALLED,
        f"Gateway API is not installed: {how}",
        evidence,
        _merge(api.blind, gateway_blind),
        "cannot tell whether Gateway API is installed",
    )


# advanced_inference_ingress -----------------------------------------------------------------------------
def _picker_ref(pool: dict) -> dict | None:
    spec = pool.get("spec") or {}
    return spec.get("endpointPickerRef") or spec.get("extensionRef")


def _pool_selector(pool: dict) -> dict:
    selector = (pool.get("spec") or {}).get("selector") or {}
    if isinstance(selector.get("matchLabels"), dict):  # v1: a LabelSelector
        return selector["matchLabels"]
    return {k: v for k, v in selector.items() if isinstance(v, str)}  # v1alpha2: a plain label map


def _epp_health(pool: dict, ref: dict, backends: common.Backends) -> common.ServiceBackends:
    """Whether the endpoint picker a pool references serves: True/False, or None (with `blind` when something
    could not be read, without it when the reference is of a kind the tool cannot follow)."""
    ns = (pool.get("metadata") or {}).get("namespace") or ""
    name = ref.get("name") or ""
    kind = ref.get("kind") or "Service"
    if kind == "Service":
        resolved = backends.resolve(ns, name)
        if resolved.healthy is not False or resolved.service is not None:
            return resolved
    # No such Service (or a reference of another kind): a workload of that name in the pool's namespace
    # is the picker itself.
    same_name = [w for w in backends.workloads_in(ns) if (w.get("metadata") or {}).get("name") == name]
    if same_name:
        ok, fact = common.workload_health(same_name[0])
        return common.ServiceBackends(ok, f"{same_name[0].get('kind')} {ns}/{name}: {fact}", None, same_name)
    blind = common.blind_of(*backends.workload_listings)
    if blind:
        return common.ServiceBackends(
            None,
            f"endpoint picker {kind} {ns}/{name}: no Service or workload of that name in what could be read",
            blind=blind,
        )
    if kind == "Service":
        return common.ServiceBackends(False, f"endpoint picker Service {ns}/{name} not found")
    return common.ServiceBackends(
        None, f"endpoint picker {kind} {ns}/{name} is not a Service and no workload has its name"
    )


@dataclass
class _Pool:
    """One InferencePool judged: `status` PASS/UNKNOWN/WARN/FAIL, a phrase saying why, what left it unknown."""

    pool: dict
    status: Status
    summary: str
    blind: list[Listing] = field(default_factory=list)


def _judge_pool(
    pool: dict,
    attached: list[str],
    route_blind: list[Listing],
    servers: int | None,
    pods_blind: list[Listing],
    backends: common.Backends,
) -> tuple[_Pool, str]:
    """The pool's verdict and a fact about its endpoint picker for the evidence."""
    ref = _picker_ref(pool)
    if ref is None:
        return _Pool(pool, Status.FAIL, "references no endpoint picker"), "no endpoint picker referenced"
    picker = ref.get("name")
    epp = _epp_health(pool, ref, backends)
    fact = f"endpoint picker {picker}: {epp.fact}"
    if epp.healthy is False:
        return _Pool(pool, Status.FAIL, f"endpoint picker {picker} is not working ({epp.fact})"), fact
    if epp.healthy is None:  # it may be broken (FAIL) or serving: nothing else decides
        if epp.blind:
            return _Pool(pool, Status.UNKNOWN, f"its endpoint picker {picker} cannot be checked", epp.blind), fact
        return _Pool(pool, Status.UNKNOWN, f"its endpoint picker cannot be judged: {epp.fact}"), fact
    problems: list[str] = []
    unsure: list[tuple[list[Listing], str]] = []  # (what could not be read, what it leaves open)
    if not attached:
        if route_blind:
            unsure.append((route_blind, "whether an Accepted HTTPRoute sends traffic to it"))
        else:
            problems.append("no Gateway has Accepted it and no Accepted HTTPRoute sends traffic to it")
    if servers is None:
        unsure.append((pods_blind, "its model servers"))
    elif servers == 0:
        problems.append("no ready model server pod matches its selector")
    if problems:
        return _Pool(pool, Status.WARN, "; ".join(problems)), fact
    if unsure or servers is None:
        return _Pool(
            pool,
            Status.UNKNOWN,
            " and ".join(what for _, what in unsure) + " cannot be checked",
            _merge(*(blind for blind, _ in unsure)),
        ), fact
    return _Pool(
        pool,
        Status.PASS,
        f"attached to {attached[0]}, routes through healthy endpoint picker {picker} "
        f"to {plural(servers, 'ready model server')}",
    ), fact


@requirement_check(
    "advanced_inference_ingress",
    reads=(CRDS, INFERENCEPOOLS, INFERENCEPOOLS_X, HTTPROUTES, SERVICES, PODS) + common.WORKLOAD_RESOURCES,
)
def advanced_inference_ingress(view: ClusterView) -> CheckResult:
    evidence: list[Evidence] = []
    served = False
    api_blind: list[Listing] = []
    for group in gateways.GAIE_GROUPS:
        api = _api_state(view, group)
        served |= bool(api.served)
        api_blind = _merge(api_blind, api.blind)
        evidence += api.evidence
    listings = [view.list(INFERENCEPOOLS), view.list(INFERENCEPOOLS_X)]
    pool_blind = _unseen(view, *listings)
    pools = [p for lst in listings if lst.visible for p in lst.items]

    if not pools:
        found, epp_blind = _components(view, {"picker": gateways.ENDPOINT_PICKER})
        epps = found["picker"]
        evidence += _cap([common.evidence(w, f"endpoint picker image, {common.workload_health(w)[1]}") for w in epps])
        if served or epps:
            what = " and ".join(x for x, on in (("CRDs", served), ("an endpoint picker workload", epps)) if on)
            return _judged(
                Status.WARN,
                Reason.CRDS_ONLY,
                f"Gateway API Inference Extension is installed ({what}) "
                f"but no InferencePool exists: model-aware routing is not "
                f"set up",
                evidence,
                pool_blind,
                f"Gateway API Inference Extension is installed ({what}), but whether an InferencePool "
                f"exists cannot be told",
            )
        return _judged(
            Status.FAIL,
            Reason.NOT_INSTALLED,
            "no Gateway API Inference Extension: no InferencePool CRDs or objects and no endpoint picker workload",
            evidence,
            _merge(pool_blind, api_blind, epp_blind),
            "cannot tell whether the Gateway API Inference Extension is installed",
        )

    # HTTPRoutes that send traffic to an InferencePool, by (namespace, name) of the pool.
    routes = view.list(HTTPROUTES)
    route_blind = _unseen(view, routes)
    routed: dict[tuple[str, str], list[tuple[dict, bool]]] = {}
    for route in routes.items if routes.visible else []:
        route_ns = (route.get("metadata") or {}).get("namespace") or ""
        accepted, _ = _parents_accepted(route)
        for rule in (route.get("spec") or {}).get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind") == "InferencePool":
                    key = (ref.get("namespace") or route_ns, ref.get("name") or "")
                    routed.setdefault(key, []).append((route, accepted))

    backends = common.Backends(view)
    pods_blind = common.blind_of(backends.pods)
    judged: list[_Pool] = []
    pool_evidence: list[Evidence] = []
    for pool in pools:
        meta = pool.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        _, parent_facts = _parents_accepted(pool)
        route_hits = routed.get(key, [])
        accepted_routes = [common.name_of(r) for r, acc in route_hits if acc]
        attached = [f.removeprefix("Accepted by ") for f in parent_facts if f.startswith("Accepted by ")] + [
            f"HTTPRoute {r}" for r in accepted_routes
        ]
        facts = (
            [pool.get("apiVersion") or ""]
            + parent_facts
            + [f"HTTPRoute {common.name_of(r)} {'Accepted' if acc else 'not Accepted'}" for r, acc in route_hits[:2]]
        )
        servers: int | None = None
        if pods_blind:
            facts.append("model server pods not checked")
        else:
            selector = _pool_selector(pool)
            servers = sum(
                1
                for p in backends.pods_in(key[0])
                if common.selector_matches(selector, common.labels_of(p)) and common.pod_ready(p)
            )
            facts.append(plural(servers, "ready model server pod"))
        verdict, epp_fact = _judge_pool(pool, attached, route_blind, servers, pods_blind, backends)
        judged.append(verdict)
        pool_evidence.append(common.evidence(pool, "; ".join(facts + [epp_fact])))
    evidence += _cap(pool_evidence)

    def first(status: Status) -> str:
        found = [j for j in judged if j.status is status]
        return (
            (f"InferencePool {common.name_of(found[0].pool)}{more(found, ' (+{})', 'other pool')}: {found[0].summary}")
            if found
            else ""
        )

    # One working pool shows the requirement met; an unseen or undecided pool may be that one.
    if first(Status.PASS):
        return CheckResult(
            Status.PASS,
            f"model-server-aware routing works: {first(Status.PASS)}",
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )
    blind = _merge(pool_blind, *(j.blind for j in judged))
    if blind:
        seen = first(Status.UNKNOWN) or join_nonempty(
            first(Status.WARN) or first(Status.FAIL), "not every InferencePool could be listed"
        )
        return common.unknown(seen, blind, evidence)
    if first(Status.UNKNOWN):
        return CheckResult(Status.UNKNOWN, first(Status.UNKNOWN), evidence, Reason.UNRECOGNISED)
    if first(Status.WARN):
        return CheckResult(
            Status.WARN,
            f"Gateway API Inference Extension not fully working: {first(Status.WARN)}",
            evidence,
            Reason.PARTIAL,
            holds_despite_blind=True,
        )
    return CheckResult(
        Status.FAIL,
        f"no InferencePool can route: {first(Status.FAIL)}",
        evidence,
        Reason.UNHEALTHY,
        holds_despite_blind=True,
    )


# high_performance_networking ----------------------------------------------------------------------------
def _owner(res: Resource) -> networks.NetworkStack:
    """The network stack whose API `res` is (Multus for NetworkAttachmentDefinitions, ...)."""
    return next(s for s in networks.NETWORK_STACKS if any(resource_for(a) == res for a in s.apis))


@requirement_check(
    "high_performance_networking",
    reads=(NODES, RESOURCESLICES, NETWORK_ATTACHMENT_DEFINITIONS, NIC_CLUSTERPOLICIES, CRDS)
    + common.WORKLOAD_RESOURCES,
)
def high_performance_networking(view: ClusterView) -> CheckResult:
    evidence: list[Evidence] = []
    exposed: list[str] = []  # strong: devices pods can ask for
    broken: list[str] = []  # a mechanism is installed but not working
    partial: list[tuple[Reason, str]] = []  # something network-specific is there, no device exposed

    # DRA: network devices in ResourceSlices, with their attributes (discoverable characteristics).
    slices = view.list(RESOURCESLICES)
    drivers: dict[str, dict] = {}
    for sl in slices.items if slices.visible else []:
        spec = sl.get("spec") or {}
        driver = spec.get("driver") or "?"
        devices = common.slice_devices(sl)
        attrs = {k for d in devices for k in common.device_body(d).get("attributes") or {}}
        if not networks.is_network_device(driver, attrs):
            continue
        entry = drivers.setdefault(driver, {"slice": sl, "devices": 0, "nodes": set(), "attrs": set()})
        entry["devices"] += len(devices)
        entry["attrs"] |= attrs
        if spec.get("nodeName"):
            entry["nodes"].add(spec["nodeName"])
    for driver, e in drivers.items():
        shown = ", ".join(sorted(e["attrs"])[:6]) or "none"
        evidence.append(
            common.evidence(
                e["slice"],
                f"DRA driver {driver}: {plural(e['devices'], 'device')} on "
                f"{plural(len(e['nodes']), 'node')}; attributes: {shown}",
            )
        )
        if e["devices"]:
            exposed.append(f"DRA driver {driver} ({plural(e['devices'], 'device')} with attributes)")

    # Device-plugin extended resources and hardware hints on nodes.
    nodes = view.list(NODES)
    per_resource: dict[str, list[dict]] = {}
    hardware: list[dict] = []
    for node in nodes.items if nodes.visible else []:
        if networks.has_network_hardware(common.labels_of(node)):
            hardware.append(node)
        if not common.node_ready(node):
            continue
        for name, qty in ((node.get("status") or {}).get("allocatable") or {}).items():
            if networks.is_network_resource(name) and str(qty) not in ("0", ""):
                per_resource.setdefault(name, []).append(node)
    for name, with_it in sorted(per_resource.items()):
        evidence.append(
            Evidence("Node", common.name_of(with_it[0]), f"allocatable {name} on {plural(len(with_it), 'Ready node')}")
        )
        exposed.append(f"{name} on {plural(len(with_it), 'node')}")
    if hardware and not exposed:
        evidence.append(
            Evidence(
                "Node",
                common.name_of(hardware[0]),
                f"RDMA/SR-IOV capable per Node Feature Discovery ({plural(len(hardware), 'node')})",
            )
        )
        unexposed = f"{plural(len(hardware), 'node')} report RDMA/SR-IOV capable NICs that are not exposed to pods"
        partial.append((Reason.PARTIAL, unexposed))

    # The cluster policy of a network operator: its state says whether what it deploys works.
    nicpolicies = view.list(NIC_CLUSTERPOLICIES)
    for pol in nicpolicies.items if nicpolicies.visible else []:
        state = (pol.get("status") or {}).get("state") or "no state"
        evidence.append(common.evidence(pol, f"state {state}"))
        if str(state).lower() == "ready":
            partial.append((Reason.PARTIAL, f"{pol.get('kind')} {common.name_of(pol)} {state}"))
        else:
            broken.append(f"{pol.get('kind')} {common.name_of(pol)} {state}")

    # Secondary networks, and the stack that attaches them to pods.
    nads = view.list(NETWORK_ATTACHMENT_DEFINITIONS)
    attacher = _owner(NETWORK_ATTACHMENT_DEFINITIONS)
    nad_items = nads.items if nads.visible else []
    evidence += _cap([common.evidence(n, "secondary network for pods") for n in nad_items], 3)

    found, workload_blind = _components(view, {stack.key: stack.workloads for stack in networks.NETWORK_STACKS})
    healthy_stacks: set[str] = set()
    for stack in networks.NETWORK_STACKS:
        for w in found[stack.key]:
            ok, fact = common.workload_health(w)
            idle = w.get("kind") == "DaemonSet" and not int((w.get("status") or {}).get("desiredNumberScheduled") or 0)
            evidence.append(common.evidence(w, f"{stack.name}: {'scheduled on no node' if idle else fact}"))
            if ok:
                healthy_stacks.add(stack.name)
            elif idle:  # its node selector matches no node: installed, not exposing anything
                partial.append((Reason.PARTIAL, f"{stack.name} {common.name_of(w)} scheduled on no node"))
            else:
                broken.append(f"{stack.name} {common.name_of(w)} not ready ({fact})")
    if nad_items:
        how = (
            f"{attacher.name} running"
            if attacher.name in healthy_stacks
            else f"{attacher.name} not checked"
            if workload_blind
            else f"no running {attacher.name} found"
        )
        partial.append((Reason.PARTIAL, f"{plural(len(nad_items), nads.resource.kind)}, {how}"))
    elif healthy_stacks - {attacher.name}:
        partial.append((Reason.PARTIAL, f"{', '.join(sorted(healthy_stacks - {attacher.name}))} running"))

    # CRDs of network device operators (weak hints).
    crd_groups: list[str] = []
    api_blind: list[Listing] = []
    for group in networks.NET_CRD_GROUPS:
        api = _api_state(view, group)
        api_blind = _merge(api_blind, api.blind)
        if api.served:
            crd_groups.append(group)
            evidence += _cap(api.evidence, 3)
    if crd_groups and not (exposed or partial or broken):
        hint = f"CRDs of {', '.join(crd_groups)} installed without a running controller or devices"
        partial.append((Reason.CRDS_ONLY, hint))

    attach = f" and attachable through {attacher.name}" if nad_items else ""
    if exposed:  # devices pods can ask for decide, whatever else could not be read
        return CheckResult(
            Status.PASS,
            f"specialised network devices are exposed to pods: {'; '.join(exposed[:3])}{attach}",
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )
    key_blind = _unseen(view, nodes, slices)
    if key_blind:
        return common.unknown("cannot tell whether specialised network devices are exposed", key_blind, evidence)
    if broken:  # only an exposed device, and both places they show are visible, would overturn it
        return CheckResult(
            Status.FAIL,
            f"network device support is installed but not working: {'; '.join(broken[:3])}",
            evidence,
            Reason.UNHEALTHY,
            holds_despite_blind=True,
        )
    # A broken mechanism among what could not be read would make it FAIL.
    broken_blind = _merge(_unseen(view, nicpolicies), workload_blind)
    if partial:
        return _judged(
            Status.WARN,
            partial[0][0],
            f"no specialised network device is exposed to pods, but {'; '.join(text for _, text in partial[:3])}",
            evidence,
            broken_blind,
            f"no specialised network device is exposed to pods "
            f"({'; '.join(text for _, text in partial[:3])}), but whether network device "
            f"support is working cannot be told",
        )
    return _judged(
        Status.NA,
        Reason.NOT_APPLICABLE,
        "no specialised network devices (RDMA, SR-IOV, EFA, DRA NICs) and "
        "no secondary networks in this cluster: the requirement applies "
        "only where such devices are offered",
        evidence,
        _merge(broken_blind, _unseen(view, nads), api_blind),
        "no specialised network device is exposed to pods, but whether the cluster offers any cannot be told",
    )


# disaggregated_inference --------------------------------------------------------------------------------
# The operators of the serving stacks, and the custom resources of theirs that the tool lists (what shows a
# deployment of the stack reconciled).
SERVING_OPERATORS = tuple(operators.BY_KEY[s.operator] for s in serving.SERVING_STACKS if s.operator)
SERVING_DEPLOYMENTS = tuple(dict.fromkeys(resource_for(how.api) for op in SERVING_OPERATORS for how in op.reconciled))
# A worker of a stack whose decode role carries no flag: decode where prefill workers run beside it.
_WORKER = "worker"


def _pod_command_line(pod: dict) -> str:
    parts = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        parts += [str(x) for x in (c.get("command") or []) + (c.get("args") or [])]
    return " ".join(parts)


def _pod_state(pod: dict) -> str:
    phase = (pod.get("status") or {}).get("phase") or "no phase"
    return f"{phase}, not Ready" if phase == "Running" else phase


def _stack(pod: dict) -> str:
    """The serving stack a prefill/decode pod belongs to, for messages."""
    text = (
        _pod_command_line(pod)
        + " "
        + " ".join(c.get("image") or "" for c in (pod.get("spec") or {}).get("containers") or [])
    )
    stack = serving.stack_of_pod(common.labels_of(pod), text)
    return stack.name if stack else "unrecognised stack"


def _pod_role(pod: dict) -> tuple[str | None, str]:
    """('prefill' | 'decode' | 'kv' (KV transfer, role unknown) | _WORKER | None, how it was told)."""
    labels = common.labels_of(pod)
    for key in serving.ROLE_LABELS:
        if labels.get(key) in ("prefill", "decode"):
            return labels[key], f"label {key}={labels[key]}"
    line = _pod_command_line(pod)
    for role, pattern in (("prefill", serving.PREFILL_ARGS), ("decode", serving.DECODE_ARGS)):
        if match := re.search(pattern, line):
            return role, f"args {match.group(0)}"
    for stack in serving.SERVING_STACKS:
        if stack.worker_args and (match := re.search(stack.worker_args, line)):
            return _WORKER, f"{stack.name} worker {match.group(0)}"
    if match := re.search(serving.KV_TRANSFER_ARGS, line):
        return "kv", f"args {match.group(0)}"
    return None, ""


def _reconciled_fact(obj: dict, how: operators.Reconciled) -> str:
    """What a custom resource's status says of its reconciliation: the state field, else the condition."""
    state = (obj.get("status") or {}).get(how.state_field) if how.state_field else None
    if state:
        return f"{how.state_field} {state}"
    return common.condition_fact(obj, how.conditions[0]) if how.conditions else "no status"


@dataclass
class _Operator:
    """A serving stack's operator whose CRDs are installed: whether its controller runs, its deployments."""

    operator: operators.AIOperator
    running: bool
    deployments: list[tuple[Resource, int]]


def _serving_operators(
    view: ClusterView, crds: Listing, evidence: list[Evidence]
) -> tuple[list[_Operator], list[Listing]]:
    """The serving operators whose CRDs are installed, and the workload listings that could not be read;
    adds what was seen to `evidence`."""
    controllers, blind = _components(view, {op.key: op.workloads for op in SERVING_OPERATORS})
    seen: list[_Operator] = []
    for op in SERVING_OPERATORS:
        own = (
            [
                c
                for c in crds.items
                if common.crd_group(c) in op.groups and re.search(op.plurals or ".", common.crd_plural(c))
            ]
            if crds.visible
            else []
        )
        evidence += _cap(common.crd_evidence(view, own), 3)
        running = False
        for w in controllers[op.key]:
            ok, fact = common.workload_health(w)
            running |= ok
            evidence.append(common.evidence(w, f"{op.name} operator: {fact}"))
        deployments = []
        for how in op.reconciled:
            res = resource_for(how.api)
            listing = view.list(res)
            items = listing.items if listing.visible else []
            evidence += [common.evidence(obj, _reconciled_fact(obj, how)) for obj in items[:MAX_EVIDENCE]]
            deployments.append((res, len(items)))
        if own:
            seen.append(_Operator(op, running, deployments))
    return seen, blind


@requirement_check("disaggregated_inference", reads=(PODS, CRDS) + SERVING_DEPLOYMENTS + common.WORKLOAD_RESOURCES)
def disaggregated_inference(view: ClusterView) -> CheckResult:
    evidence: list[Evidence] = []
    pods = view.list(PODS)

    # Role per pod, grouped by namespace: a prefill and a decode instance of the same stack share one.
    by_ns: dict[str, dict[str, list[tuple[dict, str]]]] = {}
    for pod in pods.items if pods.visible else []:
        role, how = _pod_role(pod)
        if role:
            ns = (pod.get("metadata") or {}).get("namespace") or ""
            by_ns.setdefault(ns, {}).setdefault(role, []).append((pod, how))
    for roles in by_ns.values():
        # A worker without a prefill flag is a decode worker when its namespace has prefill workers.
        if "prefill" in roles and _WORKER in roles:
            workers = roles.pop(_WORKER)
            roles.setdefault("decode", []).extend((p, f"{how}, no prefill flag") for p, how in workers)

    pairs, half, not_running, kv_only = [], [], [], []
    for ns, roles in sorted(by_ns.items()):
        running = {r: [(p, h) for p, h in items if common.pod_ready(p)] for r, items in roles.items()}
        for role in ("prefill", "decode"):
            items = running.get(role) or []
            if items:
                evidence += _cap([common.evidence(p, f"{role}, Running ({how})") for p, how in items], 2)
            stopped = [(p, h) for p, h in roles.get(role) or [] if not common.pod_ready(p)]
            evidence += _cap([common.evidence(p, f"{role}, {_pod_state(p)} ({how})") for p, how in stopped], 2)
        if running.get("prefill") and running.get("decode"):
            stacks = sorted({_stack(p) for r in ("prefill", "decode") for p, _ in running[r]})
            pairs.append(
                f"{'/'.join(stacks)} in namespace {ns} ({len(running['prefill'])} prefill, "
                f"{len(running['decode'])} decode)"
            )
        elif roles.get("prefill") or roles.get("decode"):
            if any(roles.get(r) and not running.get(r) for r in ("prefill", "decode")):
                not_running.append(ns)
            else:
                half.append(f"{ns} ({', '.join(r for r in ('prefill', 'decode') if running.get(r))} only)")
        elif roles.get("kv"):
            kv_only.append(ns)
            evidence += _cap([common.evidence(p, f"KV-transfer serving pod ({how})") for p, how in roles["kv"]], 2)

    # Operators of serving stacks: CRDs, controller, deployments.
    crds = view.list(CRDS)
    installed, operator_blind = _serving_operators(view, crds, evidence)

    # Running prefill and decode pods decide; everything else rests on the pods being visible.
    if pairs:
        return CheckResult(
            Status.PASS,
            f"disaggregated serving runs separate prefill and decode instances: {'; '.join(pairs[:3])}",
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )
    if not pods.visible:
        return common.unknown("cannot see serving pods to find prefill and decode instances", [pods], evidence)
    if not_running:
        return CheckResult(
            Status.FAIL,
            f"prefill/decode serving pods exist but are not running in {', '.join(not_running[:3])}",
            evidence,
            Reason.UNHEALTHY,
            holds_despite_blind=True,
        )
    found: list[tuple[Reason, str]] = []
    if half:
        found.append((Reason.PARTIAL, f"only one role running in {', '.join(half[:3])}"))
    if kv_only:
        roleless = f"KV-transfer serving pods without a prefill/decode role in {', '.join(kv_only[:3])}"
        found.append((Reason.PARTIAL, roleless))
    for seen in installed:
        operator = (
            "operator running"
            if seen.running
            else "CRDs installed (operator not checked)"
            if operator_blind
            else "CRDs installed"
        )
        deployed = [plural(n, res.kind) for res, n in seen.deployments if n]
        found.append(
            (
                Reason.PARTIAL if seen.running else Reason.CRDS_ONLY,
                join_nonempty(f"{seen.operator.name} {operator}", *deployed, separator=", "),
            )
        )
    if found:
        return CheckResult(
            Status.WARN,
            f"no running prefill/decode pair: {'; '.join(text for _, text in found)}",
            evidence,
            found[0][0],
            holds_despite_blind=True,
        )
    stack_names = ", ".join(s.name for s in serving.SERVING_STACKS)
    operator_names = " or ".join(op.name for op in SERVING_OPERATORS)
    return _judged(
        Status.FAIL,
        Reason.NOT_INSTALLED,
        f"no disaggregated serving stack: no prefill/decode pods ({stack_names}) and no {operator_names} CRDs",
        evidence,
        common.blind_of(crds),
        f"no prefill/decode serving pods found, but whether {operator_names} is installed cannot be told",
    )
