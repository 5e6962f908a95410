"""Observability: accelerator metrics and AI service metrics.

Both checks are passive: they read which exporters and monitoring systems run and how they are wired
(Services, ServiceMonitors, PodMonitors); they never scrape an endpoint or query Prometheus.
"""

from __future__ import annotations

import re
from dataclasses import replace

from kubectl_aiconf.checks import blind_reason, requirement_check, why_blind
from kubectl_aiconf.checks import common as c
from kubectl_aiconf.resources import (
    AZURE_PODMONITORS, AZURE_SERVICEMONITORS, CLUSTERPOLICIES, CRDS, DAEMONSETS, DEPLOYMENTS,
    GMP_CLUSTERPODMONITORINGS, GMP_PODMONITORINGS, NODES, PODMONITORS, PROMETHEUSES, SERVICEMONITORS, SERVICES,
    STATEFULSETS,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import plural
from kubectl_aiconf.view import ClusterView, Listing

EXAMPLES = 3
NOT_SAMPLED = "metric names were not sampled (passive check, no scrape)"


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


# accelerator_metrics --------------------------------------------------------------------------------------
_VENDOR_LABEL = {
    "nvidia": "NVIDIA", "amd": "AMD", "intel": "Intel GPU", "gaudi": "Intel Gaudi", "neuron": "AWS Neuron",
    "tpu": "Google TPU",
}
_EXPORTERS = {
    "nvidia": (r"dcgm-exporter", r"dcgm-exporter", ""),
    "amd": (r"^(amd|rocm).*(metrics|exporter)|device-metrics-exporter",
            r"device-metrics-exporter|amd-smi-exporter|rocm[^/]*exporter", ""),
    "intel": (r"xpu-?manager|^xpumd?$|intel-gpu-exporter", r"xpumanager|xpu-manager|intel-gpu-exporter", ""),
    "gaudi": (r"(habana|gaudi).*(metric|exporter)", r"(habana|gaudi).*(metric|exporter)", ""),
    "neuron": (r"neuron-monitor", r"neuron-monitor", ""),
    "tpu": (r"tpu.*(metrics|exporter)", r"tpu.*(metrics|exporter)", ""),
    # Anything else that looks like an accelerator exporter: reported as present but unrecognised.
    "other": (r"(gpu|accelerator|npu|xpu).*(exporter|metrics|monitor)",
              r"(gpu|accelerator|npu|xpu)[^/]*(exporter|metrics)", ""),
}
_EXPORTER_NAME = {
    "nvidia": "NVIDIA DCGM exporter", "amd": "AMD device metrics exporter", "intel": "Intel XPU Manager",
    "gaudi": "Intel Gaudi metric exporter", "neuron": "AWS Neuron monitor", "tpu": "TPU metrics exporter",
}


def _marker(labels: dict, key: str) -> bool:
    """A marker label that is set and not switched off: operators write "false" when the device is gone."""
    return labels.get(key) not in (None, "", "false")


def _node_vendors(node: dict) -> set[str]:
    vendors = set()
    for name in c.accelerator_resources(node):
        if name.startswith("nvidia.com/"):
            vendors.add("nvidia")
        elif name.startswith("amd.com/"):
            vendors.add("amd")
        elif name.startswith("gpu.intel.com/"):
            vendors.add("intel")
        elif name.startswith("habana.ai/"):
            vendors.add("gaudi")
        elif name.startswith("aws.amazon.com/neuron"):
            vendors.add("neuron")
        elif name.startswith("google.com/tpu"):
            vendors.add("tpu")
    if not vendors:
        labels = c.labels_of(node)
        if _marker(labels, "nvidia.com/gpu.present") or _marker(labels, "feature.node.kubernetes.io/pci-10de.present"):
            vendors.add("nvidia")
        elif _marker(labels, "amd.com/gpu.present") or _marker(labels, "feature.node.kubernetes.io/pci-1002.present"):
            vendors.add("amd")
        elif str(labels.get("cloud.google.com/gke-accelerator", "")).startswith("nvidia"):
            vendors.add("nvidia")
        elif c.is_accelerator_node(node):
            vendors.add("other")
    return vendors


def _is_gke_accelerator_node(node: dict) -> bool:
    labels = c.labels_of(node)
    return bool(labels.get("cloud.google.com/gke-accelerator") or labels.get("cloud.google.com/gke-tpu-accelerator"))


def _exporter_wiring(exporter: dict, services_by_ns: dict[str, list[dict]], service_monitors: list[dict],
                     pod_monitors: list[dict]) -> tuple[list[str], list[Evidence]]:
    """Services exposing the exporter's pods, and ServiceMonitors/PodMonitors scraping it."""
    ns, pod_labels = _namespace(exporter), _template_labels(exporter)
    facts, evidence = [], []
    services = [s for s in services_by_ns.get(ns, [])
                if c.selector_matches((s.get("spec") or {}).get("selector"), pod_labels)]
    for svc in services[:EXAMPLES]:
        ports = ", ".join(f"{p.get('port')}" + (f"/{p['name']}" if p.get("name") else "")
                          for p in (svc.get("spec") or {}).get("ports") or [])
        facts.append(f"Service {c.name_of(svc)} port {ports or 'none'}")
        evidence.append(c.evidence(svc, f"exposes {c.name_of(exporter)} on port {ports or 'none'}"))
    monitors = []
    for sm in service_monitors:
        selector = _match_labels((sm.get("spec") or {}).get("selector"))
        if selector and any(c.selector_matches(selector, c.labels_of(s)) and _namespace_allowed(sm, ns)
                            for s in services):
            monitors.append(sm)
    for pm in pod_monitors:
        selector = _match_labels((pm.get("spec") or {}).get("selector"))
        if selector and c.selector_matches(selector, pod_labels) and _namespace_allowed(pm, ns):
            monitors.append(pm)
    for mon in monitors[:EXAMPLES]:
        facts.append(f"scraped via {mon.get('kind')} {c.name_of(mon)}")
        evidence.append(c.evidence(mon, f"selects {c.name_of(exporter)}"))
    return facts, evidence


def _gpu_operator_hint(view: ClusterView) -> tuple[str, list[Evidence]]:
    """What NVIDIA GPU Operator ClusterPolicies say about the DCGM exporter, when none runs."""
    policies = view.list(CLUSTERPOLICIES)
    if not policies.visible:
        return f" (GPU Operator ClusterPolicies not checked: {policies.why_unknown()})", []
    hints, evidence = [], []
    for policy in policies.items:
        enabled = ((policy.get("spec") or {}).get("dcgmExporter") or {}).get("enabled")
        evidence.append(c.evidence(policy, "dcgmExporter disabled" if enabled is False else
                                   "dcgmExporter enabled" + ("" if enabled else " (default)")))
        hints.append(f"GPU Operator ClusterPolicy {c.name_of(policy)} "
                     + ("disables the DCGM exporter" if enabled is False else "enables the DCGM exporter"))
    return (f" ({'; '.join(hints)})" if hints else ""), evidence


@requirement_check("accelerator_metrics", reads=(
    NODES, DAEMONSETS, SERVICES, SERVICEMONITORS, PODMONITORS, CLUSTERPOLICIES,
))
def accelerator_metrics(view: ClusterView) -> CheckResult:
    nodes = view.list(NODES)
    found, blind = c.match_workloads(view, _EXPORTERS, (DAEMONSETS,))  # exporters run on every accelerator node
    claimed = {id(o) for key, objs in found.items() if key != "other" for o in objs}
    found["other"] = [o for o in found["other"] if id(o) not in claimed and "device-plugin" not in c.name_of(o)]

    # How exporters are exposed and scraped is shown, never judged: unreadable wiring only goes into the message.
    services, service_monitors, pod_monitors = view.list(SERVICES), view.list(SERVICEMONITORS), view.list(PODMONITORS)
    wiring_blind = c.blind_of(services, service_monitors, pod_monitors)
    services_by_ns: dict[str, list[dict]] = {}
    for svc in services.items if services.visible else []:
        services_by_ns.setdefault(_namespace(svc), []).append(svc)
    # A ServiceMonitor selects Services, so it can only be matched to an exporter when Services are known.
    sms = service_monitors.items if service_monitors.visible and services.visible else []
    pms = pod_monitors.items if pod_monitors.visible else []

    evidence: list[Evidence] = []
    exporters: dict[str, tuple[str, str, int, list[str]]] = {}  # vendor -> (name, where, nodes scheduled, unhealthy)
    for vendor, objs in found.items():
        if not objs:
            continue
        _, shown, bad = c.workloads_health(objs)
        evidence += shown
        scheduled = sum(int((o.get("status") or {}).get("desiredNumberScheduled") or 0)
                        for o in objs if c.workload_health(o)[0])
        wiring = []
        for obj in objs[:EXAMPLES]:
            facts, wev = _exporter_wiring(obj, services_by_ns, sms, pms)
            wiring += facts
            evidence += wev
        managed = " (GKE-managed)" if any(_namespace(o) == "gke-managed-system" for o in objs) else ""
        name = _EXPORTER_NAME.get(vendor, "unrecognised accelerator exporter") + managed
        where = ", ".join([f"{c.name_of(objs[0])} {c.workload_health(objs[0])[1]}"] + wiring)
        exporters[vendor] = (name, where, scheduled, bad)
    wiring_note = (f"; Services and monitors not checked ({why_blind(wiring_blind)})"
                   if wiring_blind and exporters else "")

    if not nodes.visible:
        # Without nodes an exporter on one node of three looks the same as one on every node.
        seen = [f"{name} is not healthy ({'; '.join(bad)})" if bad and not scheduled else f"{name} runs ({where})"
                for name, where, scheduled, bad in exporters.values()]
        what = ("; ".join(seen) + "; whether it reaches every accelerator node cannot be told" if seen
                else "no accelerator metrics exporter seen")
        return c.unknown(what, [nodes] + blind, evidence)

    all_by_vendor: dict[str, int] = {}
    ready_by_vendor: dict[str, int] = {}
    gke_managed = False
    for node in nodes.items:
        vendors = _node_vendors(node)
        gke_managed |= bool(vendors) and _is_gke_accelerator_node(node)
        for vendor in vendors:
            all_by_vendor[vendor] = all_by_vendor.get(vendor, 0) + 1
            if c.node_ready(node):
                ready_by_vendor[vendor] = ready_by_vendor.get(vendor, 0) + 1

    # From here on nodes and DaemonSets decide, and both were read (or the verdict is UNKNOWN below): the
    # other listings only add wiring and hints, so every verdict holds whatever else could not be read.
    if not all_by_vendor:
        running = "; ".join(f"{name} runs" for name, *_ in exporters.values())
        return CheckResult(Status.FAIL, f"no accelerator nodes found among {plural(len(nodes.items), 'node')}"
                                        f"{f' ({running})' if running else ''}: the requirement needs accelerators "
                                        f"whose metrics can be exported", evidence, Reason.NO_ACCELERATORS,
                           holds_despite_blind=True)

    states: dict[str, str] = {}  # vendor present in the cluster -> ok | partial | idle | other | broken
    phrases: list[str] = []
    for vendor, (name, where, scheduled, bad) in exporters.items():
        if vendor not in all_by_vendor and vendor != "other":
            phrases.append(f"{name} runs ({where}) but the cluster has no {_VENDOR_LABEL[vendor]} accelerator node")
            continue
        wanted = ready_by_vendor.get(vendor, 0)
        if bad and not scheduled:
            states[vendor] = "broken"
            phrases.append(f"{name} is not healthy ({'; '.join(bad)})")
        elif vendor == "other":
            states[vendor] = "other"
            phrases.append(f"{name} runs ({where})")
        elif not wanted:
            states[vendor] = "idle"
            phrases.append(f"{name} runs ({where}) but no {_VENDOR_LABEL[vendor]} accelerator node is ready")
        elif scheduled < wanted:
            states[vendor] = "partial"
            phrases.append(f"{name} runs on {scheduled} of {wanted} ready {_VENDOR_LABEL[vendor]} accelerator "
                           f"nodes ({where})")
        else:
            states[vendor] = "ok"
            every = "the" if wanted == 1 else "all"
            phrases.append(f"{name} ready on {every} "
                           f"{plural(wanted, f'ready {_VENDOR_LABEL[vendor]} accelerator node')} ({where})")

    known = sorted(v for v in all_by_vendor if v != "other")
    short = {v: states.get(v, "missing") for v in known if states.get(v) != "ok"}
    if known and not short:
        return CheckResult(Status.PASS, f"{'; '.join(phrases)}{wiring_note}; {NOT_SAMPLED}", evidence,
                           Reason.HEALTHY, holds_despite_blind=True)

    nodes_txt = ", ".join(f"{all_by_vendor[v]} {_VENDOR_LABEL.get(v, 'other')}" for v in sorted(all_by_vendor)) + \
        f" accelerator node{'s' if sum(all_by_vendor.values()) != 1 else ''}"
    if not states:
        if blind:
            return c.unknown(f"no accelerator metrics exporter found for the {nodes_txt}", blind, evidence)
        if gke_managed:
            return CheckResult(Status.UNKNOWN, f"the {nodes_txt} "
                                               f"{'is' if sum(all_by_vendor.values()) == 1 else 'are'} GKE-managed "
                                               f"and no exporter is visible: GKE can collect accelerator metrics "
                                               f"as a managed service, which is not visible in the cluster",
                               evidence, Reason.MANAGED_NOT_VISIBLE)
        hint, hint_evidence = _gpu_operator_hint(view)
        return CheckResult(Status.FAIL, f"no accelerator metrics exporter (DCGM exporter, AMD/Intel/Neuron "
                                        f"exporters) runs for the {nodes_txt}{hint}"
                                        + "".join(f"; {p}" for p in phrases),
                           evidence + hint_evidence, Reason.NOT_INSTALLED, holds_despite_blind=True)
    missing = [v for v, s in short.items() if s == "missing"]
    if missing and "other" not in states:
        phrases.append("no metrics exporter seen for the " + ", ".join(_VENDOR_LABEL[v] for v in missing) +
                       " accelerator nodes")
    message = "; ".join(phrases) + wiring_note
    if all(s == "broken" for s in states.values()):
        return CheckResult(Status.FAIL, message, evidence, Reason.UNHEALTHY, holds_despite_blind=True)
    if "other" in states and set(short.values()) <= {"missing"}:
        # The unrecognised exporter may well serve the nodes no known exporter covers.
        return CheckResult(Status.UNKNOWN, f"{message}: whether it exports per-accelerator utilisation and memory "
                                           f"for the {nodes_txt} is not known to this tool; review it by hand",
                           evidence, Reason.UNRECOGNISED)
    reason = Reason.UNHEALTHY if "broken" in states.values() else Reason.PARTIAL
    return CheckResult(Status.WARN, f"{message}; {NOT_SAMPLED}", evidence, reason, holds_despite_blind=True)


# ai_service_metrics ---------------------------------------------------------------------------------------
_MONITORING_WORKLOADS = {
    "prom-operator": (r"prom.*-operator$", r"/prometheus-operator(:|@|$)", ""),
    "prometheus": (r"^prometheus(-server)?$|^prometheus-k8s$", r"(^|/)prom(etheus)?/prometheus(:|@|$)", ""),
    "azure": (r"^ama-metrics", r"azuremonitor/containerinsights/ciprod/prometheus-collector", ""),
    "gmp": (r"^(gmp-operator|collector|rule-evaluator)$", r"prometheus-engine/|gke-gmp|gmp-operator", r"gmp"),
    "victoria": (r"^(vmagent|vmsingle|vminsert|victoria-metrics)",
                 r"victoriametrics/(vmagent|victoria-metrics|vminsert)", ""),
    "alloy": (r"alloy|grafana-agent", r"grafana/(alloy|agent)(:|@|$)", ""),
    "otel": (r"otel.*collector|opentelemetry-collector",
             r"opentelemetry-collector|otel/opentelemetry-collector|otelcol", ""),
}
_OPERATOR_MANAGED = ("operator.prometheus.io/name", "prometheus")  # labels the operator puts on its StatefulSets
# Google Managed Prometheus: only its collector DaemonSet scrapes, and its operator scales rule-evaluator and
# alertmanager to 0 replicas itself while there is nothing for them to do (no rules, no alerts to route).
_GMP_COLLECTOR = re.compile(r"^collector$")
_GMP_SCALED_BY_OPERATOR = re.compile(r"^(rule-evaluator|alertmanager)$")


def _operator_managed(obj: dict) -> bool:
    labels = {**c.labels_of(obj), **_template_labels(obj)}
    return (_OPERATOR_MANAGED[0] in labels or labels.get("app.kubernetes.io/managed-by") == "prometheus-operator"
            or (obj.get("kind") == "StatefulSet" and labels.get("app.kubernetes.io/name") == "prometheus"
                and "prometheus" in labels))


def _scaled_down_by_operator(obj: dict, components: re.Pattern | None) -> bool:
    """A Deployment or StatefulSet at 0 replicas that its own operator scales to 0 while idle: not broken."""
    return (components is not None and obj.get("kind") != "DaemonSet"
            and (obj.get("spec") or {}).get("replicas") == 0 and c.name_matches(obj, components.pattern))


def _prometheus_available(prom: dict) -> tuple[bool | None, str]:
    cond = c.condition(prom, "Available")
    if cond is not None:
        return str(cond.get("status")) == "True", c.condition_fact(prom, "Available")
    status = prom.get("status") or {}
    if "availableReplicas" in status:
        ready, wanted = int(status.get("availableReplicas") or 0), int(status.get("replicas") or 0)
        return ready > 0 and ready >= wanted, f"{ready}/{wanted} available"
    return None, "no status"


def _workload_monitors(view: ClusterView, system_namespaces: set[str]) -> tuple[list[dict], list[Listing]]:
    """ServiceMonitors/PodMonitors (and managed equivalents) outside the monitoring stack's own namespaces,
    and the monitor listings that could not be read."""
    monitors, blind = [], []
    for res in (SERVICEMONITORS, PODMONITORS, AZURE_SERVICEMONITORS, AZURE_PODMONITORS, GMP_PODMONITORINGS,
                GMP_CLUSTERPODMONITORINGS):
        listing = view.list(res)
        if not listing.visible:
            blind.append(listing)
            continue
        for mon in listing.items:
            ns = _namespace(mon)
            if ns not in system_namespaces and not ns.startswith(("kube-", "openshift-", "gke-")):
                monitors.append(mon)
    return monitors, blind


def _visible_count(view: ClusterView, *resources) -> int:
    return sum(len(listing.items) for listing in map(view.list, resources) if listing.visible)


def _prometheus_operator(view: ClusterView, operators: list[dict], crd_listing: Listing, statefulsets: list[dict],
                         workloads_blind: bool) -> tuple[c.Finding | None, list[Listing]]:
    """The Prometheus Operator's finding, with the listings it needed and could not read."""
    if crd_listing.visible:
        own_crds = [crd for crd in crd_listing.items if c.crd_group(crd) == "monitoring.coreos.com"]
        served = any(c.crd_plural(crd) == "prometheuses" and c.crd_established(view, crd) for crd in own_crds)
    else:  # discovery serves exactly the Established CRDs
        own_crds, served = [], view.serves("monitoring.coreos.com", "prometheuses")
    if not (operators or own_crds or served):
        return None, []
    crd_ev = c.crd_evidence(view, [crd for crd in own_crds
                                   if c.crd_plural(crd) in ("prometheuses", "servicemonitors", "podmonitors")])
    if not operators:
        where = " in the workloads that could be read" if workloads_blind else ""
        return c.Finding(Status.WARN, Reason.CRDS_ONLY, f"Prometheus Operator CRDs are installed but no Prometheus "
                                                        f"Operator was found{where}", crd_ev), []
    healthy, evidence, bad = c.workloads_health(operators)
    evidence += crd_ev
    if not served:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, "Prometheus Operator runs but its Prometheus API "
                                                        "(prometheuses.monitoring.coreos.com) is not served",
                         evidence), []
    prometheuses = view.list(PROMETHEUSES)
    if not prometheuses.visible:
        ready = [s for s in statefulsets if c.workload_health(s)[0]]
        if healthy and ready:
            evidence += [c.evidence(s, c.workload_health(s)[1]) for s in ready[:EXAMPLES]]
            return c.Finding(Status.PASS, Reason.HEALTHY, f"Prometheus Operator runs ({c.name_of(operators[0])}) "
                                                          f"and its Prometheus StatefulSet {c.name_of(ready[0])} is "
                                                          f"ready (Prometheus objects not readable)",
                             evidence), [prometheuses]
        return c.Finding(Status.UNKNOWN, blind_reason([prometheuses]), "Prometheus Operator found but its "
                                                                       "Prometheus objects could not be read",
                         evidence), [prometheuses]
    available: list[dict] = []
    down: list[dict] = []
    for prom in prometheuses.items:
        ok, fact = _prometheus_available(prom)
        evidence.append(c.evidence(prom, fact))
        if ok is None:  # no status: fall back to the StatefulSet the operator made for it
            name, ns = (prom.get("metadata") or {}).get("name"), _namespace(prom)
            sts = [s for s in statefulsets if _namespace(s) == ns and c.name_of(s) == f"{ns}/prometheus-{name}"]
            ok = bool(sts) and all(c.workload_health(s)[0] for s in sts)
        (available if ok else down).append(prom)
    if not healthy:
        status = Status.WARN if available else Status.FAIL
        return c.Finding(status, Reason.UNHEALTHY, f"Prometheus Operator is not healthy ({'; '.join(bad)})"
                         + (f"; Prometheus {c.name_of(available[0])} still runs, but new monitors are not picked up"
                            if available else ""), evidence), []
    if available:
        return c.Finding(Status.PASS, Reason.HEALTHY, f"Prometheus Operator runs ({c.name_of(operators[0])}) with "
                                                      f"{plural(len(available), 'available Prometheus')} "
                                                      f"({', '.join(c.name_of(p) for p in available[:EXAMPLES])})",
                         evidence), []
    if down:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, "Prometheus Operator runs but no Prometheus is available ("
                         + "; ".join(f"{c.name_of(p)} {_prometheus_available(p)[1]}" for p in down[:EXAMPLES])
                         + ")", evidence), []
    return c.Finding(Status.WARN, Reason.PARTIAL, "Prometheus Operator runs but no Prometheus instance is defined",
                     evidence), []


def _managed_prometheus(view: ClusterView, label: str, group: str, workloads: list[dict], crds: list[dict],
                        monitor_count: int, collector: re.Pattern | None = None,
                        scaled_by_operator: re.Pattern | None = None) -> c.Finding | None:
    """A managed Prometheus: `collector` names the workloads that scrape, when not all of them do."""
    own_crds = [crd for crd in crds if c.crd_group(crd) == group]
    if not (workloads or own_crds):
        return None
    crd_ev = c.crd_evidence(view, own_crds[:EXAMPLES])
    if not workloads:
        monitors = f" with {plural(monitor_count, 'monitoring object')}" if monitor_count else ""
        return c.Finding(Status.UNKNOWN, Reason.MANAGED_NOT_VISIBLE,
                         f"{label} CRDs are installed{monitors} but its collectors are not visible (a managed "
                         f"service can run them outside the cluster's view)", crd_ev)
    idle = [w for w in workloads if _scaled_down_by_operator(w, scaled_by_operator)]
    active = [w for w in workloads if w not in idle]
    idle_ev = [c.evidence(w, "scaled to 0 replicas by its operator while it has nothing to do (not a fault)")
               for w in idle]
    idle_note = (f"; its operator scaled {' and '.join(c.name_of(w) for w in idle)} to 0 replicas while there "
                 f"is nothing for {'it' if len(idle) == 1 else 'them'} to do" if idle else "")
    healthy, evidence, bad = c.workloads_health(active)
    evidence += idle_ev + crd_ev
    if not active:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"{label} collectors do not run{idle_note}", evidence)
    if not healthy:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"{label} collectors are not healthy ({'; '.join(bad)})"
                         + idle_note, evidence)
    if collector is not None and not any(c.name_matches(w, collector.pattern) for w in active):
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"{label} runs no collector, only "
                         + ", ".join(f"{c.name_of(w)} {c.workload_health(w)[1]}" for w in active[:EXAMPLES])
                         + idle_note, evidence)
    running = ", ".join(f"{c.name_of(w)} {c.workload_health(w)[1]}" for w in active[:EXAMPLES])
    return c.Finding(Status.PASS, Reason.HEALTHY, f"{label} collectors run ({running}){idle_note}", evidence)


def _plain_collector(label: str, workloads: list[dict], pass_status: Status, note: str) -> c.Finding | None:
    if not workloads:
        return None
    _, evidence, bad = c.workloads_health(workloads)
    ready = [w for w in workloads if c.workload_health(w)[0]]
    if not ready:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"{label} is not healthy ({'; '.join(bad)})", evidence)
    # A collector whose scrape configuration is not visible is healthy but only partly shown to do the job.
    reason = Reason.HEALTHY if pass_status is Status.PASS else Reason.PARTIAL
    return c.Finding(pass_status, reason, f"{label} runs ({c.name_of(ready[0])} {c.workload_health(ready[0])[1]}); "
                                          f"{note}", evidence)


def _crds_without_workload(view: ClusterView, crds: list[dict], group: str, summary: str) -> c.Finding | None:
    own = [crd for crd in crds if c.crd_group(crd) == group]
    if not own:
        return None
    return c.Finding(Status.WARN, Reason.CRDS_ONLY, summary, c.crd_evidence(view, own[:EXAMPLES]))


@requirement_check("ai_service_metrics", reads=(
    CRDS, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, PROMETHEUSES, SERVICEMONITORS, PODMONITORS, AZURE_SERVICEMONITORS,
    AZURE_PODMONITORS, GMP_PODMONITORINGS, GMP_CLUSTERPODMONITORINGS,
))
def ai_service_metrics(view: ClusterView) -> CheckResult:
    found, blind = c.match_workloads(view, _MONITORING_WORKLOADS)
    workloads_blind = bool(blind)
    crd_listing = view.list(CRDS)
    blind += c.blind_of(crd_listing)
    crds = crd_listing.items if crd_listing.visible else []
    managed_sts = [w for w in found["prometheus"] if _operator_managed(w)]
    plain = [w for w in found["prometheus"] if not _operator_managed(w)]
    operators = [w for w in found["prom-operator"] if "admission" not in c.name_of(w)]

    system_ns = {_namespace(w) for objs in found.values() for w in objs}
    monitors, monitors_blind = _workload_monitors(view, system_ns)
    azure_count = _visible_count(view, AZURE_SERVICEMONITORS, AZURE_PODMONITORS)
    gmp_count = _visible_count(view, GMP_PODMONITORINGS, GMP_CLUSTERPODMONITORINGS)

    operator_finding, operator_blind = _prometheus_operator(view, operators, crd_listing, managed_sts,
                                                            workloads_blind)
    blind += operator_blind
    findings = [f for f in (
        operator_finding,
        _managed_prometheus(view, "Azure Managed Prometheus", "azmonitoring.coreos.com", found["azure"], crds,
                            azure_count),
        _managed_prometheus(view, "Google Managed Prometheus", "monitoring.googleapis.com", found["gmp"], crds,
                            gmp_count, _GMP_COLLECTOR, _GMP_SCALED_BY_OPERATOR),
        _plain_collector("Prometheus", plain, Status.PASS, "scrape configuration (e.g. annotation-based discovery) "
                                                           "not inspected"),
        _plain_collector("VictoriaMetrics", found["victoria"], Status.PASS, "scrape configuration not inspected"),
        _plain_collector("Grafana Alloy/Agent", found["alloy"], Status.WARN,
                         "whether it scrapes Prometheus endpoints is not visible"),
        _plain_collector("OpenTelemetry Collector", found["otel"], Status.WARN,
                         "whether it scrapes Prometheus endpoints is not visible"),
        None if found["otel"] else _crds_without_workload(
            view, crds, "opentelemetry.io", "OpenTelemetry Operator CRDs are installed but no collector runs"),
        None if found["victoria"] else _crds_without_workload(
            view, crds, "operator.victoriametrics.com",
            "VictoriaMetrics Operator CRDs are installed but no vmagent runs"),
    ) if f]
    if findings and (monitors or monitors_blind):
        best = min(findings, key=lambda f: c.CONFIDENCE[f.status])  # the first of the best, as decide() orders them
        if monitors:
            best.summary += f"; {plural(len(monitors), 'workload monitor')} outside the monitoring namespaces " \
                            f"(e.g. {monitors[0].get('kind')} {c.name_of(monitors[0])})"
            best.evidence += [c.evidence(m, "scrape configuration for a workload") for m in monitors[:EXAMPLES]]
        if monitors_blind:
            best.summary += f"; workload monitors not all checked ({why_blind(monitors_blind)})"
    result = c.decide(findings, blind, "no monitoring system found",
                      "no monitoring system found (looked for the Prometheus Operator, Prometheus, Azure and Google "
                      "managed Prometheus, VictoriaMetrics, Grafana Alloy and the OpenTelemetry Collector)")
    # Every listing a verdict rests on is in `blind`, so decide() already made it UNKNOWN where they matter;
    # monitor listings only add examples to the message and cannot overturn it.
    return result if result.status is Status.UNKNOWN else replace(result, holds_despite_blind=True)
