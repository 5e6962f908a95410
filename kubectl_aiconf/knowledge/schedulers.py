"""Gang schedulers (all-or-nothing placement) and what shows them installed, configured and used.

`gang=False` marks software the tool reports as a hint only: it groups pods or schedules in batches, but
all-or-nothing placement through it cannot be confirmed from the cluster state (its `hint` says why).

gang_scheduling reads every record the same way (its controller workloads run as Deployments; its queue and
usage objects are listed with the fields named here), so a new scheduler needs no code, only a record.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_aiconf.knowledge._base import Api, Component, Record


@dataclass(frozen=True)
class Queue:
    """A kind of queue object, and what shows that one admits jobs. A queue that reports neither `condition`
    nor `state` is taken to admit them (older releases report neither)."""

    api: Api
    condition: str = ""  # status condition that is True on a queue that admits jobs (Kueue: Active)
    state: str = ""  # status.state of a queue that admits jobs (Volcano: Open)
    parent: str = ""  # spec field naming the queue it submits to, shown as evidence (Kueue: clusterQueue)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields a check reads of these objects (for the listing's `keep`)."""
        return tuple(
            f
            for f in (
                "status.conditions" if self.condition else "",
                "status.state" if self.state else "",
                f"spec.{self.parent}" if self.parent else "",
            )
            if f
        )


@dataclass(frozen=True)
class GangScheduler(Record):
    key: str
    name: str
    workloads: Component  # any of its controller workloads (scheduler, controllers, webhooks)
    core: str = ""  # regex (name or image) of the scheduler proper among those workloads
    apis: tuple[Api, ...] = ()  # what must be served for it to work
    groups: tuple[str, ...] = ()  # every API group of the project (its CRDs), beyond those of `apis`
    queues: tuple[Queue, ...] = ()  # every kind needs one queue that admits jobs, or no job is admitted
    usage: Api | None = None  # objects that show it was used (admitted Workloads, PodGroups)
    usage_condition: str = ""  # status condition that is True on `usage` objects that ran (Kueue: Admitted)
    usage_phases: tuple[str, ...] = ()  # status.phase of `usage` objects that ran; () and no condition = any
    scheduler_names: tuple[str, ...] = ()  # pod spec.schedulerName that hands pods to it
    job_labels: tuple[str, ...] = ()  # labels that put a job under it
    webhook: str = ""  # regex on its admission webhook configuration / Service names
    gang: bool = True
    hint: str = ""  # gang=False: why all-or-nothing placement through it cannot be confirmed

    KIND = "scheduler"

    @property
    def api_groups(self) -> tuple[str, ...]:
        """Every API group of the project: those it serves and the others its CRDs define."""
        return tuple(
            dict.fromkeys([a.group for a in self.apis + tuple(q.api for q in self.queues)] + list(self.groups))
        )

    @property
    def usage_fields(self) -> tuple[str, ...]:
        """The fields a check reads of `usage` objects (for the listing's `keep`): the condition, or the
        phase and the gang size of PodGroups."""
        return ("status.conditions",) if self.usage_condition else ("spec.minMember", "status.phase")


KUEUE = GangScheduler(
    key="kueue",
    name="Kueue",
    workloads=Component(r"^kueue-controller-manager$", r"(^|/)kueue/kueue(:|@|$)"),
    core=r"kueue",
    apis=(
        Api("kueue.x-k8s.io", "clusterqueues", "ClusterQueue", False),
        Api("kueue.x-k8s.io", "localqueues", "LocalQueue"),
        Api("kueue.x-k8s.io", "workloads", "Workload"),
    ),
    queues=(
        Queue(Api("kueue.x-k8s.io", "clusterqueues", "ClusterQueue", False), condition="Active"),
        Queue(Api("kueue.x-k8s.io", "localqueues", "LocalQueue"), condition="Active", parent="clusterQueue"),
    ),
    usage=Api("kueue.x-k8s.io", "workloads", "Workload"),
    usage_condition="Admitted",
    job_labels=("kueue.x-k8s.io/queue-name",),
    webhook=r"kueue",
)

VOLCANO = GangScheduler(
    key="volcano",
    name="Volcano",
    workloads=Component(
        r"^volcano-(scheduler|controllers?|admission)$",
        r"volcanosh/vc-(scheduler|controller-manager|webhook-manager)(:|@|$)",
    ),
    core=r"volcano-scheduler|vc-scheduler",
    apis=(
        Api("scheduling.volcano.sh", "podgroups", "PodGroup"),
        Api("scheduling.volcano.sh", "queues", "Queue", False),
    ),
    groups=("batch.volcano.sh", "bus.volcano.sh", "flow.volcano.sh", "nodeinfo.volcano.sh", "topology.volcano.sh"),
    queues=(Queue(Api("scheduling.volcano.sh", "queues", "Queue", False), state="Open"),),
    usage=Api("scheduling.volcano.sh", "podgroups", "PodGroup"),
    usage_phases=("Running",),
    scheduler_names=("volcano",),
    webhook=r"volcano",
)

KAI = GangScheduler(
    key="kai",
    name="KAI Scheduler",
    workloads=Component(r"^kai-", r"(^|/)kai-scheduler/"),
    core=r"^kai-scheduler|/kai-scheduler/scheduler(:|@|$)",
    apis=(Api("scheduling.run.ai", "podgroups", "PodGroup"), Api("scheduling.run.ai", "queues", "Queue", False)),
    groups=("kai.scheduler",),
    queues=(Queue(Api("scheduling.run.ai", "queues", "Queue", False)),),
    usage=Api("scheduling.run.ai", "podgroups", "PodGroup"),
    scheduler_names=("kai-scheduler",),
    job_labels=("pod-group.scheduling.run.ai/name",),
    webhook=r"^kai-|kai-scheduler",
)

COSCHEDULING = GangScheduler(
    key="coscheduling",
    name="scheduler-plugins coscheduling",
    workloads=Component(
        r"^scheduler-plugins-(scheduler|controller)$", r"/scheduler-plugins/(kube-scheduler|controller)"
    ),
    core=r"scheduler-plugins-scheduler|/scheduler-plugins/kube-scheduler",
    apis=(Api("scheduling.x-k8s.io", "podgroups", "PodGroup"),),
    usage=Api("scheduling.x-k8s.io", "podgroups", "PodGroup"),
    usage_phases=("Running", "Scheduled"),
    job_labels=("scheduling.x-k8s.io/pod-group",),
)

YUNIKORN = GangScheduler(
    key="yunikorn",
    name="YuniKorn",
    workloads=Component(r"^yunikorn-scheduler$", r"apache/yunikorn:scheduler"),
    scheduler_names=("yunikorn",),
    gang=False,
    hint="gang scheduling needs task groups on each application, not verifiable from the cluster state",
)

LWS = GangScheduler(
    key="lws",
    name="LeaderWorkerSet",
    workloads=Component(r"^lws-controller-manager$", r"/lws(:|@|$)"),
    apis=(Api("leaderworkerset.x-k8s.io", "leaderworkersets", "LeaderWorkerSet"),),
    webhook=r"^lws-",
    gang=False,
    hint="it groups pods but needs a gang scheduler for all-or-nothing placement",
)

# Kubernetes' own Workload API (scheduling.k8s.io): gang scheduling in kube-scheduler itself.
NATIVE = GangScheduler(
    key="native",
    name="the native Workload API",
    workloads=Component(),
    apis=(Api("scheduling.k8s.io", "workloads", "Workload"),),
    gang=False,
    hint="alpha and off by default; gang scheduling through it is not confirmed",
)

SCHEDULERS: tuple[GangScheduler, ...] = (KUEUE, VOLCANO, KAI, COSCHEDULING, YUNIKORN, LWS, NATIVE)
GANG_SCHEDULERS: tuple[GangScheduler, ...] = tuple(s for s in SCHEDULERS if s.gang)
BY_KEY: dict[str, GangScheduler] = {s.key: s for s in SCHEDULERS}

RECORDS = SCHEDULERS
