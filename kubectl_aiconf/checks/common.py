"""Small readers shared by the checks: names, conditions, workload health, nodes, CRDs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from kubectl_aiconf.checks import blind_reason, why_blind
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.resources import CRDS, DAEMONSETS, DEPLOYMENTS, NODES, PODS, SERVICES, STATEFULSETS
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import plural
from kubectl_aiconf.view import ClusterView, Listing, Resource


# names and conditions -------------------------------------------------------------------------------------
def name_of(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def labels_of(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def evidence(obj: dict, fact: str) -> Evidence:
    return Evidence(obj.get("kind", "?"), name_of(obj), fact)


def condition(obj: dict, type_: str) -> dict | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def condition_true(obj: dict, type_: str) -> bool:
    cond = condition(obj, type_)
    return cond is not None and str(cond.get("status")) == "True"


def condition_fact(obj: dict, type_: str) -> str:
    """'Accepted=True' or 'Accepted=False (reason: message)' or 'no Accepted condition'."""
    cond = condition(obj, type_)
    if not cond:
        return f"no {type_} condition"
    fact = f"{type_}={cond.get('status')}"
    why = ": ".join(x for x in (cond.get("reason"), cond.get("message")) if x)
    return f"{fact} ({why})" if why and str(cond.get("status")) != "True" else fact


# workloads ------------------------------------------------------------------------------------------------
def workload_health(obj: dict) -> tuple[bool, str]:
    """(healthy, fact) for a Deployment, StatefulSet or DaemonSet, from its status."""
    status = obj.get("status") or {}
    if obj.get("kind") == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        return desired > 0 and ready >= desired, f"{ready}/{desired} ready"
    wanted = (obj.get("spec") or {}).get("replicas")
    wanted = 1 if wanted is None else int(wanted)
    ready = int(status.get("availableReplicas") or status.get("readyReplicas") or 0)
    if wanted == 0:
        return False, "scaled to 0 replicas"
    return ready >= wanted, f"{ready}/{wanted} available"


def workload_images(obj: dict) -> list[str]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [c.get("image", "") for c in spec.get("containers") or []]


WORKLOAD_RESOURCES = (DEPLOYMENTS, STATEFULSETS, DAEMONSETS)


def find_workloads(view: ClusterView, name: str = "", image: str = "") -> tuple[list[dict], list[Listing]]:
    """Deployments, StatefulSets and DaemonSets in any namespace whose name matches the regex `name` or one
    of whose images matches the regex `image`.

    Returns (matches, listings that could not be read): a caller that finds nothing must not say "absent"
    while the second list is non-empty.
    """
    found, blind = match_workloads(view, {"match": (name, image, "")})
    return found["match"], blind


def match_workloads(
    view: ClusterView, patterns: dict[str, tuple[str, str, str]], kinds: tuple = WORKLOAD_RESOURCES
) -> tuple[dict[str, list[dict]], list[Listing]]:
    """Sort the workloads of every namespace (Deployments, StatefulSets and DaemonSets, or the `kinds`
    given) into components in one pass.

    `patterns` maps a component key to (name regex, image regex, namespace regex): a workload belongs to
    the component when its name or one of its images matches (an empty regex matches nothing) and, if a
    namespace regex is given, its namespace matches too. Returns ({key: workloads}, listings not visible).
    """
    compiled = {key: tuple(re.compile(p) if p else None for p in pats) for key, pats in patterns.items()}
    found: dict[str, list[dict]] = {key: [] for key in patterns}
    objs, blind = read_all(view, kinds)
    for obj in objs:
        meta = obj.get("metadata") or {}
        name, namespace = meta.get("name") or "", meta.get("namespace") or ""
        images = workload_images(obj)
        for key, (name_re, image_re, ns_re) in compiled.items():
            if ns_re is not None and not ns_re.search(namespace):
                continue
            if (name_re is not None and name_re.search(name)) or (
                image_re is not None and any(image_re.search(i) for i in images)
            ):
                found[key].append(obj)
    return found, blind


def read_all(view: ClusterView, resources: Iterable[Resource]) -> tuple[list[dict], list[Listing]]:
    """Every object of `resources` that could be read, and the listings that could not."""
    objs: list[dict] = []
    blind: list[Listing] = []
    for res in resources:
        listing = view.list(res)
        if listing.visible:
            objs.extend(listing.items)
        else:
            blind.append(listing)
    return objs, blind


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A plain equality selector (Service.spec.selector, matchLabels) against labels; empty matches nothing."""
    if not selector:
        return False
    return all(labels.get(k) == v for k, v in selector.items())


def pod_ready(pod: dict) -> bool:
    """Running, and Ready when the pod reports a Ready condition."""
    if (pod.get("status") or {}).get("phase") != "Running":
        return False
    cond = condition(pod, "Ready")
    return cond is None or str(cond.get("status")) == "True"


@dataclass
class ServiceBackends:
    """What serves a Service: `healthy` is True/False, or None when it cannot be told (see `blind`)."""

    healthy: bool | None
    fact: str
    service: dict | None = None
    workloads: list[dict] = field(default_factory=list)  # workloads whose pod template the selector matches
    blind: list[Listing] = field(default_factory=list)


class Backends:
    """Resolves Services to the pods and workloads behind them; indexes are built once, per namespace.

    Needs SERVICES, PODS and the WORKLOAD_RESOURCES in the check's reads.
    """

    def __init__(self, view: ClusterView) -> None:
        self.services = view.list(SERVICES)
        self.pods = view.list(PODS)
        self.workload_listings = [view.list(r) for r in WORKLOAD_RESOURCES]
        self._services = {name_of(s): s for s in self.services.items} if self.services.visible else {}
        self._pods: dict[str, list[dict]] = {}
        for pod in self.pods.items if self.pods.visible else []:
            self._pods.setdefault((pod.get("metadata") or {}).get("namespace") or "", []).append(pod)
        self._workloads: dict[str, list[dict]] = {}
        for listing in self.workload_listings:
            if not listing.visible:
                continue
            for obj in listing.items:
                self._workloads.setdefault((obj.get("metadata") or {}).get("namespace") or "", []).append(obj)

    def pods_in(self, namespace: str) -> list[dict]:
        return self._pods.get(namespace, [])

    def workloads_in(self, namespace: str) -> list[dict]:
        return self._workloads.get(namespace, [])

    def resolve(self, namespace: str, name: str) -> ServiceBackends:
        ref = f"{namespace}/{name}"
        if not self.services.visible:
            return ServiceBackends(None, f"Service {ref} not checked", blind=[self.services])
        svc = self._services.get(ref)
        if svc is None:
            return ServiceBackends(False, f"Service {ref} not found")
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not selector:
            return ServiceBackends(None, f"Service {ref} has no selector (endpoints managed elsewhere)", svc)
        workloads = [
            w
            for w in self.workloads_in(namespace)
            if selector_matches(
                selector, ((((w.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})
            )
        ]
        if self.pods.visible:
            pods = [p for p in self.pods_in(namespace) if selector_matches(selector, labels_of(p))]
            ready = sum(1 for p in pods if pod_ready(p))
            if ready:
                return ServiceBackends(True, f"Service {ref} selects {plural(ready, 'ready pod')}", svc, workloads)
            return ServiceBackends(
                False, f"Service {ref} selects no ready pod ({plural(len(pods), 'pod')} match)", svc, workloads
            )
        healthy = [w for w in workloads if workload_health(w)[0]]
        if healthy:
            return ServiceBackends(
                True,
                f"Service {ref} is backed by {name_of(healthy[0])} ({workload_health(healthy[0])[1]})",
                svc,
                workloads,
            )
        blind = [self.pods] + [lst for lst in self.workload_listings if not lst.visible]
        if workloads:
            return ServiceBackends(False, f"Service {ref}: backing workloads not available", svc, workloads)
        return ServiceBackends(None, f"Service {ref}: backends not visible", svc, workloads, blind)


# nodes ----------------------------------------------------------------------------------------------------
def node_ready(node: dict) -> bool:
    return condition_true(node, "Ready") and not (node.get("spec") or {}).get("unschedulable")


def allocatable_of(node: dict) -> dict:
    return (node.get("status") or {}).get("allocatable") or {}


def accelerator_resources(node: dict) -> dict[str, int]:
    """Exclusive accelerator extended resources (whole devices, hardware partitions) in the node's
    allocatable, with counts > 0."""
    return acc.accelerator_resources(allocatable_of(node))


def accelerator_vendors(node: dict) -> dict[str, str]:
    """{vendor key: what shows it} for the accelerators of a node (see knowledge.accelerators)."""
    return acc.accelerator_vendors_of_node(labels_of(node), allocatable_of(node))


def is_accelerator_node(node: dict) -> bool:
    return acc.is_accelerator_node(labels_of(node), allocatable_of(node))


def is_simulated_node(node: dict) -> bool:
    """kwok-managed nodes (and similar fakes) advertise devices that do not exist."""
    return acc.is_simulated_node(labels_of(node), (node.get("metadata") or {}).get("annotations"))


def accelerator_nodes(view: ClusterView) -> tuple[list[dict], list[Listing]]:
    """(accelerator nodes, [the node listing] when it could not be read)."""
    listing = view.list(NODES)
    if not listing.visible:
        return [], [listing]
    return [n for n in listing.items if is_accelerator_node(n)], []


# CRDs -----------------------------------------------------------------------------------------------------
def crd_group(crd: dict) -> str:
    spec = crd.get("spec") or {}
    return spec.get("group") or name_of(crd).partition(".")[2]


def crd_plural(crd: dict) -> str:
    spec = crd.get("spec") or {}
    return (spec.get("names") or {}).get("plural") or name_of(crd).partition(".")[0]


def crd_established(view: ClusterView, crd: dict) -> bool:
    """Established per its condition when the object carries status, else per discovery (the API server
    serves a CRD's resource only once the CRD is Established)."""
    if condition(crd, "Established") is not None:
        return condition_true(crd, "Established")
    return view.serves(crd_group(crd), crd_plural(crd))


def crds_of_group(view: ClusterView, group: str) -> tuple[list[dict], list[Listing]]:
    """(the CRDs of `group`, [the CRD listing] when it could not be read)."""
    listing = view.list(CRDS)
    if not listing.visible:
        return [], [listing]
    return [c for c in listing.items if crd_group(c) == group], []


def crd_evidence(view: ClusterView, crds: Iterable[dict]) -> list[Evidence]:
    return [evidence(c, "Established" if crd_established(view, c) else "not Established") for c in crds]


# Dynamic Resource Allocation ------------------------------------------------------------------------------
def is_accelerator_driver(driver: str) -> bool:
    """A DRA driver whose devices are accelerators (not NICs, CPUs or IMEX channels)."""
    return acc.is_accelerator_driver(driver or "")


def is_example_driver(driver: str) -> bool:
    """The example and e2e test drivers publish devices that do not exist."""
    return acc.is_example_driver(driver or "")


def slice_devices(slice_: dict) -> list[dict]:
    return ((slice_.get("spec") or {}).get("devices")) or []


def device_body(device: dict) -> dict:
    """A ResourceSlice device's fields: flat in v1 and v1beta2, under `basic` in v1beta1."""
    basic = device.get("basic")
    return basic if isinstance(basic, dict) else device


def device_attributes(device: dict) -> dict[str, str]:
    """A device's attributes as {name: value string}, for v1 (flat) and v1beta1 (under `basic`) slices.

    Names in the driver's own domain are shortened (`gpu.nvidia.com/type` -> `type`); values are the one
    typed field the attribute carries (string, version, int or bool).
    """
    body = device_body(device)
    out = {}
    for key, value in (body.get("attributes") or {}).items():
        if not isinstance(value, dict):
            continue
        name = key if key.startswith("resource.kubernetes.io/") else key.rpartition("/")[2]
        for typ in ("string", "version", "int", "bool"):
            if typ in value:
                out[name] = str(value[typ])
                break
    return out


def current_slices(slices: Iterable[dict]) -> tuple[list[dict], int]:
    """(slices of each pool's newest generation, number of stale slices from older generations)."""
    slices = list(slices)
    newest: dict[tuple[str, str], int] = {}

    def key_gen(s: dict) -> tuple[tuple[str, str], int]:
        spec = s.get("spec") or {}
        pool = spec.get("pool") or {}
        return (str(spec.get("driver")), str(pool.get("name"))), int(pool.get("generation") or 0)

    for s in slices:
        key, gen = key_gen(s)
        newest[key] = max(gen, newest.get(key, gen))
    current = [s for s in slices if key_gen(s)[1] >= newest[key_gen(s)[0]]]
    return current, len(slices) - len(current)


def slice_node_names(slice_: dict) -> set[str]:
    """Nodes a node-local slice (or its per-device node names) belongs to; empty for network-attached pools."""
    spec = slice_.get("spec") or {}
    names = {spec["nodeName"]} if spec.get("nodeName") else set()
    names.update(d["nodeName"] for d in slice_devices(slice_) if isinstance(d, dict) and d.get("nodeName"))
    return names


# results --------------------------------------------------------------------------------------------------
def unknown(what: str, blind: Iterable[Listing], found: Iterable[Evidence] = ()) -> CheckResult:
    """UNKNOWN because some listings could not be read; names every missing permission or gap."""
    blind = list(blind)
    return CheckResult(Status.UNKNOWN, f"{what}: {why_blind(blind)}", list(found), blind_reason(blind))


def blind_of(*listings: Listing) -> list[Listing]:
    """The listings among `listings` that could not be read."""
    return [listing for listing in listings if not listing.visible]


# How convincing a finding is, best first: a healthy implementation decides; one that cannot be judged
# beats a partial or broken one, since it may be the healthy implementation.
CONFIDENCE = {Status.PASS: 0, Status.UNKNOWN: 1, Status.WARN: 2, Status.FAIL: 3}


@dataclass
class Finding:
    """One candidate implementation of a requirement: what it shows, a phrase for the message, evidence."""

    status: Status  # PASS (healthy), UNKNOWN (cannot tell), WARN (e.g. CRDs only), FAIL (broken)
    reason: Reason
    summary: str
    evidence: list[Evidence] = field(default_factory=list)


def decide(
    findings: Iterable[Finding],
    blind: Iterable[Listing],
    nothing: str,
    absent: str,
    absent_status: Status = Status.FAIL,
    absent_reason: Reason = Reason.NOT_INSTALLED,
) -> CheckResult:
    """The verdict of an any-of requirement, where one healthy implementation suffices.

    The most convincing finding decides (ties: the earlier one); the others are appended to the message. A
    healthy finding PASSes whatever could not be read (nothing unseen can undo it). Otherwise any listing in
    `blind` makes the result UNKNOWN (what was found plus the blind spots): "<nothing> in what could be read"
    when nothing was found. With no finding and nothing blind: `absent_status` with the `absent` message.
    """
    findings = sorted(findings, key=lambda f: CONFIDENCE[f.status])
    blind = list(blind)
    shown = [e for f in findings for e in f.evidence]
    if not findings:
        if blind:
            return unknown(f"{nothing} in what could be read", blind)
        return CheckResult(absent_status, absent, [], absent_reason)
    best = findings[0]
    message = best.summary
    if len(findings) > 1:
        message += "; also " + "; ".join(f.summary for f in findings[1:])
    if best.status is not Status.PASS and blind:
        return unknown(message, blind, shown)
    return CheckResult(best.status, message, shown, best.reason, holds_despite_blind=best.status is Status.PASS)


def workloads_health(objs: Iterable[dict]) -> tuple[bool, list[Evidence], list[str]]:
    """(all healthy, one evidence per workload, "ns/name 0/1 available" for each unhealthy one); duplicates
    (a workload matched twice) are counted once."""
    shown, bad, seen = [], [], set()
    for obj in objs:
        key = (obj.get("kind"), name_of(obj))
        if key in seen:
            continue
        seen.add(key)
        ok, fact = workload_health(obj)
        shown.append(evidence(obj, fact))
        if not ok:
            bad.append(f"{name_of(obj)} {fact}")
    return not bad, shown, bad
