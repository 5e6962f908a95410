"""cluster_autoscaling probe (opt-in: `--probe cluster_autoscaling --allow-scale-up`; never in the default set):
a pod asking for one accelerator that no current node can take must make the cluster autoscaler add a node
for it within the time limit. Afterwards the pod is deleted and, with Karpenter, the NodeClaim that launched
its node, so the node goes away; other autoscalers scale the empty node down themselves.

Pure: `choose_pool`, `manifest`, `judge`. Thin: `plan`'s execute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.probe import kit
from kubectl_aiconf.probe.plan import PlanError
from kubectl_aiconf.result import CheckResult, Evidence

POD = "aiconf-scale-up"
KARPENTER_GROUP = "karpenter.sh"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
DEFAULT_RESOURCE = "nvidia.com/gpu"


@dataclass
class Choice:
    resource: str
    pool: str | None  # Karpenter NodePool the pod is pinned to
    tolerations: list[dict]
    note: str


def choose_pool(nodepools: list[dict], nodes: list[dict]) -> Choice:
    """The accelerator resource to ask for, and the NodePool (Karpenter) whose taints the pod tolerates: a
    Ready pool with a limit on an accelerator resource first."""
    for pool in sorted(nodepools, key=lambda p: (p.get("metadata") or {}).get("name") or ""):
        name = (pool.get("metadata") or {}).get("name") or ""
        limits = (pool.get("spec") or {}).get("limits") or {}
        accel = [r for r in limits if acc.is_whole_accelerator_resource(r)]
        if not accel or kit.condition(pool, "Ready").get("status") == "False":
            continue
        taints = (((pool.get("spec") or {}).get("template") or {}).get("spec") or {}).get("taints") or []
        return Choice(accel[0], name, _tolerations(taints), f"NodePool {name} (limit {accel[0]}={limits[accel[0]]})")
    seen = sorted({r for n in nodes for r in acc.accelerator_resources((n.get("status") or {}).get("allocatable"))})
    whole = [r for r in seen if acc.is_whole_accelerator_resource(r)]
    resource = whole[0] if whole else DEFAULT_RESOURCE
    taints = [t for n in nodes for t in (n.get("spec") or {}).get("taints") or [] if t.get("key") == resource]
    return Choice(resource, None, _tolerations(taints), f"{resource} (seen on {'nodes' if whole else 'no node'})")


def _tolerations(taints: list[dict]) -> list[dict]:
    out = []
    for t in taints:
        tol = {"key": t.get("key"), "operator": "Exists", "effect": t.get("effect")}
        if tol not in out:
            out.append(tol)
    return out


def manifest(namespace: str, choice: Choice, image: str) -> dict:
    ct = kit.container("scale-up", image, "sleep 3600")
    ct["resources"] = {"requests": {choice.resource: "1"}, "limits": {choice.resource: "1"}}
    spec = kit.pod_spec([ct])
    if choice.tolerations:
        spec["tolerations"] = choice.tolerations
    if choice.pool:
        spec["nodeSelector"] = {NODEPOOL_LABEL: choice.pool}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": POD, "namespace": namespace, "labels": kit.labels()},
        "spec": spec,
    }


def judge(
    pod: dict | None, before: set[str], claims: list[str], limit: float, waited: float, finished: bool
) -> CheckResult | None:
    """`before`: the nodes there were before the pod; `claims`: NodeClaims made since (evidence)."""
    node = ((pod or {}).get("spec") or {}).get("nodeName")
    evidence = [Evidence("Probe pod", POD, f"node {node or 'none'} after {waited:.0f}s")]
    evidence += [Evidence("NodeClaim", c, "created for the probe's pod") for c in claims]
    if node and node not in before:
        return kit.passed(
            f"a pending accelerator pod made the autoscaler add node {node} within {waited:.0f}s", evidence
        )
    if node:
        return kit.unknown(f"the pod fitted node {node}, which was already there: nothing had to scale", evidence)
    if not finished:
        return None
    if pod is None:
        return kit.unknown("the probe pod could not be read", evidence)
    made = f" (NodeClaims {', '.join(claims)} were made, but no node took the pod)" if claims else ""
    return kit.failed(f"no node was added for a pending accelerator pod within the {limit:.0f}s limit{made}", evidence)


# run --------------------------------------------------------------------------------------------------------
READS: tuple = ()


def plan(view, options):
    from kubectl_aiconf.view.live import ApiError

    if not options.allow_scale_up:
        raise PlanError("it adds a node, which costs money: run it with --allow-scale-up")
    conn = getattr(view, "conn", None)
    if conn is None:
        raise PlanError("needs a live cluster")
    karpenter = "v1" in view.group_versions(KARPENTER_GROUP)
    try:
        pools = []
        if karpenter:
            pools = conn.request("GET", f"/apis/{KARPENTER_GROUP}/v1/nodepools").get("items") or []
        nodes = conn.request("GET", "/api/v1/nodes").get("items") or []
    except ApiError as exc:
        raise PlanError(f"nodes or NodePools cannot be read: {exc}") from None
    choice = choose_pool(pools, nodes)
    pod = manifest(options.namespace, choice, options.image)
    pod_path = kit.object_path(pod)

    def node_names() -> set[str]:
        return {
            (n.get("metadata") or {}).get("name") or "" for n in conn.request("GET", "/api/v1/nodes").get("items") or []
        }

    def claims_since(known: set[str]) -> list[dict]:
        if not karpenter:
            return []
        items = conn.request("GET", f"/apis/{KARPENTER_GROUP}/v1/nodeclaims").get("items") or []
        return [c for c in items if (c.get("metadata") or {}).get("name") not in known]

    def execute(ctx) -> CheckResult:
        before = node_names()
        known = {(c.get("metadata") or {}).get("name") or "" for c in claims_since(set())}
        kit.create_all(ctx, [pod])
        limit = ctx.remaining()
        ctx.progress(f"waiting for a new node for the pod, at most {limit:.0f}s")
        new: list[dict] = []
        node: list[str] = []

        def read():
            new[:] = claims_since(known)
            seen = ctx.conn.request("GET", pod_path)
            node[:] = [((seen or {}).get("spec") or {}).get("nodeName") or ""]
            return seen

        def decide(seen, waited: float, over: bool) -> CheckResult | None:
            return judge(seen, before, [(c.get("metadata") or {}).get("name") or "" for c in new], limit, waited, over)

        try:
            return kit.poll(ctx, read, decide)
        finally:
            _remove(ctx, pod_path, lambda: _claims_of_node(conn, claims_since(known), node[0] if node else ""))

    summary = [f"pod {POD} asking for one {choice.resource} ({choice.note})"]
    extra = [("delete", "", "pods", "", options.namespace), ("list", "", "nodes", "", "")]
    if karpenter:
        extra += [("list", KARPENTER_GROUP, "nodeclaims", "", ""), ("delete", KARPENTER_GROUP, "nodeclaims", "", "")]
    return kit.part([pod], execute, summary, extra, holds_devices=True)


def _claims_of_node(conn, claims: list[dict], node: str) -> list[dict]:
    """The NodeClaims (of those made during the probe) that launched `node`: only these are surely the probe's.
    A claim names its node in status.nodeName once the node registered; until then its status.providerID is
    the node's spec.providerID."""
    from kubectl_aiconf.view.live import ApiError, ConnectError

    if not node:
        return []
    try:  # a list (the verb the preflight checked) of the one node
        found = conn.request("GET", "/api/v1/nodes", query=[("fieldSelector", f"metadata.name={node}")]).get("items")
        provider = (((found or [{}])[0]).get("spec") or {}).get("providerID")
    except (ApiError, ConnectError):
        provider = None  # then the node's name alone matches its claim
    return [
        c
        for c in claims
        if (c.get("status") or {}).get("nodeName") == node
        or (provider and (c.get("status") or {}).get("providerID") == provider)
    ]


def _remove(ctx, pod_path: str, probe_claims: Callable[[], list[dict]]) -> None:
    """Delete the pod, then the NodeClaims made for it (read afresh: the last poll may predate the claim's
    status), so that the new node goes away."""
    from kubectl_aiconf.view.live import ApiError, ConnectError

    try:
        ctx.conn.request("DELETE", pod_path)
    except (ApiError, ConnectError) as exc:
        ctx.progress(f"could not delete the pod: {exc}")
    try:
        claims = probe_claims()
    except (ApiError, ConnectError) as exc:
        ctx.progress(f"could not read the NodeClaims to delete the probe's: {exc}; check them by hand")
        return
    for claim in claims:
        name = (claim.get("metadata") or {}).get("name")
        try:
            ctx.conn.request("DELETE", f"/apis/{KARPENTER_GROUP}/v1/nodeclaims/{name}")
            ctx.progress(f"deleted NodeClaim {name}: its node goes away")
        except (ApiError, ConnectError) as exc:
            ctx.progress(f"could not delete NodeClaim {name}: {exc}; delete it by hand")
