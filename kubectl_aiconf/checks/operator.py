"""Operator support: at least one complex AI operator whose CRDs are served, whose controller and admission
webhooks are up and whose custom resources get reconciled."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from kubectl_aiconf.checks import common, requirement_check, why_blind
from kubectl_aiconf.resources import (
    CRDS,
    DYNAMO_GRAPHDEPLOYMENTS,
    INFERENCESERVICES,
    MUTATING_WEBHOOKS,
    PODS,
    RAYCLUSTERS,
    RAYJOBS,
    SERVICES,
    TRAINJOBS,
    VALIDATING_WEBHOOKS,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.view import ClusterView, Listing, Resource

MAX_PER_OPERATOR = 3  # custom resources / webhooks shown per operator

GOOD, SEEN, NONE = "reconciled", "seen", "no status"


# How to tell that a custom resource was reconciled: (GOOD | SEEN | NONE, fact).
def _raycluster(obj: dict) -> tuple[str, str]:
    status = obj.get("status") or {}
    state = str(status.get("state") or "")
    if state.lower() == "ready" or common.condition_true(obj, "HeadPodReady"):
        return GOOD, f"state {state or 'HeadPodReady'}"
    return (SEEN, f"state {state or 'not ready'}") if status else (NONE, "no status")


def _rayjob(obj: dict) -> tuple[str, str]:
    status = obj.get("status") or {}
    deploy, job = status.get("jobDeploymentStatus"), status.get("jobStatus")
    fact = f"jobDeploymentStatus {deploy or '-'}, jobStatus {job or '-'}"
    if deploy in ("Complete", "Running"):
        return GOOD, fact
    return (SEEN, fact) if status else (NONE, "no status")


def _condition_based(success: str) -> Callable[[dict], tuple[str, str]]:
    def judge(obj: dict) -> tuple[str, str]:
        if common.condition_true(obj, success):
            return GOOD, f"{success}=True"
        conds = (obj.get("status") or {}).get("conditions") or []
        if conds:
            return SEEN, ", ".join(f"{c.get('type')}={c.get('status')}" for c in conds[:3])
        return (SEEN, "status set") if obj.get("status") else (NONE, "no status")
    return judge


def _dynamo_graph(obj: dict) -> tuple[str, str]:
    status = obj.get("status") or {}
    state = str(status.get("state") or "")
    if state.lower() in ("successful", "ready", "deployed") or common.condition_true(obj, "Ready"):
        return GOOD, f"state {state or 'Ready'}"
    return (SEEN, f"state {state or common.condition_fact(obj, 'Ready')}") if status else (NONE, "no status")


@dataclass(frozen=True)
class Operator:
    name: str
    groups: tuple[str, ...]  # API groups of its CRDs
    workload: str  # regex on controller Deployment/StatefulSet/DaemonSet names
    image: str  # regex on controller images
    plurals: str = ""  # regex restricting the CRDs, for groups shared with other software
    webhook: str = ""  # regex on webhook configuration / Service names, when they do not name a group
    ai: bool = True  # False: schedulers that count as CRD operators, reported after AI operators
    resources: tuple[tuple[Resource, Callable[[dict], tuple[str, str]]], ...] = ()


OPERATORS = (
    Operator("KubeRay", ("ray.io",), r"^kuberay-operator$|^ray-operator$", r"kuberay/operator|kuberay-operator",
             webhook=r"kuberay", resources=((RAYCLUSTERS, _raycluster), (RAYJOBS, _rayjob))),
    Operator("Kubeflow Trainer", ("trainer.kubeflow.org",), r"kubeflow-trainer|trainer-controller-manager",
             r"trainer-controller-manager", webhook=r"kubeflow-trainer",
             resources=((TRAINJOBS, _condition_based("Complete")),)),
    Operator("Kubeflow Training Operator", ("kubeflow.org",), r"^training-operator$|kubeflow-training-operator|"
             r"^mpi-operator$", r"kubeflow/training-operator|mpi-operator",
             plurals=r"^(pytorchjobs|tfjobs|mpijobs|xgboostjobs|paddlejobs|jaxjobs|mxjobs)$",
             webhook=r"training-operator"),
    Operator("KServe", ("serving.kserve.io",), r"^kserve-controller-manager$", r"kserve/kserve-controller",
             webhook=r"kserve", resources=((INFERENCESERVICES, _condition_based("Ready")),)),
    Operator("NVIDIA NIM Operator", ("apps.nvidia.com",), r"nim-operator", r"k8s-nim-operator",
             webhook=r"nim-operator"),
    Operator("NVIDIA Dynamo", ("nvidia.com",), r"dynamo-operator", r"ai-dynamo/kubernetes-operator|dynamo-operator",
             plurals=r"^dynamo", webhook=r"dynamo",
             resources=((DYNAMO_GRAPHDEPLOYMENTS, _dynamo_graph),)),
    Operator("KAITO", ("kaito.sh",), r"^kaito-", r"kaito/workspace", webhook=r"kaito"),
    Operator("LeaderWorkerSet", ("leaderworkerset.x-k8s.io",), r"^lws-controller-manager$", r"/lws(:|@|$)",
             webhook=r"^lws-"),
    Operator("Seldon Core", ("machinelearning.seldon.io", "mlops.seldon.io"), r"seldon-(v2-)?controller-manager",
             r"seldonio/seldon", webhook=r"seldon"),
    Operator("KubeAI", ("kubeai.org",), r"^kubeai$", r"/kubeai(:|@|$)", webhook=r"kubeai"),
    Operator("Slinky Slurm operator", ("slinky.slurm.net",), r"slurm-operator", r"slinky.*/slurm-operator",
             webhook=r"slurm-operator"),
    Operator("Kueue", ("kueue.x-k8s.io",), r"^kueue-controller-manager$", r"kueue/kueue", webhook=r"kueue", ai=False),
    Operator("Volcano", ("batch.volcano.sh", "scheduling.volcano.sh", "bus.volcano.sh", "flow.volcano.sh",
                         "nodeinfo.volcano.sh", "topology.volcano.sh"),
             r"^volcano-(controllers|scheduler|admission)$", r"volcanosh/vc-", webhook=r"volcano", ai=False),
    Operator("KAI Scheduler", ("scheduling.run.ai", "kai.scheduler"), r"^kai-", r"kai-scheduler/",
             webhook=r"^kai-|kai-scheduler", ai=False),
)

# API groups that look like AI/ML software, for operators this check does not know by name.
AI_LOOKING_GROUP = re.compile(r"(^|[.-])(ai|ml|llm|llms|inference|serving|model|models|training|trainer|kubeflow|"
                              r"ray|mlops|vllm|sglang|triton|notebooks?)([.-]|$)")

CR_RESOURCES = tuple(res for op in OPERATORS for res, _ in op.resources)


@dataclass
class Webhook:
    config: dict
    name: str
    healthy: bool | None
    fact: str
    groups: set[str]
    blind: list[Listing] = field(default_factory=list)
    service_name: str = ""
    backend_workloads: list[dict] = field(default_factory=list)  # workloads behind its Service

    def evidence(self) -> Evidence:
        return common.evidence(self.config, f"webhook {self.name}: {self.fact}")


@dataclass
class Found:
    op: Operator
    crds: list[str] = field(default_factory=list)  # established CRD names
    not_established: list[str] = field(default_factory=list)
    crd_evidence: list[Evidence] = field(default_factory=list)
    controllers: list[tuple[dict, bool, str]] = field(default_factory=list)
    webhooks: list[Webhook] = field(default_factory=list)
    crs: dict[str, list[tuple[dict, str]]] = field(default_factory=lambda: {GOOD: [], SEEN: [], NONE: []})
    cr_blind: list[Listing] = field(default_factory=list)

    @property
    def installed(self) -> bool:
        return bool(self.crds or self.not_established or self.controllers)


def _operator_crds(view: ClusterView, op: Operator, found: Found) -> None:
    crds = view.list(CRDS)
    if crds.visible:
        for crd in crds.items:
            if common.crd_group(crd) in op.groups and re.search(op.plurals, common.crd_plural(crd)):
                name = common.name_of(crd)
                if common.crd_established(view, crd):
                    found.crds.append(name)
                else:
                    found.not_established.append(name)
                    found.crd_evidence.append(common.evidence(crd, "not Established"))
        return
    for group in op.groups:  # the CRD list is not readable: discovery serves exactly the Established CRDs
        for version in view.group_versions(group):
            for plural in view.discovered_resources(group, version):
                name = f"{plural}.{group}"
                if "/" not in plural and re.search(op.plurals, plural) and name not in found.crds:
                    found.crds.append(name)


def _webhooks(view: ClusterView, backends: common.Backends) -> tuple[list[Webhook], list[Listing]]:
    """Every admission webhook with its health: rules, caBundle, and a Service with ready backends."""
    hooks, blind = [], []
    for res in (VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS):
        listing = view.list(res)
        if not listing.visible:
            blind.append(listing)
            continue
        for config in listing.items:
            for wh in config.get("webhooks") or []:
                client = wh.get("clientConfig") or {}
                rules = wh.get("rules") or []
                groups = {g for r in rules for g in r.get("apiGroups") or [] if g and g != "*"}
                problems = []
                if not rules:
                    problems.append("no rules")
                if not client.get("caBundle"):
                    problems.append("empty caBundle")
                svc = client.get("service")
                if svc:
                    resolved = backends.resolve(svc.get("namespace") or "", svc.get("name") or "")
                    healthy = False if problems else resolved.healthy
                    hook = Webhook(config, wh.get("name") or "?", healthy, "; ".join(problems + [resolved.fact]),
                                   groups, resolved.blind if healthy is None else [], svc.get("name") or "",
                                   resolved.workloads)
                else:
                    hook = Webhook(config, wh.get("name") or "?", False if problems else None,
                                   "; ".join(problems + [f"URL {client.get('url', '?')} (not checked)"]), groups)
                hooks.append(hook)
    return hooks, blind


def _owner(hook: Webhook, found: list[Found], controller_ids: dict[str, Found]) -> Found | None:
    """Which operator a webhook belongs to: the one whose controller serves it, else by name, else by rules."""
    for w in hook.backend_workloads:
        owner = controller_ids.get(f"{w.get('kind')}/{common.name_of(w)}")
        if owner:
            return owner
    names = (common.name_of(hook.config), hook.name, hook.service_name)
    for f in found:
        if f.op.webhook and any(re.search(f.op.webhook, n) for n in names if n):
            return f
        if any(n == g or n.endswith("." + g) for n in names if n for g in f.op.groups):
            return f
    for f in found:
        if hook.groups and hook.groups <= set(f.op.groups) and not f.op.plurals:
            return f
    return None


def _summary(f: Found, workload_blind: list[Listing], webhook_blind: list[Listing]) -> str:
    parts = [f"{len(f.crds)} CRD(s) Established"]
    healthy = [c for c in f.controllers if c[1]]
    if f.controllers:
        c = (healthy or f.controllers)[0]
        parts.append(f"controller {common.name_of(c[0])} {c[2]}")
    elif workload_blind:
        parts.append(f"no controller workload among those readable ({why_blind(workload_blind)})")
    else:
        parts.append("no controller workload in the cluster")
    if f.webhooks:
        ok = sum(1 for h in f.webhooks if h.healthy)
        unchecked = sum(1 for h in f.webhooks if h.healthy is None)
        parts.append(f"{ok}/{len(f.webhooks)} webhook(s) healthy"
                     + (f", {unchecked} not checked" if unchecked else ""))
    if webhook_blind:
        parts.append(f"webhook configurations not readable ({why_blind(webhook_blind)})")
    elif not f.webhooks:
        parts.append("no admission webhook")
    good, seen = f.crs[GOOD], f.crs[SEEN]
    if good:
        obj, fact = good[0]
        parts.append(f"{obj.get('kind')} {common.name_of(obj)} reconciled ({fact})")
    elif seen:
        parts.append(f"{len(seen)} custom resource(s) with controller status, none succeeded yet")
    elif f.crs[NONE]:
        parts.append(f"{len(f.crs[NONE])} custom resource(s) without status")
    elif not f.cr_blind and f.op.resources:
        parts.append("no custom resource yet, reconciliation not exercised")
    if f.cr_blind:
        parts.append(f"custom resources not all readable ({why_blind(f.cr_blind)})")
    return ", ".join(parts)


def _judge(f: Found, workload_blind: list[Listing], webhook_blind: list[Listing]) -> tuple[str, list[Listing]]:
    """'healthy' | 'blind' | 'broken' | 'partial' | 'crds-only' | 'controller-only', with listings that hide facts.

    Only what was seen decides 'broken'; 'healthy' needs every webhook checked and, unless a custom resource
    shows the controller at work, every custom resource listing read.
    """
    if not (f.crds or f.not_established):
        return "controller-only", []
    if f.not_established and not f.crds:
        return "broken", []
    ctrl_ok = bool(f.controllers) and all(ok for _, ok, _ in f.controllers)
    ctrl_bad = bool(f.controllers) and not ctrl_ok
    hooks_bad = any(h.healthy is False for h in f.webhooks)
    if ctrl_bad or hooks_bad or f.not_established:
        return "broken", []
    # A webhook out of sight may be broken, and a broken webhook stops new custom resources.
    hooks_blind = [b for h in f.webhooks if h.healthy is None for b in h.blind] + webhook_blind
    if hooks_blind:
        return "blind", hooks_blind
    if ctrl_ok:
        if f.crs[GOOD] or f.crs[SEEN]:
            return "healthy", []
        if f.cr_blind:
            return "blind", f.cr_blind  # unread custom resources may all lack status
        if f.crs[NONE]:
            return "partial", []  # the controller says it is up but leaves every custom resource untouched
        return "healthy", []
    # No controller workload visible.
    if f.crs[GOOD]:
        # Reconciled custom resources: the controller works, it runs out of sight (managed, or not readable).
        return "healthy", []
    if workload_blind or f.cr_blind:
        return "blind", workload_blind + f.cr_blind
    return "crds-only", []


@requirement_check("robust_controller",
                   reads=(CRDS, VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS, SERVICES, PODS) + common.WORKLOAD_RESOURCES
                   + CR_RESOURCES)
def robust_controller(view: ClusterView) -> CheckResult:
    found = [Found(op) for op in OPERATORS]
    for f in found:
        _operator_crds(view, f.op, f)

    # Controller workloads: one pass over every Deployment/StatefulSet/DaemonSet.
    workload_blind: list[Listing] = []
    controller_ids: dict[str, Found] = {}
    for res in common.WORKLOAD_RESOURCES:
        listing = view.list(res)
        if not listing.visible:
            workload_blind.append(listing)
            continue
        for w in listing.items:
            images = common.workload_images(w)
            for f in found:
                if common.name_matches(w, f.op.workload) or any(re.search(f.op.image, i) for i in images):
                    ok, fact = common.workload_health(w)
                    f.controllers.append((w, ok, fact))
                    controller_ids[f"{w.get('kind')}/{common.name_of(w)}"] = f
                    break

    backends = common.Backends(view)
    hooks, webhook_blind = _webhooks(view, backends)
    installed = [f for f in found if f.installed]
    unowned = []
    for hook in hooks:
        owner = _owner(hook, installed, controller_ids)
        if owner:
            owner.webhooks.append(hook)
        else:
            unowned.append(hook)

    for f in installed:
        for res, judge in f.op.resources:
            listing = view.list(res)
            if not listing.visible:
                f.cr_blind.append(listing)
                continue
            for obj in listing.items:
                verdict, fact = judge(obj)
                f.crs[verdict].append((obj, fact))

    evidence: list[Evidence] = []
    states: dict[str, list[Found]] = {}
    blind: list[Listing] = []
    for f in sorted(installed, key=lambda x: not x.op.ai):
        state, hidden = _judge(f, workload_blind, webhook_blind)
        states.setdefault(state, []).append(f)
        blind += [b for b in hidden if b not in blind]
        by_group: dict[str, list[str]] = {}
        for n in f.crds:
            plural, _, group = n.partition(".")
            by_group.setdefault(group, []).append(plural)
        ev = [Evidence("CustomResourceDefinition", f"*.{g}", f"Established: {', '.join(sorted(p))}")
              for g, p in by_group.items()] + f.crd_evidence[:2]
        ev += [common.evidence(w, f"{f.op.name} controller: {fact}") for w, _, fact in f.controllers[:3]]
        ev += [h.evidence() for h in f.webhooks[:MAX_PER_OPERATOR]]
        crs = f.crs[GOOD] + f.crs[SEEN] + f.crs[NONE]
        ev += [common.evidence(obj, fact) for obj, fact in crs[:MAX_PER_OPERATOR]]
        evidence += ev

    # Operators this check does not know, for API groups that look like AI/ML: report them, never count them.
    known_crds = {n for f in found for n in f.crds + f.not_established}
    crds = view.list(CRDS)
    unrecognised = []
    for group in sorted({common.crd_group(c) for c in (crds.items if crds.visible else [])
                         if common.name_of(c) not in known_crds and AI_LOOKING_GROUP.search(common.crd_group(c))}):
        served_by = [h for h in unowned if group in h.groups and h.healthy]
        fact = (f"webhook {served_by[0].name} served by healthy pods ({served_by[0].fact})" if served_by
                else "CRDs only, controller not identified")
        unrecognised.append(f"{group} ({'webhook healthy' if served_by else 'CRDs only'})")
        evidence.append(Evidence("APIGroup", group, f"unrecognised operator: {fact}"))

    def names(fs: list[Found]) -> str:
        return ", ".join(f.op.name for f in fs)

    def summaries(fs: list[Found]) -> str:
        return "; ".join(f"{f.op.name}: {_summary(f, workload_blind, webhook_blind)}" for f in fs[:2])

    broken_note = f"; not working: {names(states['broken'])}" if states.get("broken") else ""
    healthy = states.get("healthy", [])
    ai_healthy = [f for f in healthy if f.op.ai]
    # _judge calls an operator healthy only when nothing unread could show it broken: the PASS holds.
    if ai_healthy:
        f = ai_healthy[0]
        more = f" (also healthy: {names(healthy[1:])})" if len(healthy) > 1 else ""
        return CheckResult(Status.PASS, f"AI operator {f.op.name} works: "
                                        f"{_summary(f, workload_blind, webhook_blind)}{more}{broken_note}",
                           evidence, Reason.HEALTHY, holds_despite_blind=True)
    if healthy:
        f = healthy[0]
        return CheckResult(Status.PASS, f"no AI-specific operator found, but {f.op.name} is a working CRD-based "
                                        f"operator: {_summary(f, workload_blind, webhook_blind)}{broken_note}",
                           evidence, Reason.HEALTHY, holds_despite_blind=True)
    if states.get("blind"):
        return common.unknown(f"{names(states['blind'])} found but cannot be confirmed working", blind, evidence)
    # No operator's state rests on an unread listing. Operators are found through their CRDs: with the CRD
    # list read, nothing unread can add one, so the verdicts below hold.
    settled = crds.visible
    if states.get("broken"):
        return CheckResult(Status.FAIL, f"operators installed but not working: {summaries(states['broken'])}",
                           evidence, Reason.UNHEALTHY, holds_despite_blind=settled)
    not_working = states.get("partial", []) + states.get("crds-only", [])
    if not_working:
        reason = Reason.UNHEALTHY if states.get("partial") else Reason.CRDS_ONLY
        return CheckResult(Status.WARN, f"no working AI operator: {summaries(not_working)}", evidence, reason,
                           holds_despite_blind=settled)
    if unrecognised:
        return CheckResult(Status.UNKNOWN, f"no recognised AI operator; unrecognised AI-looking API groups: "
                                           f"{', '.join(unrecognised[:3])}: review them by hand", evidence,
                           Reason.UNRECOGNISED)
    if states.get("controller-only"):
        # A controller without its API offers nothing to use: as failed as no operator at all.
        return CheckResult(Status.FAIL, f"{names(states['controller-only'])} controller found but its CRDs are not "
                                        f"served", evidence, Reason.UNHEALTHY, holds_despite_blind=settled)
    if not crds.visible:
        return common.unknown("no recognised AI operator is served (per API discovery), and CRDs of operators "
                              "this tool does not know could not be read", [crds], evidence)
    return CheckResult(Status.FAIL, "no AI operator with CRDs (such as KubeRay, Kubeflow Trainer or KServe) is "
                                    "installed", evidence, Reason.NOT_INSTALLED, holds_despite_blind=True)
