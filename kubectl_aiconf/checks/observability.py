"""Observability: accelerator metrics and AI service metrics.

Both checks are passive: they read which exporters and monitoring systems run and how they are wired
(Services, ServiceMonitors, PodMonitors); they never scrape an endpoint or query Prometheus. What they
recognise comes from the knowledge registry: accelerator vendors and their exporters
(`knowledge.accelerators`), monitoring stacks (`knowledge.monitoring`).
"""

from __future__ import annotations

from dataclasses import replace

from kubectl_aiconf.checks import blind_reason, requirement_check, why_blind
from kubectl_aiconf.checks import common as c
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge import monitoring
from kubectl_aiconf.knowledge._base import Api, Component
from kubectl_aiconf.resources import CRDS, DAEMONSETS, NODES, SERVICES, resource_for
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import plural
from kubectl_aiconf.view import ClusterView, Listing, Resource

EXAMPLES = 3
NOT_SAMPLED = "metric names were not sampled (passive check, no scrape)"


def _resources(apis: tuple[Api, ...]) -> tuple[Resource, ...]:
    """How the tool lists registry records' APIs, each once (every one needs its Resource in resources.py)."""
    return tuple(dict.fromkeys(map(resource_for, apis)))


def _template_labels(obj: dict) -> dict:
    return ((((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}


def _namespace(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("namespace") or ""


def _match_labels(selector: dict | None) -> dict:
    return (selector or {}).get("matchLabels") or {}


def _namespace_allowed(monitor: dict, namespace: str) -> bool:
    """Whether a ServiceMonitor/PodMonitor's namespaceSelector lets it select objects in `namespace`."""
    ns_selector = (monitor.get("spec") or {}).get("namespaceSelector") or {}
    if ns_selector.get("any"):
        return True
    if ns_selector.get("matchNames"):
        return namespace in ns_selector["matchNames"]
    return _namespace(monitor) == namespace


def _healthy_names(objs: list[dict]) -> str:
    return ", ".join(f"{c.name_of(w)} {c.workload_health(w)[1]}" for w in objs[:EXAMPLES])


# accelerator_metrics --------------------------------------------------------------------------------------
# Every exporter of the registry under a key of its own (a vendor may have several), and anything that looks
# like an accelerator exporter, reported as present but unrecognised.
_EXPORTERS: dict[str, tuple[str, str, Component]] = {
    f"{vendor}/{exporter.name}": (vendor, exporter.name, exporter.component) for vendor, exporter in acc.exporters()
}
_EXPORTERS[acc.UNRECOGNISED] = (acc.UNRECOGNISED, "unrecognised accelerator exporter", acc.GENERIC_EXPORTER)
_EXPORTER_MONITORS = _resources(monitoring.EXPORTER_MONITORS)
_SWITCHES = _resources(tuple(e.switch_api for _, e in acc.exporters() if e.switch_api))


def _vendor_name(vendor: str) -> str:
    return acc.BY_KEY[vendor].name if vendor in acc.BY_KEY else "unrecognised"


def _managed_by(node: dict) -> str:
    """The platform that collects the node's accelerator metrics as a managed service, or ""."""
    labels = c.labels_of(node)
    return next(
        (
            m.provider
            for m in monitoring.MANAGED_ACCELERATOR_METRICS
            for cloud in acc.CLOUD_LABELS
            if cloud.provider == m.provider and cloud.label.matches(labels)
        ),
        "",
    )


def _exporter_wiring(
    exporter: dict, services_by_ns: dict[str, list[dict]], monitors: list[dict]
) -> tuple[list[str], list[Evidence]]:
    """Services exposing the exporter's pods, and the monitors scraping it (through a Service or directly)."""
    ns, pod_labels = _namespace(exporter), _template_labels(exporter)
    facts, evidence = [], []
    services = [
        s for s in services_by_ns.get(ns, []) if c.selector_matches((s.get("spec") or {}).get("selector"), pod_labels)
    ]
    for svc in services[:EXAMPLES]:
        ports = ", ".join(
            f"{p.get('port')}" + (f"/{p['name']}" if p.get("name") else "")
            for p in (svc.get("spec") or {}).get("ports") or []
        )
        facts.append(f"Service {c.name_of(svc)} port {ports or 'none'}")
        evidence.append(c.evidence(svc, f"exposes {c.name_of(exporter)} on port {ports or 'none'}"))
    scraping = []
    for mon in monitors:
        selector = _match_labels((mon.get("spec") or {}).get("selector"))
        if not selector or not _namespace_allowed(mon, ns):
            continue
        if mon.get("kind") in monitoring.SERVICE_MONITOR_KINDS:
            selected = any(c.selector_matches(selector, c.labels_of(s)) for s in services)
        else:
            selected = c.selector_matches(selector, pod_labels)
        if selected:
            scraping.append(mon)
    for mon in scraping[:EXAMPLES]:
        facts.append(f"scraped via {mon.get('kind')} {c.name_of(mon)}")
        evidence.append(c.evidence(mon, f"selects {c.name_of(exporter)}"))
    return facts, evidence


def _switch_hints(view: ClusterView, vendors: set[str]) -> tuple[str, list[Evidence]]:
    """What driver managers' custom resources say about the exporters of `vendors`, none of which runs."""
    hints, evidence = [], []
    for vendor, exporter in acc.exporters():
        if vendor not in vendors or exporter.switch_api is None:
            continue
        res = resource_for(exporter.switch_api)
        listing = view.list(res)
        if not listing.visible:
            hints.append(f"{res.kind} objects not checked: {listing.why_unknown()}")
            continue
        for obj in listing.items:
            value: object = obj
            for part in exporter.switch_path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            on = exporter.switch_default if value is None else value is not False
            setting = "unset, the default" if value is None else f"={str(value).lower()}"
            evidence.append(
                c.evidence(
                    obj,
                    f"{exporter.name} {'enabled' if on else 'disabled'} "
                    f"({exporter.switch_path}{' ' if value is None else ''}{setting})",
                )
            )
            hints.append(f"{res.kind} {c.name_of(obj)} {'enables' if on else 'disables'} the {exporter.name}")
    return (f" ({'; '.join(hints)})" if hints else ""), evidence


@requirement_check("accelerator_metrics", reads=(NODES, DAEMONSETS, SERVICES) + _EXPORTER_MONITORS + _SWITCHES)
def accelerator_metrics(view: ClusterView) -> CheckResult:
    nodes = view.list(NODES)
    # Exporters run on every accelerator node: DaemonSets.
    matched, blind = c.match_workloads(
        view, {k: comp.patterns for k, (_, _, comp) in _EXPORTERS.items()}, (DAEMONSETS,)
    )
    found: dict[str, list[dict]] = {}  # vendor -> its exporters' DaemonSets
    names: dict[str, str] = {}  # vendor -> name of the first of its exporters seen
    claimed: set[int] = set()
    for key, objs in matched.items():
        vendor, name, _ = _EXPORTERS[key]
        if key == acc.UNRECOGNISED:  # a device plugin's name can look like an exporter's
            objs = [
                o
                for o in objs
                if not acc.is_accelerator_device_plugin(
                    (o.get("metadata") or {}).get("name") or "", c.workload_images(o)
                )
            ]
        new = [o for o in objs if id(o) not in claimed]
        if new:
            found.setdefault(vendor, []).extend(new)
            names.setdefault(vendor, name)
            claimed |= {id(o) for o in new}

    # How exporters are exposed and scraped is shown, never judged: unreadable wiring only goes into the message.
    services = view.list(SERVICES)
    monitor_listings = [view.list(r) for r in _EXPORTER_MONITORS]
    wiring_blind = c.blind_of(services, *monitor_listings)
    services_by_ns: dict[str, list[dict]] = {}
    for svc in services.items if services.visible else []:
        services_by_ns.setdefault(_namespace(svc), []).append(svc)
    # A ServiceMonitor selects Services, so it can only be matched to an exporter when Services are known.
    monitors = [
        m
        for listing in monitor_listings
        if listing.visible
        for m in listing.items
        if services.visible or m.get("kind") not in monitoring.SERVICE_MONITOR_KINDS
    ]

    evidence: list[Evidence] = []
    exporters: dict[str, tuple[str, str, int, list[str]]] = {}  # vendor -> (name, where, nodes scheduled, unhealthy)
    for vendor, objs in found.items():
        _, shown, bad = c.workloads_health(objs)
        evidence += shown
        scheduled = sum(
            int((o.get("status") or {}).get("desiredNumberScheduled") or 0) for o in objs if c.workload_health(o)[0]
        )
        wiring = []
        for obj in objs[:EXAMPLES]:
            facts, wev = _exporter_wiring(obj, services_by_ns, monitors)
            wiring += facts
            evidence += wev
        managed = "".join(
            f" ({m.provider}-managed)"
            for m in monitoring.MANAGED_ACCELERATOR_METRICS
            if any(_namespace(o) == m.namespace for o in objs)
        )
        where = ", ".join([f"{c.name_of(objs[0])} {c.workload_health(objs[0])[1]}"] + wiring)
        exporters[vendor] = (names[vendor] + managed, where, scheduled, bad)
    wiring_note = (
        f"; Services and monitors not checked ({why_blind(wiring_blind)})" if wiring_blind and exporters else ""
    )

    if not nodes.visible:
        # Without nodes an exporter on one node of three looks the same as one on every node.
        seen = [
            f"{name} is not healthy ({'; '.join(bad)})" if bad and not scheduled else f"{name} runs ({where})"
            for name, where, scheduled, bad in exporters.values()
        ]
        what = (
            "; ".join(seen) + "; whether it reaches every accelerator node cannot be told"
            if seen
            else "no accelerator metrics exporter seen"
        )
        return c.unknown(what, [nodes] + blind, evidence)

    all_by_vendor: dict[str, int] = {}
    ready_by_vendor: dict[str, int] = {}
    managed_by: set[str] = set()
    for node in nodes.items:
        vendors = c.accelerator_vendors(node)
        provider = _managed_by(node) if vendors else ""
        if provider:
            managed_by.add(provider)
        for vendor in vendors:
            all_by_vendor[vendor] = all_by_vendor.get(vendor, 0) + 1
            if c.node_ready(node):
                ready_by_vendor[vendor] = ready_by_vendor.get(vendor, 0) + 1

    # From here on nodes and DaemonSets decide, and both were read (or the verdict is UNKNOWN below): the
    # other listings only add wiring and hints, so every verdict holds whatever else could not be read.
    if not all_by_vendor:
        running = "; ".join(f"{name} runs" for name, *_ in exporters.values())
        return CheckResult(
            Status.FAIL,
            f"no accelerator nodes found among {plural(len(nodes.items), 'node')}"
            f"{f' ({running})' if running else ''}: the requirement needs accelerators "
            f"whose metrics can be exported",
            evidence,
            Reason.NO_ACCELERATORS,
            holds_despite_blind=True,
        )

    # Each vendor with accelerator nodes: ok | partial | idle | broken | missing. Nodes whose vendor is not
    # recognised are served by an unrecognised exporter if by any.
    states: dict[str, str] = {}
    phrases: list[str] = []
    for vendor, (name, where, scheduled, bad) in exporters.items():
        label = _vendor_name(vendor)
        if vendor not in all_by_vendor and vendor != acc.UNRECOGNISED:
            phrases.append(f"{name} runs ({where}) but the cluster has no {label} accelerator node")
            continue
        wanted = ready_by_vendor.get(vendor, 0)
        if bad and not scheduled:
            states[vendor] = "broken"
            phrases.append(f"{name} is not healthy ({'; '.join(bad)})")
        elif vendor == acc.UNRECOGNISED:
            states[vendor] = "unrecognised"
            phrases.append(f"{name} runs ({where})")
        elif not wanted:
            states[vendor] = "idle"
            phrases.append(f"{name} runs ({where}) but no {label} accelerator node is ready")
        elif scheduled < wanted:
            states[vendor] = "partial"
            phrases.append(f"{name} runs on {scheduled} of {wanted} ready {label} accelerator nodes ({where})")
        else:
            states[vendor] = "ok"
            every = "the" if wanted == 1 else "all"
            phrases.append(f"{name} ready on {every} {plural(wanted, f'ready {label} accelerator node')} ({where})")

    short = {v: states.get(v, "missing") for v in sorted(all_by_vendor) if states.get(v) != "ok"}
    if not short:
        return CheckResult(
            Status.PASS,
            f"{'; '.join(phrases)}{wiring_note}; {NOT_SAMPLED}",
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )

    count = sum(all_by_vendor.values())
    nodes_txt = (
        ", ".join(f"{all_by_vendor[v]} {_vendor_name(v)}" for v in sorted(all_by_vendor))
        + f" accelerator node{'s' if count != 1 else ''}"
    )
    if not states:
        if blind:
            return c.unknown(f"no accelerator metrics exporter found for the {nodes_txt}", blind, evidence)
        if managed_by:
            platforms = " and ".join(sorted(managed_by))
            return CheckResult(
                Status.UNKNOWN,
                f"the {nodes_txt} {'is' if count == 1 else 'are'} {platforms}-managed "
                f"and no exporter is visible: {platforms} can collect accelerator "
                f"metrics as a managed service, which is not visible in the cluster",
                evidence,
                Reason.MANAGED_NOT_VISIBLE,
            )
        hint, hint_evidence = _switch_hints(view, set(all_by_vendor))
        looked_for = ", ".join(dict.fromkeys(e.name for v, e in acc.exporters() if v in all_by_vendor))
        return CheckResult(
            Status.FAIL,
            f"no accelerator metrics exporter{f' ({looked_for})' if looked_for else ''} "
            f"runs for the {nodes_txt}{hint}" + "".join(f"; {p}" for p in phrases),
            evidence + hint_evidence,
            Reason.NOT_INSTALLED,
            holds_despite_blind=True,
        )
    missing = [v for v, s in short.items() if s == "missing"]
    unrecognised_runs = states.get(acc.UNRECOGNISED) == "unrecognised"
    if missing and not unrecognised_runs:
        phrases.append(
            "no metrics exporter seen for the " + ", ".join(map(_vendor_name, missing)) + " accelerator nodes"
        )
    message = "; ".join(phrases) + wiring_note
    if all(s == "broken" for s in states.values()):
        return CheckResult(Status.FAIL, message, evidence, Reason.UNHEALTHY, holds_despite_blind=True)
    if unrecognised_runs and set(short.values()) <= {"missing", "unrecognised"}:
        # The unrecognised exporter may well serve the nodes no known exporter covers.
        return CheckResult(
            Status.UNKNOWN,
            f"{message}: whether it exports per-accelerator utilisation and memory "
            f"for the {nodes_txt} is not known to this tool; review it by hand",
            evidence,
            Reason.UNRECOGNISED,
        )
    reason = Reason.UNHEALTHY if "broken" in states.values() else Reason.PARTIAL
    return CheckResult(Status.WARN, f"{message}; {NOT_SAMPLED}", evidence, reason, holds_despite_blind=True)


# ai_service_metrics ---------------------------------------------------------------------------------------
# Every stack of the registry is found and judged the same way: a new one is a record, no code.
_STACKS = monitoring.MONITORING_STACKS
_INSTANCES = _resources(tuple(s.instances for s in _STACKS if s.instances))
_MONITORS = {s.key: _resources(s.monitors) for s in _STACKS}
_ALL_MONITORS = tuple(dict.fromkeys(r for rs in _MONITORS.values() for r in rs))


def _is(component: Component, obj: dict) -> bool:
    """Whether a workload is `component` (by its own name, images and namespace)."""
    meta = obj.get("metadata") or {}
    return component.matches(meta.get("name") or "", c.workload_images(obj), meta.get("namespace") or "")


def _instance_owner(obj: dict) -> monitoring.MonitoringStack | None:
    """The stack whose operator made a workload for one of its instances, by the labels it puts on them."""
    labels = {**c.labels_of(obj), **_template_labels(obj)}
    return next((s for s in _STACKS if any(all(m.matches(labels) for m in marks) for marks in s.instance_labels)), None)


def _idle_at_zero(obj: dict, stack: monitoring.MonitoringStack) -> bool:
    """A Deployment or StatefulSet at 0 replicas that its own operator scales to 0 while idle: not broken."""
    return (
        obj.get("kind") != "DaemonSet" and (obj.get("spec") or {}).get("replicas") == 0 and _is(stack.idle_at_zero, obj)
    )


def _instance_available(instance: dict) -> tuple[bool | None, str]:
    cond = c.condition(instance, "Available")
    if cond is not None:
        return str(cond.get("status")) == "True", c.condition_fact(instance, "Available")
    status = instance.get("status") or {}
    if "availableReplicas" in status:
        ready, wanted = int(status.get("availableReplicas") or 0), int(status.get("replicas") or 0)
        return ready > 0 and ready >= wanted, f"{ready}/{wanted} available"
    return None, "no status"


def _workload_monitors(view: ClusterView, system_namespaces: set[str]) -> tuple[list[dict], list[Listing]]:
    """Every stack's monitors outside the monitoring stacks' own namespaces and the platform's, and the
    monitor listings that could not be read."""
    everything, blind = c.read_all(view, _ALL_MONITORS)
    monitors = [
        mon
        for mon in everything
        if _namespace(mon) not in system_namespaces
        and not _namespace(mon).startswith(monitoring.SYSTEM_NAMESPACE_PREFIXES)
    ]
    return monitors, blind


def _visible_count(view: ClusterView, resources: tuple[Resource, ...]) -> int:
    return sum(len(listing.items) for listing in map(view.list, resources) if listing.visible)


def _operated(
    view: ClusterView,
    stack: monitoring.MonitoringStack,
    operators: list[dict],
    crd_listing: Listing,
    made: list[dict],
    workloads_blind: bool,
) -> tuple[c.Finding | None, list[Listing]]:
    """The finding of a stack whose operator runs instances (`made`: the workloads it made for them), with
    the listings it needed and could not read."""
    api = stack.instances
    assert api is not None
    kind = api.kind
    if crd_listing.visible:
        own_crds = [crd for crd in crd_listing.items if c.crd_group(crd) == stack.group]
        served = any(c.crd_plural(crd) == api.plural and c.crd_established(view, crd) for crd in own_crds)
    else:  # discovery serves exactly the Established CRDs
        own_crds, served = [], view.serves(api.group, api.plural)
    if not (operators or own_crds or served):
        return None, []
    crd_ev = c.crd_evidence(view, [crd for crd in own_crds if c.crd_plural(crd) in {a.plural for a in stack.apis}])
    if not operators:
        where = " in the workloads that could be read" if workloads_blind else ""
        return c.Finding(
            Status.WARN,
            Reason.CRDS_ONLY,
            f"{stack.name} CRDs are installed but no {stack.name} was found{where}",
            crd_ev,
        ), []
    healthy, evidence, bad = c.workloads_health(operators)
    evidence += crd_ev
    if not served:
        return c.Finding(
            Status.FAIL,
            Reason.UNHEALTHY,
            f"{stack.name} runs but its {kind} API ({api.qualified}) is not served",
            evidence,
        ), []
    listings = [view.list(resource_for(api))]
    unread = c.blind_of(*listings)
    if unread:
        ready = [s for s in made if c.workload_health(s)[0]]
        if healthy and ready:
            evidence += [c.evidence(s, c.workload_health(s)[1]) for s in ready[:EXAMPLES]]
            return c.Finding(
                Status.PASS,
                Reason.HEALTHY,
                f"{stack.name} runs ({c.name_of(operators[0])}) and its "
                f"{kind} {ready[0].get('kind')} {c.name_of(ready[0])} is "
                f"ready ({kind} objects not readable)",
                evidence,
            ), unread
        return c.Finding(
            Status.UNKNOWN,
            blind_reason(unread),
            f"{stack.name} found but its {kind} objects could not be read",
            evidence,
        ), unread
    available: list[dict] = []
    down: list[dict] = []
    for instance in (i for listing in listings for i in listing.items):
        ok, fact = _instance_available(instance)
        evidence.append(c.evidence(instance, fact))
        if ok is None:  # no status: fall back to the workload the operator made for it
            ns = _namespace(instance)
            own = f"{ns}/{stack.instance_workload.format(name=(instance.get('metadata') or {}).get('name'))}"
            workloads = [w for w in made if c.name_of(w) == own]
            ok = bool(workloads) and all(c.workload_health(w)[0] for w in workloads)
        (available if ok else down).append(instance)
    if not healthy:
        status = Status.WARN if available else Status.FAIL
        return c.Finding(
            status,
            Reason.UNHEALTHY,
            f"{stack.name} is not healthy ({'; '.join(bad)})"
            + (
                f"; {kind} {c.name_of(available[0])} still runs, but new monitors are not picked up"
                if available
                else ""
            ),
            evidence,
        ), []
    if available:
        return c.Finding(
            Status.PASS,
            Reason.HEALTHY,
            f"{stack.name} runs ({c.name_of(operators[0])}) with "
            f"{plural(len(available), f'available {kind}')} "
            f"({', '.join(c.name_of(p) for p in available[:EXAMPLES])})",
            evidence,
        ), []
    if down:
        return c.Finding(
            Status.FAIL,
            Reason.UNHEALTHY,
            f"{stack.name} runs but no {kind} is available ("
            + "; ".join(f"{c.name_of(p)} {_instance_available(p)[1]}" for p in down[:EXAMPLES])
            + ")",
            evidence,
        ), []
    return c.Finding(Status.WARN, Reason.PARTIAL, f"{stack.name} runs but no {kind} instance is defined", evidence), []


def _managed(
    view: ClusterView, stack: monitoring.MonitoringStack, workloads: list[dict], crds: list[dict], monitor_count: int
) -> c.Finding | None:
    """A managed stack, whose collectors may run out of sight."""
    own_crds = [crd for crd in crds if c.crd_group(crd) == stack.group]
    if not (workloads or own_crds):
        return None
    crd_ev = c.crd_evidence(view, own_crds[:EXAMPLES])
    if not workloads:
        monitors = f" with {plural(monitor_count, 'monitoring object')}" if monitor_count else ""
        return c.Finding(
            Status.UNKNOWN,
            Reason.MANAGED_NOT_VISIBLE,
            f"{stack.name} CRDs are installed{monitors} but its collectors are not visible (a managed "
            f"service can run them outside the cluster's view)",
            crd_ev,
        )
    idle = [w for w in workloads if _idle_at_zero(w, stack)]
    active = [w for w in workloads if w not in idle]
    idle_ev = [
        c.evidence(w, "scaled to 0 replicas by its operator while it has nothing to do (not a fault)") for w in idle
    ]
    idle_note = (
        f"; its operator scaled {' and '.join(c.name_of(w) for w in idle)} to 0 replicas while there "
        f"is nothing for {'it' if len(idle) == 1 else 'them'} to do"
        if idle
        else ""
    )
    healthy, evidence, bad = c.workloads_health(active)
    evidence += idle_ev + crd_ev
    if not active:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"{stack.name} collectors do not run{idle_note}", evidence)
    if not healthy:
        return c.Finding(
            Status.FAIL,
            Reason.UNHEALTHY,
            f"{stack.name} collectors are not healthy ({'; '.join(bad)}){idle_note}",
            evidence,
        )
    if stack.collectors.visible and not any(_is(stack.collectors, w) for w in active):
        return c.Finding(
            Status.FAIL,
            Reason.UNHEALTHY,
            f"{stack.name} runs no collector, only {_healthy_names(active)}{idle_note}",
            evidence,
        )
    return c.Finding(
        Status.PASS, Reason.HEALTHY, f"{stack.name} collectors run ({_healthy_names(active)}){idle_note}", evidence
    )


def _collector(
    view: ClusterView, stack: monitoring.MonitoringStack, workloads: list[dict], crds: list[dict]
) -> c.Finding | None:
    """A stack judged by its own workloads; its CRDs without a workload only show it half installed."""
    if not workloads:
        own = [crd for crd in crds if stack.group and c.crd_group(crd) == stack.group]
        return (
            c.Finding(
                Status.WARN,
                Reason.CRDS_ONLY,
                f"{stack.name} CRDs ({stack.group}) are installed but no {stack.name} workload runs",
                c.crd_evidence(view, own[:EXAMPLES]),
            )
            if own
            else None
        )
    _, evidence, bad = c.workloads_health(workloads)
    ready = [w for w in workloads if c.workload_health(w)[0]]
    if not ready:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"{stack.name} is not healthy ({'; '.join(bad)})", evidence)
    # A collector whose scrape configuration is not visible is healthy but only partly shown to do the job.
    if stack.scrapes_prometheus:
        return c.Finding(
            Status.PASS,
            Reason.HEALTHY,
            f"{stack.name} runs ({_healthy_names(ready[:1])}); scrape configuration not inspected",
            evidence,
        )
    return c.Finding(
        Status.WARN,
        Reason.PARTIAL,
        f"{stack.name} runs ({_healthy_names(ready[:1])}); whether it scrapes Prometheus endpoints is not visible",
        evidence,
    )


@requirement_check("ai_service_metrics", reads=(CRDS,) + c.WORKLOAD_RESOURCES + _INSTANCES + _ALL_MONITORS)
def ai_service_metrics(view: ClusterView) -> CheckResult:
    found, blind = c.match_workloads(view, {s.key: s.workloads.patterns for s in _STACKS})
    workloads_blind = bool(blind)
    # A workload an operator made for one of its instances is that instance, whichever other stack's
    # patterns it matches (a Prometheus StatefulSet is not a plain Prometheus).
    made: dict[str, list[dict]] = {s.key: [] for s in _STACKS}
    for key, objs in found.items():
        owners = [(w, _instance_owner(w)) for w in objs]
        found[key] = [w for w, owner in owners if owner is None or owner.key == key]
        for w, owner in owners:
            if owner is not None and owner.key != key:
                made[owner.key].append(w)
    crd_listing = view.list(CRDS)
    blind += c.blind_of(crd_listing)
    crds = crd_listing.items if crd_listing.visible else []

    system_ns = {_namespace(w) for objs in list(found.values()) + list(made.values()) for w in objs}
    monitors, monitors_blind = _workload_monitors(view, system_ns)

    findings: list[c.Finding | None] = []
    half_installed: list[c.Finding | None] = []  # after every running stack, as when they were found
    for stack in _STACKS:
        if stack.instances:
            finding, unread = _operated(view, stack, found[stack.key], crd_listing, made[stack.key], workloads_blind)
            blind += unread
            findings.append(finding)
        elif stack.managed:
            findings.append(_managed(view, stack, found[stack.key], crds, _visible_count(view, _MONITORS[stack.key])))
        elif found[stack.key]:
            findings.append(_collector(view, stack, found[stack.key], crds))
        else:
            half_installed.append(_collector(view, stack, [], crds))
    seen = [f for f in findings + half_installed if f]
    if seen and (monitors or monitors_blind):
        best = min(seen, key=lambda f: c.CONFIDENCE[f.status])  # the first of the best, as decide() orders them
        if monitors:
            best.summary += (
                f"; {plural(len(monitors), 'workload monitor')} outside the monitoring namespaces "
                f"(e.g. {monitors[0].get('kind')} {c.name_of(monitors[0])})"
            )
            best.evidence += [c.evidence(m, "scrape configuration for a workload") for m in monitors[:EXAMPLES]]
        if monitors_blind:
            best.summary += f"; workload monitors not all checked ({why_blind(monitors_blind)})"
    names = [s.name for s in _STACKS]
    result = c.decide(
        seen,
        blind,
        "no monitoring system found",
        f"no monitoring system found (looked for {', '.join(names[:-1])} and {names[-1]})",
    )
    # Every listing a verdict rests on is in `blind`, so decide() already made it UNKNOWN where they matter;
    # monitor listings only add examples to the message and cannot overturn it.
    return result if result.status is Status.UNKNOWN else replace(result, holds_despite_blind=True)
