"""Scheduling & orchestration: gang scheduling, cluster autoscaling and pod autoscaling."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from kubectl_aiconf.checks import blind_reason, requirement_check, why_blind
from kubectl_aiconf.checks import common as c
from kubectl_aiconf.resources import (
    APISERVICES,
    AUTOSCALER_STATUS_CONFIGMAPS,
    CAPI_MACHINEDEPLOYMENTS,
    COSCHEDULING_PODGROUPS,
    CRDS,
    DEPLOYMENTS,
    HPAS,
    KAI_PODGROUPS,
    KAI_QUEUES,
    KARPENTER_NODEPOOLS,
    KEDA_SCALEDOBJECTS,
    KUEUE_CLUSTERQUEUES,
    KUEUE_LOCALQUEUES,
    KUEUE_WORKLOADS,
    NODES,
    OPENSHIFT_CLUSTERAUTOSCALERS,
    RESOURCESLICES,
    STATEFULSETS,
    VOLCANO_PODGROUPS,
    VOLCANO_QUEUES,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import plural
from kubectl_aiconf.view import ClusterView, Listing

EXAMPLES = 3  # objects of one kind shown as evidence; the message gives the total

Finding = c.Finding
_decide = c.decide
_health = c.workloads_health


def _examples(objs: list[dict], fact) -> list[Evidence]:
    return [c.evidence(o, fact(o) if callable(fact) else fact) for o in objs[:EXAMPLES]]


def _matches(obj: dict, pattern: str) -> bool:
    regex = re.compile(pattern)
    return bool(regex.search((obj.get("metadata") or {}).get("name") or "")) or any(
        regex.search(i) for i in c.workload_images(obj))


def _seen(listing: Listing) -> list[dict]:
    """The items of a listing, or none when it could not be read: for callers that report the listing as a
    blind spot themselves, so an empty result never stands for "none exist"."""
    return listing.items if listing.visible else []


# gang_scheduling ------------------------------------------------------------------------------------------
_GANG_WORKLOADS = {
    "kueue": (r"^kueue-controller-manager$", r"/kueue/kueue(:|@|$)", ""),
    "volcano": (r"^volcano-(scheduler|controllers?|admission)$",
                r"volcanosh/vc-(scheduler|controller-manager|webhook-manager)(:|@|$)", ""),
    "kai": (r"^kai-", r"/kai-scheduler/", ""),
    "coscheduling": (r"^scheduler-plugins-(scheduler|controller)$", r"/scheduler-plugins/(kube-scheduler|controller)",
                     ""),
    "yunikorn": (r"^yunikorn-scheduler$", r"apache/yunikorn:scheduler", ""),
    "lws": (r"^lws-controller-manager$", r"/lws/lws(:|@|$)", ""),
}


@dataclass(frozen=True)
class _GangScheduler:
    key: str
    label: str
    apis: tuple[tuple[str, str], ...]  # (group, plural) the scheduler needs served
    core: str  # regex (name or image) of the scheduler proper among the family's workloads


_GANG_SCHEDULERS = (
    _GangScheduler("kueue", "Kueue", (("kueue.x-k8s.io", "clusterqueues"), ("kueue.x-k8s.io", "localqueues"),
                                      ("kueue.x-k8s.io", "workloads")), r"kueue"),
    _GangScheduler("volcano", "Volcano", (("scheduling.volcano.sh", "podgroups"), ("scheduling.volcano.sh", "queues")),
                   r"volcano-scheduler|vc-scheduler"),
    _GangScheduler("kai", "KAI Scheduler", (("scheduling.run.ai", "podgroups"), ("scheduling.run.ai", "queues")),
                   r"^kai-scheduler|/kai-scheduler/scheduler(:|@|$)"),
    _GangScheduler("coscheduling", "scheduler-plugins coscheduling", (("scheduling.x-k8s.io", "podgroups"),),
                   r"scheduler-plugins-scheduler|/scheduler-plugins/kube-scheduler"),
)


def _kueue_queues(view: ClusterView) -> tuple[str, str, list[Evidence], list[Listing]]:
    cqs, lqs = view.list(KUEUE_CLUSTERQUEUES), view.list(KUEUE_LOCALQUEUES)
    blind = [lst for lst in (cqs, lqs) if not lst.visible]
    if blind:
        return "blind", "its queues could not be read", [], blind
    active = [q for q in cqs.items if c.condition(q, "Active") is None or c.condition_true(q, "Active")]
    evidence = _examples(cqs.items, lambda q: c.condition_fact(q, "Active")) + _examples(
        lqs.items, lambda q: f"clusterQueue {(q.get('spec') or {}).get('clusterQueue')}")
    if not active:
        what = "no ClusterQueue is Active" if cqs.items else "no ClusterQueue is configured"
        return "none", what, evidence, []
    if not lqs.items:
        return "none", "no LocalQueue is configured", evidence, []
    return "ok", f"{plural(len(active), 'active ClusterQueue')} and {plural(len(lqs.items), 'LocalQueue')}", \
        evidence, []


def _volcano_queues(view: ClusterView) -> tuple[str, str, list[Evidence], list[Listing]]:
    queues = view.list(VOLCANO_QUEUES)
    if not queues.visible:
        return "blind", "its queues could not be read", [], [queues]
    open_ = [q for q in queues.items if ((q.get("status") or {}).get("state") or "Open") == "Open"]
    evidence = _examples(queues.items, lambda q: f"state {(q.get('status') or {}).get('state') or 'unknown'}")
    if not open_:
        return "none", "no Volcano Queue is Open", evidence, []
    return "ok", plural(len(open_), "open Queue"), evidence, []


def _kai_queues(view: ClusterView) -> tuple[str, str, list[Evidence], list[Listing]]:
    queues = view.list(KAI_QUEUES)
    if not queues.visible:
        return "blind", "its queues could not be read", [], [queues]
    if not queues.items:
        return "none", "no KAI Queue is configured", [], []
    return "ok", plural(len(queues.items), "Queue"), _examples(queues.items, "configured"), []


def _no_queues(view: ClusterView) -> tuple[str, str, list[Evidence], list[Listing]]:
    return "ok", "", [], []


def _kueue_usage(view: ClusterView) -> tuple[str, list[Evidence]]:
    listing = view.list(KUEUE_WORKLOADS)
    if not listing.visible:
        return "admitted Workloads not checked", []
    admitted = [w for w in listing.items if c.condition_true(w, "Admitted")]
    if not admitted:
        return "no Workload admitted yet", []
    return f"{plural(len(admitted), 'Workload')} admitted", _examples(admitted, "Admitted=True")


def _podgroup_usage(resource, running_phases: tuple[str, ...]):
    def usage(view: ClusterView) -> tuple[str, list[Evidence]]:
        listing = view.list(resource)
        if not listing.visible:
            return "PodGroups not checked", []
        if not listing.items:
            return "no PodGroup yet", []
        def facts(g: dict) -> str:
            phase = (g.get("status") or {}).get("phase")
            return ", ".join(x for x in (f"phase {phase}" if phase else "",
                                         f"minMember {(g.get('spec') or {}).get('minMember')}") if x)
        if not running_phases:
            return plural(len(listing.items), "PodGroup"), _examples(listing.items, facts)
        running = [g for g in listing.items if (g.get("status") or {}).get("phase") in running_phases]
        return (f"{plural(len(running), 'PodGroup')} running of {len(listing.items)}",
                _examples(running or listing.items, facts))
    return usage


_QUEUES = {"kueue": _kueue_queues, "volcano": _volcano_queues, "kai": _kai_queues, "coscheduling": _no_queues}
_USAGE = {
    "kueue": _kueue_usage,
    "volcano": _podgroup_usage(VOLCANO_PODGROUPS, ("Running",)),
    "kai": _podgroup_usage(KAI_PODGROUPS, ()),
    "coscheduling": _podgroup_usage(COSCHEDULING_PODGROUPS, ("Running", "Scheduled")),
}


def _gang_family(view: ClusterView, sched: _GangScheduler, workloads: list[dict], crds: list[dict],
                 workloads_blind: list[Listing]) -> tuple[Finding | None, list[Listing]]:
    groups = {g for g, _ in sched.apis}
    own_crds = [crd for crd in crds if c.crd_group(crd) in groups]
    missing = [f"{p}.{g}" for g, p in sched.apis if not view.serves(g, p)]
    if not workloads and not own_crds and len(missing) == len(sched.apis):
        return None, []
    crd_ev = c.crd_evidence(view, own_crds)
    if not workloads:
        if len(missing) == len(sched.apis):  # its CRDs exist, yet discovery serves none of their resources
            installed = f"{sched.label} CRDs exist (not Established)"
        else:
            installed = f"{sched.label} CRDs are installed"
        if workloads_blind:
            return Finding(Status.UNKNOWN, blind_reason(workloads_blind),
                           f"{installed}; whether a {sched.label} controller runs cannot be told", crd_ev), []
        return Finding(Status.WARN, Reason.CRDS_ONLY, f"{installed} but no {sched.label} controller was found",
                       crd_ev), []
    healthy, work_ev, bad = _health(workloads)
    evidence = work_ev + crd_ev
    core = [w for w in workloads if _matches(w, sched.core)]
    if not core:
        return Finding(Status.FAIL, Reason.UNHEALTHY, f"{sched.label} components run but its scheduler does not",
                       evidence), []
    if not healthy:
        return Finding(Status.FAIL, Reason.UNHEALTHY,
                       f"{sched.label} is installed but not healthy ({'; '.join(bad)})", evidence), []
    if missing:
        return Finding(Status.FAIL, Reason.UNHEALTHY,
                       f"{sched.label} runs but its API is not served ({', '.join(missing)})", evidence), []
    state, queues, queue_ev, blind = _QUEUES[sched.key](view)
    usage, usage_ev = _USAGE[sched.key](view)
    evidence += queue_ev + usage_ev
    running = f"{sched.label} runs ({c.name_of(core[0])} {c.workload_health(core[0])[1]})"
    if state == "blind":
        return Finding(Status.UNKNOWN, blind_reason(blind), f"{running} but {queues}", evidence), blind
    if state == "none":
        return Finding(Status.WARN, Reason.PARTIAL, f"{running} but {queues}, so no job can be admitted",
                       evidence), []
    detail = ", ".join(x for x in (queues, usage) if x)
    return Finding(Status.PASS, Reason.HEALTHY, f"{running}, API Established" + (f", {detail}" if detail else ""),
                   evidence), []


def _gang_hints(view: ClusterView, found: dict[str, list[dict]], crds: list[dict]) -> list[Finding]:
    """Weaker signs: schedulers whose gang mode cannot be confirmed from the cluster state, and grouping
    APIs that need a gang scheduler beside them."""
    hints = []
    if found["yunikorn"]:
        healthy, ev, bad = _health(found["yunikorn"])
        if healthy:
            hints.append(Finding(Status.WARN, Reason.PARTIAL, "YuniKorn scheduler runs (gang scheduling needs task "
                                 "groups on each application, not verifiable from the cluster state)", ev))
        else:
            hints.append(Finding(Status.FAIL, Reason.UNHEALTHY,
                                 f"YuniKorn is installed but not healthy ({'; '.join(bad)})", ev))
    lws_crds = [crd for crd in crds if c.crd_group(crd) == "leaderworkerset.x-k8s.io"]
    if found["lws"] or lws_crds or view.serves("leaderworkerset.x-k8s.io", "leaderworkersets"):
        ev = _health(found["lws"])[1] + c.crd_evidence(view, lws_crds)
        hints.append(Finding(Status.WARN, Reason.PARTIAL, "LeaderWorkerSet is installed (it groups pods but needs a "
                             "gang scheduler for all-or-nothing placement)", ev))
    if view.serves("scheduling.k8s.io", "workloads"):
        versions = [v for v in view.group_versions("scheduling.k8s.io")
                    if "workloads" in view.discovered_resources("scheduling.k8s.io", v)]
        hints.append(Finding(Status.WARN, Reason.PARTIAL, f"the native Workload API is served (scheduling.k8s.io/"
                             f"{'/'.join(versions)}, alpha; gang scheduling through it is not confirmed)",
                             [Evidence("APIGroup", "scheduling.k8s.io", f"serves workloads ({', '.join(versions)})")]))
    return hints


@requirement_check("gang_scheduling", reads=(
    CRDS, DEPLOYMENTS, KUEUE_CLUSTERQUEUES, KUEUE_LOCALQUEUES, KUEUE_WORKLOADS,
    VOLCANO_QUEUES, VOLCANO_PODGROUPS, KAI_QUEUES, KAI_PODGROUPS, COSCHEDULING_PODGROUPS,
))
def gang_scheduling(view: ClusterView) -> CheckResult:
    found, workloads_blind = c.match_workloads(view, _GANG_WORKLOADS, (DEPLOYMENTS,))  # all run as Deployments
    crd_listing = view.list(CRDS)
    crds = _seen(crd_listing)
    blind = workloads_blind + c.blind_of(crd_listing)
    findings = []
    for sched in _GANG_SCHEDULERS:
        finding, queue_blind = _gang_family(view, sched, found[sched.key], crds, workloads_blind)
        if finding:
            findings.append(finding)
            blind += queue_blind
    findings += _gang_hints(view, found, crds)
    return _decide(findings, blind, "no gang scheduler found",
                   "no gang scheduler found (looked for Kueue, Volcano, KAI Scheduler, scheduler-plugins "
                   "coscheduling, YuniKorn, LeaderWorkerSet and the native Workload API)")


# cluster_autoscaling --------------------------------------------------------------------------------------
_AUTOSCALER_WORKLOADS = {
    "ca": (r"^(?!.*operator).*cluster-autoscaler", r"/cluster-autoscaler(:|@|$)", ""),
    "karpenter": (r"^karpenter$", r"karpenter/controller(:|@|$)", ""),
}
# Node labels naming the managed node pool (or Karpenter NodePool) a node belongs to.
_POOL_LABELS = {
    "cloud.google.com/gke-nodepool": "GKE",
    "eks.amazonaws.com/nodegroup": "EKS",
    "kubernetes.azure.com/agentpool": "AKS",
    "karpenter.sh/nodepool": "Karpenter",
}
_CAPI_MIN = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
_CAPI_MAX = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"
_CAPI_GPU = ("capacity.cluster-autoscaler.kubernetes.io/gpu-count",
             "capacity.cluster-autoscaler.kubernetes.io/gpu-type")
_ACCEL_WORD = re.compile(r"(?i)gpu|nvidia|accelerator|tpu|neuron")
# Karpenter requirement keys that select accelerator instances (AWS, Azure, GKE-style labels).
_KARPENTER_ACCEL_KEY = re.compile(r"(?i)gpu|accelerator|neuron|tpu")
_KARPENTER_ACCEL_VALUE = re.compile(r"(?i)^(g|p|inf|trn|dl)(\d.*)?$|^standard_n[cdv]|gpu")


def _parse_ca_status(cm: dict) -> tuple[str | None, list[str]]:
    """(cluster-wide health, node group names) from the status ConfigMap, in the YAML (CA 1.30+) or text form."""
    text = str((cm.get("data") or {}).get("status") or "")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, dict) and ("clusterWide" in doc or "nodeGroups" in doc):
        health = (((doc.get("clusterWide") or {}).get("health") or {}).get("status"))
        groups = [str(g["name"]) for g in doc.get("nodeGroups") or [] if isinstance(g, dict) and g.get("name")]
        return (str(health) if health else None), groups
    match = re.search(r"Cluster-wide:\s*\n\s*Health:\s*(\w+)", text)
    return (match.group(1) if match else None), re.findall(r"(?m)^\s*Name:\s*(\S+)", text)


def _args_node_groups(obj: dict) -> list[str]:
    """Node groups given to the Cluster Autoscaler as --nodes=min:max:name."""
    groups = []
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in spec.get("containers") or []:
        for arg in container.get("args") or []:
            match = re.match(r"--nodes=\d+:\d+:(.+)", str(arg))
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
    for name in (spec.get("limits") or {}):
        if c.ACCELERATOR_RESOURCE.match(name):
            return f"limits {name}"
    template = (spec.get("template") or {}).get("spec") or {}
    for req in template.get("requirements") or []:
        key, op, values = req.get("key") or "", req.get("operator") or "", req.get("values") or []
        if op in ("NotIn", "DoesNotExist", "Lt"):
            continue
        if _KARPENTER_ACCEL_KEY.search(key):
            return f"requirement {key} {op} {','.join(map(str, values))}".strip()
        if key.endswith(("instance-category", "instance-family", "instance-type", "sku-family")) and any(
                _KARPENTER_ACCEL_VALUE.search(str(v)) for v in values):
            return f"requirement {key} {op} {','.join(map(str, values))}"
    for taint in template.get("taints") or []:
        if c.ACCELERATOR_RESOURCE.match(taint.get("key") or ""):
            return f"taint {taint.get('key')}"
    return None


@dataclass
class _Nodes:
    accel_pools: set[str] = field(default_factory=set)  # pool / node group names holding accelerator nodes
    karpenter_accel: set[str] = field(default_factory=set)  # Karpenter NodePools holding accelerator nodes
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
        for label, platform in _POOL_LABELS.items():
            pool = labels.get(label)
            if not pool:
                continue
            if platform != "Karpenter":
                out.managed.setdefault((platform, pool), (c.name_of(node), label))
            if accel:
                out.accel_pools.add(pool)
                if platform == "Karpenter":
                    out.karpenter_accel.add(pool)
        owner = ((node.get("metadata") or {}).get("annotations") or {}).get("cluster.x-k8s.io/owner-name")
        if accel and owner:
            out.capi_accel.add(owner.rpartition("-")[0] or owner)  # MachineSet <md>-<hash> -> MachineDeployment
    return out


def _cluster_autoscaler(view: ClusterView, workloads: list[dict], workloads_blind: list[Listing],
                        nodes: _Nodes) -> Finding | None:
    """The Cluster Autoscaler: upstream, OpenShift's, or Cluster API node groups annotated for it."""
    cms_listing = view.list(AUTOSCALER_STATUS_CONFIGMAPS)
    cms = _seen(cms_listing)
    ocp = _seen(view.list(OPENSHIFT_CLUSTERAUTOSCALERS))
    mds = [md for md in _seen(view.list(CAPI_MACHINEDEPLOYMENTS))
           if {_CAPI_MIN, _CAPI_MAX} <= set((md.get("metadata") or {}).get("annotations") or {})]
    if not (cms or workloads or ocp or mds):
        return None
    evidence, coverage, problems, groups = [], [], [], []
    reported = bool(workloads)  # whether its health shows: in its Deployment, or in its status ConfigMap
    for cm in cms:
        health, cm_groups = _parse_ca_status(cm)
        groups += cm_groups
        evidence.append(c.evidence(cm, f"cluster-wide health {health or 'not reported'}, "
                                       f"{plural(len(cm_groups), 'node group')}"))
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
        gpus = (((obj.get("spec") or {}).get("resourceLimits") or {}).get("gpus")) or []
        types = [str(g.get("type")) for g in gpus if isinstance(g, dict)]
        evidence.append(c.evidence(obj, f"GPU limits for {', '.join(types)}" if types else "no GPU resource limits"))
        if types:
            coverage.append(f"ClusterAutoscaler {c.name_of(obj)} limits {', '.join(types)}")
    for md in mds:
        ann = (md.get("metadata") or {}).get("annotations") or {}
        name = (md.get("metadata") or {}).get("name") or ""
        gpu = [f"{k.rpartition('/')[2]}={ann[k]}" for k in _CAPI_GPU if ann.get(k) not in (None, "", "0")]
        fact = f"autoscaled {ann.get(_CAPI_MIN)}..{ann.get(_CAPI_MAX)}"
        if gpu or name in nodes.capi_accel:
            coverage.append(f"MachineDeployment {c.name_of(md)} ({', '.join(gpu) or 'holds accelerator nodes'})")
            fact += f", accelerators ({', '.join(gpu) or 'holds accelerator nodes'})"
        evidence.append(c.evidence(md, fact))
    for group in dict.fromkeys(groups):
        pool = _mentions_pool(group, nodes.accel_pools)
        if pool or _ACCEL_WORD.search(group):
            coverage.append(f"node group {group}" + (f" (accelerator pool {pool})" if pool else ""))
    what = "Cluster Autoscaler"
    if ocp:
        what = "OpenShift ClusterAutoscaler"
    elif mds and not (cms or workloads):
        what = "Cluster API autoscaler node groups"
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
        seen = f"{what} is healthy in what could be read" if reported else \
            f"{what} found; whether a Cluster Autoscaler runs cannot be told"
        return Finding(Status.UNKNOWN, blind_reason(health_blind), f"{seen}; {cover}", evidence)
    if not reported:
        if ocp:
            return Finding(Status.FAIL, Reason.UNHEALTHY, f"{what} is configured but no cluster-autoscaler "
                           "Deployment or status is visible", evidence)
        if cms:
            return Finding(Status.UNKNOWN, Reason.UNRECOGNISED, f"{what} found but its health is not reported; "
                           f"{cover}", evidence)
        return Finding(Status.UNKNOWN, Reason.MANAGED_NOT_VISIBLE, f"{what} are annotated but no Cluster Autoscaler "
                       f"is visible (it usually runs in the management cluster); {cover}", evidence)
    if coverage:
        return Finding(Status.PASS, Reason.HEALTHY, f"{what} is healthy and {cover}", evidence)
    if nodes.blind:
        return Finding(Status.UNKNOWN, blind_reason(nodes.blind), f"{what} is healthy, but {cover}", evidence)
    return Finding(Status.WARN, Reason.PARTIAL, f"{what} is healthy but {cover}", evidence)


def _karpenter(view: ClusterView, workloads: list[dict], workloads_blind: list[Listing], nodes: _Nodes,
               crds: list[dict]) -> Finding | None:
    pools_listing = view.list(KARPENTER_NODEPOOLS)
    pools = _seen(pools_listing)
    own_crds = [crd for crd in crds if c.crd_group(crd) == "karpenter.sh"]
    if not (workloads or own_crds or view.serves("karpenter.sh", "nodepools")):  # NodePools need it served
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
        why = _nodepool_accelerators(pool) or ("holds accelerator nodes" if name in nodes.karpenter_accel else None)
        cond = c.condition(pool, "Ready")
        pool_ok = cond is None or str(cond.get("status")) == "True"
        evidence.append(c.evidence(pool, ", ".join(x for x in (c.condition_fact(pool, "Ready"),
                                                                 f"accelerators: {why}" if why else None) if x)))
        if c.condition_true(pool, "Ready"):
            ready.append(pool)
        if why and pool_ok:
            accel.append(f"NodePool {name} ({why})")
    if not pools:
        evidence += c.crd_evidence(view, own_crds)
        if not pools_listing.visible:
            return Finding(Status.UNKNOWN, blind_reason([pools_listing]),
                           "Karpenter API is served but its NodePools could not be read", evidence)
        if controller is False:
            return Finding(Status.FAIL, Reason.UNHEALTHY,
                           f"Karpenter is installed but not healthy ({'; '.join(bad)})", evidence)
        if controller and not view.serves("karpenter.sh", "nodepools"):
            return Finding(Status.FAIL, Reason.UNHEALTHY, "Karpenter runs but its API is not served "
                           "(nodepools.karpenter.sh)", evidence)
        if controller:
            return Finding(Status.WARN, Reason.PARTIAL, "Karpenter runs but no NodePool is defined, so it "
                           "provisions nothing", evidence)
        if workloads_blind:
            return Finding(Status.UNKNOWN, blind_reason(workloads_blind), "Karpenter CRDs are installed and no "
                           "NodePool is defined; whether a Karpenter controller runs cannot be told", evidence)
        return Finding(Status.WARN, Reason.CRDS_ONLY, "Karpenter CRDs are installed but no NodePool is defined and "
                       "no Karpenter controller runs", evidence)
    if controller is False:
        return Finding(Status.FAIL, Reason.UNHEALTHY,
                       f"Karpenter controller is not healthy ({'; '.join(bad)})", evidence)
    if controller is None and workloads_blind:
        # A Ready NodePool proves a managed controller only when no broken one can hide in the cluster.
        return Finding(Status.UNKNOWN, blind_reason(workloads_blind), f"{plural(len(pools), 'Karpenter NodePool')} "
                       f"({len(ready)} Ready), but whether a Karpenter controller runs cannot be told", evidence)
    if controller is None:
        if ready:
            runs = "Karpenter NodePools are Ready (managed controller, not visible in the cluster)"
        elif all(c.condition(p, "Ready") is not None for p in pools):
            return Finding(Status.FAIL, Reason.UNHEALTHY, "Karpenter NodePools are not Ready and no Karpenter "
                           "controller is visible", evidence)
        else:
            return Finding(Status.UNKNOWN, Reason.MANAGED_NOT_VISIBLE, "Karpenter NodePools exist but report no "
                           "Ready condition and the controller is not visible (managed?)", evidence)
    else:
        runs = f"Karpenter runs ({c.name_of(workloads[0])} {c.workload_health(workloads[0])[1]}) with " \
               f"{plural(len(pools), 'NodePool')}"
    if accel:
        return Finding(Status.PASS, Reason.HEALTHY, f"{runs}; accelerator NodePools: {'; '.join(accel[:EXAMPLES])}",
                       evidence)
    if nodes.blind:
        return Finding(Status.UNKNOWN, blind_reason(nodes.blind), f"{runs}; no NodePool asks for accelerators, and "
                       "which NodePools hold accelerator nodes cannot be told", evidence)
    return Finding(Status.WARN, Reason.PARTIAL, f"{runs}, but no NodePool provisions accelerator nodes", evidence)


@requirement_check("cluster_autoscaling", reads=(
    AUTOSCALER_STATUS_CONFIGMAPS, DEPLOYMENTS, NODES, CRDS, KARPENTER_NODEPOOLS,
    OPENSHIFT_CLUSTERAUTOSCALERS, CAPI_MACHINEDEPLOYMENTS,
))
def cluster_autoscaling(view: ClusterView) -> CheckResult:
    found, workloads_blind = c.match_workloads(view, _AUTOSCALER_WORKLOADS, (DEPLOYMENTS,))
    blind = workloads_blind + c.blind_of(*(view.list(res) for res in (
        AUTOSCALER_STATUS_CONFIGMAPS, NODES, CRDS, KARPENTER_NODEPOOLS, OPENSHIFT_CLUSTERAUTOSCALERS,
        CAPI_MACHINEDEPLOYMENTS)))
    nodes = _scan_nodes(view.list(NODES))
    findings = [f for f in (_cluster_autoscaler(view, found["ca"], workloads_blind, nodes),
                            _karpenter(view, found["karpenter"], workloads_blind, nodes, _seen(view.list(CRDS))))
                if f]
    if nodes.managed:
        platforms = sorted({platform for platform, _ in nodes.managed})
        accel = sorted(pool for _, pool in nodes.managed if pool in nodes.accel_pools)
        ev = [Evidence("Node", node, f"{platform} node pool {pool} ({label})"
                       + (", accelerator node pool" if pool in nodes.accel_pools else ""))
              for (platform, pool), (node, label) in sorted(nodes.managed.items())[:EXAMPLES * 2]]
        if not findings:
            pools = plural(len(nodes.managed), "pool") + (
                f", accelerator pools: {', '.join(accel[:EXAMPLES])}" if accel else ", none with accelerators")
            message = f"managed {'/'.join(platforms)} node pools ({pools}): whether and how they autoscale is " \
                      "managed, not visible through the Kubernetes API"
            if blind:
                return c.unknown(message, blind, ev)
            return CheckResult(Status.UNKNOWN, message, ev, Reason.MANAGED_NOT_VISIBLE)
        findings[0].evidence += ev
    return _decide(findings, blind, "no cluster autoscaler found",
                   "no cluster autoscaler found (looked for the Cluster Autoscaler, Karpenter, OpenShift "
                   "ClusterAutoscaler and Cluster API autoscaler annotations); the requirement applies only when "
                   "one is provided", Status.NA, Reason.NOT_APPLICABLE)


# pod_autoscaling ------------------------------------------------------------------------------------------
_METRICS_APIS = {
    "custom.metrics.k8s.io": "custom metrics API",
    "external.metrics.k8s.io": "external metrics API",
    "metrics.k8s.io": "resource metrics API",
}
_AI_WORDS = (r"dcgm_|gpu|vllm|sglang|tgi_|triton|nv_inference|neuron|tpu|accelerator|kv_cache|num_requests|tokens|"
             r"time_to_first_token|inference")
_AI_METRIC = re.compile(rf"(?i){_AI_WORDS}")
_AI_METRIC_TOKEN = re.compile(rf"(?i)[a-z0-9_:]*(?:{_AI_WORDS})[a-z0-9_:]*")
_KEDA_WORKLOADS = {
    "keda": (r"^keda-operator$", r"kedacore/keda(:|@|$)", ""),
    "adapter": (r"prometheus-adapter", r"prometheus-adapter(:|@|$)", ""),
}


def _template_accelerator(obj: dict | None) -> str | None:
    """The accelerator a workload's pod template asks for (extended resource or DRA claim), or None."""
    if not obj:
        return None
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        for section in ("limits", "requests"):
            for name in resources.get(section) or {}:
                if c.ACCELERATOR_RESOURCE.match(name):
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
        if scaled_objects and c.labels_of(hpa).get("app.kubernetes.io/managed-by") == "keda-operator":
            continue  # generated from a ScaledObject, reported below
        custom = [(t, n) for t, n in _hpa_metrics(hpa) if t in ("Pods", "Object", "External")]
        if not custom:
            continue
        out.custom_hpas += 1
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        ns = (hpa.get("metadata") or {}).get("namespace")
        accel = _template_accelerator(targets.get((ns, ref.get("kind"), ref.get("name"))))
        fact = f"{', '.join(f'{t} metric {n}' for t, n in custom)} on {ref.get('kind')} {ref.get('name')}" + (
            f" (requests {accel})" if accel else "") + f", {c.condition_fact(hpa, 'ScalingActive')}"
        if accel:
            out.strong.append(c.evidence(hpa, fact))
        elif out.custom_hpas <= EXAMPLES:
            out.shown.append(c.evidence(hpa, fact))
    for so in scaled_objects:
        ref = (so.get("spec") or {}).get("scaleTargetRef") or {}
        ns = (so.get("metadata") or {}).get("namespace")
        accel = _template_accelerator(targets.get((ns, ref.get("kind") or "Deployment", ref.get("name"))))
        triggers = (so.get("spec") or {}).get("triggers") or []
        ai = [m.group(0) for t in triggers for k, v in (t.get("metadata") or {}).items()
              if k in ("query", "metricName", "metric") for m in [_AI_METRIC_TOKEN.search(str(v))] if m]
        fact = f"triggers {', '.join(str(t.get('type')) for t in triggers) or 'none'}" + (
            f" on AI/GPU metric {ai[0]}" if ai else "") + \
            f" for {ref.get('kind') or 'Deployment'} {ref.get('name')}" \
            + (f" (requests {accel})" if accel else "") + f", {c.condition_fact(so, 'Ready')}"
        if accel:
            out.strong.append(c.evidence(so, fact))
        elif len(scaled_objects) <= EXAMPLES:
            out.shown.append(c.evidence(so, fact))
    for what, listing in (("HPAs", hpas), ("KEDA ScaledObjects", scaled)):
        if not listing.visible:
            out.blind.append(listing)
            out.notes.append(f"{what} not checked ({listing.why_unknown()})")
    unseen_targets = c.blind_of(*target_listings)
    if unseen_targets:
        out.blind += unseen_targets
        if len(out.strong) < out.custom_hpas + len(scaled_objects):
            out.notes.append(f"whether the workloads they scale request accelerators cannot be told "
                             f"({why_blind(unseen_targets)})")
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


@requirement_check("pod_autoscaling", reads=(
    APISERVICES, HPAS, DEPLOYMENTS, STATEFULSETS, KEDA_SCALEDOBJECTS, CRDS, NODES, RESOURCESLICES,
))
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
        for group in ("custom.metrics.k8s.io", "external.metrics.k8s.io"):
            metrics = _metric_names(view, group)
            if metrics:
                available.append((group, None))
                evidence.append(Evidence("APIGroup", group, f"discovery lists {plural(len(metrics), 'metric')} "
                                                            f"(APIService status not readable)"))
    available_groups = {g for g, _ in available}
    custom_ok = available_groups & {"custom.metrics.k8s.io", "external.metrics.k8s.io"}

    # AI/GPU metrics the custom metrics API advertises.
    ai_metrics = [m for m in _metric_names(view, "custom.metrics.k8s.io") if _AI_METRIC.search(m)] \
        if "custom.metrics.k8s.io" in available_groups else []
    if ai_metrics:
        evidence.append(Evidence("APIGroup", "custom.metrics.k8s.io",
                                 f"discovery lists AI/GPU metrics: {', '.join(ai_metrics[:5])}"
                                 + (f" (+{len(ai_metrics) - 5} more)" if len(ai_metrics) > 5 else "")))

    autoscalers = _autoscalers(view)
    found, presence_blind = c.match_workloads(view, _KEDA_WORKLOADS, (DEPLOYMENTS,))
    crd_listing = view.list(CRDS)
    presence_blind += c.blind_of(crd_listing)
    keda_crds = [crd for crd in _seen(crd_listing) if c.crd_group(crd) == "keda.sh"]
    evidence += autoscalers.shown
    for key in ("adapter", "keda"):
        evidence += _health(found[key])[1][:EXAMPLES]
    evidence += c.crd_evidence(view, keda_crds[:EXAMPLES])
    evidence = autoscalers.strong[:EXAMPLES * 2] + evidence

    notes = []
    if ai_metrics:
        notes.append(f"it lists AI/GPU metrics ({', '.join(ai_metrics[:3])})")
    if autoscalers.strong:
        notes.append(f"{plural(len(autoscalers.strong), 'autoscaler')} "
                     f"{'scales' if len(autoscalers.strong) == 1 else 'scale'} accelerator workloads on "
                     f"custom/external metrics")
    elif autoscalers.custom_hpas:
        notes.append(f"{plural(autoscalers.custom_hpas, 'HPA')} {'uses' if autoscalers.custom_hpas == 1 else 'use'} "
                     f"custom/external metrics, none on a workload seen to request accelerators")
    notes += autoscalers.notes
    if custom_ok and not ai_metrics and not autoscalers.strong and not autoscalers.blind:
        notes.append("no AI/GPU metric or accelerator autoscaler seen yet")
    broken_txt = "; ".join(f"{c.name_of(svc)} {c.condition_fact(svc, 'Available')}" for _, svc in broken)
    result = _metrics_verdict(available_groups, broken_txt, svc_listing, notes, [
        what for what, there in (("KEDA CRDs", keda_crds), ("a KEDA operator", found["keda"]),
                                 ("prometheus-adapter", found["adapter"])) if there], presence_blind, evidence)
    if autoscalers.strong:
        return result
    # The requirement is about autoscaling pods that use accelerators. An autoscaler on a workload that
    # requests them shows it applies even while no accelerator node exists (a node pool scaled to zero);
    # without one, the cluster must hold an accelerator node or device.
    accelerators, accel_blind = _accelerators_seen(view)
    if accelerators:
        return result
    unseen = accel_blind + autoscalers.blind
    if unseen:
        return c.unknown(f"whether anything here uses accelerators cannot be told ({result.message})", unseen,
                         evidence)
    return CheckResult(Status.NA, "no accelerator node or DRA accelerator device and no autoscaler on a workload "
                       "requesting accelerators: the requirement concerns autoscaling pods that use accelerators"
                       + ("" if result.status is Status.UNKNOWN else f" ({result.message})"), evidence,
                       Reason.NO_ACCELERATORS, holds_despite_blind=True)


def _metrics_verdict(available_groups: set[str], broken_txt: str, svc_listing: Listing, notes: list[str],
                     keda_parts: list[str], presence_blind: list[Listing], evidence: list[Evidence]) -> CheckResult:
    """The verdict from the metrics APIs for the HPA, for a cluster with accelerators.

    A verdict other than UNKNOWN rests on the APIService listing (or discovery) alone: unread autoscalers or
    workloads only add notes, so it holds whatever else could not be read.
    """
    custom_ok = available_groups & {"custom.metrics.k8s.io", "external.metrics.k8s.io"}
    if custom_ok:
        names = ", ".join(_METRICS_APIS[g] for g in _METRICS_APIS if g in custom_ok)
        notes = notes + ([f"unavailable: {broken_txt}"] if broken_txt else [])
        return CheckResult(Status.PASS, f"{names} available" + ("; " + "; ".join(notes) if notes else ""),
                           evidence, Reason.HEALTHY, holds_despite_blind=True)
    if "metrics.k8s.io" in available_groups:
        message = "only the resource metrics API (metrics-server) is available: HPAs can scale on CPU/memory but " \
                  "not on custom AI/ML metrics"
        if broken_txt:
            message += f"; custom/external metrics APIService unavailable: {broken_txt}"
        return CheckResult(Status.WARN, message, evidence, Reason.PARTIAL, holds_despite_blind=True)
    if broken_txt:
        return CheckResult(Status.FAIL, f"metrics APIService registered but unavailable: {broken_txt}", evidence,
                           Reason.UNHEALTHY, holds_despite_blind=True)
    if not svc_listing.visible:
        return c.unknown("no custom, external or resource metrics API seen", [svc_listing], evidence)
    if keda_parts:
        return CheckResult(Status.WARN, f"{' and '.join(keda_parts)} found but no custom, external or resource "
                                        "metrics APIService is registered, so no HPA can use them", evidence,
                           Reason.CRDS_ONLY if keda_parts == ["KEDA CRDs"] else Reason.PARTIAL,
                           holds_despite_blind=True)
    if presence_blind:
        return c.unknown("no metrics API for the HPA is registered, and whether KEDA or prometheus-adapter is "
                         "installed cannot be told", presence_blind, evidence)
    return CheckResult(Status.FAIL, "no metrics API for the HPA: neither custom.metrics.k8s.io, "
                                    "external.metrics.k8s.io nor metrics.k8s.io is registered", evidence,
                       Reason.NOT_INSTALLED, holds_despite_blind=True)
