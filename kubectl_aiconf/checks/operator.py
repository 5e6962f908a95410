"""Operator support: at least one complex AI operator whose CRDs are served, whose controller and admission
webhooks are up and whose custom resources get reconciled."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_aiconf.checks import common, requirement_check, why_blind
from kubectl_aiconf.knowledge import operators
from kubectl_aiconf.knowledge._base import search
from kubectl_aiconf.resources import CRDS, MUTATING_WEBHOOKS, PODS, SERVICES, VALIDATING_WEBHOOKS, resource_for
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import plural
from kubectl_aiconf.view import ClusterView, Listing

MAX_PER_OPERATOR = 3  # custom resources / webhooks shown per operator

GOOD, SEEN, NONE = "reconciled", "seen", "no status"

# The custom resources of every operator of the registry that show reconciliation, as the tool lists them
# (each needs its Resource in resources.py and a rule in the reader ClusterRole).
CR_RESOURCES = tuple(dict.fromkeys(resource_for(how.api) for op in operators.OPERATORS for how in op.reconciled))


def _reconciled(obj: dict, how: operators.Reconciled) -> tuple[str, str]:
    """(GOOD | SEEN | NONE, fact): whether a custom resource shows that its controller acted on it
    successfully (a success condition or state), acted on it at all (any status), or not yet."""
    status = obj.get("status") or {}
    state = str(status.get(how.state_field) or "") if how.state_field else ""
    facts = [f"{how.state_field} {state}"] if state else []
    facts += [f"{name} {status[name]}" for name in how.fact_fields if status.get(name)]
    succeeded = next((cond for cond in how.conditions if common.condition_true(obj, cond)), "")
    if state.lower() in {s.lower() for s in how.states} or succeeded:
        return GOOD, ", ".join(facts) or f"{succeeded}=True"
    if not facts:
        facts = [f"{c.get('type')}={c.get('status')}" for c in (status.get("conditions") or [])[:3]]
    if facts:
        return SEEN, ", ".join(facts)
    return (SEEN, "status set") if status else (NONE, "no status")


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
    op: operators.AIOperator
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


def _own_plural(op: operators.AIOperator, plural: str) -> bool:
    """Whether a resource of one of the operator's groups is its own (groups may be shared)."""
    return not op.plurals or search(op.plurals, plural)


def _operator_crds(view: ClusterView, op: operators.AIOperator, found: Found) -> None:
    crds = view.list(CRDS)
    if crds.visible:
        for crd in crds.items:
            if common.crd_group(crd) in op.groups and _own_plural(op, common.crd_plural(crd)):
                name = common.name_of(crd)
                if common.crd_established(view, crd):
                    found.crds.append(name)
                else:
                    found.not_established.append(name)
                    found.crd_evidence.append(common.evidence(crd, "not Established"))
        return
    for group in op.groups:  # the CRD list is not readable: discovery serves exactly the Established CRDs
        for version in view.group_versions(group):
            for resource in view.discovered_resources(group, version):
                name = f"{resource}.{group}"
                if "/" not in resource and _own_plural(op, resource) and name not in found.crds:
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
                    hook = Webhook(
                        config,
                        wh.get("name") or "?",
                        healthy,
                        "; ".join(problems + [resolved.fact]),
                        groups,
                        resolved.blind if healthy is None else [],
                        svc.get("name") or "",
                        resolved.workloads,
                    )
                else:
                    hook = Webhook(
                        config,
                        wh.get("name") or "?",
                        False if problems else None,
                        "; ".join(problems + [f"URL {client.get('url', '?')} (not checked)"]),
                        groups,
                    )
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
        if any(search(f.op.webhook, n) for n in names):
            return f
        if any(n == g or n.endswith("." + g) for n in names if n for g in f.op.groups):
            return f
    for f in found:
        if hook.groups and hook.groups <= set(f.op.groups) and not f.op.plurals:
            return f
    return None


def _summary(f: Found, workload_blind: list[Listing], webhook_blind: list[Listing]) -> str:
    parts = [f"{plural(len(f.crds), 'CRD')} Established"]
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
        parts.append(
            f"{ok}/{plural(len(f.webhooks), 'webhook')} healthy" + (f", {unchecked} not checked" if unchecked else "")
        )
    if webhook_blind:
        parts.append(f"webhook configurations not readable ({why_blind(webhook_blind)})")
    elif not f.webhooks:
        parts.append("no admission webhook")
    good, seen = f.crs[GOOD], f.crs[SEEN]
    if good:
        obj, fact = good[0]
        parts.append(f"{obj.get('kind')} {common.name_of(obj)} reconciled ({fact})")
    elif seen:
        parts.append(f"{plural(len(seen), 'custom resource')} with controller status, none succeeded yet")
    elif f.crs[NONE]:
        parts.append(f"{plural(len(f.crs[NONE]), 'custom resource')} without status")
    elif not f.cr_blind and f.op.reconciled:
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
    # A webhook reached by URL, not through a Service, cannot be checked from the cluster state, and one that
    # does not answer refuses every new custom resource (seen with a real KubeRay): not confirmed working.
    if any(h.healthy is None for h in f.webhooks):
        return "unchecked", []
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


@requirement_check(
    "robust_controller",
    reads=(CRDS, VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS, SERVICES, PODS) + common.WORKLOAD_RESOURCES + CR_RESOURCES,
)
def robust_controller(view: ClusterView) -> CheckResult:
    found = [Found(op) for op in operators.OPERATORS]
    for f in found:
        _operator_crds(view, f.op, f)

    # Controller workloads: one pass over every Deployment/StatefulSet/DaemonSet.
    controller_ids: dict[str, Found] = {}
    workloads, workload_blind = common.read_all(view, common.WORKLOAD_RESOURCES)
    for w in workloads:
        meta = w.get("metadata") or {}
        images = common.workload_images(w)
        for f in found:
            if f.op.workloads.matches(meta.get("name") or "", images, meta.get("namespace") or ""):
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
        for how in f.op.reconciled:
            listing = view.list(resource_for(how.api))
            if not listing.visible:
                f.cr_blind.append(listing)
                continue
            for obj in listing.items:
                verdict, fact = _reconciled(obj, how)
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
            resource, _, group = n.partition(".")
            by_group.setdefault(group, []).append(resource)
        ev = [
            Evidence("CustomResourceDefinition", f"*.{g}", f"Established: {', '.join(sorted(p))}")
            for g, p in by_group.items()
        ] + f.crd_evidence[:2]
        ev += [common.evidence(w, f"{f.op.name} controller: {fact}") for w, _, fact in f.controllers[:3]]
        ev += [h.evidence() for h in f.webhooks[:MAX_PER_OPERATOR]]
        crs = f.crs[GOOD] + f.crs[SEEN] + f.crs[NONE]
        ev += [common.evidence(obj, fact) for obj, fact in crs[:MAX_PER_OPERATOR]]
        evidence += ev

    # Operators this check does not know, for API groups that look like AI/ML: report them, never count them.
    known_crds = {n for f in found for n in f.crds + f.not_established}
    crds = view.list(CRDS)
    unrecognised = []
    for group in sorted(
        {
            common.crd_group(c)
            for c in (crds.items if crds.visible else [])
            if common.name_of(c) not in known_crds and search(operators.AI_LOOKING_GROUP, common.crd_group(c))
        }
    ):
        served_by = [h for h in unowned if group in h.groups and h.healthy]
        fact = (
            f"webhook {served_by[0].name} served by healthy pods ({served_by[0].fact})"
            if served_by
            else "CRDs only, controller not identified"
        )
        unrecognised.append(f"{group} ({'webhook healthy' if served_by else 'CRDs only'})")
        evidence.append(Evidence("APIGroup", group, f"unrecognised operator: {fact}"))

    def names(fs: list[Found]) -> str:
        return ", ".join(f.op.name for f in fs)

    def summaries(fs: list[Found]) -> str:
        return "; ".join(f"{f.op.name}: {_summary(f, workload_blind, webhook_blind)}" for f in fs[:2])

    broken_note = f"; not working: {names(states['broken'])}" if states.get("broken") else ""
    if states.get("unchecked"):
        broken_note += f"; not confirmed (webhook by URL): {names(states['unchecked'])}"
    healthy = states.get("healthy", [])
    ai_healthy = [f for f in healthy if f.op.ai]
    # _judge calls an operator healthy only when nothing unread could show it broken: the PASS holds.
    if ai_healthy:
        f = ai_healthy[0]
        more = f" (also healthy: {names(healthy[1:])})" if len(healthy) > 1 else ""
        return CheckResult(
            Status.PASS,
            f"AI operator {f.op.name} works: {_summary(f, workload_blind, webhook_blind)}{more}{broken_note}",
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )
    if healthy:
        f = healthy[0]
        return CheckResult(
            Status.PASS,
            f"no AI-specific operator {'works' if any(x.op.ai for x in installed) else 'found'}, but {f.op.name} "
            f"is a working CRD-based operator: {_summary(f, workload_blind, webhook_blind)}{broken_note}",
            evidence,
            Reason.HEALTHY,
            holds_despite_blind=True,
        )
    if states.get("blind"):
        return common.unknown(f"{names(states['blind'])} found but cannot be confirmed working", blind, evidence)
    if states.get("unchecked"):
        what = (
            f"{names(states['unchecked'])} found but cannot be confirmed working: a webhook it needs is reached "
            f"by URL, which the cluster state cannot show answering: {summaries(states['unchecked'])}"
        )
        # what could not be read may hold a working operator (a scheduler found only through its CRDs)
        unread = blind + workload_blind + webhook_blind + ([] if crds.visible else [crds])
        if unread:
            return common.unknown(what, unread, evidence)
        return CheckResult(Status.UNKNOWN, what, evidence, Reason.NEEDS_PROBE)
    # No operator's state rests on an unread listing. Operators are found through their CRDs: with the CRD
    # list read, nothing unread can add one, so the verdicts below hold.
    settled = crds.visible
    if states.get("broken"):
        return CheckResult(
            Status.FAIL,
            f"operators installed but not working: {summaries(states['broken'])}",
            evidence,
            Reason.UNHEALTHY,
            holds_despite_blind=settled,
        )
    not_working = states.get("partial", []) + states.get("crds-only", [])
    if not_working:
        reason = Reason.UNHEALTHY if states.get("partial") else Reason.CRDS_ONLY
        return CheckResult(
            Status.WARN,
            f"no working AI operator: {summaries(not_working)}",
            evidence,
            reason,
            holds_despite_blind=settled,
        )
    if unrecognised:
        return CheckResult(
            Status.UNKNOWN,
            f"no recognised AI operator; unrecognised AI-looking API groups: "
            f"{', '.join(unrecognised[:3])}: review them by hand",
            evidence,
            Reason.UNRECOGNISED,
        )
    if states.get("controller-only"):
        # A controller without its API offers nothing to use: as failed as no operator at all.
        return CheckResult(
            Status.FAIL,
            f"{names(states['controller-only'])} controller found but its CRDs are not served",
            evidence,
            Reason.UNHEALTHY,
            holds_despite_blind=settled,
        )
    if not crds.visible:
        return common.unknown(
            "no recognised AI operator is served (per API discovery), and CRDs of operators "
            "this tool does not know could not be read",
            [crds],
            evidence,
        )
    judged = [op.name for op in operators.OPERATORS if op.ai and op.reconciled][:3]
    return CheckResult(
        Status.FAIL,
        f"no AI operator with CRDs (such as {', '.join(judged[:-1])} or {judged[-1]}) is installed",
        evidence,
        Reason.NOT_INSTALLED,
        holds_despite_blind=True,
    )
