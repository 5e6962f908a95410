"""Scheduling & orchestration checks on hand-written fixtures under testdata/checks/<requirement>/<case>/."""

from __future__ import annotations

from conftest import run_check

from kubectl_aiconf.result import Status


def names(result, kind: str | None = None) -> set[str]:
    return {e.name for e in result.evidence if kind is None or e.kind == kind}


def fact(result, kind: str, name: str) -> str:
    return next(e.fact for e in result.evidence if e.kind == kind and e.name == name)


# gang_scheduling ------------------------------------------------------------------------------------------
def gang(case: str):
    return run_check(f"gang_scheduling/{case}", "gang_scheduling")


def test_gang_kueue_healthy_passes_with_queues_and_admitted_workloads():
    r = gang("healthy")
    assert r.status is Status.PASS
    assert "Kueue runs" in r.message
    assert "1 active ClusterQueue and 1 LocalQueue" in r.message
    assert "1 Workload admitted" in r.message
    assert fact(r, "Deployment", "kueue-system/kueue-controller-manager") == "1/1 available"
    assert fact(r, "ClusterQueue", "gpu-cq") == "Active=True"
    assert "team-a/job-train-3f2a1" in names(r, "Workload")
    assert "team-a/job-train-9c1d0" not in names(r, "Workload")  # only admitted Workloads are shown


def test_gang_kueue_unhealthy_controller_fails():
    r = gang("unhealthy")
    assert r.status is Status.FAIL
    assert "not healthy" in r.message and "kueue-controller-manager 0/1 available" in r.message


def test_gang_crds_without_controller_warns():
    r = gang("crds-only")
    assert r.status is Status.WARN
    assert "Kueue CRDs are installed but no Kueue controller was found" in r.message
    assert "clusterqueues.kueue.x-k8s.io" in names(r, "CustomResourceDefinition")


def test_gang_forbidden_deployments_is_unknown_not_warn():
    r = gang("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list deployments.apps in all namespaces" in r.message
    assert "localqueues.kueue.x-k8s.io" in names(r)


def test_gang_absent_fails():
    r = gang("absent")
    assert r.status is Status.FAIL
    assert r.message.startswith("no gang scheduler found")
    assert r.evidence == []


def test_gang_volcano_passes():
    r = gang("volcano")
    assert r.status is Status.PASS
    assert "Volcano runs (volcano-system/volcano-scheduler 1/1 available)" in r.message
    assert "1 open Queue" in r.message and "1 PodGroup running" in r.message
    assert {"volcano-system/volcano-controllers", "volcano-system/volcano-admission"} <= names(r, "Deployment")
    assert fact(r, "PodGroup", "research/mpi-job-a") == "phase Running, minMember 4"


def test_gang_kai_passes_naming_the_scheduler_component():
    r = gang("kai")
    assert r.status is Status.PASS
    assert "KAI Scheduler runs (kai-scheduler/kai-scheduler-default" in r.message
    assert "kai-scheduler/binder" in names(r, "Deployment")  # found through its image, not its name
    assert "default-queue" in names(r, "Queue")


def test_gang_scheduler_plugins_coscheduling_passes():
    r = gang("coscheduling")
    assert r.status is Status.PASS
    assert "scheduler-plugins coscheduling runs" in r.message
    assert "podgroups.scheduling.x-k8s.io" in names(r, "CustomResourceDefinition")


def test_gang_kueue_without_queues_warns():
    r = gang("kueue-no-queues")
    assert r.status is Status.WARN
    assert "no ClusterQueue is configured" in r.message


def test_gang_kueue_queues_forbidden_is_unknown_naming_permission():
    r = gang("queues-forbidden")
    assert r.status is Status.UNKNOWN
    assert "list clusterqueues.kueue.x-k8s.io (cluster scope)" in r.message
    assert "kueue-system/kueue-controller-manager" in names(r, "Deployment")


def test_gang_weaker_hints_warn_only():
    r = gang("hints")
    assert r.status is Status.WARN
    assert "YuniKorn" in r.message and "LeaderWorkerSet" in r.message
    assert {"yunikorn/yunikorn-scheduler", "lws-system/lws-controller-manager"} <= names(r, "Deployment")


def test_gang_native_workload_api_is_a_hint():
    r = gang("native-workload-api")
    assert r.status is Status.WARN
    assert "scheduling.k8s.io/v1alpha2" in r.message
    assert names(r, "APIGroup") == {"scheduling.k8s.io"}
