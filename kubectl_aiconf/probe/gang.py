"""gang_scheduling probe: a gang that fits starts all its pods together; a gang one pod larger than what can
fit starts none of them.

Kueue (first): a LocalQueue in the probe namespace pointing at an existing ClusterQueue that admits the
namespace, and two suspended Jobs queued there. `fit`: 2 pods of 10m CPU, within the queue's free quota.
`over`: 2 pods each asking more than half of everything the queue could ever give (its nominal quota plus
what its cohort could lend), so one pod would fit and the gang cannot: Kueue must admit it never, and no pod
of it may start. Nothing cluster-wide is created or changed.

PodGroup schedulers (Volcano, KAI, scheduler-plugins coscheduling): a PodGroup of `minMember` pods handed to
the scheduler; `over` asks for one pod more than the nodes can hold at its size. KAI also wants a queue: the
PodGroups and pods name an existing leaf Queue (none is created). Their decision logic is the same `judge` on
pod timelines; the sandbox runs only Kueue for real.

Pure: `kueue_plan`, `podgroup_plan`, `judge_fit`, `judge_over`, `judge`. Thin: `plan`'s execute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kubectl_aiconf.knowledge import schedulers
from kubectl_aiconf.probe import WORKLOAD_WAIT, kit
from kubectl_aiconf.probe.plan import PlanError, namespace_manifest, quantity
from kubectl_aiconf.result import CheckResult, Evidence

QUEUE = "aiconf-gang"
FIT, OVER = "aiconf-gang-fits", "aiconf-gang-too-big"
GANG = 2  # pods of the gang that fits
FIT_CPU_MILLI = 10
RUN_SECONDS = 20  # how long a gang pod runs: long enough for all of them to be seen running together
# After the gang that fits has started, how long the one that cannot fit is watched for a pod that starts.
OVER_GRACE = 5.0
KUEUE_LABEL = "kueue.x-k8s.io/queue-name"
GANG_ROLE = "kubectl-aiconf/gang"


def _milli(value: object) -> int:
    return int(round(quantity(value) * 1000))


def _cpu(milli: int) -> str:
    return f"{milli}m"


def _pods_script() -> str:
    return f"sleep {RUN_SECONDS}"


# Kueue ------------------------------------------------------------------------------------------------------
@dataclass
class QueueChoice:
    cluster_queue: str
    flavor: str
    free_milli: int  # CPU the queue can give now (nominal - reserved) in its flavor
    ceiling_milli: int  # the most CPU it could ever give one workload: nominal + what its cohort could lend
    covered: tuple[str, ...]
    cohort: str = ""
    notes: list[str] = field(default_factory=list)


def _cpu_flavors(cq: dict) -> list[tuple[str, int, tuple[str, ...]]]:
    """(flavor, nominal CPU milli, covered resources) of a ClusterQueue's resource groups that cover cpu."""
    out = []
    for group in (cq.get("spec") or {}).get("resourceGroups") or []:
        covered = tuple(group.get("coveredResources") or ())
        if "cpu" not in covered:
            continue
        for flavor in group.get("flavors") or []:
            for res in flavor.get("resources") or []:
                if res.get("name") == "cpu":
                    out.append((flavor.get("name") or "", _milli(res.get("nominalQuota") or 0), covered))
    return out


def _reserved(cq: dict, flavor: str) -> int:
    status = cq.get("status") or {}
    for entry in status.get("flavorsReservation") or status.get("flavorsUsage") or []:
        if entry.get("name") == flavor:
            for res in entry.get("resources") or []:
                if res.get("name") == "cpu":
                    return _milli(res.get("total") or 0)
    return 0


def _cohort(cq: dict) -> str:
    spec = cq.get("spec") or {}
    return spec.get("cohortName") or spec.get("cohort") or ""


def choose_cluster_queue(cluster_queues: list[dict], namespace_labels: dict) -> QueueChoice:
    """The ClusterQueue the probe's LocalQueue points at: Active, admitting the probe namespace, covering CPU
    with room for the gang that fits; one outside a cohort first (its ceiling is exact)."""
    why_not: list[str] = []
    choices: list[QueueChoice] = []
    for cq in cluster_queues:
        name = (cq.get("metadata") or {}).get("name") or ""
        active = kit.condition(cq, "Active")
        if active and active.get("status") != "True":
            why_not.append(f"{name} is not Active ({active.get('reason')})")
            continue
        if not kit.selector_matches((cq.get("spec") or {}).get("namespaceSelector"), namespace_labels):
            why_not.append(f"{name} does not admit the probe namespace (namespaceSelector)")
            continue
        flavors = _cpu_flavors(cq)
        if not flavors:
            why_not.append(f"{name} has no CPU quota")
            continue
        cohort = _cohort(cq)
        lendable = 0
        if cohort:
            for other in cluster_queues:
                if other is not cq and _cohort(other) == cohort:
                    lendable += max((n for _, n, _ in _cpu_flavors(other)), default=0)
        ceiling = max(n for _, n, _ in flavors) + lendable
        best = max(flavors, key=lambda f: f[1] - _reserved(cq, f[0]))
        free = best[1] - _reserved(cq, best[0])
        if free < GANG * FIT_CPU_MILLI:
            why_not.append(f"{name} has {free}m CPU free in flavor {best[0]}, too little for {GANG} pods")
            continue
        notes = [f"ClusterQueue {name}: flavor {best[0]}, {free}m CPU free, at most {ceiling}m for one workload"]
        if cohort:
            notes[0] += f" (its own quota plus every quota of cohort {cohort})"
        choices.append(QueueChoice(name, best[0], free, ceiling, best[2], cohort, notes))
    if not choices:
        raise PlanError("no ClusterQueue the probe can use" + (f": {'; '.join(why_not)}" if why_not else ""))
    return sorted(choices, key=lambda c: (bool(c.cohort), c.cluster_queue))[0]


def _gang_container(image: str, cpu_milli: int, covered: tuple[str, ...]) -> dict:
    ct = kit.container("gang", image, _pods_script())
    # Kueue cannot admit a workload asking for a resource its ClusterQueue does not cover.
    requests = {"cpu": _cpu(cpu_milli)}
    if "memory" in covered:
        requests["memory"] = "16Mi"
    ct["resources"] = {"requests": requests, "limits": dict(requests)}
    return ct


def _job(namespace: str, name: str, pods: int, cpu_milli: int, image: str, covered: tuple[str, ...]) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": kit.labels({KUEUE_LABEL: QUEUE})},
        "spec": {
            "suspend": True,  # Kueue unsuspends it when it admits the whole gang
            "parallelism": pods,
            "completions": pods,
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": kit.labels({GANG_ROLE: name})},
                "spec": kit.pod_spec([_gang_container(image, cpu_milli, covered)]),
            },
        },
    }


def kueue_plan(namespace: str, choice: QueueChoice, version: str, image: str) -> list[dict]:
    """LocalQueue, the gang that fits, the gang that cannot."""
    over_milli = choice.ceiling_milli // 2 + 1  # one such pod fits the ceiling, two never do
    queue = {
        "apiVersion": f"kueue.x-k8s.io/{version}",
        "kind": "LocalQueue",
        "metadata": {"name": QUEUE, "namespace": namespace, "labels": kit.labels()},
        "spec": {"clusterQueue": choice.cluster_queue},
    }
    return [
        queue,
        _job(namespace, FIT, GANG, FIT_CPU_MILLI, image, choice.covered),
        _job(namespace, OVER, GANG, over_milli, image, choice.covered),
    ]


# PodGroup schedulers ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PodGroupKind:
    scheduler: schedulers.GangScheduler
    api_version: str
    pod_label: str = ""  # label naming the PodGroup on its pods
    pod_annotation: str = ""  # annotation naming it (Volcano, KAI)
    scheduler_name: str = ""
    queue_label: str = ""  # label naming the scheduler's queue on the pods (KAI), also the PodGroup's spec.queue
    queues_path: str = ""  # where its (cluster-scoped) queues are listed, when the probe must pick one


PODGROUP_KINDS = {
    "volcano": PodGroupKind(
        schedulers.VOLCANO,
        "scheduling.volcano.sh/v1beta1",
        pod_annotation="scheduling.k8s.io/group-name",
        scheduler_name="volcano",
    ),
    "kai": PodGroupKind(
        schedulers.KAI,
        "scheduling.run.ai/v2alpha2",
        pod_annotation="pod-group-name",
        scheduler_name="kai-scheduler",
        queue_label="kai.scheduler/queue",
        queues_path="/apis/scheduling.run.ai/v2/queues",
    ),
    "coscheduling": PodGroupKind(
        schedulers.COSCHEDULING,
        "scheduling.x-k8s.io/v1alpha1",
        pod_label="scheduling.x-k8s.io/pod-group",
        scheduler_name="scheduler-plugins-scheduler",
    ),
}


def largest_free_cpu(nodes: list[dict], pods: list[dict]) -> list[int]:
    """Free CPU (milli) of each Ready, schedulable node: allocatable minus the requests of its pods."""
    used: dict[str, int] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for ct in (pod.get("spec") or {}).get("containers") or []:
            used[node] = used.get(node, 0) + _milli(((ct.get("resources") or {}).get("requests") or {}).get("cpu") or 0)
    free = []
    for node in nodes:
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (node.get("status") or {}).get("conditions") or []
        )
        if not ready or (node.get("spec") or {}).get("unschedulable"):
            continue
        name = (node.get("metadata") or {}).get("name") or ""
        alloc = _milli(((node.get("status") or {}).get("allocatable") or {}).get("cpu") or 0)
        free.append(alloc - used.get(name, 0))
    return sorted(free, reverse=True)


def choose_leaf_queue(queues: list[dict]) -> str:
    """A KAI Queue pods may be submitted to: one that is no other queue's parent, `default-queue` or a name
    with "default" first. Raises PlanError when there is none (the probe creates nothing cluster-wide)."""
    names = {(q.get("metadata") or {}).get("name") or "" for q in queues} - {""}
    parents = {str((q.get("spec") or {}).get("parentQueue") or "") for q in queues}
    leaves = sorted(names - parents, key=lambda n: (n != "default-queue", "default" not in n, n))
    if not leaves:
        raise PlanError("KAI Scheduler has no leaf Queue to submit the probe's gangs to (the probe creates none)")
    return leaves[0]


def podgroup_plan(
    namespace: str, kind: PodGroupKind, free_cpu: list[int], image: str, queue: str = ""
) -> tuple[list[dict], str]:
    """PodGroups and pods: the gang that fits (GANG small pods) and one of as many pods as fit at a size
    where one fits per node, plus one; `queue` is the scheduler's queue they go to (KAI). Returns (objects,
    what the gang that cannot fit asks for)."""
    if not free_cpu or free_cpu[0] < 2 * FIT_CPU_MILLI:
        raise PlanError("no Ready node with free CPU for the probe's gang")
    # More than half the largest free node: one per node at most; as many fit as nodes have that much free.
    size = free_cpu[0] // 2 + 1
    fits = sum(1 for f in free_cpu if f >= size)
    over_pods = fits + 1
    objects = []
    for name, pods, milli in ((FIT, GANG, FIT_CPU_MILLI), (OVER, over_pods, size)):
        objects.append(
            {
                "apiVersion": kind.api_version,
                "kind": "PodGroup",
                "metadata": {"name": name, "namespace": namespace, "labels": kit.labels()},
                "spec": {"minMember": pods, **({"queue": queue} if queue else {})},
            }
        )
        for i in range(pods):
            meta: dict = {"name": f"{name}-{i}", "namespace": namespace, "labels": kit.labels({GANG_ROLE: name})}
            if kind.pod_label:
                meta["labels"][kind.pod_label] = name
            if kind.pod_annotation:
                meta["annotations"] = {kind.pod_annotation: name}
            if kind.queue_label and queue:
                meta["labels"][kind.queue_label] = queue
            spec = kit.pod_spec([_gang_container(image, milli, ("cpu",))])
            spec["schedulerName"] = kind.scheduler_name
            objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    return objects, f"{over_pods} pods of {_cpu(size)} CPU where {fits} fit"


# verdict ----------------------------------------------------------------------------------------------------
@dataclass
class PodSeen:
    name: str
    phase: str
    node: str | None
    started: datetime | None  # when its container started (or the pod's startTime)


def pods_seen(pods: list[dict], gang: str) -> list[PodSeen]:
    out = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if (meta.get("labels") or {}).get(GANG_ROLE) != gang:
            continue
        status = pod.get("status") or {}
        started = None
        for cs in status.get("containerStatuses") or []:
            state = cs.get("state") or {}
            started = (
                kit.parse_time((state.get("running") or state.get("terminated") or {}).get("startedAt")) or started
            )
        out.append(
            PodSeen(
                meta.get("name") or "",
                status.get("phase") or "Pending",
                (pod.get("spec") or {}).get("nodeName"),
                started,
            )
        )
    return sorted(out, key=lambda p: p.name)


def _started(p: PodSeen) -> bool:
    return p.phase in ("Running", "Succeeded") or p.started is not None


def judge_fit(pods: list[PodSeen], size: int, admission: str) -> tuple[str, str]:
    """(PASS/FAIL/UNKNOWN/WAIT, fact) for the gang that fits."""
    started = [p for p in pods if _started(p)]
    if len(started) >= size:
        times = [p.started for p in started if p.started]
        spread = (
            f", their containers started within {(max(times) - min(times)).total_seconds():.1f}s"
            if len(times) == size
            else ""
        )
        nodes = sorted({p.node or "?" for p in started})
        return "PASS", f"all {size} pods started ({', '.join(p.name for p in started)} on {', '.join(nodes)}){spread}"
    return "WAIT", f"{len(started)} of {size} pods started ({len(pods)} created); {admission or 'no admission seen'}"


def judge_over(pods: list[PodSeen], size: str, admission: str, rejected: bool) -> tuple[str, str]:
    """(PASS/FAIL/WAIT, fact) for the gang that cannot fit. `rejected`: the scheduler said it cannot place it."""
    started = [p for p in pods if _started(p)]
    if started:
        return "FAIL", (
            f"{len(started)} pod{'s' if len(started) != 1 else ''} of the gang that cannot fit ({size}) started: "
            f"{', '.join(f'{p.name} on {p.node}' for p in started)}"
        )
    if rejected:
        return "PASS", f"none of its pods started ({size}; {admission})"
    return "WAIT", f"no pod started yet ({size}; {admission or 'the scheduler has not reported on it'})"


def judge(
    fit: tuple[str, str], over: tuple[str, str], how: str, evidence: list[Evidence], finished: bool
) -> CheckResult | None:
    """The requirement's verdict from both gangs' states; None: wait on. `finished`: the time limit is over."""
    evidence = evidence + [
        Evidence("Probe gang", FIT, f"{fit[0]}: {fit[1]}"),
        Evidence("Probe gang", OVER, f"{over[0]}: {over[1]}"),
    ]
    if over[0] == "FAIL":
        return kit.failed(f"{how}: {over[1]}", evidence)
    if fit[0] == "PASS" and over[0] == "PASS":
        return kit.passed(
            f"{how}: the gang that fits started together ({fit[1]}); the gang one pod too big did not ({over[1]})",
            evidence,
        )
    if not finished:
        return None
    if fit[0] != "PASS":
        return kit.unknown(f"{how}: the gang that fits did not start in time ({fit[1]}), so nothing is shown", evidence)
    return kit.unknown(
        f"{how}: the scheduler never said it cannot place the gang that does not fit ({over[1]})", evidence
    )


# Kueue's side of the verdict ----------------------------------------------------------------------------------
def workload_of(workloads: list[dict], job: str) -> dict | None:
    for wl in workloads:
        for owner in (wl.get("metadata") or {}).get("ownerReferences") or []:
            if owner.get("kind") == "Job" and owner.get("name") == job:
                return wl
    return None


def kueue_admission(workload: dict | None) -> tuple[str, bool, bool]:
    """(fact, admitted, rejected-for-quota) of a Job's Workload."""
    if workload is None:
        return "Kueue has made no Workload for it yet", False, False
    reserved, admitted = kit.condition(workload, "QuotaReserved"), kit.condition(workload, "Admitted")
    if admitted.get("status") == "True" or reserved.get("status") == "True":
        return f"Workload {workload['metadata']['name']} admitted", True, False
    pending = reserved or kit.condition(workload, "Pending")
    message = pending.get("message") or ""
    rejected = reserved.get("status") == "False" and bool(message)
    return (
        f"Workload {workload['metadata']['name']} pending: {message or pending.get('reason') or 'no reason yet'}",
        False,
        rejected,
    )


def judge_kueue(
    pods: list[dict],
    workloads: list[dict],
    how: str,
    over_size: str,
    evidence: list[Evidence],
    waited: float,
    finished: bool,
    state: dict,
) -> CheckResult | None:
    """The verdict from the probe namespace's pods and Kueue Workloads as last read; None: wait on. `state`
    keeps, between reads, when the gang that fits was first seen started."""
    if waited >= WORKLOAD_WAIT and not (workload_of(workloads, FIT) or workload_of(workloads, OVER)):
        return kit.unknown(
            f"{how}: Kueue made no Workload for the probe's Jobs within {WORKLOAD_WAIT:.0f}s, so its controller "
            "does not manage them",
            evidence,
        )
    fit_adm = kueue_admission(workload_of(workloads, FIT))
    over_adm, over_admitted, rejected = kueue_admission(workload_of(workloads, OVER))
    fit = judge_fit(pods_seen(pods, FIT), GANG, fit_adm[0])
    if over_admitted:
        gang_over = ("FAIL", f"Kueue admitted the gang that cannot fit ({over_size}): {over_adm}")
    else:
        gang_over = judge_over(pods_seen(pods, OVER), over_size, over_adm, rejected)
    if fit[0] == "PASS" and gang_over[0] == "PASS":
        # Give the gang that cannot fit a moment after the other one started: it must stay out.
        state.setdefault("fit_at", waited)
        if waited - state["fit_at"] < OVER_GRACE and not finished:
            return None
    return judge(fit, gang_over, how, evidence, finished)


# run --------------------------------------------------------------------------------------------------------
READS: tuple = ()  # ClusterQueues and nodes are read whole by the plan itself (the checks keep less of them)


def _served_version(view, group: str, preferred: tuple[str, ...]) -> str | None:
    versions = list(view.group_versions(group))
    return next((v for v in preferred if v in versions), versions[0] if versions else None)


def plan(view, options):
    from kubectl_aiconf.view.live import ApiError

    conn = getattr(view, "conn", None)
    if conn is None:
        raise PlanError("needs a live cluster")
    try:
        return _plan(view, conn, options)
    except ApiError as exc:
        raise PlanError(f"cannot read what the plan needs: {exc}") from None


def _plan(view, conn, options):
    version = _served_version(view, "kueue.x-k8s.io", ("v1beta2", "v1beta1"))
    if version:
        return _kueue_part(view, conn, options, version)
    for kind in PODGROUP_KINDS.values():
        group, version = kind.api_version.split("/")
        if version in view.group_versions(group):  # exactly the version the plan writes
            nodes = conn.request("GET", "/api/v1/nodes").get("items") or []
            pods = (
                conn.request("GET", "/api/v1/pods", query=[("fieldSelector", "status.phase=Running")]).get("items")
                or []
            )
            queue = ""
            if kind.queues_path:
                queue = choose_leaf_queue(conn.request("GET", kind.queues_path).get("items") or [])
            objects, over_size = podgroup_plan(
                options.namespace, kind, largest_free_cpu(nodes, pods), options.image, queue
            )
            return _podgroup_part(kind, objects, over_size, options.namespace, queue)
    raise PlanError(
        "no gang scheduler the probe drives is served (Kueue, Volcano, KAI, scheduler-plugins coscheduling)"
    )


def _kueue_part(view, conn, options, version: str):
    cqs = conn.request("GET", f"/apis/kueue.x-k8s.io/{version}/clusterqueues").get("items") or []
    labels = namespace_manifest(options.namespace)["metadata"]["labels"]
    choice = choose_cluster_queue(cqs, {**labels, "kubernetes.io/metadata.name": options.namespace})
    objects = kueue_plan(options.namespace, choice, version, options.image)
    over_cpu = objects[2]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    how = f"Kueue (LocalQueue {QUEUE} on ClusterQueue {choice.cluster_queue})"
    over_size = f"{GANG} pods of {over_cpu} CPU, where the queue can give at most {choice.ceiling_milli}m"
    ns = options.namespace

    def execute(ctx) -> CheckResult:
        kit.create_all(ctx, objects)
        evidence = [Evidence("Probe plan", ns, n) for n in choice.notes]
        state: dict = {}

        def read():
            pods = ctx.conn.request("GET", f"/api/v1/namespaces/{ns}/pods").get("items") or []
            wls = (
                ctx.conn.request("GET", f"/apis/kueue.x-k8s.io/{version}/namespaces/{ns}/workloads").get("items") or []
            )
            return pods, wls

        def decide(seen, waited: float, over: bool) -> CheckResult | None:
            if seen is None:
                return judge(("WAIT", "not read"), ("WAIT", "not read"), how, evidence, over)
            pods, workloads = seen
            return judge_kueue(pods, workloads, how, over_size, evidence, waited, over, state)

        return kit.poll(ctx, read, decide)

    summary = [
        f"LocalQueue {QUEUE} on ClusterQueue {choice.cluster_queue} ({choice.notes[0]})",
        f"Job {FIT}: {GANG} pods of {FIT_CPU_MILLI}m CPU (fits); Job {OVER}: {over_size} (cannot fit)",
    ]
    reads = [("list", "", "pods", "", ns), ("list", "kueue.x-k8s.io", "workloads", "", ns)]
    return kit.part(objects, execute, summary, reads)


def _podgroup_part(kind: PodGroupKind, objects: list[dict], over_size: str, ns: str, queue: str = ""):
    on_queue = f", Queue {queue}" if queue else ""
    how = f"{kind.scheduler.name} (PodGroups, schedulerName {kind.scheduler_name}{on_queue})"

    def execute(ctx) -> CheckResult:
        kit.create_all(ctx, objects)
        state: dict = {}

        def read():
            return ctx.conn.request("GET", f"/api/v1/namespaces/{ns}/pods").get("items") or []

        def decide(pods, waited: float, over: bool) -> CheckResult | None:
            if pods is None:
                return judge(("WAIT", "not read"), ("WAIT", "not read"), how, [], over)
            fit = judge_fit(pods_seen(pods, FIT), GANG, "")
            unschedulable = [
                p
                for p in pods
                if (p.get("metadata") or {}).get("labels", {}).get(GANG_ROLE) == OVER
                and any(c.get("reason") == "Unschedulable" for c in (p.get("status") or {}).get("conditions") or [])
            ]
            gang_over = judge_over(
                pods_seen(pods, OVER), over_size, "the scheduler reports its pods unschedulable", bool(unschedulable)
            )
            if fit[0] == "PASS" and gang_over[0] == "PASS":
                state.setdefault("fit_at", waited)
                if waited - state["fit_at"] < OVER_GRACE and not over:
                    return judge(fit, ("WAIT", gang_over[1]), how, [], False)
            return judge(fit, gang_over, how, [], over)

        return kit.poll(ctx, read, decide)

    return kit.part(
        objects,
        execute,
        [f"{how}: {GANG} small pods (fit) and {over_size} (cannot fit)"],
        [("list", "", "pods", "", ns)],
    )
