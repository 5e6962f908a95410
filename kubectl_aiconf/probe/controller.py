"""robust_controller probe: a minimal custom resource of the AI operator found (KubeRay's RayCluster) must be
reconciled (its controller writes its status), and an invalid one must be rejected by the operator's
validating admission webhook, when it has one.

The invalid RayCluster has two worker groups of the same name: the CRD schema accepts it, KubeRay's webhook
refuses it. Without a validating webhook for the resource, only the reconcile part is shown, and the evidence
says so. Pure: `webhooks_for`, `manifests`, `judge_invalid`, `judge`. Thin: `plan`'s execute.
"""

from __future__ import annotations

from kubectl_aiconf.probe import RECONCILE_WAIT, kit
from kubectl_aiconf.probe.plan import PlanError
from kubectl_aiconf.result import CheckResult, Evidence

GROUP, PLURAL = "ray.io", "rayclusters"
VALID, INVALID = "aiconf-raycluster", "aiconf-invalid-raycluster"


def webhooks_for(configs: list[dict], group: str = GROUP, plural: str = PLURAL) -> list[tuple[str, bool]]:
    """(name, must be called) of the validating webhooks whose rules cover CREATE of group/plural. A webhook
    with failurePolicy Ignore that cannot be reached lets every request through: its admitting one shows
    nothing."""
    out = []
    for config in configs:
        for hook in config.get("webhooks") or []:
            for rule in hook.get("rules") or []:
                groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
                ops = rule.get("operations") or []
                if (
                    (group in groups or "*" in groups)
                    and (plural in resources or "*" in resources)
                    and ("CREATE" in ops or "*" in ops)
                ):
                    name = f"{config['metadata']['name']}/{hook.get('name')}"
                    out.append((name, (hook.get("failurePolicy") or "Fail") == "Fail"))
                    break
    return out


def _group(name: str, image: str) -> dict:
    return {
        "groupName": name,
        "replicas": 0,
        "minReplicas": 0,
        "maxReplicas": 1,
        "rayStartParams": {},
        "template": {"spec": kit.pod_spec([kit.container("ray-worker", image, "sleep 60")], restart="Always")},
    }


def manifests(namespace: str, image: str) -> tuple[dict, dict]:
    """(the minimal valid RayCluster, the invalid one). Worker groups have 0 replicas: only the head pod is
    made, with the probe image (it need not run Ray: the status is what is judged)."""

    def cluster(name: str, groups: list[dict]) -> dict:
        return {
            "apiVersion": f"{GROUP}/v1",
            "kind": "RayCluster",
            "metadata": {"name": name, "namespace": namespace, "labels": kit.labels()},
            "spec": {
                "headGroupSpec": {
                    "rayStartParams": {},
                    "template": {
                        "spec": kit.pod_spec([kit.container("ray-head", image, "sleep 60")], restart="Always")
                    },
                },
                "workerGroupSpecs": groups,
            },
        }

    return cluster(VALID, [_group("workers", image)]), cluster(INVALID, [_group("same", image), _group("same", image)])


def judge_invalid(error: str | None, webhooks: list[tuple[str, bool]]) -> tuple[str, str]:
    """(PASS/FAIL/NONE, fact) for the invalid RayCluster: `error` is the API server's refusal (None: created)."""
    if error is not None:
        if "denied the request" in error:
            return "PASS", f"its webhook refused the invalid RayCluster (duplicate worker group names): {error}"
        if "failed calling webhook" in error:
            return "NONE", f"the webhook could not be called, so its judgement is not shown: {error}"
        return "NONE", f"the API server refused the invalid RayCluster itself, not a webhook: {error}"
    called = [name for name, must in webhooks if must]
    if called:
        return "FAIL", (
            f"the validating webhook {', '.join(called)} admitted a RayCluster with duplicate worker group names"
        )
    if webhooks:
        return "NONE", (
            f"the webhook {', '.join(n for n, _ in webhooks)} (failurePolicy Ignore) let the invalid RayCluster "
            "through: whether it was called cannot be told, so only reconciliation is shown"
        )
    return "NONE", "no validating webhook covers RayClusters, so only reconciliation is shown"


def reconciled(obj: dict | None) -> str:
    """What the controller wrote into the status ('' when nothing yet)."""
    status = (obj or {}).get("status") or {}
    if not status:
        return ""
    facts = [
        f"{k} {status[k]}" for k in ("state", "reason", "desiredWorkerReplicas", "lastUpdateTime") if status.get(k)
    ]
    facts += [f"{c.get('type')}={c.get('status')}" for c in (status.get("conditions") or [])[:3]]
    return ", ".join(facts) or "status written"


def judge(obj: dict | None, invalid: tuple[str, str], waited: float, finished: bool) -> CheckResult | None:
    """The verdict on the valid RayCluster as last read; None: wait on. `finished`: the time limit is over."""
    evidence = [Evidence("Probe RayCluster", INVALID, f"{invalid[0]}: {invalid[1]}")]
    ns = ((obj or {}).get("metadata") or {}).get("namespace") or ""
    if invalid[0] == "FAIL":
        return kit.failed(invalid[1], evidence)
    seen = reconciled(obj)
    if obj is not None:
        evidence.insert(0, Evidence("RayCluster", f"{ns}/{VALID}", f"status: {seen or 'none'}"))
    if seen:
        tail = f"; {invalid[1]}"
        return kit.passed(
            f"the KubeRay controller reconciled a RayCluster within {waited:.0f}s ({seen}){tail}", evidence
        )
    if not finished:
        return None
    return kit.failed(f"the KubeRay controller wrote no status on a new RayCluster within {waited:.0f}s", evidence)


# run --------------------------------------------------------------------------------------------------------
READS: tuple = ()


def plan(view, options):
    from kubectl_aiconf.view.live import ApiError

    conn = getattr(view, "conn", None)
    if conn is None:
        raise PlanError("needs a live cluster")
    if "v1" not in view.group_versions(GROUP):
        raise PlanError("no AI operator the probe drives is served (KubeRay: ray.io/v1 RayCluster)")
    try:
        configs = conn.request("GET", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations")
        hooks = webhooks_for(configs.get("items") or [])
    except ApiError as exc:
        raise PlanError(f"validating webhooks cannot be read: {exc}") from None
    valid, invalid = manifests(options.namespace, options.image)

    def execute(ctx) -> CheckResult:
        from kubectl_aiconf.view.live import ApiError

        kit.create_all(ctx, [valid])
        try:
            ctx.create(kit.collection_path(invalid), invalid)
            error = None
            ctx.progress(f"created RayCluster {INVALID}: it should have been refused")
        except ApiError as exc:
            error = str(exc)
            ctx.progress(f"RayCluster {INVALID} refused: {error}")
        verdict_invalid = judge_invalid(error, hooks)
        path = kit.object_path(valid)
        return kit.poll(
            ctx,
            lambda: ctx.conn.request("GET", path),
            lambda obj, t, over: judge(obj, verdict_invalid, t, over),
            RECONCILE_WAIT,
        )

    summary = [
        f"RayCluster {VALID} (head only, probe image) and {INVALID} (duplicate worker groups); webhooks: "
        + (", ".join(n for n, _ in hooks) or "none covers RayClusters")
    ]
    return kit.part([valid, invalid], execute, summary)
