"""Monitoring stacks that discover and scrape workloads' Prometheus metrics, and the managed services that
collect accelerator metrics out of sight."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_aiconf.knowledge._base import Api, Component, LabelMatch, Record
from kubectl_aiconf.knowledge.accelerators import GKE_MANAGED_NAMESPACE


@dataclass(frozen=True)
class MonitoringStack(Record):
    """A monitoring stack and how to tell that it scrapes workloads.

    How it is judged follows from what it has: `instances` (an operator whose instances scrape: one
    available instance suffices), `managed` (a cloud provider's collectors, possibly out of sight), or
    neither (a collector judged by its own workloads; `scrapes_prometheus` says whether that is enough).
    """

    key: str
    name: str
    workloads: Component = field(default_factory=Component)
    group: str = ""  # API group of its CRDs
    apis: tuple[Api, ...] = ()  # the objects it is configured with (instances, monitors)
    # Whether seeing it run shows that workloads' Prometheus endpoints are scraped: False for general
    # collectors whose configuration decides (OpenTelemetry Collector, Grafana Alloy).
    scrapes_prometheus: bool = True
    managed: bool = False  # its collectors may run out of sight (a cloud provider's managed service)
    # The objects each of which is a scraping server its operator runs (one of `apis`); `workloads` is then
    # the operator.
    instances: Api | None = None
    # The StatefulSet the operator makes for the instance `{name}` in its namespace: it tells whether an
    # instance without status runs.
    instance_workload: str = ""
    # Labels (every one of a set) the operator puts on the workloads it makes for its instances: such a
    # workload is an instance of this stack, not a stack of its own (a plain Prometheus).
    instance_labels: tuple[tuple[LabelMatch, ...], ...] = ()
    # Its workloads that scrape, when not all of them do (the others evaluate rules or route alerts).
    collectors: Component = field(default_factory=Component)
    # Its Deployments/StatefulSets that its operator scales to 0 replicas while they have nothing to do: not
    # broken at 0.
    idle_at_zero: Component = field(default_factory=Component)

    KIND = "monitoring"

    @property
    def monitors(self) -> tuple[Api, ...]:
        """The objects that tell it which workloads to scrape."""
        return tuple(a for a in self.apis if a != self.instances)


_PROMETHEUSES = Api("monitoring.coreos.com", "prometheuses", "Prometheus")
PROMETHEUS_OPERATOR = MonitoringStack(
    key="prometheus-operator",
    name="Prometheus Operator",
    workloads=Component(r"prom.*-operator$", r"/prometheus-operator(:|@|$)"),
    group="monitoring.coreos.com",
    apis=(
        _PROMETHEUSES,
        Api("monitoring.coreos.com", "servicemonitors", "ServiceMonitor"),
        Api("monitoring.coreos.com", "podmonitors", "PodMonitor"),
    ),
    instances=_PROMETHEUSES,
    instance_workload="prometheus-{name}",
    # Today's labels, and kube-prometheus's older ones on its StatefulSets (app.kubernetes.io/name plus a
    # `prometheus` label naming the instance).
    instance_labels=(
        (LabelMatch("operator.prometheus.io/name", r".*"),),
        (LabelMatch("app.kubernetes.io/managed-by", "prometheus-operator"),),
        (LabelMatch("app.kubernetes.io/name", "prometheus"), LabelMatch("prometheus", r".*")),
    ),
)
PROMETHEUS = MonitoringStack(
    key="prometheus",
    name="Prometheus",
    workloads=Component(r"^prometheus(-server)?$|^prometheus-k8s$", r"(^|/)prom(etheus)?/prometheus(:|@|$)"),
)
AZURE_MANAGED_PROMETHEUS = MonitoringStack(
    key="azure",
    name="Azure Managed Prometheus",
    workloads=Component(r"^ama-metrics", r"azuremonitor/containerinsights/ciprod/prometheus-collector"),
    group="azmonitoring.coreos.com",
    apis=(
        Api("azmonitoring.coreos.com", "servicemonitors", "ServiceMonitor"),
        Api("azmonitoring.coreos.com", "podmonitors", "PodMonitor"),
    ),
    managed=True,
)
GOOGLE_MANAGED_PROMETHEUS = MonitoringStack(
    key="gmp",
    name="Google Managed Prometheus",
    workloads=Component(
        r"^(gmp-operator|collector|rule-evaluator)$", r"prometheus-engine/|gke-gmp|gmp-operator", namespace=r"gmp"
    ),
    group="monitoring.googleapis.com",
    apis=(
        Api("monitoring.googleapis.com", "podmonitorings", "PodMonitoring"),
        Api("monitoring.googleapis.com", "clusterpodmonitorings", "ClusterPodMonitoring", False),
    ),
    managed=True,
    # Only the collector DaemonSet scrapes; the operator scales rule-evaluator and alertmanager to 0 while
    # there are no rules to evaluate and no alerts to route.
    collectors=Component(r"^collector$"),
    idle_at_zero=Component(r"^(rule-evaluator|alertmanager)$"),
)
VICTORIA_METRICS = MonitoringStack(
    key="victoria",
    name="VictoriaMetrics",
    workloads=Component(
        r"^(vmagent|vmsingle|vminsert|victoria-metrics)", r"victoriametrics/(vmagent|victoria-metrics|vminsert)"
    ),
    group="operator.victoriametrics.com",
)
GRAFANA_ALLOY = MonitoringStack(
    key="alloy",
    name="Grafana Alloy/Agent",
    workloads=Component(r"alloy|grafana-agent", r"grafana/(alloy|agent)(:|@|$)"),
    scrapes_prometheus=False,
)
OPENTELEMETRY = MonitoringStack(
    key="otel",
    name="OpenTelemetry Collector",
    workloads=Component(
        r"otel.*collector|opentelemetry-collector", r"opentelemetry-collector|otel/opentelemetry-collector|otelcol"
    ),
    group="opentelemetry.io",
    scrapes_prometheus=False,
)

MONITORING_STACKS: tuple[MonitoringStack, ...] = (
    PROMETHEUS_OPERATOR,
    PROMETHEUS,
    AZURE_MANAGED_PROMETHEUS,
    GOOGLE_MANAGED_PROMETHEUS,
    VICTORIA_METRICS,
    GRAFANA_ALLOY,
    OPENTELEMETRY,
)
BY_KEY: dict[str, MonitoringStack] = {m.key: m for m in MONITORING_STACKS}

# The monitors matched to accelerator exporters to show how they are scraped: the Prometheus Operator's,
# which exporters' charts ship. Those of `SERVICE_MONITOR_KINDS` select Services, the others pods.
EXPORTER_MONITORS: tuple[Api, ...] = PROMETHEUS_OPERATOR.monitors
SERVICE_MONITOR_KINDS = ("ServiceMonitor",)

# Namespaces of platform components, whose monitors do not show workloads being scraped.
SYSTEM_NAMESPACE_PREFIXES = ("kube-", "openshift-", "gke-")


@dataclass(frozen=True)
class ManagedAcceleratorMetrics:
    """A cloud platform that collects accelerator metrics itself: its accelerator nodes carry one of its
    cloud labels (`knowledge.accelerators.CLOUD_LABELS` of `provider`), and the exporters it runs where they
    are visible sit in `namespace`."""

    provider: str
    namespace: str


MANAGED_ACCELERATOR_METRICS: tuple[ManagedAcceleratorMetrics, ...] = (
    ManagedAcceleratorMetrics("GKE", GKE_MANAGED_NAMESPACE),
)

RECORDS = MONITORING_STACKS
