"""Gang schedulers (all-or-nothing placement) and what shows them installed, configured and used.

`gang=False` marks software the tool reports as a hint only: it groups pods or schedules in batches, but
all-or-nothing placement through it cannot be confirmed from the cluster state.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_aiconf.knowledge._base import Api, Component, Record


@dataclass(frozen=True)
class GangScheduler(Record):
    key: str
    name: str
    workloads: Component  # any of its controller workloads (scheduler, controllers, webhooks)
    core: str = ""  # regex (name or image) of the scheduler proper among those workloads
    apis: tuple[Api, ...] = ()  # what must be served for it to work
    groups: tuple[str, ...] = ()  # every API group of the project (its CRDs), beyond those of `apis`
    queues: tuple[Api, ...] = ()  # queue objects: without one, no job can be admitted
    usage: Api | None = None  # objects that show it was used (admitted Workloads, PodGroups)
    usage_phases: tuple[str, ...] = ()  # status.phase of `usage` objects that ran; () = any
    scheduler_names: tuple[str, ...] = ()  # pod spec.schedulerName that hands pods to it
    job_labels: tuple[str, ...] = ()  # labels that put a job under it
    webhook: str = ""  # regex on its admission webhook configuration / Service names
    gang: bool = True

    KIND = "scheduler"

    @property
    def api_groups(self) -> tuple[str, ...]:
        """Every API group of the project: those it serves and the others its CRDs define."""
        return tuple(dict.fromkeys([a.group for a in self.apis + self.queues] + list(self.groups)))


KUEUE = GangScheduler(
    key="kueue", name="Kueue",
    workloads=Component(r"^kueue-controller-manager$", r"(^|/)kueue/kueue(:|@|$)"),
    core=r"kueue",
    apis=(Api("kueue.x-k8s.io", "clusterqueues", "ClusterQueue", False),
          Api("kueue.x-k8s.io", "localqueues", "LocalQueue"),
          Api("kueue.x-k8s.io", "workloads", "Workload")),
    queues=(Api("kueue.x-k8s.io", "clusterqueues", "ClusterQueue", False),
            Api("kueue.x-k8s.io", "localqueues", "LocalQueue")),
    usage=Api("kueue.x-k8s.io", "workloads", "Workload"),
    job_labels=("kueue.x-k8s.io/queue-name",),
    webhook=r"kueue",
)

VOLCANO = GangScheduler(
    key="volcano", name="Volcano",
    workloads=Component(r"^volcano-(scheduler|controllers?|admission)$",
                        r"volcanosh/vc-(scheduler|controller-manager|webhook-manager)(:|@|$)"),
    core=r"volcano-scheduler|vc-scheduler",
    apis=(Api("scheduling.volcano.sh", "podgroups", "PodGroup"),
          Api("scheduling.volcano.sh", "queues", "Queue", False)),
    groups=("batch.volcano.sh", "bus.volcano.sh", "flow.volcano.sh", "nodeinfo.volcano.sh", "topology.volcano.sh"),
    queues=(Api("scheduling.volcano.sh", "queues", "Queue", False),),
    usage=Api("scheduling.volcano.sh", "podgroups", "PodGroup"),
    usage_phases=("Running",),
    scheduler_names=("volcano",),
    webhook=r"volcano",
)

KAI = GangScheduler(
    key="kai", name="KAI Scheduler",
    workloads=Component(r"^kai-", r"(^|/)kai-scheduler/"),
    core=r"^kai-scheduler|/kai-scheduler/scheduler(:|@|$)",
    apis=(Api("scheduling.run.ai", "podgroups", "PodGroup"), Api("scheduling.run.ai", "queues", "Queue", False)),
    groups=("kai.scheduler",),
    queues=(Api("scheduling.run.ai", "queues", "Queue", False),),
    usage=Api("scheduling.run.ai", "podgroups", "PodGroup"),
    scheduler_names=("kai-scheduler",),
    job_labels=("pod-group.scheduling.run.ai/name",),
    webhook=r"^kai-|kai-scheduler",
)

COSCHEDULING = GangScheduler(
    key="coscheduling", name="scheduler-plugins coscheduling",
    workloads=Component(r"^scheduler-plugins-(scheduler|controller)$",
                        r"/scheduler-plugins/(kube-scheduler|controller)"),
    core=r"scheduler-plugins-scheduler|/scheduler-plugins/kube-scheduler",
    apis=(Api("scheduling.x-k8s.io", "podgroups", "PodGroup"),),
    usage=Api("scheduling.x-k8s.io", "podgroups", "PodGroup"),
    usage_phases=("Running", "Scheduled"),
    job_labels=("scheduling.x-k8s.io/pod-group",),
)

# Gang scheduling in YuniKorn needs task groups on each application: not visible in the cluster state.
YUNIKORN = GangScheduler(
    key="yunikorn", name="YuniKorn",
    workloads=Component(r"^yunikorn-scheduler$", r"apache/yunikorn:scheduler"),
    scheduler_names=("yunikorn",),
    gang=False,
)

# LeaderWorkerSet groups pods but needs a gang scheduler for all-or-nothing placement.
LWS = GangScheduler(
    key="lws", name="LeaderWorkerSet",
    workloads=Component(r"^lws-controller-manager$", r"/lws(:|@|$)"),
    apis=(Api("leaderworkerset.x-k8s.io", "leaderworkersets", "LeaderWorkerSet"),),
    webhook=r"^lws-",
    gang=False,
)

# Kubernetes' own Workload API (scheduling.k8s.io, alpha and off by default): gang scheduling in kube-scheduler.
NATIVE = GangScheduler(
    key="native", name="the native Workload API",
    workloads=Component(),
    apis=(Api("scheduling.k8s.io", "workloads", "Workload"),),
    gang=False,
)

SCHEDULERS: tuple[GangScheduler, ...] = (KUEUE, VOLCANO, KAI, COSCHEDULING, YUNIKORN, LWS, NATIVE)
GANG_SCHEDULERS: tuple[GangScheduler, ...] = tuple(s for s in SCHEDULERS if s.gang)
BY_KEY: dict[str, GangScheduler] = {s.key: s for s in SCHEDULERS}

RECORDS = SCHEDULERS
