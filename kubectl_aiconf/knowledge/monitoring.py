"""Monitoring stacks that discover and scrape workloads' Prometheus metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_aiconf.knowledge._base import Api, Component, Record


@dataclass(frozen=True)
class MonitoringStack(Record):
    key: str
    name: str
    workloads: Component = field(default_factory=Component)
    group: str = ""  # API group of its CRDs
    apis: tuple[Api, ...] = ()  # the objects it is configured with (monitors, instances)
    # Whether seeing it run shows that workloads' Prometheus endpoints are scraped: False for general
    # collectors whose configuration decides (OpenTelemetry Collector, Grafana Alloy).
    scrapes_prometheus: bool = True
    managed: bool = False  # its collectors may run out of sight (a cloud provider's managed service)

    KIND = "monitoring"


PROMETHEUS_OPERATOR = MonitoringStack(
    key="prometheus-operator", name="Prometheus Operator",
    workloads=Component(r"prom.*-operator$", r"/prometheus-operator(:|@|$)"),
    group="monitoring.coreos.com",
    apis=(Api("monitoring.coreos.com", "prometheuses", "Prometheus"),
          Api("monitoring.coreos.com", "servicemonitors", "ServiceMonitor"),
          Api("monitoring.coreos.com", "podmonitors", "PodMonitor")),
)
PROMETHEUS = MonitoringStack(
    key="prometheus", name="Prometheus",
    workloads=Component(r"^prometheus(-server)?$|^prometheus-k8s$", r"(^|/)prom(etheus)?/prometheus(:|@|$)"),
)
AZURE_MANAGED_PROMETHEUS = MonitoringStack(
    key="azure", name="Azure Managed Prometheus",
    workloads=Component(r"^ama-metrics", r"azuremonitor/containerinsights/ciprod/prometheus-collector"),
    group="azmonitoring.coreos.com",
    apis=(Api("azmonitoring.coreos.com", "servicemonitors", "ServiceMonitor"),
          Api("azmonitoring.coreos.com", "podmonitors", "PodMonitor")),
    managed=True,
)
GOOGLE_MANAGED_PROMETHEUS = MonitoringStack(
    key="gmp", name="Google Managed Prometheus",
    workloads=Component(r"^(gmp-operator|collector|rule-evaluator)$", r"prometheus-engine/|gke-gmp|gmp-operator",
                        namespace=r"gmp"),
    group="monitoring.googleapis.com",
    apis=(Api("monitoring.googleapis.com", "podmonitorings", "PodMonitoring"),
          Api("monitoring.googleapis.com", "clusterpodmonitorings", "ClusterPodMonitoring", False)),
    managed=True,
)
VICTORIA_METRICS = MonitoringStack(
    key="victoria", name="VictoriaMetrics",
    workloads=Component(r"^(vmagent|vmsingle|vminsert|victoria-metrics)",
                        r"victoriametrics/(vmagent|victoria-metrics|vminsert)"),
    group="operator.victoriametrics.com",
)
GRAFANA_ALLOY = MonitoringStack(
    key="alloy", name="Grafana Alloy/Agent",
    workloads=Component(r"alloy|grafana-agent", r"grafana/(alloy|agent)(:|@|$)"),
    scrapes_prometheus=False,
)
OPENTELEMETRY = MonitoringStack(
    key="otel", name="OpenTelemetry Collector",
    workloads=Component(r"otel.*collector|opentelemetry-collector",
                        r"opentelemetry-collector|otel/opentelemetry-collector|otelcol"),
    group="opentelemetry.io",
    scrapes_prometheus=False,
)

MONITORING_STACKS: tuple[MonitoringStack, ...] = (
    PROMETHEUS_OPERATOR, PROMETHEUS, AZURE_MANAGED_PROMETHEUS, GOOGLE_MANAGED_PROMETHEUS, VICTORIA_METRICS,
    GRAFANA_ALLOY, OPENTELEMETRY,
)
BY_KEY: dict[str, MonitoringStack] = {m.key: m for m in MONITORING_STACKS}

# Labels the Prometheus Operator puts on the StatefulSets it makes (a Prometheus found that way is the
# operator's, not a plain one).
OPERATOR_MANAGED_LABELS = ("operator.prometheus.io/name", "prometheus")
OPERATOR_MANAGED_BY = ("app.kubernetes.io/managed-by", "prometheus-operator")
# Namespaces of platform components, whose monitors do not show workloads being scraped.
SYSTEM_NAMESPACE_PREFIXES = ("kube-", "openshift-", "gke-")

RECORDS = MONITORING_STACKS
