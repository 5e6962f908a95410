"""What the requirement probes of accelerator_metrics, ai_service_metrics, pod_autoscaling, ai_inference,
gang_scheduling, robust_controller and cluster_autoscaling share: manifests and where they are created, the
suite Part with the permissions its objects need, a small parser of the Prometheus text format, and the poll
loop that reads, decides and stops at the run's deadline.

Each of those modules has a pure part (the plan: manifests from what the plan read; `judge`: a CheckResult
from recorded API responses, scraped text or pod states) and a thin run part (`plan(view, options)` returning
the suite Part whose `execute` creates, polls and hands what it read to the pure part).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubectl_aiconf.probe.plan import COMPONENT, MANAGED_BY
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status

POLL_SECONDS = 1.0

# kind -> (plural, namespaced): what a plan may create; its apiVersion says where.
KINDS: dict[str, tuple[str, bool]] = {
    "Pod": ("pods", True),
    "Service": ("services", True),
    "Deployment": ("deployments", True),
    "Job": ("jobs", True),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", True),
    "LocalQueue": ("localqueues", True),
    "PodGroup": ("podgroups", True),
    "ServiceMonitor": ("servicemonitors", True),
    "PodMonitor": ("podmonitors", True),
    "PodMonitoring": ("podmonitorings", True),
    "Gateway": ("gateways", True),
    "HTTPRoute": ("httproutes", True),
    "RayCluster": ("rayclusters", True),
}


def group_of(obj: dict) -> str:
    gv = obj["apiVersion"]
    return gv.split("/")[0] if "/" in gv else ""


def collection_path(obj: dict) -> str:
    """Where `obj` is POSTed (its apiVersion decides the version, its kind the plural)."""
    plural, namespaced = KINDS[obj["kind"]]
    gv = obj["apiVersion"]
    base = f"/apis/{gv}" if "/" in gv else f"/api/{gv}"
    ns = (obj.get("metadata") or {}).get("namespace")
    return f"{base}/namespaces/{ns}/{plural}" if namespaced else f"{base}/{plural}"


def object_path(obj: dict) -> str:
    return f"{collection_path(obj)}/{obj['metadata']['name']}"


def labels(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The labels of everything a probe creates (`kubectl aiconf cleanup` finds leftovers by them)."""
    return {MANAGED_BY[0]: MANAGED_BY[1], COMPONENT[0]: COMPONENT[1], **(extra or {})}


def security_context() -> dict:
    """A container that Pod Security "restricted" admits."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context() -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container(name: str, image: str, script: str, cpu: str = "10m", ports: list[dict] | None = None) -> dict:
    out: dict = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script],
        "resources": {"requests": {"cpu": cpu, "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": security_context(),
    }
    if ports:
        out["ports"] = ports
    return out


def pod_spec(containers: list[dict], restart: str = "Never") -> dict:
    return {
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": 1,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "containers": containers,
    }


Permission = tuple[str, str, str, str, str]  # verb, group, resource, subresource, namespace ("" = cluster)


def permissions_for(objects: list[dict], extra: list[Permission] | None = None) -> list[Permission]:
    """Create and get of every kind a probe creates (in its namespace), plus what else it reads."""
    perms: list[Permission] = []
    for obj in objects:
        group, plural = group_of(obj), KINDS[obj["kind"]][0]
        ns = (obj.get("metadata") or {}).get("namespace") or ""
        perms += [("create", group, plural, "", ns), ("get", group, plural, "", ns)]
    return list(dict.fromkeys(perms + list(extra or [])))


def part(
    objects: list[dict],
    execute,
    summary: list[str],
    extra: list[Permission] | None = None,
    holds_devices: bool = False,
):
    """The suite's Part for a probe that creates `objects` (in order) and runs `execute(ctx)`."""
    from kubectl_aiconf.probe.suite import Part

    return Part(list(objects), permissions_for(objects, extra), execute, summary, holds_devices)


def create_all(ctx, objects: list[dict]) -> None:
    for obj in objects:
        ctx.create(collection_path(obj), obj)
        ctx.progress(f"created {obj['kind']} {obj['metadata']['name']}")


# Prometheus text format -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _labels_of(text: str) -> tuple[tuple[str, str], ...] | None:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if not match:
            return None if text[pos:].strip() else tuple(sorted(out))
        value = re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group(0)], match.group(2))
        out.append((match.group(1), value))
        pos = match.end()
    return tuple(sorted(out))


def parse_prometheus(text: str) -> tuple[list[Sample], list[str]]:
    """Samples of the Prometheus text exposition format, and the lines that are not valid samples."""
    samples, bad = [], []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        parsed = _labels_of(match.group(3) or "") if match else None
        if not match or parsed is None:
            bad.append(line)
            continue
        try:
            value = float(match.group(4))
        except ValueError:
            bad.append(line)
            continue
        samples.append(Sample(match.group(1), parsed, value))
    return samples, bad


def finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))


# results ----------------------------------------------------------------------------------------------------
def passed(message: str, evidence: list[Evidence]) -> CheckResult:
    return CheckResult(Status.PASS, f"probe passed: {message}", evidence, Reason.PROBE_PASSED)


def failed(message: str, evidence: list[Evidence]) -> CheckResult:
    return CheckResult(Status.FAIL, f"probe failed: {message}", evidence, Reason.PROBE_FAILED)


def unknown(message: str, evidence: list[Evidence] | None = None) -> CheckResult:
    return CheckResult(
        Status.UNKNOWN, f"probe could not decide: {message}", list(evidence or []), Reason.PROBE_INCONCLUSIVE
    )


def parse_time(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def condition(obj: dict, type_: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), {})


def poll(
    ctx,
    read: Callable[[], Any],
    decide: Callable[[Any, float, bool], CheckResult | None],
    limit: float | None = None,
) -> CheckResult:
    """Read and decide until `decide` has a verdict (None: wait on) or the run's deadline passes (or `limit`
    seconds, when sooner), when it must decide. A failed read counts as nothing read this time; the deadline
    still holds."""
    from kubectl_aiconf.view.live import ApiError, ConnectError

    started = time.monotonic()
    deadline = min(ctx.deadline, started + limit) if limit else ctx.deadline
    while True:
        try:
            seen = read()
        except (ApiError, ConnectError) as exc:
            ctx.progress(f"reading failed ({exc}); trying again")
            seen = None
        over = time.monotonic() >= deadline
        verdict = decide(seen, time.monotonic() - started, over)
        if verdict is not None:
            return verdict
        if over:
            return unknown(f"timed out after {time.monotonic() - started:.0f}s")
        ctx.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions) against labels. An empty selector matches
    everything, a missing one (None) nothing."""
    if selector is None:
        return False
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
