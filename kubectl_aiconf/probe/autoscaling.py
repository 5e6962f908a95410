"""pod_autoscaling probe: a one-replica Deployment and an autoscaling/v2 HPA on a custom (or external) metric
the metrics APIs advertise; it passes when the HPA controller reports a current value of that metric.

The target is set so high that nothing scales: only the metric pipeline (API server aggregation, the adapter,
the HPA controller) is exercised. Pure: `choose_metric`, `plan`, `judge`. Thin: `run`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.probe import kit
from kubectl_aiconf.result import CheckResult, Evidence

CUSTOM, EXTERNAL = "custom.metrics.k8s.io", "external.metrics.k8s.io"
DEPLOYMENT, HPA = "aiconf-scale-target", "aiconf-custom-metric"
TARGET = "1000000000"  # far above any value: the HPA never wants more than one replica
# Words of metrics that belong to AI workloads; such a metric is preferred (the requirement's case).
_AI_WORDS = r"gpu|accelerator|dcgm|vllm|inference|tokens?|requests?|queue|kv_cache|npu|xpu|neuron|tpu"
# What the HPA controller says when the metrics API itself does not answer (not just lacks the series).
_PIPELINE_BROKEN = re.compile(
    r"could not find the requested resource|currently unable to handle the request|no matches for|"
    r"no known available metric versions|"
    r"service unavailable|connection refused|no endpoints available|failed to discover|"
    r"the server has asked for the client to provide credentials|forbidden",
    re.IGNORECASE,
)
HPA_CONDITIONS = ("ScalingActive", "AbleToScale", "ScalingLimited")


@dataclass(frozen=True)
class Metric:
    source: str  # "Pods" or "External"
    name: str

    def describe(self) -> str:
        return f"{'custom per-pod' if self.source == 'Pods' else 'external'} metric {self.name}"


def _ai_first(names: list[str]) -> list[str]:
    words = re.compile(_AI_WORDS, re.IGNORECASE)
    utilisation = {n for _, e in acc.exporters() for n in e.utilisation}
    memory = {n for _, e in acc.exporters() for n in e.memory}
    return sorted(names, key=lambda n: (n not in utilisation, n not in memory, not words.search(n), n))


def choose_metric(custom: list[str], external: list[str], wanted: str | None = None) -> tuple[Metric | None, str]:
    """The metric the probe's HPA uses, from the metrics APIs' discovery (custom: `pods/NAME`, ...; external:
    `NAME`), and why when there is none. `wanted` names one (custom per-pod unless only external has it)."""
    pods = [r.split("/", 1)[1] for r in custom if r.startswith("pods/")]
    ext = [r for r in external if r and "/" not in r and r != "externalmetrics"]  # KEDA's is not queryable alone
    if wanted:
        if wanted in ext and wanted not in pods:
            return Metric("External", wanted), ""
        return Metric("Pods", wanted), ""
    if pods:
        return Metric("Pods", _ai_first(pods)[0]), ""
    if ext:
        return Metric("External", _ai_first(ext)[0]), ""
    if custom or external:
        return None, "the metrics APIs advertise no per-pod custom metric and no external metric an HPA can name"
    return None, "neither custom.metrics.k8s.io nor external.metrics.k8s.io is served"


def manifests(namespace: str, metric: Metric, image: str) -> list[dict]:
    labels = kit.labels({"app.kubernetes.io/name": DEPLOYMENT})
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": namespace, "labels": kit.labels()},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": DEPLOYMENT}},
            "template": {
                "metadata": {"labels": labels},
                "spec": kit.pod_spec([kit.container("idle", image, "sleep 3600")], restart="Always"),
            },
        },
    }
    target = {"type": "AverageValue", "averageValue": TARGET}
    if metric.source == "Pods":
        spec_metric = {"type": "Pods", "pods": {"metric": {"name": metric.name}, "target": target}}
    else:
        spec_metric = {"type": "External", "external": {"metric": {"name": metric.name}, "target": target}}
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": HPA, "namespace": namespace, "labels": kit.labels()},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": DEPLOYMENT},
            "minReplicas": 1,
            "maxReplicas": 2,
            "metrics": [spec_metric],
        },
    }
    return [deployment, hpa]


def current_value(hpa: dict, metric: Metric) -> str | None:
    """The value the HPA controller reports for the metric, from status.currentMetrics."""
    key = metric.source.lower()
    for entry in (hpa.get("status") or {}).get("currentMetrics") or []:
        if entry.get("type") != metric.source:
            continue
        body = entry.get(key) or {}
        if (body.get("metric") or {}).get("name") != metric.name:
            continue
        current = body.get("current") or {}
        value = current.get("averageValue") or current.get("value")
        if value is not None:
            return str(value)
    return None


def _conditions(hpa: dict) -> str:
    shown = []
    for type_ in HPA_CONDITIONS:
        cond = kit.condition(hpa, type_)
        if cond:
            shown.append(f"{type_}={cond.get('status')} ({cond.get('reason')}: {cond.get('message') or ''})".rstrip())
    return "; ".join(shown) or "no conditions yet"


def judge(hpa: dict | None, metric: Metric, waited: float, finished: bool = True) -> CheckResult | None:
    """The verdict on the HPA as last read; None: wait on. `finished`: the time limit is over."""
    name = f"{((hpa or {}).get('metadata') or {}).get('namespace', '')}/{HPA}"
    if hpa is None:
        return None if not finished else kit.unknown(f"the HPA could not be read after {waited:.0f}s")
    value = current_value(hpa, metric)
    evidence = [
        Evidence("HorizontalPodAutoscaler", name, f"{metric.describe()}: {value or 'no value'}; {_conditions(hpa)}")
    ]
    if value is not None:
        return kit.passed(
            f"the HPA controller read the {metric.describe()} = {value} for the probe's Deployment after {waited:.0f}s",
            evidence,
        )
    active = kit.condition(hpa, "ScalingActive")
    message = active.get("message") or ""
    if active.get("status") == "False" and _PIPELINE_BROKEN.search(message):
        return kit.failed(f"the HPA controller cannot get the {metric.describe()}: {message}", evidence)
    if not finished:
        return None
    why = f": {message}" if message else ""
    return kit.unknown(
        f"the HPA reported no value for the {metric.describe()} within {waited:.0f}s{why} (an adapter may serve "
        "the metric only for pods that publish it)",
        evidence,
    )


# run --------------------------------------------------------------------------------------------------------
READS: tuple = ()  # discovery only, which every view has


def discovered(view, group: str) -> list[str]:
    """The metric resources of a metrics API (`pods/NAME`, ...), from its own discovery document: aggregated
    discovery folds them into subresources of `pods`, `namespaces`."""
    from kubectl_aiconf.view.live import ApiError, ConnectError

    names: list[str] = []
    conn = getattr(view, "conn", None)
    for version in view.group_versions(group):
        if conn is None:
            names += view.discovered_resources(group, version)
            continue
        try:
            doc = conn.request("GET", f"/apis/{group}/{version}")
        except (ApiError, ConnectError):
            continue  # an aggregated API that does not answer serves no metric
        names += [r.get("name") or "" for r in doc.get("resources") or []]
    return names


def plan(view, options):
    from kubectl_aiconf.probe.plan import PlanError

    metric, why = choose_metric(discovered(view, CUSTOM), discovered(view, EXTERNAL))
    if metric is None:
        raise PlanError(why)
    return make_part(options.namespace, metric, options.image)


def make_part(namespace: str, metric: Metric, image: str):
    objects = manifests(namespace, metric, image)
    hpa_path = kit.object_path(objects[1])

    def execute(ctx) -> CheckResult:
        kit.create_all(ctx, objects)
        ctx.progress(f"waiting for the HPA to report the {metric.describe()}, at most {ctx.remaining():.0f}s")
        return kit.poll(
            ctx, lambda: ctx.conn.request("GET", hpa_path), lambda hpa, t, over: judge(hpa, metric, t, over)
        )

    summary = [f"Deployment {DEPLOYMENT} (one idle pod) and HPA {HPA} on the {metric.describe()} (target {TARGET})"]
    return kit.part(objects, execute, summary)
