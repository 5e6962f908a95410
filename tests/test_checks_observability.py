"""Observability checks on hand-written fixtures under testdata/checks/<requirement>/<case>/.

Every fixture has its status and reason in a table; the tests after it show what was seen (evidence names and
facts) where that is the point of the fixture.
"""

from __future__ import annotations

import pytest

from conftest import fact, names, run_check
from kubectl_aiconf.result import Reason, Status


# accelerator_metrics --------------------------------------------------------------------------------------
def am(case: str):
    return run_check(f"accelerator_metrics/{case}", "accelerator_metrics")


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", Status.PASS, Reason.HEALTHY),
        ("amd", Status.PASS, Reason.HEALTHY),
        ("mixed-vendor", Status.PASS, Reason.HEALTHY),
        ("label-signals", Status.PASS, Reason.HEALTHY),
        # Every vendor's exporter from the registry (issue 10, point 4); ascend was FAIL no-accelerators before.
        ("intel", Status.PASS, Reason.HEALTHY),
        ("mixed-vendor-intel", Status.PASS, Reason.HEALTHY),
        ("gaudi", Status.PASS, Reason.HEALTHY),
        ("neuron", Status.PASS, Reason.HEALTHY),
        ("ascend", Status.PASS, Reason.HEALTHY),
        # Services forbidden: how the exporter is exposed is not known, but its coverage of the nodes is.
        ("services-forbidden", Status.PASS, Reason.HEALTHY),
        ("partial", Status.WARN, Reason.PARTIAL),
        ("partial-services-forbidden", Status.WARN, Reason.PARTIAL),
        # One vendor's nodes without an exporter (issue 10, point 8): never PASS.
        ("mixed-vendor-amd-missing", Status.WARN, Reason.PARTIAL),
        ("mixed-vendor-amd-unhealthy", Status.WARN, Reason.UNHEALTHY),
        ("mixed-vendor-intel-missing", Status.WARN, Reason.PARTIAL),
        # Nodes whose accelerator is not recognised need an exporter too: this was PASS.
        ("unrecognised-node-beside-healthy", Status.WARN, Reason.PARTIAL),
        ("neuron-partial", Status.WARN, Reason.PARTIAL),
        ("intel-unhealthy", Status.FAIL, Reason.UNHEALTHY),
        ("gaudi-absent", Status.FAIL, Reason.NOT_INSTALLED),
        ("ascend-absent", Status.FAIL, Reason.NOT_INSTALLED),
        ("no-ready-node", Status.WARN, Reason.PARTIAL),
        ("unhealthy", Status.FAIL, Reason.UNHEALTHY),
        ("absent", Status.FAIL, Reason.NOT_INSTALLED),
        ("crds-only", Status.FAIL, Reason.NOT_INSTALLED),
        ("dcgm-disabled", Status.FAIL, Reason.NOT_INSTALLED),
        # The ClusterPolicy only gives a hint: no DaemonSet of any exporter runs, which was seen.
        ("absent-clusterpolicies-forbidden", Status.FAIL, Reason.NOT_INSTALLED),
        ("other-vendor-exporter", Status.FAIL, Reason.NOT_INSTALLED),
        # A device plugin whose image looks like an exporter's is not an (unrecognised) exporter.
        ("device-plugin-not-exporter", Status.FAIL, Reason.NOT_INSTALLED),
        ("no-accelerators", Status.FAIL, Reason.NO_ACCELERATORS),
        # Nodes alone decide that there is no accelerator: unreadable DaemonSets change nothing.
        ("no-accelerators-daemonsets-forbidden", Status.FAIL, Reason.NO_ACCELERATORS),
        ("unrecognised", Status.UNKNOWN, Reason.UNRECOGNISED),
        ("gke-managed", Status.UNKNOWN, Reason.MANAGED_NOT_VISIBLE),
        ("forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
        ("nodes-forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
        # Issue 10: the partial fixture's exporter (1 of 3 GPU nodes) with nodes forbidden was PASS.
        ("partial-nodes-forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
    ],
)
def test_am_verdicts(case, status, reason):
    r = am(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_am_healthy_shows_the_exporter_its_service_and_monitor():
    r = am("healthy")
    assert fact(r, "DaemonSet", "gpu-operator/nvidia-dcgm-exporter") == "2/2 ready"
    assert "on port 9400/gpu-metrics" in fact(r, "Service", "gpu-operator/nvidia-dcgm-exporter")
    assert "gpu-operator/nvidia-dcgm-exporter" in names(r, "ServiceMonitor")


def test_am_monitors_in_another_namespace_select_exporters_through_their_namespace_selector():
    r = am("mixed-vendor")
    assert names(r, "ServiceMonitor") == {"monitoring/dcgm"}  # the one without a namespaceSelector scrapes nothing
    assert fact(r, "PodMonitor", "monitoring/amd-metrics") == "selects kube-amd-gpu/default-metrics-exporter"


def test_am_amd_exporter_is_shown_with_its_service():
    r = am("amd")
    assert fact(r, "DaemonSet", "kube-amd-gpu/default-metrics-exporter") == "1/1 ready"
    assert "port 5000/http" in fact(r, "Service", "kube-amd-gpu/default-metrics-exporter")


def test_am_unreadable_services_are_named_not_taken_for_absent():
    r = am("services-forbidden")
    assert "list services in all namespaces" in r.message
    assert not names(r, "Service")


def test_am_node_coverage_is_not_claimed_when_nodes_cannot_be_read():
    r = am("partial-nodes-forbidden")
    assert "list nodes (cluster scope)" in r.message
    assert fact(r, "DaemonSet", "gpu-operator/nvidia-dcgm-exporter") == "1/1 ready"


def test_am_forbidden_names_nodes_and_daemonsets():
    r = am("forbidden")
    assert "list nodes (cluster scope)" in r.message and "list daemonsets.apps in all namespaces" in r.message


def test_am_the_vendor_without_an_exporter_is_named():
    assert "AMD accelerator nodes" in am("mixed-vendor-amd-missing").message
    assert "Intel GPU accelerator nodes" in am("mixed-vendor-intel-missing").message
    assert "unrecognised accelerator nodes" in am("unrecognised-node-beside-healthy").message


def test_am_each_vendor_is_judged_by_its_own_exporter():
    r = am("mixed-vendor-intel")
    assert fact(r, "DaemonSet", "intel-monitoring/xpumanager") == "1/1 ready"
    assert fact(r, "DaemonSet", "gpu-operator/nvidia-dcgm-exporter") == "1/1 ready"
    assert "Intel XPU Manager ready on the 1 ready Intel GPU accelerator node" in r.message
    assert "port 41611/habana-metrics" in fact(am("gaudi"), "Service", "monitoring/metric-exporter")
    # The exporter the registry knows for the vendor is named, not a generic list.
    assert "(Ascend NPU exporter)" in am("ascend-absent").message


def test_am_managed_exporters_are_marked_and_managed_nodes_named():
    assert "(GKE-managed)" in am("unrecognised-node-beside-healthy").message
    assert "GKE-managed" in am("gke-managed").message


def test_am_cluster_policy_hint_is_evidence():
    assert (
        fact(am("crds-only"), "ClusterPolicy", "cluster-policy")
        == "NVIDIA DCGM exporter enabled (spec.dcgmExporter.enabled=true)"
    )
    assert (
        fact(am("dcgm-disabled"), "ClusterPolicy", "cluster-policy")
        == "NVIDIA DCGM exporter disabled (spec.dcgmExporter.enabled=false)"
    )
    assert "list clusterpolicies.nvidia.com" in am("absent-clusterpolicies-forbidden").message


# ai_service_metrics ---------------------------------------------------------------------------------------
def sm(case: str):
    return run_check(f"ai_service_metrics/{case}", "ai_service_metrics")


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", Status.PASS, Reason.HEALTHY),
        ("plain-prometheus", Status.PASS, Reason.HEALTHY),
        ("plain-prometheus-crds-forbidden", Status.PASS, Reason.HEALTHY),
        ("azure-managed", Status.PASS, Reason.HEALTHY),
        ("victoriametrics", Status.PASS, Reason.HEALTHY),
        # Collectors whose configuration decides never PASS alone, but do not spoil a stack that scrapes.
        ("otel-beside-prometheus", Status.PASS, Reason.HEALTHY),
        ("alloy-beside-victoriametrics", Status.PASS, Reason.HEALTHY),
        ("prometheuses-forbidden", Status.PASS, Reason.HEALTHY),
        ("prometheus-without-status", Status.PASS, Reason.HEALTHY),
        ("kube-prometheus-old-labels", Status.PASS, Reason.HEALTHY),
        # Issue 13: GMP's operator scales rule-evaluator and alertmanager to 0 while no rules exist.
        ("gmp-scaled-to-zero", Status.PASS, Reason.HEALTHY),
        ("gmp-collector-down", Status.FAIL, Reason.UNHEALTHY),
        ("gmp-no-collector", Status.FAIL, Reason.UNHEALTHY),
        ("gmp-only-scaled-down", Status.FAIL, Reason.UNHEALTHY),
        ("crds-only", Status.WARN, Reason.CRDS_ONLY),
        ("otel-crds-only", Status.WARN, Reason.CRDS_ONLY),
        ("otel-only", Status.WARN, Reason.PARTIAL),
        ("alloy-only", Status.WARN, Reason.PARTIAL),
        ("victoriametrics-crds-only", Status.WARN, Reason.CRDS_ONLY),
        ("azure-collectors-down", Status.FAIL, Reason.UNHEALTHY),
        ("victoriametrics-unhealthy", Status.FAIL, Reason.UNHEALTHY),
        ("alloy-unhealthy", Status.FAIL, Reason.UNHEALTHY),
        ("otel-only-podmonitors-forbidden", Status.WARN, Reason.PARTIAL),
        ("no-prometheus-instance", Status.WARN, Reason.PARTIAL),
        ("operator-down", Status.WARN, Reason.UNHEALTHY),
        ("operator-down-prometheus-down", Status.FAIL, Reason.UNHEALTHY),
        ("unhealthy", Status.FAIL, Reason.UNHEALTHY),
        # Monitors only illustrate the verdict: unreadable PodMonitors leave the FAIL standing.
        ("unhealthy-podmonitors-forbidden", Status.FAIL, Reason.UNHEALTHY),
        ("plain-prometheus-unhealthy", Status.FAIL, Reason.UNHEALTHY),
        # No status on the Prometheus: its StatefulSet decides, and it is not ready.
        ("prometheus-without-status-unready", Status.FAIL, Reason.UNHEALTHY),
        ("prometheus-scaled-to-zero", Status.FAIL, Reason.UNHEALTHY),  # 0/0 available is not available
        ("api-not-served", Status.FAIL, Reason.UNHEALTHY),
        ("operator-without-crds", Status.FAIL, Reason.UNHEALTHY),
        ("absent", Status.FAIL, Reason.NOT_INSTALLED),
        ("google-managed", Status.UNKNOWN, Reason.MANAGED_NOT_VISIBLE),
        ("forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
        ("prometheuses-forbidden-unready", Status.UNKNOWN, Reason.FORBIDDEN),
    ],
)
def test_sm_verdicts(case, status, reason):
    r = sm(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_sm_healthy_counts_workload_monitors_but_not_the_stacks_own():
    r = sm("healthy")
    assert fact(r, "Prometheus", "monitoring/kube-prometheus-stack-prometheus") == "Available=True"
    assert "serving/vllm-qwen" in names(r, "ServiceMonitor")
    assert "monitoring/kube-prometheus-stack-kubelet" not in names(r, "ServiceMonitor")


def test_sm_unavailable_prometheus_shows_its_condition():
    assert "NoPodReady" in fact(sm("unhealthy"), "Prometheus", "monitoring/kube-prometheus-stack-prometheus")


def test_sm_gmp_components_scaled_to_zero_by_the_operator_are_shown_as_such():
    r = sm("gmp-scaled-to-zero")
    assert fact(r, "DaemonSet", "gmp-system/collector") == "3/3 ready"
    assert fact(r, "Deployment", "gmp-system/gmp-operator") == "1/1 available"
    for kind, name in (("Deployment", "gmp-system/rule-evaluator"), ("StatefulSet", "gmp-system/alertmanager")):
        assert "scaled to 0 replicas by its operator" in fact(r, kind, name)
    assert "serving/vllm" in names(r, "PodMonitoring")


def test_sm_a_statefulset_the_operator_made_is_not_a_second_plain_prometheus():
    r = sm("kube-prometheus-old-labels")
    assert r.message.startswith("Prometheus Operator runs") and "also Prometheus runs" not in r.message


def test_sm_prometheus_objects_forbidden_fall_back_to_the_statefulset():
    r = sm("prometheuses-forbidden")
    assert fact(r, "StatefulSet", "monitoring/prometheus-kube-prometheus-stack-prometheus") == "1/1 available"


def test_sm_forbidden_names_the_workload_permissions():
    r = sm("forbidden")
    assert "list deployments.apps in all namespaces" in r.message
    assert "list statefulsets.apps in all namespaces" in r.message


def test_sm_unreadable_monitors_are_named():
    assert "list podmonitors.monitoring.coreos.com" in sm("unhealthy-podmonitors-forbidden").message


def test_sm_crds_only_shows_the_crds():
    assert "servicemonitors.monitoring.coreos.com" in names(sm("crds-only"), "CustomResourceDefinition")


def test_sm_the_absent_message_names_every_stack_of_the_registry():
    from kubectl_aiconf.knowledge import monitoring

    message = sm("absent").message
    assert all(stack.name in message for stack in monitoring.MONITORING_STACKS)


def test_sm_half_installed_stacks_show_their_crds():
    assert "vmagents.operator.victoriametrics.com" in names(sm("victoriametrics-crds-only"), "CustomResourceDefinition")
