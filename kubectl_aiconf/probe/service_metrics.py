"""ai_service_metrics probe: a pod exposing Prometheus metrics, plus what the monitoring stack found needs to
discover it (a ServiceMonitor labelled the way the Prometheus instance selects them; or the
prometheus.io/scrape annotations for a plain Prometheus), confirmed by querying that Prometheus through the
API server's service proxy for the probe's series.

Pure: `choose_prometheus`, `manifests`, `judge`. Thin: `plan`'s execute. The sandbox runs no Prometheus
server: this probe is tested on recorded query and target answers only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from kubectl_aiconf.probe import kit
from kubectl_aiconf.probe.plan import PlanError, namespace_manifest
from kubectl_aiconf.result import CheckResult, Evidence

APP, METRIC, PORT = "aiconf-metrics", "aiconf_probe_info", 8080
PATH = "/metrics.txt"  # busybox httpd serves .txt as text/plain, the content type Prometheus requires
OPERATOR_GROUP = "monitoring.coreos.com"
# Services a plain Prometheus server is reached through (chart and kube-prometheus names), and their port.
PLAIN_SERVICES = ("prometheus-server", "prometheus", "prometheus-k8s")


@dataclass
class Target:
    """The Prometheus to query and how the probe gets itself scraped by it."""

    how: str  # "servicemonitor" or "annotations"
    service: str  # namespace/name:port of the Prometheus Service (proxy path part)
    monitor_labels: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def proxy(self) -> str:
        ns, rest = self.service.split("/", 1)
        return f"/api/v1/namespaces/{ns}/services/{rest}/proxy"


def _required_labels(selector: dict | None) -> dict[str, str] | None:
    """Labels an object needs to match `selector` (None when it cannot, e.g. a nil selector or NotIn only)."""
    if selector is None:
        return None
    labels = dict(selector.get("matchLabels") or {})
    for expr in selector.get("matchExpressions") or []:
        op, values = expr.get("operator"), expr.get("values") or []
        if op == "In" and values:
            labels[expr["key"]] = values[0]
        elif op == "Exists":
            labels[expr["key"]] = "true"
        elif op not in ("NotIn", "DoesNotExist"):
            return None
    return labels if kit.selector_matches(selector, labels) else None


def choose_prometheus(instances: list[dict], services: list[dict], ns_labels: dict) -> Target:
    """A Prometheus Operator instance that would select a ServiceMonitor in the probe namespace; else a
    plain Prometheus Service (annotations)."""
    why_not = []
    for prom in sorted(instances, key=lambda p: (p.get("metadata") or {}).get("name") or ""):
        meta, spec = prom.get("metadata") or {}, prom.get("spec") or {}
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        ns_selector = spec.get("serviceMonitorNamespaceSelector")
        if ns_selector is None:
            why_not.append(f"Prometheus {name} watches ServiceMonitors of its own namespace only")
            continue
        if not kit.selector_matches(ns_selector, ns_labels):
            why_not.append(f"Prometheus {name} does not watch the probe namespace (serviceMonitorNamespaceSelector)")
            continue
        labels = _required_labels(spec.get("serviceMonitorSelector"))
        if labels is None:
            why_not.append(f"Prometheus {name} selects no ServiceMonitor the probe can label for it")
            continue
        return Target(
            "servicemonitor",
            f"{meta.get('namespace')}/prometheus-operated:web",
            labels,
            f"Prometheus {name} selects ServiceMonitors labelled {labels or '(any)'} in the probe namespace",
        )
    for svc in services:
        meta = svc.get("metadata") or {}
        if meta.get("name") in PLAIN_SERVICES:
            port: dict = next(iter((svc.get("spec") or {}).get("ports") or []), {})
            return Target(
                "annotations",
                f"{meta.get('namespace')}/{meta.get('name')}:{port.get('name') or port.get('port') or 9090}",
                note=f"Prometheus Service {meta.get('namespace')}/{meta.get('name')}, scraping annotated pods"
                + (f" ({'; '.join(why_not)})" if why_not else ""),
            )
    raise PlanError(
        "no Prometheus the probe can be scraped by and query" + (f": {'; '.join(why_not)}" if why_not else "")
    )


def manifests(namespace: str, target: Target, image: str) -> list[dict]:
    script = (
        "mkdir -p /tmp/www && "
        f"printf '# TYPE {METRIC} gauge\\n{METRIC}{{probe=\"{namespace}\"}} 1\\n' > /tmp/www{PATH} && "
        f"exec httpd -f -p {PORT} -h /tmp/www"
    )
    pod_labels = kit.labels({"app.kubernetes.io/name": APP})
    pod: dict = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": APP, "namespace": namespace, "labels": pod_labels},
        "spec": kit.pod_spec(
            [kit.container("metrics", image, script, ports=[{"name": "metrics", "containerPort": PORT}])],
            restart="Always",
        ),
    }
    if target.how == "annotations":
        pod["metadata"]["annotations"] = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(PORT),
            "prometheus.io/path": PATH,
        }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": APP, "namespace": namespace, "labels": pod_labels},
        "spec": {"selector": {"app.kubernetes.io/name": APP}, "ports": [{"name": "metrics", "port": PORT}]},
    }
    objects = [pod, service]
    if target.how == "servicemonitor":
        objects.append(
            {
                "apiVersion": f"{OPERATOR_GROUP}/v1",
                "kind": "ServiceMonitor",
                "metadata": {"name": APP, "namespace": namespace, "labels": kit.labels(target.monitor_labels)},
                "spec": {
                    "selector": {"matchLabels": {"app.kubernetes.io/name": APP}},
                    "endpoints": [{"port": "metrics", "path": PATH, "interval": "5s"}],
                },
            }
        )
    return objects


def query_path(target: Target, namespace: str) -> str:
    expr = METRIC + '{probe="' + namespace + '"}'
    return f"{target.proxy}/api/v1/query?query={quote(expr)}"


def judge(
    query: dict | None,
    targets: dict | None,
    target: Target,
    namespace: str,
    waited: float,
    finished: bool,
    unreachable: str = "",
) -> CheckResult | None:
    """From Prometheus' answers to the query for the probe's series and to /api/v1/targets; None: wait on.
    `unreachable`: the API server's answer when the Prometheus Service has nothing behind it."""
    evidence = [Evidence("Probe plan", namespace, target.note)]
    if unreachable:
        return kit.unknown(
            f"Prometheus at {target.service} cannot be reached through the API server: {unreachable}", evidence
        )
    series = ((query or {}).get("data") or {}).get("result") or []
    if series:
        labels = series[0].get("metric") or {}
        value = (series[0].get("value") or [None, "?"])[1]
        evidence.append(Evidence("Prometheus query", target.service, f"{METRIC}{labels} = {value}"))
        return kit.passed(
            f"Prometheus ({target.service}) scraped the probe pod's metric {METRIC} within {waited:.0f}s, "
            f"discovered through {'a ServiceMonitor' if target.how == 'servicemonitor' else 'pod annotations'}",
            evidence,
        )
    ours = [
        t
        for t in ((targets or {}).get("data") or {}).get("activeTargets") or []
        if (t.get("labels") or {}).get("namespace") == namespace
        or (t.get("discoveredLabels") or {}).get("__meta_kubernetes_namespace") == namespace
    ]
    for t in ours:
        evidence.append(
            Evidence("Prometheus target", t.get("scrapeUrl") or "?", f"{t.get('health')}: {t.get('lastError') or ''}")
        )
    down = [t for t in ours if t.get("health") == "down" and t.get("lastError")]
    if down and finished:
        return kit.failed(f"Prometheus found the probe pod but cannot scrape it: {down[0]['lastError']}", evidence)
    if not finished:
        return None
    if query is None:
        return kit.unknown(f"Prometheus at {target.service} could not be queried through the API server", evidence)
    found = "found the probe pod but has no sample yet" if ours else "has not discovered the probe pod"
    return kit.unknown(f"after {waited:.0f}s Prometheus {found}", evidence)


# run --------------------------------------------------------------------------------------------------------
READS: tuple = ()


def plan(view, options):
    from kubectl_aiconf.view.live import ApiError

    conn = getattr(view, "conn", None)
    if conn is None:
        raise PlanError("needs a live cluster")
    ns = options.namespace
    try:
        instances = []
        if "v1" in view.group_versions(OPERATOR_GROUP):
            instances = conn.request("GET", f"/apis/{OPERATOR_GROUP}/v1/prometheuses").get("items") or []
        services = conn.request("GET", "/api/v1/services").get("items") or []
    except ApiError as exc:
        raise PlanError(f"the monitoring stack cannot be read: {exc}") from None
    labels = {**namespace_manifest(ns)["metadata"]["labels"], "kubernetes.io/metadata.name": ns}
    target = choose_prometheus(instances, services, labels)
    objects = manifests(ns, target, options.image)

    def execute(ctx) -> CheckResult:
        from kubectl_aiconf.view.live import ApiError

        kit.create_all(ctx, objects)
        ctx.progress(f"querying Prometheus through {target.proxy} until the probe's series arrives")

        def read():
            try:
                answer = ctx.conn.request("GET", query_path(target, ns))
            except ApiError as exc:
                if exc.status in (404, 503):  # no such Service, or nothing behind it: waiting will not help
                    return None, None, str(exc)
                raise
            try:
                targets = ctx.conn.request("GET", f"{target.proxy}/api/v1/targets?state=active")
            except ApiError:
                targets = None
            return answer, targets, ""

        def decide(seen, waited: float, over: bool) -> CheckResult | None:
            answer, targets, unreachable = seen or (None, None, "")
            return judge(answer, targets, target, ns, waited, over, unreachable)

        return kit.poll(ctx, read, decide)

    perms = [("get", "", "services", "proxy", target.service.split("/")[0])]
    return kit.part(objects, execute, [target.note, f"pod {APP} serving {METRIC} on :{PORT}{PATH}"], perms)
