"""Scheduling & orchestration checks on hand-written fixtures under testdata/checks/<requirement>/<case>/.

Every fixture's verdict is pinned as a status and a reason in the tables; the tests below them check what was
seen (evidence names and facts) and that messages name what could not be read.
"""

from __future__ import annotations

import pytest

from conftest import TESTDATA, fact, names, run_check
from kubectl_aiconf.catalogue import BY_ID
from kubectl_aiconf.checks import check_for
from kubectl_aiconf.knowledge import autoscalers, schedulers
from kubectl_aiconf.resources import HPAS, KEDA_SCALEDOBJECTS
from kubectl_aiconf.result import Reason, Status
from kubectl_aiconf.view import Listing, Outcome
from kubectl_aiconf.view.snapshot import SnapshotView


def _cases(requirement_id: str) -> list[str]:
    return sorted(p.name for p in (TESTDATA / "checks" / requirement_id).iterdir() if p.is_dir())


# gang_scheduling ------------------------------------------------------------------------------------------
def gang(case: str):
    return run_check(f"gang_scheduling/{case}", "gang_scheduling")


GANG = {
    "absent": (Status.FAIL, Reason.NOT_INSTALLED),
    "api-not-served": (Status.FAIL, Reason.UNHEALTHY),  # the controller runs, its CRDs are gone
    "coscheduling": (Status.PASS, Reason.HEALTHY),
    "coscheduling-unhealthy": (Status.FAIL, Reason.UNHEALTHY),
    "crds-forbidden": (Status.PASS, Reason.HEALTHY),  # discovery shows the API; a healthy Kueue needs no CRD list
    "crds-not-established": (Status.WARN, Reason.CRDS_ONLY),
    "crds-only": (Status.WARN, Reason.CRDS_ONLY),
    "forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),  # CRDs, and Deployments forbidden
    "healthy": (Status.PASS, Reason.HEALTHY),
    "hints": (Status.WARN, Reason.PARTIAL),
    "hints-beside-kueue": (Status.PASS, Reason.HEALTHY),  # Kueue decides; the hints are only mentioned
    "kai": (Status.PASS, Reason.HEALTHY),
    "kai-no-queues": (Status.WARN, Reason.PARTIAL),
    "kai-queues-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "kueue-inactive": (Status.WARN, Reason.PARTIAL),
    "kueue-localqueue-inactive": (Status.WARN, Reason.PARTIAL),  # issue 10: was PASS, its LocalQueue admits nothing
    "kueue-no-localqueue": (Status.WARN, Reason.PARTIAL),
    "kueue-no-queues": (Status.WARN, Reason.PARTIAL),
    "lws-only": (Status.WARN, Reason.PARTIAL),  # its controller alone, without its CRD
    "native-workload-api": (Status.WARN, Reason.PARTIAL),
    "queues-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "scheduler-missing": (Status.FAIL, Reason.UNHEALTHY),
    "unhealthy": (Status.FAIL, Reason.UNHEALTHY),
    "volcano": (Status.PASS, Reason.HEALTHY),
    "volcano-closed": (Status.WARN, Reason.PARTIAL),
    "volcano-queues-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "yunikorn-unhealthy": (Status.FAIL, Reason.UNHEALTHY),
}


def test_every_gang_fixture_has_a_verdict():
    assert sorted(GANG) == _cases("gang_scheduling")


@pytest.mark.parametrize("case, status, reason", [(k, *v) for k, v in GANG.items()])
def test_gang_verdict(case, status, reason):
    r = gang(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_gang_kueue_healthy_names_queues_and_admitted_workloads():
    r = gang("healthy")
    assert "1 active ClusterQueue and 1 active LocalQueue" in r.message and "1 Workload admitted" in r.message
    assert fact(r, "Deployment", "kueue-system/kueue-controller-manager") == "1/1 available"
    assert fact(r, "ClusterQueue", "gpu-cq") == "Active=True"
    assert fact(r, "LocalQueue", "team-a/team-a") == "Active=True, clusterQueue gpu-cq"
    assert "team-a/job-train-3f2a1" in names(r, "Workload")
    assert "team-a/job-train-9c1d0" not in names(r, "Workload")  # only admitted Workloads are shown


def test_gang_kueue_unhealthy_names_the_unavailable_controller():
    assert "kueue-controller-manager 0/1 available" in gang("unhealthy").message


def test_gang_crds_without_controller_shows_the_crds():
    assert "clusterqueues.kueue.x-k8s.io" in names(gang("crds-only"), "CustomResourceDefinition")
    r = gang("crds-not-established")
    assert "Kueue CRDs exist (not Established)" in r.message
    assert fact(r, "CustomResourceDefinition", "clusterqueues.kueue.x-k8s.io") == "not Established"


@pytest.mark.parametrize(
    "case, why",
    [
        ("kueue-no-queues", "no ClusterQueue is configured"),
        ("kueue-inactive", "no ClusterQueue is Active"),
        ("kueue-no-localqueue", "no LocalQueue is configured"),
        ("kueue-localqueue-inactive", "no LocalQueue is Active"),
        ("volcano-closed", "no Queue is Open"),
        ("kai-no-queues", "no Queue is configured"),
    ],
)
def test_gang_without_usable_queues_says_which(case, why):
    assert f"but {why}, so no job can be admitted" in gang(case).message


def test_gang_inactive_localqueue_shows_why_and_its_clusterqueue():
    seen = fact(gang("kueue-localqueue-inactive"), "LocalQueue", "team-a/team-a")
    assert seen == (
        "Active=False (ClusterQueueDoesNotExist: Can't submit new workloads to clusterQueue), clusterQueue gpu-cq-2024"
    )


def test_gang_forbidden_deployments_do_not_read_as_no_controller():
    r = gang("forbidden")
    assert "list deployments.apps in all namespaces" in r.message
    assert "no Kueue controller was found" not in r.message
    assert "localqueues.kueue.x-k8s.io" in names(r)


def test_gang_absent_shows_nothing():
    assert gang("absent").evidence == []


def test_gang_volcano_shows_its_components_and_running_podgroups():
    r = gang("volcano")
    assert "1 open Queue" in r.message and "1 PodGroup running" in r.message
    assert {"volcano-system/volcano-controllers", "volcano-system/volcano-admission"} <= names(r, "Deployment")
    assert fact(r, "PodGroup", "research/mpi-job-a") == "phase Running, minMember 4"
    r = gang("volcano-closed")
    assert fact(r, "Queue", "default") == "state Closed"
    assert fact(r, "PodGroup", "research/mpi-job-a") == "phase Pending, minMember 4"  # none runs: all are shown


def test_gang_kai_scheduler_component_found_through_its_image():
    r = gang("kai")
    assert "kai-scheduler/kai-scheduler-default" in r.message
    assert "kai-scheduler/binder" in names(r, "Deployment")
    assert "default-queue" in names(r, "Queue")


def test_gang_coscheduling_shows_its_crd_and_podgroups():
    r = gang("coscheduling")
    assert "podgroups.scheduling.x-k8s.io" in names(r, "CustomResourceDefinition")
    assert "1 PodGroup running/scheduled of 1" in r.message
    assert fact(r, "PodGroup", "research/torch-ddp") == "phase Running, minMember 3"


def test_gang_coscheduling_unhealthy_names_its_scheduler():
    r = gang("coscheduling-unhealthy")
    assert "scheduler-plugins/scheduler-plugins-scheduler 0/1 available" in r.message
    assert fact(r, "Deployment", "scheduler-plugins/scheduler-plugins-controller") == "1/1 available"


@pytest.mark.parametrize(
    "case, permission",
    [
        ("queues-forbidden", "list clusterqueues.kueue.x-k8s.io (cluster scope)"),
        ("volcano-queues-forbidden", "list queues.scheduling.volcano.sh (cluster scope)"),
        ("kai-queues-forbidden", "list queues.scheduling.run.ai (cluster scope)"),
    ],
)
def test_gang_queues_forbidden_names_the_permission_and_the_running_scheduler(case, permission):
    r = gang(case)
    assert permission in r.message
    assert names(r, "Deployment")


def test_gang_healthy_kueue_with_workloads_forbidden_says_they_were_not_checked():
    assert "admitted Workloads not checked" in gang("crds-forbidden").message


def test_gang_scheduler_missing_shows_the_components_that_run():
    r = gang("scheduler-missing")
    assert names(r, "Deployment") == {"volcano-system/volcano-controllers", "volcano-system/volcano-admission"}


def test_gang_hints_show_yunikorn_and_leaderworkerset():
    r = gang("hints")
    assert {"yunikorn/yunikorn-scheduler", "lws-system/lws-controller-manager"} <= names(r, "Deployment")
    assert "LeaderWorkerSet" in gang("lws-only").message
    assert fact(gang("yunikorn-unhealthy"), "Deployment", "yunikorn/yunikorn-scheduler") == "0/1 available"


def test_gang_native_workload_api_names_its_version():
    r = gang("native-workload-api")
    assert fact(r, "APIGroup", "scheduling.k8s.io") == "serves workloads (v1alpha2)"
    assert r.message.startswith("the native Workload API is served (scheduling.k8s.io/v1alpha2; alpha")


def test_gang_hints_beside_a_gang_scheduler_are_mentioned_not_counted():
    r = gang("hints-beside-kueue")
    assert r.message.startswith("Kueue runs")
    for hint in (
        "YuniKorn runs (gang scheduling needs task groups",
        "LeaderWorkerSet runs (it groups pods",
        "the native Workload API is served (scheduling.k8s.io/v1alpha2;",
    ):
        assert f"; {hint}" in r.message or f"also {hint}" in r.message, hint
    assert {"yunikorn/yunikorn-scheduler", "lws-system/lws-controller-manager"} <= names(r, "Deployment")
    assert fact(r, "APIGroup", "scheduling.k8s.io") == "serves workloads (v1alpha2)"


def test_gang_absent_names_every_scheduler_looked_for():
    message = gang("absent").message
    assert all(s.name in message for s in schedulers.SCHEDULERS)


# cluster_autoscaling --------------------------------------------------------------------------------------
def ca(case: str):
    return run_check(f"cluster_autoscaling/{case}", "cluster_autoscaling")


CLUSTER_AUTOSCALING = {
    "absent": (Status.NA, Reason.NOT_APPLICABLE),
    "ca-args-gaudi-group": (Status.PASS, Reason.HEALTHY),  # issue 10: was WARN, "gaudi" was no accelerator word
    "ca-args-gpu-group": (Status.PASS, Reason.HEALTHY),
    "ca-no-gpu": (Status.WARN, Reason.PARTIAL),
    "ca-nodes-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "ca-status-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),  # a healthy Deployment, an unread status
    "ca-status-without-health": (Status.UNKNOWN, Reason.UNRECOGNISED),
    "ca-text-status": (Status.PASS, Reason.HEALTHY),
    "ca-status-unnamed-group": (Status.PASS, Reason.HEALTHY),  # a node group entry without a name is skipped
    "capi": (Status.UNKNOWN, Reason.MANAGED_NOT_VISIBLE),  # the autoscaler runs in the management cluster
    "capi-deployments-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "capi-owner": (Status.PASS, Reason.HEALTHY),
    "crds-only": (Status.WARN, Reason.CRDS_ONLY),
    "forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "healthy": (Status.PASS, Reason.HEALTHY),
    "karpenter": (Status.PASS, Reason.HEALTHY),
    "karpenter-accelerator-signs": (Status.PASS, Reason.HEALTHY),
    "karpenter-crds-deployments-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "karpenter-managed": (Status.PASS, Reason.HEALTHY),
    # Ready NodePools prove a managed controller only when no broken one can hide among unread Deployments
    "karpenter-managed-deployments-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "karpenter-managed-no-condition": (Status.UNKNOWN, Reason.MANAGED_NOT_VISIBLE),
    "karpenter-managed-not-ready": (Status.FAIL, Reason.UNHEALTHY),
    "karpenter-no-api": (Status.FAIL, Reason.UNHEALTHY),  # the controller runs, its CRDs are missing
    "karpenter-no-gpu": (Status.WARN, Reason.PARTIAL),
    "karpenter-no-nodepool": (Status.WARN, Reason.PARTIAL),
    "karpenter-nodepools-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "karpenter-nodes-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "karpenter-sku-taint": (Status.PASS, Reason.HEALTHY),  # issue 10: was WARN, only resource-named taints counted
    "karpenter-unhealthy": (Status.FAIL, Reason.UNHEALTHY),
    "karpenter-unhealthy-no-nodepool": (Status.FAIL, Reason.UNHEALTHY),
    # the limited user's view of a stopped Karpenter (tests/integration/test_karpenter.py): UNKNOWN, as an
    # autoscaler it cannot see may work, but the message says the controller is down (test below)
    "karpenter-unhealthy-nodepools-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "managed-pools": (Status.UNKNOWN, Reason.MANAGED_NOT_VISIBLE),
    "managed-pools-configmaps-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "openshift": (Status.PASS, Reason.HEALTHY),
    "openshift-no-autoscaler": (Status.FAIL, Reason.UNHEALTHY),
    "unhealthy": (Status.FAIL, Reason.UNHEALTHY),
}


def test_every_cluster_autoscaling_fixture_has_a_verdict():
    assert sorted(CLUSTER_AUTOSCALING) == _cases("cluster_autoscaling")


@pytest.mark.parametrize("case, status, reason", [(k, *v) for k, v in CLUSTER_AUTOSCALING.items()])
def test_ca_verdict(case, status, reason):
    r = ca(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_ca_healthy_links_the_gpu_node_group_to_its_pool():
    r = ca("healthy")
    assert "eks-gpu-a10g-20260101-91fe (accelerator pool gpu-a10g)" in r.message
    assert fact(r, "ConfigMap", "autoscaling/cluster-autoscaler-status") == "cluster-wide health Healthy, 2 node groups"
    assert fact(r, "Deployment", "autoscaling/cluster-autoscaler-aws-cluster-autoscaler") == "1/1 available"
    assert "ip-10-0-2-20" in names(r, "Node")


def test_ca_status_configmap_is_read_in_both_forms():
    assert fact(ca("unhealthy"), "ConfigMap", "kube-system/cluster-autoscaler-status").startswith(
        "cluster-wide health Unhealthy"
    )
    r = ca("ca-text-status")
    assert fact(r, "ConfigMap", "kube-system/cluster-autoscaler-status") == "cluster-wide health Healthy, 2 node groups"
    assert "node group gpu-workers" in r.message and "cpu-workers" not in r.message
    assert (
        fact(ca("ca-status-without-health"), "ConfigMap", "kube-system/cluster-autoscaler-status")
        == "cluster-wide health not reported, 1 node group"
    )


def test_ca_args_name_the_gpu_node_group():
    r = ca("ca-args-gpu-group")
    assert "node group gpu-a100-workers" in r.message and "cpu-workers" not in r.message
    r = ca("ca-status-forbidden")
    assert "is healthy in what could be read" in r.message and "list configmaps in all namespaces" in r.message


def test_ca_forbidden_names_both_permissions():
    r = ca("forbidden")
    assert "list deployments.apps in all namespaces" in r.message
    assert "list configmaps in all namespaces" in r.message


def test_ca_absent_says_the_requirement_is_conditional():
    message = ca("absent").message
    assert "applies only when one is provided" in message
    assert all(r.name in message for r in autoscalers.CLUSTER_AUTOSCALERS)


def test_ca_node_group_named_after_its_accelerator_counts():
    r = ca("ca-args-gaudi-group")
    assert r.message.endswith("covers accelerators: node group gaudi2-dl1-workers")


def test_ca_karpenter_shows_only_the_accelerator_nodepool():
    r = ca("karpenter")
    assert "NodePool gpu" in r.message and "NodePool general" not in r.message
    assert fact(r, "NodePool", "gpu") == "Ready=True, accelerators: limits nvidia.com/gpu"


def test_ca_karpenter_accelerator_signs_each_count_alone():
    r = ca("karpenter-accelerator-signs")
    assert fact(r, "NodePool", "by-node") == "Ready=True, accelerators: holds accelerator nodes"
    assert (
        fact(r, "NodePool", "by-family")
        == "Ready=True, accelerators: requirement karpenter.k8s.aws/instance-family In g6"
    )
    assert fact(r, "NodePool", "by-taint") == "Ready=True, accelerators: taint nvidia.com/gpu"
    assert fact(r, "NodePool", "cpu") == "Ready=True"  # NotIn on a GPU key and an m7i family are no accelerators


def test_ca_karpenter_taint_value_naming_gpus_marks_an_accelerator_nodepool():
    r = ca("karpenter-sku-taint")
    assert fact(r, "NodePool", "inference") == "Ready=True, accelerators: taint sku=gpu"
    assert fact(r, "NodePool", "general") == "Ready=True"


def test_ca_managed_karpenter_says_managed():
    r = ca("karpenter-managed")
    assert "managed controller" in r.message
    assert "instance-gpu-count Gt 0" in fact(r, "NodePool", "gpu-inference")


def test_ca_karpenter_without_accelerator_nodepool_says_so():
    # DoesNotExist on the GPU key is not a GPU pool
    assert "no NodePool provisions accelerator nodes" in ca("karpenter-no-gpu").message


def test_ca_managed_pools_name_the_accelerator_pool():
    r = ca("managed-pools")
    assert "accelerator pools: l4-pool" in r.message
    assert (
        fact(r, "Node", "gke-prod-l4-pool-5e6f7a8b-y2")
        == "GKE node pool l4-pool (cloud.google.com/gke-nodepool), accelerator node pool"
    )
    assert (
        fact(r, "Node", "gke-prod-default-pool-1a2b3c4d-x1")
        == "GKE node pool default-pool (cloud.google.com/gke-nodepool)"
    )
    r = ca("managed-pools-configmaps-forbidden")
    assert "list configmaps in all namespaces" in r.message and "gke-prod-l4-pool-5e6f7a8b-y2" in names(r, "Node")


def test_ca_openshift_shows_only_the_autoscaler_deployment():
    r = ca("openshift")
    assert r.message.startswith("OpenShift ClusterAutoscaler is healthy") and "nvidia.com/gpu" in r.message
    assert fact(r, "ClusterAutoscaler", "default") == "GPU limits for nvidia.com/gpu"
    assert "openshift-machine-api/cluster-autoscaler-default" in names(r, "Deployment")
    assert "openshift-machine-api/cluster-autoscaler-operator" not in names(r, "Deployment")


def test_ca_cluster_api_shows_only_annotated_machinedeployments():
    r = ca("capi")
    assert r.message.startswith("Cluster API autoscaler node groups are annotated")
    assert names(r, "MachineDeployment") == {"prod/prod-md-gpu"}
    assert "whether a Cluster Autoscaler runs cannot be told" in ca("capi-deployments-forbidden").message
    r = ca("capi-owner")  # accelerator group known from its node's owner, not from capacity annotations
    assert (
        r.message == "Cluster Autoscaler is healthy and covers accelerators: MachineDeployment prod/prod-md-a100 "
        "(holds accelerator nodes)"
    )
    assert (
        fact(r, "ConfigMap", "kube-system/cluster-autoscaler-status") == "cluster-wide health Healthy, 0 node groups"
    )  # the YAML form, with no node group yet
    assert (
        fact(r, "MachineDeployment", "prod/prod-md-a100") == "autoscaled 1..4, accelerators (holds accelerator nodes)"
    )


@pytest.mark.parametrize(
    "case, permission, never",
    [
        ("ca-nodes-forbidden", "list nodes (cluster scope)", "no node group of accelerator nodes"),
        ("karpenter-nodes-forbidden", "list nodes (cluster scope)", "no NodePool provisions accelerator nodes"),
        ("capi-deployments-forbidden", "list deployments.apps in all namespaces", "no Cluster Autoscaler is visible"),
        (
            "karpenter-crds-deployments-forbidden",
            "list deployments.apps in all namespaces",
            "no Karpenter controller runs",
        ),
        ("karpenter-nodepools-forbidden", "list nodepools.karpenter.sh (cluster scope)", "no NodePool is defined"),
    ],
)
def test_ca_blind_spots_are_named_never_read_as_absence(case, permission, never):
    r = ca(case)
    assert permission in r.message
    assert never not in r.message


def test_ca_a_controller_seen_down_is_said_even_when_its_nodepools_cannot_be_read():
    r = ca("karpenter-unhealthy-nodepools-forbidden")
    assert r.message.startswith("Karpenter is installed but not healthy (karpenter/karpenter 0/1 available)")
    assert "list nodepools.karpenter.sh (cluster scope)" in r.message


# pod_autoscaling ------------------------------------------------------------------------------------------
def pa(case: str):
    return run_check(f"pod_autoscaling/{case}", "pod_autoscaling")


POD_AUTOSCALING = {
    "absent": (Status.FAIL, Reason.NOT_INSTALLED),
    "crds-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),  # issue 10: was FAIL, KEDA may hide behind the CRDs
    "crds-only": (Status.WARN, Reason.CRDS_ONLY),
    "deployments-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "discovery-only": (Status.PASS, Reason.HEALTHY),
    "dra-devices": (Status.PASS, Reason.HEALTHY),  # accelerators only as DRA devices
    "forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "healthy": (Status.PASS, Reason.HEALTHY),
    "hpas-forbidden": (Status.PASS, Reason.HEALTHY),
    "keda": (Status.PASS, Reason.HEALTHY),
    "keda-operator-no-apiservice": (Status.WARN, Reason.PARTIAL),
    "metrics-server-only": (Status.WARN, Reason.PARTIAL),
    "no-accelerators": (Status.NA, Reason.NO_ACCELERATORS),  # issue 13: was PASS
    "no-accelerators-apiservices-forbidden": (Status.NA, Reason.NO_ACCELERATORS),
    "no-accelerators-hpas-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "no-accelerators-nodes-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "scale-from-zero": (Status.PASS, Reason.HEALTHY),  # no accelerator node, but an HPA on a GPU workload
    "scale-from-zero-shares": (Status.PASS, Reason.HEALTHY),  # issue 10: was N/A, GPU shares were no request
    "slices-forbidden": (Status.UNKNOWN, Reason.FORBIDDEN),
    "targets-forbidden": (Status.PASS, Reason.HEALTHY),
    "unhealthy": (Status.FAIL, Reason.UNHEALTHY),
}


def test_every_pod_autoscaling_fixture_has_a_verdict():
    assert sorted(POD_AUTOSCALING) == _cases("pod_autoscaling")


@pytest.mark.parametrize("case, status, reason", [(k, *v) for k, v in POD_AUTOSCALING.items()])
def test_pa_verdict(case, status, reason):
    r = pa(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_pa_healthy_shows_the_gpu_hpa_and_ai_metrics():
    r = pa("healthy")
    assert "DCGM_FI_DEV_GPU_UTIL" in r.message and "vllm_num_requests_running" in r.message
    hpa = fact(r, "HorizontalPodAutoscaler", "serving/vllm-qwen")
    assert "Pods metric vllm_num_requests_running" in hpa and "requests nvidia.com/gpu" in hpa
    assert "ScalingActive=True" in hpa
    assert "1 autoscaler scales accelerator workloads" in r.message
    assert "shop/web" not in names(r, "HorizontalPodAutoscaler")  # CPU-only HPA is not evidence of custom metrics
    assert (
        fact(r, "APIService", "v1beta1.custom.metrics.k8s.io")
        == "Available=True, served by Service monitoring/prometheus-adapter"
    )
    assert "http_requests_per_second" not in fact(r, "APIGroup", "custom.metrics.k8s.io")


def test_pa_unavailable_custom_metrics_names_the_condition():
    r = pa("unhealthy")
    assert "v1beta1.custom.metrics.k8s.io Available=False (FailedDiscoveryCheck" in r.message
    assert fact(r, "Deployment", "monitoring/prometheus-adapter") == "0/1 available"


def test_pa_keda_without_apiservice_shows_what_is_installed():
    assert "scaledobjects.keda.sh" in names(pa("crds-only"), "CustomResourceDefinition")
    r = pa("keda-operator-no-apiservice")
    assert fact(r, "Deployment", "keda/keda-operator") == "1/1 available"


def test_pa_forbidden_apiservices_names_the_permission():
    assert "list apiservices.apiregistration.k8s.io (cluster scope)" in pa("forbidden").message


def test_pa_metrics_server_only_reports_the_broken_external_api():
    assert "v1beta1.external.metrics.k8s.io Available=False (ServiceNotFound" in pa("metrics-server-only").message


def test_pa_keda_scaledobject_on_a_gpu_workload():
    r = pa("keda")
    assert r.evidence[0].name == "inference/triton-gpu"  # autoscalers of accelerator workloads come first
    so = fact(r, "ScaledObject", "inference/triton-gpu")
    assert "AI/GPU metric DCGM_FI_DEV_GPU_UTIL" in so and "StatefulSet triton (requests nvidia.com/gpu)" in so
    assert "keda/keda-operator" in names(r, "Deployment")
    assert fact(r, "ScaledObject", "shop/web-rps").startswith("triggers prometheus for Deployment web")
    assert "inference/keda-hpa-triton-gpu" not in names(r)  # KEDA's own HPA is reported through its ScaledObject
    assert "shop/api" in names(r, "HorizontalPodAutoscaler")  # an HPA of its own beside KEDA is not skipped


def test_pa_discovery_answers_when_apiservices_are_forbidden():
    r = pa("discovery-only")
    assert "gpu_utilization" in r.message
    assert [e.fact for e in r.evidence if e.kind == "APIGroup"] == [
        "discovery lists 7 metrics (APIService status not readable)",
        (
            "discovery lists AI/GPU metrics: gpu_utilization, gpu_memory_used, gpu_power_usage, gpu_temperature, "
            "vllm_num_requests_running (+1 more)"
        ),
    ]


def test_pa_no_accelerators_still_shows_the_metrics_api():
    r = pa("no-accelerators")
    assert fact(r, "APIService", "v1beta1.custom.metrics.k8s.io").startswith("Available=True")
    assert "custom metrics API available" in r.message


def test_pa_scale_from_zero_shows_the_accelerator_hpas():
    r = pa("scale-from-zero")
    assert "2 autoscalers scale accelerator workloads" in r.message
    assert "requests nvidia.com/gpu" in fact(r, "HorizontalPodAutoscaler", "serving/llm")
    assert "requests a DRA resource claim" in fact(r, "HorizontalPodAutoscaler", "serving/embedder")


def test_pa_gpu_shares_are_accelerator_requests():
    r = pa("scale-from-zero-shares")
    assert "2 autoscalers scale accelerator workloads" in r.message
    assert "requests gpu.intel.com/millicores" in fact(r, "HorizontalPodAutoscaler", "media/transcoder")
    assert "on StatefulSet notebook-llm (requests volcano.sh/vgpu-number)" in fact(
        r, "HorizontalPodAutoscaler", "research/notebook-llm"
    )


def test_pa_unreadable_targets_are_named_not_read_as_no_accelerator():
    r = pa("targets-forbidden")
    assert "1 HPA uses custom/external metrics" in r.message
    assert "whether the workloads they scale request accelerators cannot be told" in r.message


def test_pa_custom_api_with_a_broken_external_api_says_so():
    assert "unavailable: v1beta1.external.metrics.k8s.io Available=False" in pa("dra-devices").message


@pytest.mark.parametrize(
    "case, permission",
    [
        ("crds-forbidden", "list customresourcedefinitions.apiextensions.k8s.io (cluster scope)"),
        ("deployments-forbidden", "list deployments.apps in all namespaces"),
        ("hpas-forbidden", "list horizontalpodautoscalers.autoscaling in all namespaces"),
        ("no-accelerators-nodes-forbidden", "list nodes (cluster scope)"),
        ("no-accelerators-hpas-forbidden", "list horizontalpodautoscalers.autoscaling in all namespaces"),
        ("slices-forbidden", "list resourceslices.resource.k8s.io (cluster scope)"),
    ],
)
def test_pa_blind_spots_are_named(case, permission):
    assert permission in pa(case).message


@pytest.mark.parametrize("case", ["hpas-forbidden", "no-accelerators-hpas-forbidden"])
def test_pa_unreadable_hpas_never_read_as_none(case):
    assert "no AI/GPU metric or accelerator autoscaler seen" not in pa(case).message


@pytest.mark.parametrize(
    "case",
    [
        "absent",
        "crds-only",
        "keda-operator-no-apiservice",
        "metrics-server-only",
        "unhealthy",
        "healthy",
        "dra-devices",
    ],
)
def test_pa_verdicts_resting_on_the_metrics_apis_hold_with_autoscalers_forbidden(case):
    """On a cluster with accelerators, unread HPAs and ScaledObjects could only add notes."""
    view = SnapshotView(TESTDATA / "checks" / "pod_autoscaling" / case, "1.35")
    check = check_for("pod_autoscaling", BY_ID["pod_autoscaling"].category)
    for res in (HPAS, KEDA_SCALEDOBJECTS):
        view._listings[res.key] = Listing(res, Outcome.FORBIDDEN, detail="forbidden by the test")
    view.load(check.reads)
    r = check.run(view)
    assert (r.status, r.reason) == POD_AUTOSCALING[case], r.message
    assert "HPAs not checked" in r.message or r.status is not Status.PASS
