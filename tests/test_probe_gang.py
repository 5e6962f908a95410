"""gang_scheduling probe: queue choice, manifests and verdicts on recorded Kueue and pod states (testdata/probes)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from kubectl_aiconf.probe import gang
from kubectl_aiconf.probe.plan import PlanError
from kubectl_aiconf.result import Reason, Status

DATA = Path(__file__).resolve().parents[1] / "testdata" / "probes" / "gang_scheduling"
NS_LABELS = {"kubernetes.io/metadata.name": "aiconf-probe-x"}


def cqs() -> list[dict]:
    return yaml.safe_load((DATA / "clusterqueues.yaml").read_text())


def recorded() -> dict:
    return yaml.safe_load((DATA / "workloads-pass.yaml").read_text())


def kueue_verdict(state: dict, finished: bool = True, waited: float = 30, seen: dict | None = None):
    """The verdict on a recorded read, the gang that fits having started `OVER_GRACE` ago (unless `seen`)."""
    seen = {"fit_at": waited - gang.OVER_GRACE} if seen is None else seen
    return gang.judge_kueue(state["pods"], state["workloads"], "Kueue", "2 pods of 2001m", [], waited, finished, seen)


def test_chooses_an_active_queue_outside_a_cohort_with_room():
    choice = gang.choose_cluster_queue(cqs(), NS_LABELS)
    assert (choice.cluster_queue, choice.flavor, choice.free_milli, choice.ceiling_milli) == (
        "team-a",
        "default-flavor",
        2500,
        4000,
    )
    assert choice.covered == ("cpu", "memory")


def test_a_cohort_raises_the_ceiling_by_what_it_could_lend():
    only_shared = [q for q in cqs() if q["metadata"]["name"] in ("shared", "research-b")]
    choice = gang.choose_cluster_queue(only_shared, NS_LABELS)
    # research-b does not admit the probe namespace, but it can lend to `shared`.
    assert (choice.cluster_queue, choice.ceiling_milli) == ("shared", 8000)


def test_no_usable_queue_says_why():
    unusable = [q for q in cqs() if q["metadata"]["name"] in ("gpus-only", "stopped", "research-b")]
    with pytest.raises(PlanError) as err:
        gang.choose_cluster_queue(unusable, NS_LABELS)
    text = str(err.value)
    assert "gpus-only has no CPU quota" in text and "stopped is not Active (Stopped)" in text
    assert "research-b does not admit the probe namespace" in text


def test_full_queue_is_not_used():
    full = copy.deepcopy(cqs()[0])
    full["status"]["flavorsReservation"][0]["resources"][0]["total"] = "3995m"
    with pytest.raises(PlanError, match="5m CPU free"):
        gang.choose_cluster_queue([full], NS_LABELS)


def test_kueue_manifests_stay_in_the_namespace_and_cannot_fit_by_one_pod():
    choice = gang.choose_cluster_queue(cqs(), NS_LABELS)
    queue, fit, over = gang.kueue_plan("aiconf-probe-x", choice, "v1beta2", "busybox")
    assert queue["apiVersion"] == "kueue.x-k8s.io/v1beta2" and queue["spec"] == {"clusterQueue": "team-a"}
    assert all(o["metadata"]["namespace"] == "aiconf-probe-x" for o in (queue, fit, over))
    for job in (fit, over):
        assert job["spec"]["suspend"] is True and job["metadata"]["labels"][gang.KUEUE_LABEL] == gang.QUEUE
    per_pod = over["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert per_pod == {"cpu": "2001m", "memory": "16Mi"}  # one pod fits the 4000m ceiling, two do not
    assert over["spec"]["parallelism"] == 2 and 2 * 2001 > choice.ceiling_milli >= 2001
    fit_cpu = fit["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    assert fit_cpu == "10m" and 2 * 10 <= choice.free_milli


def test_memory_is_not_requested_when_the_queue_does_not_cover_it():
    shared = gang.choose_cluster_queue([q for q in cqs() if q["metadata"]["name"] == "shared"], NS_LABELS)
    _, fit, _ = gang.kueue_plan("n", shared, "v1beta1", "busybox")
    assert fit["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "10m"}


def test_recorded_kueue_run_passes():
    result = kueue_verdict(recorded())
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED, result.message
    assert "started within 1.0s" in result.message
    assert "insufficient quota for cpu" in result.message


def test_a_started_pod_of_the_gang_that_cannot_fit_fails():
    state = recorded()
    pod = copy.deepcopy(state["pods"][0])
    pod["metadata"] = {"name": "aiconf-gang-too-big-0-x", "labels": {gang.GANG_ROLE: gang.OVER}}
    state["pods"].append(pod)
    result = kueue_verdict(state)
    assert result.status is Status.FAIL and result.reason is Reason.PROBE_FAILED
    assert "aiconf-gang-too-big-0-x on kwok-node-1" in result.message


def test_admitting_the_gang_that_cannot_fit_fails_even_before_a_pod_runs():
    state = recorded()
    state["workloads"][1]["status"]["conditions"] = [
        {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved"}
    ]
    assert kueue_verdict(state, finished=False).status is Status.FAIL


def test_gang_that_fits_not_started_is_unknown():
    state = recorded()
    state["pods"][1]["status"] = {"phase": "Pending"}
    assert kueue_verdict(state, finished=False) is None  # waits on
    result = kueue_verdict(state, finished=True)
    assert result.status is Status.UNKNOWN and "1 of 2 pods started" in result.message


def test_the_gang_that_cannot_fit_is_watched_a_moment_after_the_other_started():
    seen: dict = {}
    assert kueue_verdict(recorded(), finished=False, waited=3, seen=seen) is None
    assert seen == {"fit_at": 3}
    assert kueue_verdict(recorded(), finished=False, waited=3 + gang.OVER_GRACE, seen=seen).status is Status.PASS


def test_no_workload_from_kueue_is_unknown_early():
    state = {"pods": [], "workloads": []}
    assert kueue_verdict(state, finished=False, waited=5) is None
    result = kueue_verdict(state, finished=False, waited=gang.WORKLOAD_WAIT)
    assert result.status is Status.UNKNOWN and "does not manage them" in result.message


def test_without_kueue_saying_no_the_negative_is_unknown():
    state = recorded()
    state["workloads"] = state["workloads"][:1]
    result = kueue_verdict(state, finished=True)
    assert result.status is Status.UNKNOWN and "never said" in result.message


def node(name: str, cpu: str, ready: bool = True) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {},
        "status": {
            "allocatable": {"cpu": cpu},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def test_podgroup_plan_asks_one_pod_more_than_the_nodes_hold():
    nodes = [node("a", "8"), node("b", "8"), node("c", "2"), node("d", "64", ready=False)]
    busy = [
        {
            "spec": {"nodeName": "b", "containers": [{"resources": {"requests": {"cpu": "2"}}}]},
            "status": {"phase": "Running"},
        }
    ]
    free = gang.largest_free_cpu(nodes, busy)
    assert free == [8000, 6000, 2000]
    objects, size = gang.podgroup_plan("ns", gang.PODGROUP_KINDS["volcano"], free, "busybox")
    groups = [o for o in objects if o["kind"] == "PodGroup"]
    assert [(g["metadata"]["name"], g["spec"]["minMember"]) for g in groups] == [(gang.FIT, 2), (gang.OVER, 3)]
    assert size == "3 pods of 4001m CPU where 2 fit"
    over_pods = [o for o in objects if o["kind"] == "Pod" and o["metadata"]["labels"][gang.GANG_ROLE] == gang.OVER]
    assert len(over_pods) == 3 and over_pods[0]["spec"]["schedulerName"] == "volcano"
    assert over_pods[0]["metadata"]["annotations"] == {"scheduling.k8s.io/group-name": gang.OVER}
    cos, _ = gang.podgroup_plan("ns", gang.PODGROUP_KINDS["coscheduling"], free, "busybox")
    assert cos[1]["metadata"]["labels"]["scheduling.x-k8s.io/pod-group"] == gang.FIT
    with pytest.raises(PlanError):
        gang.podgroup_plan("ns", gang.PODGROUP_KINDS["volcano"], [], "busybox")


def kai_queue(name: str, parent: str = "") -> dict:
    return {"metadata": {"name": name}, "spec": {"parentQueue": parent} if parent else {}}


def test_kai_gangs_go_to_an_existing_leaf_queue():
    queues = [kai_queue("root"), kai_queue("research", "root"), kai_queue("default-queue", "root")]
    assert gang.choose_leaf_queue(queues) == "default-queue"
    assert gang.choose_leaf_queue([kai_queue("root"), kai_queue("team-a", "root")]) == "team-a"
    with pytest.raises(PlanError, match="no leaf Queue"):
        gang.choose_leaf_queue([])
    objects, size = gang.podgroup_plan("ns", gang.PODGROUP_KINDS["kai"], [8000, 8000], "busybox", "team-a")
    groups = [o for o in objects if o["kind"] == "PodGroup"]
    assert {g["apiVersion"] for g in groups} == {"scheduling.run.ai/v2alpha2"}
    assert [(g["metadata"]["name"], g["spec"]) for g in groups] == [
        (gang.FIT, {"minMember": 2, "queue": "team-a"}),
        (gang.OVER, {"minMember": 3, "queue": "team-a"}),
    ]
    pods = [o for o in objects if o["kind"] == "Pod"]
    assert len(pods) == 5 and {p["metadata"]["namespace"] for p in pods} == {"ns"}
    assert pods[0]["spec"]["schedulerName"] == "kai-scheduler"
    assert pods[0]["metadata"]["annotations"] == {"pod-group-name": gang.FIT}
    assert pods[-1]["metadata"]["labels"]["kai.scheduler/queue"] == "team-a"


class KaiCluster:
    """A view and connection of a cluster whose only gang scheduler is KAI."""

    def __init__(self, queues: list[dict]) -> None:
        self.conn = self
        self.queues = queues

    def group_versions(self, group: str) -> list[str]:
        return ["v2alpha2", "v2"] if group == "scheduling.run.ai" else []

    def request(self, method: str, path: str, query=None) -> dict:
        items = {"/api/v1/nodes": [node("a", "4"), node("b", "4")], "/apis/scheduling.run.ai/v2/queues": self.queues}
        return {"items": items.get(path, [])}


def test_kai_is_planned_when_it_is_the_gang_scheduler_served():
    from kubectl_aiconf.probe.plan import ProbeOptions

    cluster = KaiCluster([kai_queue("default"), kai_queue("default-queue", "default")])
    part = gang.plan(cluster, ProbeOptions(namespace="ns"))
    assert "KAI Scheduler (PodGroups, schedulerName kai-scheduler, Queue default-queue)" in part.summary[0]
    with pytest.raises(PlanError, match="no leaf Queue"):
        gang.plan(KaiCluster([]), ProbeOptions(namespace="ns"))


def test_podgroup_verdicts_on_pod_timelines():
    pods = recorded()["pods"]
    fit = gang.judge_fit(gang.pods_seen(pods, gang.FIT), 2, "")
    waiting = gang.judge_over([], "3 pods", "", rejected=False)
    assert fit[0] == "PASS" and waiting[0] == "WAIT"
    assert gang.judge(fit, waiting, "Volcano", [], finished=True).status is Status.UNKNOWN
    said_no = gang.judge_over([], "3 pods", "unschedulable", rejected=True)
    assert gang.judge(fit, said_no, "Volcano", [], finished=False).status is Status.PASS
    partial = [gang.PodSeen("aiconf-gang-too-big-0", "Running", "a", None)]
    assert gang.judge(fit, gang.judge_over(partial, "3 pods", "", True), "Volcano", [], False).status is Status.FAIL
