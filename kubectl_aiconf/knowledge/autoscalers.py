"""Cluster autoscalers (node provisioning) and pod autoscaling pipelines (metrics APIs, adapters, KEDA)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kubectl_aiconf.knowledge._base import Api, Component, LabelMatch, Record, rx, search
from kubectl_aiconf.knowledge.accelerators import accelerator_words


# Cluster autoscalers ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterAutoscaler(Record):
    key: str
    name: str
    # None visible when it runs in a management cluster or is managed by the cloud provider.
    workloads: Component = field(default_factory=Component)
    apis: tuple[Api, ...] = ()  # its configuration objects
    status_configmap: str = ""  # a ConfigMap it writes its health into
    node_pool_label: str = ""  # the label naming the pool a node was provisioned into
    annotations: tuple[str, ...] = ()  # annotations on node groups that put them under it
    node_group_arg: str = ""  # regex of a container argument of its workloads naming a node group (group 1)
    # Dotted path, in its configuration objects, of the list of accelerator limits ({type: <resource>, ...}).
    accelerator_limits: str = ""

    KIND = "cluster-autoscaler"


CLUSTER_AUTOSCALER = ClusterAutoscaler(
    key="cluster-autoscaler",
    name="Cluster Autoscaler",
    workloads=Component(r"^(?!.*operator).*cluster-autoscaler", r"/cluster-autoscaler(:|@|$)"),
    # kube-system/cluster-autoscaler-status; GKE writes it for its managed autoscaler too.
    status_configmap="cluster-autoscaler-status",
    node_group_arg=r"--nodes=\d+:\d+:(.+)",  # --nodes=<min>:<max>:<name>
)
KARPENTER = ClusterAutoscaler(
    key="karpenter",
    name="Karpenter",
    workloads=Component(r"^karpenter$", r"karpenter/controller(:|@|$)"),
    apis=(Api("karpenter.sh", "nodepools", "NodePool", False),),
    node_pool_label="karpenter.sh/nodepool",
)
OPENSHIFT = ClusterAutoscaler(
    key="openshift",
    name="OpenShift ClusterAutoscaler",
    apis=(Api("autoscaling.openshift.io", "clusterautoscalers", "ClusterAutoscaler", False),),
    accelerator_limits="spec.resourceLimits.gpus",
)
CLUSTER_API = ClusterAutoscaler(
    key="cluster-api",
    name="Cluster API autoscaler node groups",
    apis=(Api("cluster.x-k8s.io", "machinedeployments", "MachineDeployment"),),
    # (min, max) size annotations, in that order
    annotations=(
        "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size",
        "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size",
    ),
)
CLUSTER_AUTOSCALERS: tuple[ClusterAutoscaler, ...] = (CLUSTER_AUTOSCALER, KARPENTER, OPENSHIFT, CLUSTER_API)

# Cluster API: annotations a MachineDeployment carries to tell the autoscaler about accelerators of nodes it
# does not have yet (scale from zero), and the annotation that names a node's MachineSet.
CAPI_GPU_ANNOTATIONS = (
    "capacity.cluster-autoscaler.kubernetes.io/gpu-count",
    "capacity.cluster-autoscaler.kubernetes.io/gpu-type",
)
CAPI_OWNER_ANNOTATION = "cluster.x-k8s.io/owner-name"


@dataclass(frozen=True)
class ManagedNodePool:
    """A cloud provider's node pool label: its autoscaling is configured outside the Kubernetes API."""

    platform: str
    label: str


MANAGED_NODE_POOLS: tuple[ManagedNodePool, ...] = (
    ManagedNodePool("GKE", "cloud.google.com/gke-nodepool"),
    ManagedNodePool("EKS", "eks.amazonaws.com/nodegroup"),
    ManagedNodePool("AKS", "kubernetes.azure.com/agentpool"),
)

# Karpenter NodePool requirements that select accelerator instances: keys naming GPUs or accelerators
# (karpenter.k8s.aws/instance-gpu-count, karpenter.azure.com/sku-gpu-count), and instance families.
KARPENTER_INSTANCE_KEYS = ("instance-category", "instance-family", "instance-type", "sku-family")
KARPENTER_ACCELERATOR_VALUE = r"(?i)^(g|p|inf|trn|dl)(\d.*)?$|^standard_n[cdv]|gpu"  # AWS g/p/inf/trn/dl, Azure N
KARPENTER_EXCLUDING_OPERATORS = ("NotIn", "DoesNotExist", "Lt")


def karpenter_accelerator_requirement(key: str, operator: str, values: list | tuple) -> bool:
    """Whether a NodePool requirement selects accelerator instances."""
    if operator in KARPENTER_EXCLUDING_OPERATORS:
        return False
    if search(accelerator_words(pool=True), key.lower()):
        return True
    return key.endswith(KARPENTER_INSTANCE_KEYS) and any(search(KARPENTER_ACCELERATOR_VALUE, str(v)) for v in values)


def is_accelerator_pool_name(name: str) -> bool:
    """Whether a node pool or node group name suggests accelerator nodes (gpu, tpu, nvidia, neuron, ...).
    `amd` and `intel` are not taken as such: in pool names they usually mean CPUs."""
    return search(accelerator_words(pool=True), (name or "").lower())


# Pod autoscaling ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricsApi:
    group: str
    name: str
    custom: bool  # custom or external metrics (AI/ML metrics), not only CPU/memory

    @property
    def apiservice(self) -> str:
        return f"v1beta1.{self.group}"


METRICS_APIS: tuple[MetricsApi, ...] = (
    MetricsApi("custom.metrics.k8s.io", "custom metrics API", True),
    MetricsApi("external.metrics.k8s.io", "external metrics API", True),
    MetricsApi("metrics.k8s.io", "resource metrics API", False),
)


@dataclass(frozen=True)
class PodAutoscaler(Record):
    """Software that feeds the HPA custom or external metrics, or drives it."""

    key: str
    name: str
    workloads: Component
    serves: tuple[str, ...] = ()  # metrics API groups it serves
    apis: tuple[Api, ...] = ()
    groups: tuple[str, ...] = ()  # API groups of its CRDs
    managed_hpa_label: LabelMatch | None = None  # label on the HPAs it generates

    KIND = "pod-autoscaler"


KEDA = PodAutoscaler(
    key="keda",
    name="KEDA",
    workloads=Component(r"^keda-operator$", r"kedacore/keda(:|@|$)"),
    serves=("external.metrics.k8s.io",),
    apis=(Api("keda.sh", "scaledobjects", "ScaledObject"),),
    groups=("keda.sh",),
    managed_hpa_label=LabelMatch("app.kubernetes.io/managed-by", "keda-operator"),
)
PROMETHEUS_ADAPTER = PodAutoscaler(
    key="prometheus-adapter",
    name="prometheus-adapter",
    workloads=Component(r"prometheus-adapter", r"prometheus-adapter(:|@|$)"),
    serves=("custom.metrics.k8s.io", "external.metrics.k8s.io", "metrics.k8s.io"),
)
POD_AUTOSCALERS: tuple[PodAutoscaler, ...] = (KEDA, PROMETHEUS_ADAPTER)

# Metric names that are about AI serving (vLLM, SGLang, TGI, Triton, KV cache, tokens) or DCGM; the words that
# name accelerators come from accelerators.accelerator_words, and `gpu` also inside camelCase names
# (HAMi's HostGPUMemoryUsage, vGPU_device_memory_usage_in_bytes).
AI_METRIC_WORDS = (
    r"dcgm_|gpu|vllm|sglang|tgi_|triton|nv_inference|kv_cache|num_requests|tokens|"
    r"time_to_first_token|inference"
)
# Where a ScaledObject trigger names its metric or query.
KEDA_METRIC_FIELDS = ("query", "metricName", "metric")


def ai_metric_name(text: str) -> str | None:
    """The first metric name in `text` (a metric name, or a query) that is about accelerators or AI serving,
    or None. Node pool words only: `amd` and `intel` in a metric name rarely mean an accelerator."""
    words = f"{AI_METRIC_WORDS}|{accelerator_words(pool=True)}"
    found = rx(rf"[a-z0-9_:]*(?:{words})[a-z0-9_:]*", re.IGNORECASE).search(text or "")
    return found.group(0) if found else None


RECORDS = CLUSTER_AUTOSCALERS + POD_AUTOSCALERS
