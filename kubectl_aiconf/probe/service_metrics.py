"""ai_service_metrics probe: a pod exposing Prometheus metrics, plus what the monitoring stack found needs to
discover it (a ServiceMonitor labelled the way the Prometheus instance selects them; or the
prometheus.io/scrape annotations for a plain Prometheus), confirmed by querying that Prometheus through the
API server's service proxy for the probe's series. Without a Prometheus to query, on Google Managed Prometheus:
a PodMonitoring, confirmed by the target status its operator writes on it (its data goes to Cloud Monitoring,
which the API server cannot reach).

Pure: `choose_prometheus`, `manifests`, `judge`, `judge_podmonitoring`. Thin: `plan`'s execute. The sandbox
runs no Prometheus server: this probe is tested on recorded answers only.
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
GMP_GROUP = "monitoring.googleapis.com"  # Google Managed Prometheus
GMP_OPERATOR_CONFIG = f"/apis/{GMP_GROUP}/v1/namespaces/gmp-public/operatorconfigs/config"
# Services a plain Prometheus server is reached through (chart and kube-prometheus names), and their port.
PLAIN_SERVICES = ("prometheus-server", "prometheus", "prometheus-k8s")


@dataclass
class Target:
    """The Prometheus to query and how the probe gets itself scraped by it."""

    how: str  # "servicemonitor", "annotations" or "podmonitoring" (Google Managed Prometheus)
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


def choose_prometheus(instances: list[dict], services: list[dict], ns_labels: dict, gmp: bool = False) -> Target:
    """A Prometheus Operator instance that would select a ServiceMonitor in the probe namespace; else a
    plain Prometheus Service (annotations); else, where Google Managed Prometheus is served (`gmp`), a
    PodMonitoring."""
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
    if gmp:
        return Target(
            "podmonitoring",
            "",
            note="Google Managed Prometheus: a PodMonitoring, judged by the target status its operator writes"
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
    if target.how == "podmonitoring":
        objects.append(
            {
                "apiVersion": f"{GMP_GROUP}/v1",
                "kind": "PodMonitoring",
                "metadata": {"name": APP, "namespace": namespace, "labels": kit.labels()},
                "spec": {
                    "selector": {"matchLabels": {"app.kubernetes.io/name": APP}},
                    "endpoints": [{"port": "metrics", "path": PATH, "interval": "5s"}],
                },
            }
        )
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


def judge_podmonitoring(pm: dict | None, namespace: str, waited: float, finished: bool) -> CheckResult | None:
    """From the PodMonitoring's status (Google Managed Prometheus); None: wait on. Its operator writes
    `endpointStatuses` only where target status is enabled (OperatorConfig features.targetStatus)."""
    evidence = [Evidence("Probe plan", namespace, f"PodMonitoring {APP} for the probe pod's port metrics{PATH}")]
    status = (pm or {}).get("status") or {}
    for c in status.get("conditions") or []:
        said = f"{c.get('type')}={c.get('status')} {c.get('message') or ''}".strip()
        evidence.append(Evidence("PodMonitoring condition", APP, said))
        if c.get("type") == "ConfigurationCreateSuccess" and c.get("status") == "False" and finished:
            why = c.get("message") or c.get("reason")
            return kit.failed(f"the managed collectors refused the probe's PodMonitoring: {why}", evidence)
    endpoints = status.get("endpointStatuses") or []
    active = sum(int(e.get("activeTargets") or 0) for e in endpoints)
    unhealthy = sum(int(e.get("unhealthyTargets") or 0) for e in endpoints)
    # "unhealthy" also counts targets not scraped yet (health unknown): only a scrape that failed is a failure
    errors = [
        str(t["lastError"])
        for e in endpoints
        for g in e.get("sampleGroups") or []
        for t in g.get("sampleTargets") or []
        if t.get("health") == "down" and t.get("lastError")
    ]
    for e in endpoints:
        evidence.append(
            Evidence(
                "PodMonitoring target status",
                str(e.get("name") or APP),
                f"{e.get('activeTargets') or 0} active, "
                f"{e.get('unhealthyTargets') or 0} unhealthy, updated {e.get('lastUpdateTime') or '?'}",
            )
        )
    if active and not unhealthy:
        return kit.passed(
            f"Google Managed Prometheus scrapes the probe pod: its PodMonitoring reports {active} healthy "
            f"target{'s' if active > 1 else ''} within {waited:.0f}s",
            evidence,
        )
    if not finished:
        return None
    if errors:
        return kit.failed(f"Google Managed Prometheus found the probe pod but cannot scrape it: {errors[0]}", evidence)
    if unhealthy:
        return kit.unknown(
            f"after {waited:.0f}s the PodMonitoring reports {unhealthy} target not healthy, without a scrape error "
            "(not scraped yet)",
            evidence,
        )
    if pm is None:
        return kit.unknown("the probe's PodMonitoring could not be read", evidence)
    return kit.unknown(
        f"after {waited:.0f}s the PodMonitoring has no target status: its collectors' scrape cannot be seen from "
        "the cluster (enable targetStatus in OperatorConfig gmp-public/config, or query Cloud Monitoring)",
        evidence,
    )


# run --------------------------------------------------------------------------------------------------------
READS: tuple = ()


def gmp_without_target_status(conn) -> None:
    """Raise PlanError when Google Managed Prometheus is set up without target status (its default, also when
    there is no OperatorConfig): the PodMonitoring would then never show a scrape, and the probe would only
    wait. An OperatorConfig that cannot be read (forbidden) is no reason to stop."""
    from kubectl_aiconf.view.live import ApiError

    try:
        config = conn.request("GET", GMP_OPERATOR_CONFIG)
    except ApiError as exc:
        if exc.status != 404:  # forbidden or failed: cannot tell, so the probe runs and says what it saw
            return
        config = {}  # no OperatorConfig: GMP's defaults, target status off
    if not (((config.get("features") or {}).get("targetStatus") or {}).get("enabled")):
        raise PlanError(
            "Google Managed Prometheus reports no target status here (OperatorConfig gmp-public/config: "
            "features.targetStatus.enabled is off), so a scrape of the probe pod could not be seen; enable it "
            "to let the probe decide"
        )


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
    target = choose_prometheus(instances, services, labels, gmp="v1" in view.group_versions(GMP_GROUP))
    objects = manifests(ns, target, options.image)
    summary = [target.note, f"pod {APP} serving {METRIC} on :{PORT}{PATH}"]
    if target.how == "podmonitoring":
        gmp_without_target_status(conn)
        pm_path = f"/apis/{GMP_GROUP}/v1/namespaces/{ns}/podmonitorings/{APP}"

        def execute_gmp(ctx) -> CheckResult:
            kit.create_all(ctx, objects)
            ctx.progress(f"waiting for the target status of PodMonitoring {APP}")
            return kit.poll(
                ctx,
                lambda: ctx.conn.request("GET", pm_path),
                lambda pm, waited, over: judge_podmonitoring(pm, ns, waited, over),
            )

        return kit.part(objects, execute_gmp, summary, [("get", GMP_GROUP, "podmonitorings", "", ns)])

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
    return kit.part(objects, execute, summary, perms)
