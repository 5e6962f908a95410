"""Scheduling & orchestration: gang scheduling, cluster autoscaling and pod autoscaling.

What each check recognises (schedulers, autoscalers, metrics adapters, accelerator resources and words) comes
from the knowledge registry; this module holds only how the cluster state is read and judged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kubectl_aiconf.checks import blind_reason, requirement_check, why_blind
from kubectl_aiconf.checks import common as c
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge import autoscalers, schedulers
from kubectl_aiconf.knowledge._base import Api, rx, search
from kubectl_aiconf.resources import (
    APISERVICES,
    AUTOSCALER_STATUS_CONFIGMAPS,
    CAPI_MACHINEDEPLOYMENTS,
    CRDS,
    DEPLOYMENTS,
    HPAS,
    KARPENTER_NODEPOOLS,
    KEDA_SCALEDOBJECTS,
    NODES,
    OPENSHIFT_CLUSTERAUTOSCALERS,
    RESOURCESLICES,
    STATEFULSETS,
    resource_for,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import plural
from kubectl_aiconf.view import ClusterView, Listing, Resource

EXAMPLES = 3  # objects of one kind shown as evidence; the message gives the total

Finding = c.Finding
_decide = c.decide
_health = c.workloads_health


def _examples(objs: list[dict], fact: str | Callable[[dict], str]) -> list[Evidence]:
    return [c.evidence(o, fact(o) if callable(fact) else fact) for o in objs[:EXAMPLES]]


def _matches(obj: dict, pattern: str) -> bool:
    """Whether a workload's name or one of its images matches `pattern`."""
    return search(pattern, (obj.get("metadata") or {}).get("name")) or any(
        search(pattern, i) for i in c.workload_images(obj)
    )


def _seen(listing: Listing) -> list[dict]:
    """The items of a listing, or none when it could not be read: for callers that report the listing as a
    blind spot themselves, so an empty result never stands for "none exist"."""
    return listing.items if listing.visible else []


def _and(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join(filter(None, (", ".join(words[:-1]), words[-1]))) if words else ""


def _kinds(kind: str) -> str:
    """The plural of a kind name without a count: 'PodGroups', 'Queues'."""
    return plural(2, kind).partition(" ")[2]


# gang_scheduling ------------------------------------------------------------------------------------------
# Every scheduler the registry knows is read and judged the same way: a new one is a record, no code.
def _queue_resource(queue: schedulers.Queue) -> Resource:
    return resource_for(queue.api)


def _usage_resource(sched: schedulers.GangScheduler) -> Resource | None:
    return resource_for(sched.usage) if sched.usage else None


_GANG_READS = tuple(
    dict.fromkeys(
        res for s in schedulers.GANG_SCHEDULERS for res in [*map(_queue_resource, s.queues), _usage_resource(s)] if res
    )
)
_GANG_COMPONENTS = {s.key: s.workloads.patterns for s in schedulers.SCHEDULERS if s.workloads.visible}


def _admits(queue: schedulers.Queue, obj: dict) -> bool:
    """Whether a queue object admits jobs: neither its condition nor its state says otherwise."""
    if queue.condition and c.condition(obj, queue.condition) is not None and not c.condition_true(obj, queue.condition):
        return False
    return not queue.state or ((obj.get("status") or {}).get("state") or queue.state) == queue.state


def _queue_fact(queue: schedulers.Queue, obj: dict) -> str:
    facts = [
        c.condition_fact(obj, queue.condition) if queue.condition else "",
        f"state {(obj.get('status') or {}).get('state') or 'unknown'}" if queue.state else "",
        f"{queue.parent} {(obj.get('spec') or {}).get(queue.parent)}" if queue.parent else "",
    ]
    return ", ".join(f for f in facts if f) or "configured"


def _queues(view: ClusterView, sched: schedulers.GangScheduler) -> tuple[str, str, list[Evidence], list[Listing]]:
    """('ok' | 'none' | 'blind', what its queues show, evidence, listings not read). Every kind of queue needs
    one that admits jobs (Kueue: an active ClusterQueue and an active LocalQueue)."""
    listings = [(queue, view.list(_queue_resource(queue))) for queue in sched.queues]
    blind = [listing for _, listing in listings if not listing.visible]
    if blind:
        return "blind", "its queues could not be read", [], blind
    evidence: list[Evidence] = []
    counts, lacking = [], []
    for queue, listing in listings:
        evidence += _examples(listing.items, functools.partial(_queue_fact, queue))
        admitting = [o for o in listing.items if _admits(queue, o)]
        kind, adjective = queue.api.kind, (queue.condition or queue.state).lower()
        if not admitting:
            lacking.append(
                f"no {kind} is {queue.condition or queue.state}" if listing.items else f"no {kind} is configured"
            )
        counts.append(plural(len(admitting), f"{adjective} {kind}".strip()))
    if lacking:
        return "none", lacking[0], evidence, []
    return "ok", _and(counts), evidence, []


def _podgroup_fact(group: dict) -> str:
    phase = (group.get("status") or {}).get("phase")
    return ", ".join(
        x for x in (f"phase {phase}" if phase else "", f"minMember {(group.get('spec') or {}).get('minMember')}") if x
    )


def _usage(view: ClusterView, sched: schedulers.GangScheduler) -> tuple[str, list[Evidence]]:
    """What shows the scheduler was used (admitted Workloads, running PodGroups), and examples."""
    resource = _usage_resource(sched)
    if resource is None:
        return "", []
    kind, condition = resource.kind, sched.usage_condition
    listing = view.list(resource)
    if not listing.visible:
        return f"{condition.lower()} {_kinds(kind)} not checked".strip(), []
    if condition:
        used = [o for o in listing.items if c.condition_true(o, condition)]
        if not used:
            return f"no {kind} {condition.lower()} yet", []
        return f"{plural(len(used), kind)} {condition.lower()}", _examples(used, f"{condition}=True")
    if not listing.items:
        return f"no {kind} yet", []
    if not sched.usage_phases:
        return plural(len(listing.items), kind), _examples(listing.items, _podgroup_fact)
    used = [o for o in listing.items if (o.get("status") or {}).get("phase") in sched.usage_phases]
    return (
        f"{plural(len(used), kind)} {'/'.join(p.lower() for p in sched.usage_phases)} of {len(listing.items)}",
        _examples(used or listing.items, _podgroup_fact),
    )


def _gang_family(
    view: ClusterView,
    sched: schedulers.GangScheduler,
    workloads: list[dict],
    crds: list[dict],
    workloads_blind: list[Listing],
) -> tuple[Finding | None, list[Listing]]:
    groups = {a.group for a in sched.apis}
    own_crds = [crd for crd in crds if c.crd_group(crd) in groups]
    missing = [a.qualified for a in sched.apis if not view.serves(a.group, a.plural)]
    if not workloads and not own_crds and len(missing) == len(sched.apis):
        return None, []
    crd_ev = c.crd_evidence(view, own_crds)
    if not workloads:
        if len(missing) == len(sched.apis):  # its CRDs exist, yet discovery serves none of their resources
            installed = f"{sched.name} CRDs exist (not Established)"
        else:
            installed = f"{sched.name} CRDs are installed"
        if workloads_blind:
            return Finding(
                Status.UNKNOWN,
                blind_reason(workloads_blind),
                f"{installed}; whether a {sched.name} controller runs cannot be told",
                crd_ev,
            ), []
        return Finding(
            Status.WARN, Reason.CRDS_ONLY, f"{installed} but no {sched.name} controller was found", crd_ev
        ), []
    healthy, work_ev, bad = _health(workloads)
    evidence = work_ev + crd_ev
    core = [w for w in workloads if _matches(w, sched.core)]
    if not core:
        return Finding(
            Status.FAIL, Reason.UNHEALTHY, f"{sched.name} components run but its scheduler does not", evidence
        ), []
    if not healthy:
        return Finding(
            Status.FAIL, Reason.UNHEALTHY, f"{sched.name} is installed but not healthy ({'; '.join(bad)})", evidence
        ), []
    if missing:
        return Finding(
            Status.FAIL,
            Reason.UNHEALTHY,
            f"{sched.name} runs but its API is not served ({', '.join(missing)})",
            evidence,
        ), []
    state, queues, queue_ev, blind = _queues(view, sched)
    usage, usage_ev = _usage(view, sched)
    evidence += queue_ev + usage_ev
    running = f"{sched.name} runs ({c.name_of(core[0])} {c.workload_health(core[0])[1]})"
    if state == "blind":
        return Finding(Status.UNKNOWN, blind_reason(blind), f"{running} but {queues}", evidence), blind
    if state == "none":
        return Finding(Status.WARN, Reason.PARTIAL, f"{running} but {queues}, so no job can be admitted", evidence), []
    detail = ", ".join(x for x in (queues, usage) if x)
    return Finding(
        Status.PASS, Reason.HEALTHY, f"{running}, API Established" + (f", {detail}" if detail else ""), evidence
    ), []


def _gang_hint(
    view: ClusterView, sched: schedulers.GangScheduler, workloads: list[dict], crds: list[dict]
) -> Finding | None:
    """A weaker sign: software whose all-or-nothing placement cannot be confirmed from the cluster state
    (the record's `hint` says why). At best a WARN; a broken controller of it FAILs."""
    groups = {a.group for a in sched.apis}
    own_crds = [crd for crd in crds if c.crd_group(crd) in groups]
    served = [a for a in sched.apis if view.serves(a.group, a.plural)]
    if not (workloads or own_crds or served):
        return None
    healthy, evidence, bad = _health(workloads)
    if not healthy:
        return Finding(
            Status.FAIL, Reason.UNHEALTHY, f"{sched.name} is installed but not healthy ({'; '.join(bad)})", evidence
        )
    evidence += c.crd_evidence(view, own_crds)
    crd_groups = {c.crd_group(crd) for crd in own_crds}
    versions = []
    for api in served:
        if api.group not in crd_groups:  # a built-in API (or its CRD not seen): discovery shows it
            found = [v for v in view.group_versions(api.group) if api.plural in view.discovered_resources(api.group, v)]
            versions.append(f"{api.group}/{'/'.join(found)}")
            evidence.append(Evidence("APIGroup", api.group, f"serves {api.plural} ({', '.join(found)})"))
    what = "runs" if workloads else "is installed" if own_crds else "is served"
    return Finding(Status.WARN, Reason.PARTIAL, f"{sched.name} {what} ({'; '.join(versions + [sched.hint])})", evidence)


@requirement_check("gang_scheduling", reads=(CRDS, DEPLOYMENTS) + _GANG_READS)
def gang_scheduling(view: ClusterView) -> CheckResult:
    # Every scheduler of the registry runs its controllers as Deployments.
    found, workloads_blind = c.match_workloads(view, _GANG_COMPONENTS, (DEPLOYMENTS,))
    crd_listing = view.list(CRDS)
    crds = _seen(crd_listing)
    blind = workloads_blind + c.blind_of(crd_listing)
    findings = []
    for sched in schedulers.SCHEDULERS:
        workloads = found.get(sched.key, [])
        if not sched.gang:
            findings.append(_gang_hint(view, sched, workloads, crds))
            continue
        finding, queue_blind = _gang_family(view, sched, workloads, crds, workloads_blind)
        findings.append(finding)
        blind += queue_blind
    return _decide(
        [f for f in findings if f],
        blind,
        "no gang scheduler found",
        f"no gang scheduler found (looked for {_and([s.name for s in schedulers.SCHEDULERS])})",
    )


# cluster_autoscaling --------------------------------------------------------------------------------------
_CA = autoscalers.CLUSTER_AUTOSCALER
_KARPENTER = autoscalers.KARPENTER
_AUTOSCALER_COMPONENTS = {r.key: r.workloads.patterns for r in autoscalers.CLUSTER_AUTOSCALERS if r.workloads.visible}
# Node labels naming the managed node pool a node belongs to, by platform; and those naming the pool an
# autoscaler provisioned it into (Karpenter's NodePool), by autoscaler.
_MANAGED_POOL_LABELS = {m.label: m.platform for m in autoscalers.MANAGED_NODE_POOLS}
_PROVISIONED_POOL_LABELS = {r.node_pool_label: r.key for r in autoscalers.CLUSTER_AUTOSCALERS if r.node_pool_label}


def _parse_ca_status(cm: dict) -> tuple[str | None, list[str]]:
    """(cluster-wide health, node group names) from the status ConfigMap, in the YAML (CA 1.30+) or text form."""
    import yaml

    text = str((cm.get("data") or {}).get("status") or "")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, dict) and ("clusterWide" in doc or "nodeGroups" in doc):
        health = ((doc.get("clusterWide") or {}).get("health") or {}).get("status")
        groups = [str(g["name"]) for g in doc.get("nodeGroups") or [] if isinstance(g, dict) and g.get("name")]
        return (str(health) if health else None), groups
    match = re.search(r"Cluster-wide:\s*\n\s*Health:\s*(\w+)", text)
    return (match.group(1) if match else None), re.findall(r"(?m)^\s*Name:\s*(\S+)", text)


def _args_node_groups(obj: dict) -> list[str]:
    """Node groups given to the Cluster Autoscaler on its command line."""
    groups = []
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in spec.get("containers") or []:
        for arg in container.get("args") or []:
            match = rx(_CA.node_group_arg).match(str(arg))
            if match:
                groups.append(match.group(1))
    return groups


def _mentions_pool(group: str, pools: set[str]) -> str | None:
    for pool in pools:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(pool)}(?![A-Za-z0-9])", group):
            return pool
    return None


def _nodepool_accelerators(nodepool: dict) -> str | None:
    """Why a Karpenter NodePool provisions accelerator nodes, or None."""
    spec = nodepool.get("spec") or {}
    for name in spec.get("limits") or {}:
        if acc.is_accelerator_request(name):
            return f"limits {name}"
    template = (spec.get("template") or {}).get("spec") or {}
    for req in template.get("requirements") or []:
        key, op, values = req.get("key") or "", req.get("operator") or "", req.get("values") or []
        if autoscalers.karpenter_accelerator_requirement(key, op, values):
            return f"requirement {key} {op} {','.join(map(str, values))}".strip()
    for taint in template.get("taints") or []:
        if acc.is_accelerator_taint(taint.get("key") or "", str(taint.get("value") or "")):
            return f"taint {taint.get('key')}" + (f"={taint['value']}" if taint.get("value") else "")
    return None


@dataclass
class _Nodes:
    accel_pools: set[str] = field(default_factory=set)  # pool / node group names holding accelerator nodes
    # {autoscaler key: its pools (Karpenter NodePools) holding accelerator nodes}
    provisioned_accel: dict[str, set[str]] = field(default_factory=dict)
    capi_accel: set[str] = field(default_factory=set)  # MachineDeployment names holding accelerator nodes
    managed: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (platform, pool) -> (node, label)
    blind: list[Listing] = field(default_factory=list)  # [the node listing] when it could not be read


def _scan_nodes(listing: Listing) -> _Nodes:
    if not listing.visible:
        return _Nodes(blind=[listing])
    out = _Nodes()
    for node in listing.items:
        labels = c.labels_of(node)
        accel = c.is_accelerator_node(node)
        for label, platform in _MANAGED_POOL_LABELS.items():
            if labels.get(label):
                out.managed.setdefault((platform, labels[label]), (c.name_of(node), label))
        for label, autoscaler in _PROVISIONED_POOL_LABELS.items():
            if labels.get(label) and accel:
                out.provisioned_accel.setdefault(autoscaler, set()).add(labels[label])
        if accel:
            out.accel_pools |= {
                labels[label] for label in (*_MANAGED_POOL_LABELS, *_PROVISIONED_POOL_LABELS) if labels.get(label)
            }
        owner = ((node.get("metadata") or {}).get("annotations") or {}).get(autoscalers.CAPI_OWNER_ANNOTATION)
        if accel and owner:
            out.capi_accel.add(owner.rpartition("-")[0] or owner)  # MachineSet <md>-<hash> -> MachineDeployment
    return out


def _cluster_autoscaler(
    view: ClusterView, workloads: list[dict], workloads_blind: list[Listing], nodes: _Nodes
) -> Finding | None:
    """The Cluster Autoscaler: upstream, OpenShift's, or Cluster API node groups annotated for it."""
    cms_listing = view.list(AUTOSCALER_STATUS_CONFIGMAPS)
    cms = _seen(cms_listing)
    ocp = _seen(view.list(OPENSHIFT_CLUSTERAUTOSCALERS))
    mds = [
        md
        for md in _seen(view.list(CAPI_MACHINEDEPLOYMENTS))
        if set(autoscalers.CLUSTER_API.annotations) <= set((md.get("metadata") or {}).get("annotations") or {})
    ]
    if not (cms or workloads or ocp or mds):
        return None
    evidence, coverage, problems, groups = [], [], [], []
    reported = bool(workloads)  # whether its health shows: in its Deployment, or in its status ConfigMap
    for cm in cms:
        health, cm_groups = _parse_ca_status(cm)
        groups += cm_groups
        evidence.append(
            c.evidence(cm, f"cluster-wide health {health or 'not reported'}, {plural(len(cm_groups), 'node group')}")
        )
        if health:
            reported = True
            if health != "Healthy":
                problems.append(f"status ConfigMap {c.name_of(cm)} reports {health}")
    _, work_ev, bad = _health(workloads)
    evidence += work_ev
    problems += bad
    for obj in workloads:
        groups += _args_node_groups(obj)
    for obj in ocp:
        limits: object = obj
        for key in autoscalers.OPENSHIFT.accelerator_limits.split("."):
            limits = limits.get(key) if isinstance(limits, dict) else None
        types = [str(g.get("type")) for g in limits if isinstance(g, dict)] if isinstance(limits, list) else []
        evidence.append(c.evidence(obj, f"GPU limits for {', '.join(types)}" if types else "no GPU resource limits"))
        if types:
            coverage.append(f"ClusterAutoscaler {c.name_of(obj)} limits {', '.join(types)}")
    for md in mds:
        ann = (md.get("metadata") or {}).get("annotations") or {}
        name = (md.get("metadata") or {}).get("name") or ""
        gpu = [
            f"{k.rpartition('/')[2]}={ann[k]}"
            for k in autoscalers.CAPI_GPU_ANNOTATIONS
            if ann.get(k) not in (None, "", "0")
        ]
        fact = f"autoscaled {'..'.join(str(ann.get(a)) for a in autoscalers.CLUSTER_API.annotations)}"
        if gpu or name in nodes.capi_accel:
            coverage.append(f"MachineDeployment {c.name_of(md)} ({', '.join(gpu) or 'holds accelerator nodes'})")
            fact += f", accelerators ({', '.join(gpu) or 'holds accelerator nodes'})"
        evidence.append(c.evidence(md, fact))
    for group in dict.fromkeys(groups):
        pool = _mentions_pool(group, nodes.accel_pools)
        if pool or autoscalers.is_accelerator_pool_name(group):
            coverage.append(f"node group {group}" + (f" (accelerator pool {pool})" if pool else ""))
    what = _CA.name
    if ocp:
        what = autoscalers.OPENSHIFT.name
    elif mds and not (cms or workloads):
        what = autoscalers.CLUSTER_API.name
    if coverage:
        cover = f"covers accelerators: {'; '.join(coverage[:EXAMPLES])}"
    elif nodes.blind:
        cover = "which node groups hold accelerator nodes cannot be told"
    else:
        cover = "no node group of accelerator nodes is visible in its configuration"
    if problems:
        return Finding(Status.FAIL, Reason.UNHEALTHY, f"{what} is not healthy ({'; '.join(problems)})", evidence)
    # Its health shows in its Deployment and in its status ConfigMap: either one unread may hide a problem.
    health_blind = workloads_blind + c.blind_of(cms_listing)
    if health_blind:
        seen = (
            f"{what} is healthy in what could be read"
            if reported
            else f"{what} found; whether a Cluster Autoscaler runs cannot be told"
        )
        return Finding(Status.UNKNOWN, blind_reason(health_blind), f"{seen}; {cover}", evidence)
    if not reported:
        if ocp:
            return Finding(
                Status.FAIL,
                Reason.UNHEALTHY,
                f"{what} is configured but no cluster-autoscaler Deployment or status is visible",
                evidence,
            )
        if cms:
            return Finding(
                Status.UNKNOWN, Reason.UNRECOGNISED, f"{what} found but its health is not reported; {cover}", evidence
            )
        return Finding(
            Status.UNKNOWN,
            Reason.MANAGED_NOT_VISIBLE,
            f"{what} are annotated but no Cluster Autoscaler "
            f"is visible (it usually runs in the management cluster); {cover}",
            evidence,
        )
    if coverage:
        return Finding(Status.PASS, Reason.HEALTHY, f"{what} is healthy and {cover}", evidence)
    if nodes.blind:
        return Finding(Status.UNKNOWN, blind_reason(nodes.blind), f"{what} is healthy, but {cover}", evidence)
    return Finding(Status.WARN, Reason.PARTIAL, f"{what} is healthy but {cover}", evidence)


def _all_served(view: ClusterView, apis: tuple[Api, ...]) -> bool:
    return all(view.serves(a.group, a.plural) for a in apis)


def _karpenter(
    view: ClusterView, workloads: list[dict], workloads_blind: list[Listing], nodes: _Nodes, crds: list[dict]
) -> Finding | None:
    pools_listing = view.list(KARPENTER_NODEPOOLS)
    pools = _seen(pools_listing)
    own_crds = [crd for crd in crds if c.crd_group(crd) in {a.group for a in _KARPENTER.apis}]
    if not (workloads or own_crds or _all_served(view, _KARPENTER.apis)):  # NodePools need it served
        return None
    evidence: list[Evidence] = []
    bad: list[str] = []
    controller = None
    if workloads:
        controller, work_ev, bad = _health(workloads)
        evidence += work_ev
    accel, ready = [], []
    for pool in pools:
        name = (pool.get("metadata") or {}).get("name") or ""
        why = _nodepool_accelerators(pool) or (
            "holds accelerator nodes" if name in nodes.provisioned_accel.get(_KARPENTER.key, ()) else None
        )
        cond = c.condition(pool, "Ready")
        pool_ok = cond is None or str(cond.get("status")) == "True"
        evidence.append(
            c.evidence(
                pool,
                ", ".join(x for x in (c.condition_fact(pool, "Ready"), f"accelerators: {why}" if why else None) if x),
            )
        )
        if c.condition_true(pool, "Ready"):
            ready.append(pool)
        if why and pool_ok:
            accel.append(f"NodePool {name} ({why})")
    if not pools:
        evidence += c.crd_evidence(view, own_crds)
        # A controller seen down fails whatever its NodePools say: a stopped Karpenter provisions nothing.
        if controller is False:
            return Finding(
                Status.FAIL, Reason.UNHEALTHY, f"Karpenter is installed but not healthy ({'; '.join(bad)})", evidence
            )
        if not pools_listing.visible:
            return Finding(
                Status.UNKNOWN,
                blind_reason([pools_listing]),
                "Karpenter API is served but its NodePools could not be read",
                evidence,
            )
        if controller and not _all_served(view, _KARPENTER.apis):
            return Finding(
                Status.FAIL,
                Reason.UNHEALTHY,
                f"Karpenter runs but its API is not served ({', '.join(a.qualified for a in _KARPENTER.apis)})",
                evidence,
            )
        if controller:
            return Finding(
                Status.WARN,
                Reason.PARTIAL,
                "Karpenter runs but no NodePool is defined, so it provisions nothing",
                evidence,
            )
        if workloads_blind:
            return Finding(
                Status.UNKNOWN,
                blind_reason(workloads_blind),
                "Karpenter CRDs are installed and no "
                "NodePool is defined; whether a Karpenter controller runs cannot be told",
                evidence,
            )
        return Finding(
            Status.WARN,
            Reason.CRDS_ONLY,
            "Karpenter CRDs are installed but no NodePool is defined and no Karpenter controller runs",
            evidence,
        )
    if controller is False:
        return Finding(
            Status.FAIL, Reason.UNHEALTHY, f"Karpenter controller is not healthy ({'; '.join(bad)})", evidence
        )
    if controller is None and workloads_blind:
        # A Ready NodePool proves a managed controller only when no broken one can hide in the cluster.
        return Finding(
            Status.UNKNOWN,
            blind_reason(workloads_blind),
            f"{plural(len(pools), 'Karpenter NodePool')} "
            f"({len(ready)} Ready), but whether a Karpenter controller runs cannot be told",
            evidence,
        )
    if controller is None:
        if ready:
            runs = "Karpenter NodePools are Ready (managed controller, not visible in the cluster)"
        elif all(c.condition(p, "Ready") is not None for p in pools):
            return Finding(
                Status.FAIL,
                Reason.UNHEALTHY,
                "Karpenter NodePools are not Ready and no Karpenter controller is visible",
                evidence,
            )
        else:
            return Finding(
                Status.UNKNOWN,
                Reason.MANAGED_NOT_VISIBLE,
                "Karpenter NodePools exist but report no Ready condition and the controller is not visible (managed?)",
                evidence,
            )
    else:
        runs = (
            f"Karpenter runs ({c.name_of(workloads[0])} {c.workload_health(workloads[0])[1]}) with "
            f"{plural(len(pools), 'NodePool')}"
        )
    if accel:
        return Finding(
            Status.PASS, Reason.HEALTHY, f"{runs}; accelerator NodePools: {'; '.join(accel[:EXAMPLES])}", evidence
        )
    if nodes.blind:
        return Finding(
            Status.UNKNOWN,
            blind_reason(nodes.blind),
            f"{runs}; no NodePool asks for accelerators, and which NodePools hold accelerator nodes cannot be told",
            evidence,
        )
    return Finding(Status.WARN, Reason.PARTIAL, f"{runs}, but no NodePool provisions accelerator nodes", evidence)


@requirement_check(
    "cluster_autoscaling",
    reads=(
        AUTOSCALER_STATUS_CONFIGMAPS,
        DEPLOYMENTS,
        NODES,
        CRDS,
        KARPENTER_NODEPOOLS,
        OPENSHIFT_CLUSTERAUTOSCALERS,
        CAPI_MACHINEDEPLOYMENTS,
    ),
)
def cluster_autoscaling(view: ClusterView) -> CheckResult:
    found, workloads_blind = c.match_workloads(view, _AUTOSCALER_COMPONENTS, (DEPLOYMENTS,))
    blind = workloads_blind + c.blind_of(
        *(
            view.list(res)
            for res in (
                AUTOSCALER_STATUS_CONFIGMAPS,
                NODES,
                CRDS,
                KARPENTER_NODEPOOLS,
                OPENSHIFT_CLUSTERAUTOSCALERS,
                CAPI_MACHINEDEPLOYMENTS,
            )
        )
    )
    nodes = _scan_nodes(view.list(NODES))
    findings = [
        f
        for f in (
            _cluster_autoscaler(view, found[_CA.key], workloads_blind, nodes),
            _karpenter(view, found[_KARPENTER.key], workloads_blind, nodes, _seen(view.list(CRDS))),
        )
        if f
    ]
    if nodes.managed:
        platforms = sorted({platform for platform, _ in nodes.managed})
        accel = sorted(pool for _, pool in nodes.managed if pool in nodes.accel_pools)
        ev = [
            Evidence(
                "Node",
                node,
                f"{platform} node pool {pool} ({label})"
                + (", accelerator node pool" if pool in nodes.accel_pools else ""),
            )
            for (platform, pool), (node, label) in sorted(nodes.managed.items())[: EXAMPLES * 2]
        ]
        if not findings:
            pools = plural(len(nodes.managed), "pool") + (
                f", accelerator pools: {', '.join(accel[:EXAMPLES])}" if accel else ", none with accelerators"
            )
            message = (
                f"managed {'/'.join(platforms)} node pools ({pools}): whether and how they autoscale is "
                "managed, not visible through the Kubernetes API"
            )
            if blind:
                return c.unknown(message, blind, ev)
            return CheckResult(Status.UNKNOWN, message, ev, Reason.MANAGED_NOT_VISIBLE)
        findings[0].evidence += ev
    return _decide(
        findings,
        blind,
        "no cluster autoscaler found",
        f"no cluster autoscaler found (looked for {_and([r.name for r in autoscalers.CLUSTER_AUTOSCALERS])}"
        f"); the requirement applies only when one is provided",
        Status.NA,
        Reason.NOT_APPLICABLE,
    )


# pod_autoscaling ------------------------------------------------------------------------------------------
_METRICS_APIS = {m.group: m for m in autoscalers.METRICS_APIS}
_CUSTOM_METRICS = tuple(m.group for m in autoscalers.METRICS_APIS if m.custom)  # AI/ML metrics, not only CPU/memory
_KEDA = autoscalers.KEDA
_POD_AUTOSCALER_COMPONENTS = {r.key: r.workloads.patterns for r in autoscalers.POD_AUTOSCALERS}


def _template_accelerator(obj: dict | None) -> str | None:
    """The accelerator a workload's pod template asks for (an extended resource that gives access to
    accelerators in any form, shares included, or a DRA claim), or None."""
    if not obj:
        return None
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        for section in ("limits", "requests"):
            for name in resources.get(section) or {}:
                if acc.is_accelerator_request(name):
                    return name
    if spec.get("resourceClaims"):
        return "a DRA resource claim"
    return None


def _hpa_metrics(hpa: dict) -> list[tuple[str, str]]:
    """[(type, metric name)] of an autoscaling/v2 HPA."""
    out = []
    for metric in (hpa.get("spec") or {}).get("metrics") or []:
        kind = metric.get("type") or ""
        body = metric.get(kind[:1].lower() + kind[1:]) or {}
        name = (body.get("metric") or {}).get("name") or body.get("name") or "?"
        out.append((kind, str(name)))
    return out


def _apiservice_state(view: ClusterView) -> tuple[dict[str, list[tuple[dict, bool]]], Listing]:
    listing = view.list(APISERVICES)
    by_group: dict[str, list[tuple[dict, bool]]] = {}
    for svc in _seen(listing):
        group = (svc.get("spec") or {}).get("group")
        if group in _METRICS_APIS:
            by_group.setdefault(group, []).append((svc, c.condition_true(svc, "Available")))
    return by_group, listing


def _apiservice_fact(svc: dict) -> str:
    service = (svc.get("spec") or {}).get("service") or {}
    backend = f", served by Service {service.get('namespace')}/{service.get('name')}" if service else ", local"
    return c.condition_fact(svc, "Available") + backend


def _metric_names(view: ClusterView, group: str) -> list[str]:
    names: dict[str, None] = {}  # an ordered set
    for version in view.group_versions(group):
        for resource in view.discovered_resources(group, version):
            names.setdefault(resource.rpartition("/")[2], None)
    return list(names)


@dataclass
class _Autoscalers:
    """HPAs and KEDA ScaledObjects that scale on custom or external metrics, as far as they could be read."""

    strong: list[Evidence] = field(default_factory=list)  # each scales a workload that requests accelerators
    shown: list[Evidence] = field(default_factory=list)  # a few of the others
    custom_hpas: int = 0  # HPAs on custom/external metrics (not generated by KEDA)
    blind: list[Listing] = field(default_factory=list)  # listings that could hide a strong one
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why


def _autoscalers(view: ClusterView) -> _Autoscalers:
    out = _Autoscalers()
    target_listings = [view.list(DEPLOYMENTS), view.list(STATEFULSETS)]
    targets = {}
    for listing in target_listings:
        for obj in _seen(listing):
            meta = obj.get("metadata") or {}
            targets[(meta.get("namespace"), obj.get("kind"), meta.get("name"))] = obj
    hpas, scaled = view.list(HPAS), view.list(KEDA_SCALEDOBJECTS)
    scaled_objects = _seen(scaled)
    for hpa in _seen(hpas):
        if scaled_objects and _KEDA.managed_hpa_label and _KEDA.managed_hpa_label.matches(c.labels_of(hpa)):
            continue  # generated from a ScaledObject, reported below
        custom = [(t, n) for t, n in _hpa_metrics(hpa) if t in ("Pods", "Object", "External")]
        if not custom:
            continue
        out.custom_hpas += 1
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        ns = (hpa.get("metadata") or {}).get("namespace")
        accel = _template_accelerator(targets.get((ns, ref.get("kind"), ref.get("name"))))
        fact = (
            f"{', '.join(f'{t} metric {n}' for t, n in custom)} on {ref.get('kind')} {ref.get('name')}"
            + (f" (requests {accel})" if accel else "")
            + f", {c.condition_fact(hpa, 'ScalingActive')}"
        )
        if accel:
            out.strong.append(c.evidence(hpa, fact))
        elif out.custom_hpas <= EXAMPLES:
            out.shown.append(c.evidence(hpa, fact))
    for so in scaled_objects:
        ref = (so.get("spec") or {}).get("scaleTargetRef") or {}
        ns = (so.get("metadata") or {}).get("namespace")
        accel = _template_accelerator(targets.get((ns, ref.get("kind") or "Deployment", ref.get("name"))))
        triggers = (so.get("spec") or {}).get("triggers") or []
        ai = [
            m
            for t in triggers
            for k, v in (t.get("metadata") or {}).items()
            if k in autoscalers.KEDA_METRIC_FIELDS
            for m in [autoscalers.ai_metric_name(str(v))]
            if m
        ]
        fact = (
            f"triggers {', '.join(str(t.get('type')) for t in triggers) or 'none'}"
            + (f" on AI/GPU metric {ai[0]}" if ai else "")
            + f" for {ref.get('kind') or 'Deployment'} {ref.get('name')}"
            + (f" (requests {accel})" if accel else "")
            + f", {c.condition_fact(so, 'Ready')}"
        )
        if accel:
            out.strong.append(c.evidence(so, fact))
        elif len(scaled_objects) <= EXAMPLES:
            out.shown.append(c.evidence(so, fact))
    for what, listing in (("HPAs", hpas), (f"{_KEDA.name} {_kinds(KEDA_SCALEDOBJECTS.kind)}", scaled)):
        if not listing.visible:
            out.blind.append(listing)
            out.notes.append(f"{what} not checked ({listing.why_unknown()})")
    unseen_targets = c.blind_of(*target_listings)
    if unseen_targets:
        out.blind += unseen_targets
        if len(out.strong) < out.custom_hpas + len(scaled_objects):
            out.notes.append(
                f"whether the workloads they scale request accelerators cannot be told ({why_blind(unseen_targets)})"
            )
    return out


def _accelerators_seen(view: ClusterView) -> tuple[bool, list[Listing]]:
    """(whether an accelerator node or an accelerator DRA device exists, listings that could hide one)."""
    accel_nodes, blind = c.accelerator_nodes(view)
    if accel_nodes:
        return True, []
    slices = view.list(RESOURCESLICES)
    if not slices.visible:
        return False, blind + [slices]
    drivers = {str((s.get("spec") or {}).get("driver") or "") for s in slices.items if c.slice_devices(s)}
    return any(c.is_accelerator_driver(d) and not c.is_example_driver(d) for d in drivers), blind


@requirement_check(
    "pod_autoscaling",
    reads=(
        APISERVICES,
        HPAS,
        DEPLOYMENTS,
        STATEFULSETS,
        KEDA_SCALEDOBJECTS,
        CRDS,
        NODES,
        RESOURCESLICES,
    ),
)
def pod_autoscaling(view: ClusterView) -> CheckResult:
    services, svc_listing = _apiservice_state(view)
    evidence: list[Evidence] = []
    available: list[tuple[str, dict | None]] = []  # (group, its APIService, or None when seen in discovery)
    broken: list[tuple[str, dict]] = []
    for group in _METRICS_APIS:
        for svc, ok in services.get(group, []):
            evidence.append(c.evidence(svc, _apiservice_fact(svc)))
            (available if ok else broken).append((group, svc))
    if not svc_listing.visible:
        # Discovery still tells whether the aggregated APIs answer: a listed metric means the adapter serves.
        for group in _CUSTOM_METRICS:
            metrics = _metric_names(view, group)
            if metrics:
                available.append((group, None))
                evidence.append(
                    Evidence(
                        "APIGroup",
                        group,
                        f"discovery lists {plural(len(metrics), 'metric')} (APIService status not readable)",
                    )
                )
    available_groups = {g for g, _ in available}

    # AI/GPU metrics the custom and external metrics APIs advertise.
    ai_metrics = []
    for group in _CUSTOM_METRICS:
        found_here = (
            [m for m in _metric_names(view, group) if autoscalers.ai_metric_name(m)]
            if group in available_groups
            else []
        )
        if found_here:
            evidence.append(
                Evidence(
                    "APIGroup",
                    group,
                    f"discovery lists AI/GPU metrics: {', '.join(found_here[:5])}"
                    + (f" (+{len(found_here) - 5} more)" if len(found_here) > 5 else ""),
                )
            )
        ai_metrics += found_here

    scalers = _autoscalers(view)
    found, presence_blind = c.match_workloads(view, _POD_AUTOSCALER_COMPONENTS, (DEPLOYMENTS,))
    crd_listing = view.list(CRDS)
    presence_blind += c.blind_of(crd_listing)
    own_crds = {
        r.key: [crd for crd in _seen(crd_listing) if c.crd_group(crd) in r.groups] for r in autoscalers.POD_AUTOSCALERS
    }
    evidence += scalers.shown
    for record in autoscalers.POD_AUTOSCALERS:
        evidence += _health(found[record.key])[1][:EXAMPLES] + c.crd_evidence(view, own_crds[record.key][:EXAMPLES])
    evidence = scalers.strong[: EXAMPLES * 2] + evidence

    notes = []
    if ai_metrics:
        notes.append(f"it lists AI/GPU metrics ({', '.join(ai_metrics[:3])})")
    if scalers.strong:
        notes.append(
            f"{plural(len(scalers.strong), 'autoscaler')} "
            f"{'scales' if len(scalers.strong) == 1 else 'scale'} accelerator workloads on "
            f"custom/external metrics"
        )
    elif scalers.custom_hpas:
        notes.append(
            f"{plural(scalers.custom_hpas, 'HPA')} {'uses' if scalers.custom_hpas == 1 else 'use'} "
            f"custom/external metrics, none on a workload seen to request accelerators"
        )
    notes += scalers.notes
    if available_groups & set(_CUSTOM_METRICS) and not ai_metrics and not scalers.strong and not scalers.blind:
        notes.append("no AI/GPU metric or accelerator autoscaler seen yet")
    broken_txt = "; ".join(f"{c.name_of(svc)} {c.condition_fact(svc, 'Available')}" for _, svc in broken)
    installed = [f"{r.name} CRDs" for r in autoscalers.POD_AUTOSCALERS if own_crds[r.key]]
    running = [f"{r.name} ({c.name_of(found[r.key][0])})" for r in autoscalers.POD_AUTOSCALERS if found[r.key]]
    result = _metrics_verdict(
        available_groups, broken_txt, svc_listing, notes, installed, running, presence_blind, evidence
    )
    if scalers.strong:
        return result
    # The requirement is about autoscaling pods that use accelerators. An autoscaler on a workload that
    # requests them shows it applies even while no accelerator node exists (a node pool scaled to zero);
    # without one, the cluster must hold an accelerator node or device.
    accelerators, accel_blind = _accelerators_seen(view)
    if accelerators:
        return result
    unseen = accel_blind + scalers.blind
    if unseen:
        return c.unknown(f"whether anything here uses accelerators cannot be told ({result.message})", unseen, evidence)
    return CheckResult(
        Status.NA,
        "no accelerator node or DRA accelerator device and no autoscaler on a workload "
        "requesting accelerators: the requirement concerns autoscaling pods that use accelerators"
        + ("" if result.status is Status.UNKNOWN else f" ({result.message})"),
        evidence,
        Reason.NO_ACCELERATORS,
        holds_despite_blind=True,
    )


def _metrics_verdict(
    available_groups: set[str],
    broken_txt: str,
    svc_listing: Listing,
    notes: list[str],
    installed: list[str],
    running: list[str],
    presence_blind: list[Listing],
    evidence: list[Evidence],
) -> CheckResult:
    """The verdict from the metrics APIs for the HPA, for a cluster with accelerators. `installed` and `running`
    name the pod autoscalers (KEDA, metrics adapters) whose CRDs or workloads were found.

    A verdict other than UNKNOWN rests on the APIService listing (or discovery) alone: unread autoscalers or
    workloads only add notes, so it holds whatever else could not be read.
    """
    custom_ok = available_groups & set(_CUSTOM_METRICS)
    if custom_ok:
        names = ", ".join(m.name for g, m in _METRICS_APIS.items() if g in custom_ok)
        notes = notes + ([f"unavailable: {broken_txt}"] if broken_txt else [])
        return CheckResult(
            Status.PASS,
            f"{names} available" + ("; " + "; ".join(notes) if notes else ""),
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )
    if available_groups - set(_CUSTOM_METRICS):
        message = (
            "only the resource metrics API (metrics-server) is available: HPAs can scale on CPU/memory but "
            "not on custom AI/ML metrics"
        )
        if broken_txt:
            message += f"; custom/external metrics APIService unavailable: {broken_txt}"
        return CheckResult(Status.WARN, message, evidence, Reason.PARTIAL, holds_despite_blind=True)
    if broken_txt:
        return CheckResult(
            Status.FAIL,
            f"metrics APIService registered but unavailable: {broken_txt}",
            evidence,
            Reason.UNHEALTHY,
            holds_despite_blind=True,
        )
    if not svc_listing.visible:
        return c.unknown("no custom, external or resource metrics API seen", [svc_listing], evidence)
    if installed or running:
        return CheckResult(
            Status.WARN,
            f"{_and(installed + running)} found but no custom, external or resource "
            "metrics APIService is registered, so no HPA can use them",
            evidence,
            Reason.PARTIAL if running else Reason.CRDS_ONLY,
            holds_despite_blind=True,
        )
    if presence_blind:
        return c.unknown(
            f"no metrics API for the HPA is registered, and whether "
            f"{' or '.join(r.name for r in autoscalers.POD_AUTOSCALERS)} is installed cannot be told",
            presence_blind,
            evidence,
        )
    return CheckResult(
        Status.FAIL,
        f"no metrics API for the HPA: none of {_and(list(_METRICS_APIS))} is registered",
        evidence,
        Reason.NOT_INSTALLED,
        holds_despite_blind=True,
    )
