"""Running a few probe pods to the end and reading their logs: what the probes other than the accelerator-isolation
one share (sandboxing, DRA, driver). The pods print `AICONF key=value` lines; the probe's verdict reads them.

Every wait ends at the suite's deadline; a pod the scheduler keeps calling unschedulable is given up earlier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubectl_aiconf.probe import UNSCHEDULABLE_GRACE
from kubectl_aiconf.probe.plan import _labels, _security_context
from kubectl_aiconf.probe.suite import Context
from kubectl_aiconf.view.live import ApiError

POLL_SECONDS = 0.5
PROBE_LABEL = "kubectl-aiconf/probe"  # which probe of the run a pod belongs to (they share the namespace)


@dataclass
class PodRun:
    """What happened to one probe pod: `state` is "done" (ran to completion, logs read) or why not:
    "failed", "unschedulable", "image", "error", "timeout"."""

    name: str
    state: str
    detail: str = ""
    node: str | None = None
    logs: dict[str, str] = field(default_factory=dict)  # container -> its log
    last: dict = field(default_factory=dict)  # the pod as last seen

    @property
    def ran(self) -> bool:
        return self.state == "done"


def keys(text: str) -> dict[str, list[str]]:
    """The `AICONF key=value` lines of a log, by key."""
    out: dict[str, list[str]] = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line.startswith("AICONF "):
            key, _, value = line[len("AICONF ") :].partition("=")
            out.setdefault(key, []).append(value)
    return out


def pod(
    namespace: str,
    name: str,
    probe: str,
    script: str,
    image: str,
    node: str | None = None,
    tolerations: list[dict] | None = None,
    runtime_class: str | None = None,
    timeout: float = 90.0,
) -> dict:
    """A pod that runs `script` once, without privileges (Pod Security "restricted"). Kept on `node` by node
    affinity on its name (the scheduler still places it: DRA claims and RuntimeClass scheduling need that)."""
    spec: dict = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": int(timeout) + 30,
        "terminationGracePeriodSeconds": 1,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "runAsGroup": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "probe",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", script],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                "securityContext": _security_context(),
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }
        ],
    }
    if node:
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                    ]
                }
            }
        }
    if tolerations:
        spec["tolerations"] = tolerations
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    labels = {**_labels(), PROBE_LABEL: probe}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }


def run_pods(
    ctx: Context, manifests: list[dict], on_poll: Callable[[dict[str, dict]], None] | None = None
) -> dict[str, PodRun]:
    """Create the pods, wait until each has finished (or cannot), read the logs of those that ran.
    `on_poll` sees every poll's pods by name (to read what exists only while they run, e.g. claims)."""
    from kubectl_aiconf.probe.run import pod_state

    for manifest in manifests:
        ctx.create(f"/api/v1/namespaces/{ctx.namespace}/pods", manifest)
        ctx.progress(f"created pod {manifest['metadata']['name']}")
    probe = manifests[0]["metadata"]["labels"][PROBE_LABEL] if manifests else ""
    pending = {m["metadata"]["name"] for m in manifests}
    runs: dict[str, PodRun] = {}
    unschedulable_since: dict[str, float] = {}
    announced: set[str] = set()
    while pending:
        listing = ctx.conn.request(
            "GET", f"/api/v1/namespaces/{ctx.namespace}/pods", query=[("labelSelector", f"{PROBE_LABEL}={probe}")]
        )
        live = {str((p.get("metadata") or {}).get("name")): p for p in listing.get("items") or []}
        if on_poll:
            on_poll(live)
        now = time.monotonic()
        for name in sorted(pending):
            obj = live.get(name)
            if obj is None:
                runs[name] = PodRun(name, "error", "the pod disappeared")
                continue
            node = (obj.get("spec") or {}).get("nodeName")
            state, detail = pod_state(obj)
            if state == "running" and name not in announced:
                announced.add(name)
                ctx.progress(f"pod {name} is running on {node}")
            if state in ("succeeded", "failed"):
                runs[name] = _collect(ctx, name, obj, state, detail)
            elif state in ("image", "error"):
                runs[name] = PodRun(name, state, detail, node, last=obj)
            elif state == "unschedulable":
                since = unschedulable_since.setdefault(name, now)
                if now - since >= UNSCHEDULABLE_GRACE:
                    runs[name] = PodRun(name, "unschedulable", f"unschedulable: {detail}", last=obj)
            else:
                unschedulable_since.pop(name, None)
            if name in runs:
                ctx.progress(
                    f"pod {name}: {runs[name].state}" + (f" ({runs[name].detail})" if runs[name].detail else "")
                )
        pending -= set(runs)
        if pending and ctx.remaining() <= 0:
            for name in sorted(pending):
                obj = live.get(name) or {}
                runs[name] = PodRun(
                    name, "timeout", _timed_out(obj, ctx.timeout), (obj.get("spec") or {}).get("nodeName"), last=obj
                )
                ctx.progress(f"pod {name}: {runs[name].detail}")
            break
        if pending:
            ctx.sleep(min(POLL_SECONDS, ctx.remaining()))
    return runs


def _timed_out(obj: dict, timeout: float) -> str:
    phase = (obj.get("status") or {}).get("phase") or "unknown"
    node = (obj.get("spec") or {}).get("nodeName")
    where = f" on {node}" if node else ", not scheduled"
    waiting = sorted(
        {
            ((cs.get("state") or {}).get("waiting") or {}).get("reason") or ""
            for cs in (obj.get("status") or {}).get("containerStatuses") or []
        }
        - {""}
    )
    return f"timed out after {timeout:.0f}s (still {phase}{where}{': ' + ', '.join(waiting) if waiting else ''})"


def _collect(ctx: Context, name: str, obj: dict, state: str, detail: str) -> PodRun:
    node = (obj.get("spec") or {}).get("nodeName")
    logs = {}
    for container in (obj.get("spec") or {}).get("containers") or []:
        cname = container.get("name")
        try:
            logs[cname] = ctx.conn.request(
                "GET",
                f"/api/v1/namespaces/{ctx.namespace}/pods/{name}/log",
                query=[("container", cname)],
                accept="application/json, */*",
                text=True,
            )
        except ApiError as exc:
            return PodRun(
                name, "failed" if state == "failed" else "error", f"{detail or 'no log'} ({exc})", node, logs, obj
            )
    if state == "failed" and not all("AICONF done" in text for text in logs.values()):
        return PodRun(name, "failed", detail, node, logs, obj)
    return PodRun(name, "done", "", node, logs, obj)


def events(ctx: Context, name: str) -> list[str]:
    """`Reason: message` of the events of pod `name`, newest last; none when they cannot be read (they only
    explain a verdict, never decide one alone)."""
    try:
        listing = ctx.conn.request(
            "GET",
            f"/api/v1/namespaces/{ctx.namespace}/events",
            query=[("fieldSelector", f"involvedObject.name={name}")],
        )
    except ApiError:
        return []
    items = sorted(listing.get("items") or [], key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return [f"{e.get('reason')}: {e.get('message')}" for e in items if e.get("reason")]
