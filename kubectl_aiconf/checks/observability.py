"""Observability: accelerator metrics and AI service metrics.

Both checks are passive: they read which exporters and monitoring systems run and how they are wired
(Services, ServiceMonitors, PodMonitors); they never scrape an endpoint or query Prometheus.
"""

from __future__ import annotations

from kubectl_aiconf.checks import common as c
from kubectl_aiconf.checks import requirement_check
from kubectl_aiconf.resources import (
    AZURE_PODMONITORS, AZURE_SERVICEMONITORS, CLUSTERPOLICIES, CRDS, DAEMONSETS, DEPLOYMENTS,
    GMP_CLUSTERPODMONITORINGS, GMP_PODMONITORINGS, NODES, PODMONITORS, PROMETHEUSES, SERVICEMONITORS, SERVICES,
    STATEFULSETS,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.view import ClusterView

EXAMPLES = 3
NOT_SAMPLED = "metric names were not sampled (passive check, no scrape)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
        if labels.get("nvidia.com/gpu.present") == "true" or labels.get("feature.node.kubernetes.io/pci-10de.present"):
            vendors.add("nvidia")
        elif labels.get("amd.com/gpu.present") or labels.get("feature.node.kubernetes.io/pci-1002.present"):
            vendors.add("amd")
        elif str(labels.get("cloud.google.com/gke-accelerator", "")).startswith("nvidia"):
            vendors.add("nvidia")
        elif c.is_accelerator_node(node):
            vendors.add("other")
    return vendors


def _is_gke_accelerator_node(node: dict) -> bool:
    labels = c.labels_of(node)
    return bool(labels.get("cloud.google.com/gke-accelerator") or labels.get("cloud.google.com/gke-tpu-accelerator"))


def _exporter_wiring(view: ClusterView, exporter: dict, services_by_ns: dict[str, list[dict]]
                     ) -> tuple[list[str], list[Evidence]]:
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
    for sm in view.list(SERVICEMONITORS).items:
        selector = _match_labels((sm.get("spec") or {}).get("selector"))
        if selector and any(c.selector_matches(selector, c.labels_of(s)) and _namespace_allowed(sm, ns)
                            for s in services):
            monitors.append(sm)
    for pm in view.list(PODMONITORS).items:
        selector = _match_labels((pm.get("spec") or {}).get("selector"))
        if selector and c.selector_matches(selector, pod_labels) and _namespace_allowed(pm, ns):
            monitors.append(pm)
    for mon in monitors[:EXAMPLES]:
        facts.append(f"scraped via {mon.get('kind')} {c.name_of(mon)}")
        evidence.append(c.evidence(mon, f"selects {c.name_of(exporter)}"))
    return facts, evidence


@requirement_check("accelerator_metrics", reads=(
    NODES, DAEMONSETS, SERVICES, SERVICEMONITORS, PODMONITORS, CLUSTERPOLICIES,
))
def accelerator_metrics(view: ClusterView) -> CheckResult:
    nodes = view.list(NODES)
    found, blind = c.match_workloads(view, _EXPORTERS, (DAEMONSETS,))  # exporters run on every accelerator node
    claimed = {id(o) for key, objs in found.items() if key != "other" for o in objs}
    found["other"] = [o for o in found["other"] if id(o) not in claimed and "device-plugin" not in c.name_of(o)]

    services_by_ns: dict[str, list[dict]] = {}
    for svc in view.list(SERVICES).items:
        services_by_ns.setdefault(_namespace(svc), []).append(svc)

    # Ready accelerator nodes per vendor.
    ready_by_vendor: dict[str, int] = {}
    all_by_vendor: dict[str, int] = {}
    gke_managed = False
    for node in nodes.items:
        vendors = _node_vendors(node)
        gke_managed |= bool(vendors) and _is_gke_accelerator_node(node)
        for vendor in vendors:
            all_by_vendor[vendor] = all_by_vendor.get(vendor, 0) + 1
            if c.node_ready(node):
                ready_by_vendor[vendor] = ready_by_vendor.get(vendor, 0) + 1

    evidence: list[Evidence] = []
    states: dict[str, str] = {}
    phrases: list[str] = []
    for vendor, objs in found.items():
        if not objs:
            continue
        healthy, ev, bad = c.workloads_health(objs)
        evidence += ev
        scheduled = sum(int((o.get("status") or {}).get("desiredNumberScheduled") or 0)
                        for o in objs if o.get("kind") == "DaemonSet" and c.workload_health(o)[0])
        wiring = []
        for obj in objs[:EXAMPLES]:
            facts, wev = _exporter_wiring(view, obj, services_by_ns)
            wiring += facts
            evidence += wev
        label = _EXPORTER_NAME.get(vendor, "unrecognised accelerator exporter")
        managed = " (GKE-managed)" if any(_namespace(o) == "gke-managed-system" for o in objs) else ""
        where = ", ".join([f"{c.name_of(objs[0])} {c.workload_health(objs[0])[1]}"] + wiring)
        if bad and not scheduled:
            states[vendor] = "broken"
            phrases.append(f"{label}{managed} is not healthy ({'; '.join(bad)})")
            continue
        if vendor == "other":
            states[vendor] = "other"
            phrases.append(f"{label} runs ({where})")
            continue
        wanted = ready_by_vendor.get(vendor, 0)
        if nodes.visible and wanted and scheduled < wanted:
            states[vendor] = "partial"
            phrases.append(f"{label}{managed} runs on {scheduled} of {wanted} ready {_VENDOR_LABEL[vendor]} "
                           f"accelerator nodes ({where})")
        elif nodes.visible and not wanted:
            states[vendor] = "idle"
            phrases.append(f"{label}{managed} runs ({where}) but no {_VENDOR_LABEL[vendor]} accelerator node is "
                           f"ready")
        else:
            states[vendor] = "ok"
            on = (f" on {'the' if wanted == 1 else 'all'} {wanted} ready {_VENDOR_LABEL[vendor]} accelerator "
                  f"node{'s' if wanted != 1 else ''}") if nodes.visible else ""
            phrases.append(f"{label}{managed} ready{on} ({where})")

    # GPU Operator hint when no exporter was found.
    hints = []
    if not any(found.values()):
        for policy in view.list(CLUSTERPOLICIES).items:
            enabled = ((policy.get("spec") or {}).get("dcgmExporter") or {}).get("enabled")
            evidence.append(c.evidence(policy, "dcgmExporter disabled" if enabled is False else
                                       "dcgmExporter enabled" + ("" if enabled else " (default)")))
            hints.append(f"GPU Operator ClusterPolicy {c.name_of(policy)} "
                         + ("disables the DCGM exporter" if enabled is False else "enables the DCGM exporter"))
    hint = f" ({'; '.join(hints)})" if hints else ""

    if not nodes.visible:
        if any(s == "ok" for s in states.values()):
            return CheckResult(Status.PASS, f"{'; '.join(phrases)}; node coverage not checked "
                                            f"({nodes.why_unknown()}); {NOT_SAMPLED}", evidence)
        what = "; ".join(phrases) if phrases else "no healthy accelerator metrics exporter seen"
        return c.unknown(what, [nodes] + blind, evidence)

    accel_vendors = sorted(all_by_vendor)
    if not accel_vendors:
        where = f" ({'; '.join(phrases)})" if phrases else ""
        return CheckResult(Status.FAIL, f"no accelerator nodes found{where}: the requirement needs accelerators "
                                        f"whose metrics can be exported", evidence)
    missing = [v for v in accel_vendors if v != "other" and v not in states]
    total = sum(all_by_vendor.values())
    nodes_txt = ", ".join(f"{all_by_vendor[v]} {_VENDOR_LABEL.get(v, 'other')}" for v in accel_vendors) + \
        f" accelerator node{'s' if total != 1 else ''}"
    if missing and "other" not in states:
        phrases.append("no metrics exporter seen for the " + ", ".join(_VENDOR_LABEL[v] for v in missing) +
                       " accelerator nodes")
    message = "; ".join(phrases)
    covered = [v for v in accel_vendors if states.get(v) == "ok"]
    if covered and not missing and all(states.get(v) == "ok" for v in accel_vendors if v != "other"):
        return CheckResult(Status.PASS, f"{message}; {NOT_SAMPLED}", evidence)
    if covered or any(s in ("partial", "other", "idle") for s in states.values()):
        return CheckResult(Status.WARN, f"{message}; {NOT_SAMPLED}", evidence)
    if blind:
        return c.unknown(message or f"no accelerator metrics exporter found for the {nodes_txt}", blind, evidence)
    if gke_managed and not any(s == "broken" for s in states.values()):
        verb = "is" if total == 1 else "are"
        return CheckResult(Status.UNKNOWN, f"the {nodes_txt} {verb} GKE-managed and no exporter is visible: GKE "
                                           f"can collect accelerator metrics as a managed service, which is not "
                                           f"visible in the cluster", evidence)
    if any(s == "broken" for s in states.values()):
        return CheckResult(Status.FAIL, message, evidence)
    return CheckResult(Status.FAIL, f"no accelerator metrics exporter (DCGM exporter, AMD/Intel/Neuron exporters) "
                                    f"runs for the {nodes_txt}{hint}", evidence)


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


def _operator_managed(obj: dict) -> bool:
    labels = {**c.labels_of(obj), **_template_labels(obj)}
    return (_OPERATOR_MANAGED[0] in labels or labels.get("app.kubernetes.io/managed-by") == "prometheus-operator"
            or (obj.get("kind") == "StatefulSet" and labels.get("app.kubernetes.io/name") == "prometheus"
                and "prometheus" in labels))


def _prometheus_available(prom: dict) -> tuple[bool | None, str]:
    cond = c.condition(prom, "Available")
    if cond is not None:
        return str(cond.get("status")) == "True", c.condition_fact(prom, "Available")
    status = prom.get("status") or {}
    if "availableReplicas" in status:
        ready, wanted = int(status.get("availableReplicas") or 0), int(status.get("replicas") or 0)
        return ready > 0 and ready >= wanted, f"{ready}/{wanted} available"
    return None, "no status"


def _workload_monitors(view: ClusterView, system_namespaces: set[str]) -> list[dict]:
    """ServiceMonitors/PodMonitors (and managed equivalents) outside the monitoring stack's own namespaces."""
    monitors = []
    for res in (SERVICEMONITORS, PODMONITORS, AZURE_SERVICEMONITORS, AZURE_PODMONITORS, GMP_PODMONITORINGS,
                GMP_CLUSTERPODMONITORINGS):
        for mon in view.list(res).items:
            ns = _namespace(mon)
            if ns not in system_namespaces and not ns.startswith(("kube-", "openshift-", "gke-")):
                monitors.append(mon)
    return monitors


def _prometheus_operator(view: ClusterView, operators: list[dict], crds: list[dict],
                         statefulsets: list[dict]) -> c.Finding | None:
    own_crds = [crd for crd in crds if c.crd_group(crd) == "monitoring.coreos.com"]
    served = view.serves("monitoring.coreos.com", "prometheuses")
    if not (operators or own_crds or served):
        return None
    crd_ev = c.crd_evidence(view, [crd for crd in own_crds
                                   if c.crd_plural(crd) in ("prometheuses", "servicemonitors", "podmonitors")])
    if not operators:
        what = "Prometheus Operator CRDs are installed" if own_crds or served else ""
        return c.Finding(Status.WARN, Reason.PARTIAL, f"{what} but no Prometheus Operator was found", crd_ev)
    healthy, evidence, bad = c.workloads_health(operators)
    evidence += crd_ev
    if not served:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, "Prometheus Operator runs but the monitoring.coreos.com API is not served",
                         evidence)
    prometheuses = view.list(PROMETHEUSES)
    if not prometheuses.visible:
        ready = [s for s in statefulsets if c.workload_health(s)[0]]
        if healthy and ready:
            evidence += [c.evidence(s, c.workload_health(s)[1]) for s in ready[:EXAMPLES]]
            return c.Finding(Status.PASS, Reason.HEALTHY, f"Prometheus Operator runs ({c.name_of(operators[0])}) and its Prometheus "
                                          f"StatefulSet {c.name_of(ready[0])} is ready (Prometheus objects not "
                                          f"readable)", evidence)
        return c.Finding(Status.UNKNOWN, Reason.UNRECOGNISED, f"Prometheus Operator found but its Prometheus objects could not be read "
                                        f"({prometheuses.why_unknown()})", evidence)
    available, down = [], []
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
                            if available else ""), evidence)
    if available:
        return c.Finding(Status.PASS, Reason.HEALTHY, f"Prometheus Operator runs ({c.name_of(operators[0])}) with "
                                      f"{_plural(len(available), 'available Prometheus')} "
                                      f"({', '.join(c.name_of(p) for p in available[:EXAMPLES])})", evidence)
    if down:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"Prometheus Operator runs but no Prometheus is available ("
                         + "; ".join(f"{c.name_of(p)} {_prometheus_available(p)[1]}" for p in down[:EXAMPLES])
                         + ")", evidence)
    return c.Finding(Status.WARN, Reason.PARTIAL, "Prometheus Operator runs but no Prometheus instance is defined", evidence)


def _managed_prometheus(view: ClusterView, label: str, group: str, workloads: list[dict], crds: list[dict],
                        monitor_count: int) -> c.Finding | None:
    own_crds = [crd for crd in crds if c.crd_group(crd) == group]
    if not (workloads or own_crds):
        return None
    crd_ev = c.crd_evidence(view, own_crds[:EXAMPLES])
    if not workloads:
        monitors = f" with {_plural(monitor_count, 'monitoring object')}" if monitor_count else ""
        return c.Finding(Status.WARN, Reason.PARTIAL, f"{label} CRDs are installed{monitors} but its collectors are not visible "
                                         f"(managed)", crd_ev)
    healthy, evidence, bad = c.workloads_health(workloads)
    if not healthy:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"{label} collectors are not healthy ({'; '.join(bad)})", evidence + crd_ev)
    return c.Finding(Status.PASS, Reason.HEALTHY, f"{label} collectors run ({c.name_of(workloads[0])} "
                                  f"{c.workload_health(workloads[0])[1]})", evidence + crd_ev)


def _plain_collector(label: str, workloads: list[dict], pass_status: Status, note: str) -> c.Finding | None:
    if not workloads:
        return None
    healthy, evidence, bad = c.workloads_health(workloads)
    ready = [w for w in workloads if c.workload_health(w)[0]]
    if not ready:
        return c.Finding(Status.FAIL, Reason.UNHEALTHY, f"{label} is not healthy ({'; '.join(bad)})", evidence)
    return c.Finding(pass_status, Reason.HEALTHY if pass_status is Status.PASS else Reason.PARTIAL, f"{label} runs ({c.name_of(ready[0])} {c.workload_health(ready[0])[1]}); {note}",
                     evidence)


@requirement_check("ai_service_metrics", reads=(
    CRDS, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, PROMETHEUSES, SERVICEMONITORS, PODMONITORS, AZURE_SERVICEMONITORS,
    AZURE_PODMONITORS, GMP_PODMONITORINGS, GMP_CLUSTERPODMONITORINGS,
))
def ai_service_metrics(view: ClusterView) -> CheckResult:
    found, blind = c.match_workloads(view, _MONITORING_WORKLOADS)
    crd_listing = view.list(CRDS)
    if not crd_listing.visible:
        blind.append(crd_listing)
    crds = crd_listing.items
    managed_sts = [w for w in found["prometheus"] if _operator_managed(w)]
    plain = [w for w in found["prometheus"] if not _operator_managed(w)]
    operators = [w for w in found["prom-operator"] if "admission" not in c.name_of(w)]

    system_ns = {_namespace(w) for objs in found.values() for w in objs}
    monitors = _workload_monitors(view, system_ns)
    azure_count = len(view.list(AZURE_SERVICEMONITORS).items) + len(view.list(AZURE_PODMONITORS).items)
    gmp_count = len(view.list(GMP_PODMONITORINGS).items) + len(view.list(GMP_CLUSTERPODMONITORINGS).items)

    findings = [f for f in (
        _prometheus_operator(view, operators, crds, managed_sts),
        _managed_prometheus(view, "Azure Managed Prometheus", "azmonitoring.coreos.com", found["azure"], crds,
                            azure_count),
        _managed_prometheus(view, "Google Managed Prometheus", "monitoring.googleapis.com", found["gmp"], crds,
                            gmp_count),
        _plain_collector("Prometheus", plain, Status.PASS, "scrape configuration (e.g. annotation-based discovery) "
                                                           "not inspected"),
        _plain_collector("VictoriaMetrics", found["victoria"], Status.PASS, "scrape configuration not inspected"),
        _plain_collector("Grafana Alloy/Agent", found["alloy"], Status.WARN,
                         "whether it scrapes Prometheus endpoints is not visible"),
        _plain_collector("OpenTelemetry Collector", found["otel"], Status.WARN,
                         "whether it scrapes Prometheus endpoints is not visible"),
    ) if f]
    if not found["otel"] and any(c.crd_group(crd) == "opentelemetry.io" for crd in crds):
        findings.append(c.Finding(Status.WARN, Reason.PARTIAL, "OpenTelemetry Operator CRDs are installed but no collector runs",
                                  c.crd_evidence(view, [crd for crd in crds if c.crd_group(crd) == "opentelemetry.io"]
                                                 [:EXAMPLES])))
    if not found["victoria"] and any(c.crd_group(crd) == "operator.victoriametrics.com" for crd in crds):
        findings.append(c.Finding(Status.WARN, Reason.PARTIAL, "VictoriaMetrics Operator CRDs are installed but no vmagent runs",
                                  c.crd_evidence(view, [crd for crd in crds
                                                        if c.crd_group(crd) == "operator.victoriametrics.com"]
                                                 [:EXAMPLES])))
    if findings and monitors:
        best = min(findings, key=lambda f: c.CONFIDENCE[f.status])  # the first of the best, as decide() orders them
        best.summary += f"; {_plural(len(monitors), 'workload monitor')} outside the monitoring namespaces " \
                        f"(e.g. {monitors[0].get('kind')} {c.name_of(monitors[0])})"
        best.evidence += [c.evidence(m, "scrape configuration for a workload") for m in monitors[:EXAMPLES]]
    return c.decide(findings, blind, "no monitoring system found",
                    "no monitoring system found (looked for the Prometheus Operator, Prometheus, Azure and Google "
                    "managed Prometheus, VictoriaMetrics, Grafana Alloy and the OpenTelemetry Collector)")
