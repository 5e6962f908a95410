"""Scheduling & orchestration checks on hand-written fixtures under testdata/checks/<requirement>/<case>/."""

from __future__ import annotations

from conftest import names, fact, run_check

from kubectl_aiconf.result import Status


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


# cluster_autoscaling --------------------------------------------------------------------------------------
def ca(case: str):
    return run_check(f"cluster_autoscaling/{case}", "cluster_autoscaling")


def test_ca_healthy_cluster_autoscaler_with_gpu_node_group_passes():
    r = ca("healthy")
    assert r.status is Status.PASS
    assert "Cluster Autoscaler is healthy" in r.message
    assert "eks-gpu-a10g-20260101-91fe (accelerator pool gpu-a10g)" in r.message
    assert fact(r, "ConfigMap", "autoscaling/cluster-autoscaler-status") == "cluster-wide health Healthy, 2 node groups"
    assert fact(r, "Deployment", "autoscaling/cluster-autoscaler-aws-cluster-autoscaler") == "1/1 available"
    assert "ip-10-0-2-20" in names(r, "Node")


def test_ca_unhealthy_status_fails():
    r = ca("unhealthy")
    assert r.status is Status.FAIL
    assert "kube-system/cluster-autoscaler-status reports Unhealthy" in r.message
    assert fact(r, "ConfigMap", "kube-system/cluster-autoscaler-status").startswith("cluster-wide health Unhealthy")


def test_ca_karpenter_crds_only_warns():
    r = ca("crds-only")
    assert r.status is Status.WARN
    assert "Karpenter CRDs are installed but no NodePool" in r.message
    assert "nodepools.karpenter.sh" in names(r, "CustomResourceDefinition")


def test_ca_forbidden_is_unknown_naming_both_permissions():
    r = ca("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list deployments.apps in all namespaces" in r.message
    assert "list configmaps in all namespaces" in r.message


def test_ca_absent_is_not_applicable():
    r = ca("absent")
    assert r.status is Status.NA
    assert r.message.startswith("no cluster autoscaler found")
    assert "applies only when one is provided" in r.message


def test_ca_karpenter_gpu_nodepool_passes():
    r = ca("karpenter")
    assert r.status is Status.PASS
    assert "Karpenter runs (kube-system/karpenter 2/2 available)" in r.message
    assert "NodePool gpu" in r.message and "NodePool general" not in r.message
    assert fact(r, "NodePool", "gpu") == "Ready=True, accelerators: limits nvidia.com/gpu"


def test_ca_managed_karpenter_passes_and_says_managed():
    r = ca("karpenter-managed")
    assert r.status is Status.PASS
    assert "managed controller" in r.message
    assert "instance-gpu-count Gt 0" in fact(r, "NodePool", "gpu-inference")


def test_ca_karpenter_without_accelerator_nodepool_warns():
    r = ca("karpenter-no-gpu")
    assert r.status is Status.WARN
    assert "no NodePool provisions accelerator nodes" in r.message  # DoesNotExist on the GPU key is not a GPU pool


def test_ca_managed_pools_without_visible_autoscaler_is_unknown():
    r = ca("managed-pools")
    assert r.status is Status.UNKNOWN
    assert "managed GKE node pools" in r.message and "accelerator pools: l4-pool" in r.message
    assert "not visible" in r.message
    assert "gke-prod-l4-pool-5e6f7a8b-y2" in names(r, "Node")


def test_ca_openshift_cluster_autoscaler_with_gpu_limits_passes():
    r = ca("openshift")
    assert r.status is Status.PASS
    assert "OpenShift ClusterAutoscaler is healthy" in r.message and "nvidia.com/gpu" in r.message
    assert "openshift-machine-api/cluster-autoscaler-default" in names(r, "Deployment")
    assert "openshift-machine-api/cluster-autoscaler-operator" not in names(r, "Deployment")


def test_ca_cluster_api_annotations_without_autoscaler_is_unknown():
    r = ca("capi")
    assert r.status is Status.UNKNOWN
    assert "management cluster" in r.message
    assert names(r, "MachineDeployment") == {"prod/prod-md-gpu"}  # the unannotated one is not an autoscaled group


def test_ca_healthy_without_accelerator_group_warns():
    r = ca("ca-no-gpu")
    assert r.status is Status.WARN
    assert "no node group of accelerator nodes" in r.message


# pod_autoscaling ------------------------------------------------------------------------------------------
def pa(case: str):
    return run_check(f"pod_autoscaling/{case}", "pod_autoscaling")


def test_pa_custom_metrics_with_gpu_metrics_and_gpu_hpa_passes():
    r = pa("healthy")
    assert r.status is Status.PASS
    assert r.message.startswith("custom metrics API available")
    assert "DCGM_FI_DEV_GPU_UTIL" in r.message and "vllm_num_requests_running" in r.message
    assert "1 autoscaler scales accelerator workloads" in r.message
    hpa = fact(r, "HorizontalPodAutoscaler", "serving/vllm-qwen")
    assert "Pods metric vllm_num_requests_running" in hpa and "requests nvidia.com/gpu" in hpa
    assert "ScalingActive=True" in hpa
    assert "shop/web" not in names(r, "HorizontalPodAutoscaler")  # CPU-only HPA is not evidence of custom metrics
    assert fact(r, "APIService", "v1beta1.custom.metrics.k8s.io").startswith("Available=True")
    assert "http_requests_per_second" not in fact(r, "APIGroup", "custom.metrics.k8s.io")


def test_pa_unavailable_custom_metrics_fails_with_condition_message():
    r = pa("unhealthy")
    assert r.status is Status.FAIL
    assert "v1beta1.custom.metrics.k8s.io Available=False (FailedDiscoveryCheck" in r.message
    assert "connection refused" in r.message
    assert fact(r, "Deployment", "monitoring/prometheus-adapter") == "0/1 available"


def test_pa_keda_crds_only_warns():
    r = pa("crds-only")
    assert r.status is Status.WARN
    assert "KEDA CRDs found but no custom, external or resource metrics APIService" in r.message
    assert "scaledobjects.keda.sh" in names(r, "CustomResourceDefinition")


def test_pa_forbidden_apiservices_is_unknown():
    r = pa("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list apiservices.apiregistration.k8s.io (cluster scope)" in r.message


def test_pa_no_metrics_api_fails():
    r = pa("absent")
    assert r.status is Status.FAIL
    assert "no metrics API" in r.message


def test_pa_metrics_server_only_warns_and_reports_broken_external_api():
    r = pa("metrics-server-only")
    assert r.status is Status.WARN
    assert "only the resource metrics API (metrics-server)" in r.message
    assert "v1beta1.external.metrics.k8s.io Available=False (ServiceNotFound" in r.message


def test_pa_keda_external_metrics_with_gpu_scaledobject_passes():
    r = pa("keda")
    assert r.status is Status.PASS
    assert r.message.startswith("external metrics API available")
    so = fact(r, "ScaledObject", "inference/triton-gpu")
    assert "AI/GPU metric DCGM_FI_DEV_GPU_UTIL" in so and "StatefulSet triton (requests nvidia.com/gpu)" in so
    assert "keda/keda-operator" in names(r, "Deployment")


def test_pa_discovery_answers_when_apiservices_are_forbidden():
    r = pa("discovery-only")
    assert r.status is Status.PASS
    assert "gpu_utilization" in r.message
    assert "APIService status not readable" in fact(r, "APIGroup", "custom.metrics.k8s.io")
