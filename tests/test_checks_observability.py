"""Observability checks on hand-written fixtures under testdata/checks/<requirement>/<case>/."""

from __future__ import annotations

from conftest import names, fact, run_check

from kubectl_aiconf.result import Status

NOT_SAMPLED = "metric names were not sampled"


# accelerator_metrics --------------------------------------------------------------------------------------
def am(case: str):
    return run_check(f"accelerator_metrics/{case}", "accelerator_metrics")


def test_am_dcgm_exporter_ready_on_all_gpu_nodes_passes_with_wiring():
    r = am("healthy")
    assert r.status is Status.PASS
    assert "NVIDIA DCGM exporter ready on all 2 ready NVIDIA accelerator nodes" in r.message
    assert "port 9400/gpu-metrics" in r.message
    assert "scraped via ServiceMonitor gpu-operator/nvidia-dcgm-exporter" in r.message
    assert NOT_SAMPLED in r.message
    assert fact(r, "DaemonSet", "gpu-operator/nvidia-dcgm-exporter") == "2/2 ready"
    assert "gpu-operator/nvidia-dcgm-exporter" in names(r, "Service")
    assert "gpu-operator/nvidia-dcgm-exporter" in names(r, "ServiceMonitor")


def test_am_unready_exporter_fails():
    r = am("unhealthy")
    assert r.status is Status.FAIL
    assert "not healthy (gpu-operator/nvidia-dcgm-exporter 0/2 ready)" in r.message


def test_am_cluster_policy_without_exporter_fails_and_shows_the_hint():
    r = am("crds-only")
    assert r.status is Status.FAIL
    assert "no accelerator metrics exporter" in r.message
    assert "ClusterPolicy cluster-policy enables the DCGM exporter" in r.message
    assert fact(r, "ClusterPolicy", "cluster-policy") == "dcgmExporter enabled"


def test_am_forbidden_is_unknown_naming_nodes_and_daemonsets():
    r = am("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list nodes (cluster scope)" in r.message
    assert "list daemonsets.apps in all namespaces" in r.message


def test_am_gpu_nodes_without_exporter_fail():
    r = am("absent")
    assert r.status is Status.FAIL
    assert "runs for the 2 NVIDIA accelerator nodes" in r.message


def test_am_no_accelerator_nodes_fails():
    r = am("no-accelerators")
    assert r.status is Status.FAIL
    assert "no accelerator nodes found" in r.message


def test_am_exporter_missing_on_some_gpu_nodes_warns():
    r = am("partial")
    assert r.status is Status.WARN
    assert "runs on 1 of 3 ready NVIDIA accelerator nodes" in r.message


def test_am_amd_metrics_exporter_passes():
    r = am("amd")
    assert r.status is Status.PASS
    assert "AMD device metrics exporter ready on the 1 ready AMD accelerator node" in r.message
    assert "kube-amd-gpu/default-metrics-exporter" in names(r, "DaemonSet")
    assert "port 5000/http" in fact(r, "Service", "kube-amd-gpu/default-metrics-exporter")


def test_am_gke_accelerators_without_visible_exporter_are_unknown_managed():
    r = am("gke-managed")
    assert r.status is Status.UNKNOWN
    assert "GKE-managed" in r.message and "managed service" in r.message


def test_am_healthy_exporter_passes_even_when_nodes_are_forbidden():
    r = am("nodes-forbidden")
    assert r.status is Status.PASS
    assert "node coverage not checked" in r.message and "list nodes (cluster scope)" in r.message
    assert fact(r, "DaemonSet", "gpu-operator/nvidia-dcgm-exporter") == "4/4 ready"


def test_am_unrecognised_gpu_exporter_is_reported_not_absent():
    r = am("unrecognised")
    assert r.status is Status.WARN
    assert "unrecognised accelerator exporter runs (observability/gpu-stats-exporter 1/1 ready)" in r.message


# ai_service_metrics ---------------------------------------------------------------------------------------
def sm(case: str):
    return run_check(f"ai_service_metrics/{case}", "ai_service_metrics")


def test_sm_prometheus_operator_with_available_prometheus_passes():
    r = sm("healthy")
    assert r.status is Status.PASS
    assert "Prometheus Operator runs (monitoring/kube-prometheus-stack-operator)" in r.message
    assert "1 available Prometheus (monitoring/kube-prometheus-stack-prometheus)" in r.message
    assert "1 workload monitor" in r.message and "serving/vllm-qwen" in r.message
    assert fact(r, "Prometheus", "monitoring/kube-prometheus-stack-prometheus") == "Available=True"
    # the stack's own kubelet monitor is not counted as a workload monitor
    assert "monitoring/kube-prometheus-stack-kubelet" not in names(r, "ServiceMonitor")


def test_sm_unavailable_prometheus_fails_with_reason():
    r = sm("unhealthy")
    assert r.status is Status.FAIL
    assert "no Prometheus is available" in r.message and "NoPodReady" in r.message


def test_sm_crds_only_warns():
    r = sm("crds-only")
    assert r.status is Status.WARN
    assert "Prometheus Operator CRDs are installed but no Prometheus Operator was found" in r.message
    assert "servicemonitors.monitoring.coreos.com" in names(r, "CustomResourceDefinition")


def test_sm_forbidden_workloads_is_unknown():
    r = sm("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list deployments.apps in all namespaces" in r.message
    assert "list statefulsets.apps in all namespaces" in r.message


def test_sm_absent_fails():
    r = sm("absent")
    assert r.status is Status.FAIL
    assert r.message.startswith("no monitoring system found")


def test_sm_plain_prometheus_passes_without_crds():
    r = sm("plain-prometheus")
    assert r.status is Status.PASS
    assert "Prometheus runs (prometheus/prometheus-server 1/1 available)" in r.message
    assert "not inspected" in r.message


def test_sm_azure_managed_prometheus_with_visible_collectors_passes():
    r = sm("azure-managed")
    assert r.status is Status.PASS
    assert "Azure Managed Prometheus collectors run (kube-system/ama-metrics 2/2 available)" in r.message
    assert fact(r, "DaemonSet", "kube-system/ama-metrics-node") == "3/3 ready"
    assert "inference/triton" in names(r, "PodMonitor")


def test_sm_google_managed_prometheus_without_visible_collectors_warns_managed():
    r = sm("google-managed")
    assert r.status is Status.WARN
    assert "Google Managed Prometheus CRDs are installed with 1 monitoring object" in r.message
    assert "(managed)" in r.message
    assert "serving/vllm" in names(r, "PodMonitoring")


def test_sm_victoriametrics_agent_passes():
    r = sm("victoriametrics")
    assert r.status is Status.PASS
    assert "VictoriaMetrics runs (vm/vmagent-vmks 1/1 available)" in r.message


def test_sm_opentelemetry_collector_alone_warns():
    r = sm("otel-only")
    assert r.status is Status.WARN
    assert "OpenTelemetry Collector runs" in r.message and "not visible" in r.message


def test_sm_prometheus_objects_forbidden_falls_back_to_statefulset():
    r = sm("prometheuses-forbidden")
    assert r.status is Status.PASS
    assert "Prometheus objects not readable" in r.message
    assert fact(r, "StatefulSet", "monitoring/prometheus-kube-prometheus-stack-prometheus") == "1/1 available"
