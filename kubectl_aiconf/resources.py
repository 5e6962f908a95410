"""Every kind of object the checks read, with the fields they keep.

One definition per resource, shared by all checks, so a resource is listed once per run however many
checks read it. The custom resources of add-ons take their identity (group, plural, kind, scope) from the
knowledge registry record that knows them; what is written here is what the checks read of them (`keep`).
`resource_for(api)` is the definition of a record's API; `ALL` is every definition (the reader ClusterRole in
testdata/rbac/ grants exactly these, and a snapshot without discovery maps kinds to plurals with them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge import autoscalers, gateways, monitoring, networks, operators, schedulers
from kubectl_aiconf.knowledge._base import Api
from kubectl_aiconf.view import Resource


def _apis(value: object) -> Iterator[Api]:
    """Every API named in a registry record: in its fields and in the records nested in them."""
    if isinstance(value, Api):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _apis(getattr(value, f.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _apis(item)


def _read(api: Api, keep: tuple[str, ...] = ()) -> Resource:
    """How a registry record's API is listed: its identity from the record, keeping `keep`."""
    return Resource(api.group, api.plural, api.kind, api.namespaced, keep=keep)


def _of(record: object, kind: str, keep: tuple[str, ...] = ()) -> Resource:
    """The listing of the one API of `kind` that `record` (a record, an API or a tuple of them) names."""
    found = {a for a in _apis(record) if a.kind == kind}
    if len(found) != 1:
        raise LookupError(f"{len(found)} APIs of kind {kind} in {record!r}, expected one")
    return _read(found.pop(), keep)


_CONDITIONS = "status.conditions"
# Nodes and pods come by the thousand: of their conditions the checks read only Ready, and not its
# timestamps (all conditions whole were a fifth of the memory a 5,000-node check kept).
_READY_CONDITION = tuple(f"status.conditions[type=Ready].{field}" for field in ("type", "status", "reason", "message"))
_WORKLOAD_TEMPLATE = (
    "metadata.annotations",
    "spec.replicas",
    "spec.selector",
    "spec.template.metadata.labels",
    "spec.template.spec.containers[].name",
    "spec.template.spec.containers[].image",
    "spec.template.spec.containers[].args",
    "spec.template.spec.containers[].resources",
    "spec.template.spec.nodeSelector",
    "spec.template.spec.runtimeClassName",
    "spec.template.spec.resourceClaims",
)

# core -----------------------------------------------------------------------------------------------------
NODES = Resource(
    "",
    "nodes",
    "Node",
    False,
    keep=(
        "metadata.annotations",
        "spec.taints",
        "spec.providerID",
        "spec.unschedulable",
        "status.allocatable",  # what the scheduler hands out; capacity is never read
        *_READY_CONDITION,
        "status.nodeInfo",
    ),
)
PODS = Resource(
    "",
    "pods",
    "Pod",
    True,
    sliced=True,
    keep=(
        "metadata.ownerReferences[].kind",  # not uid, apiVersion and flags: on every pod of a real cluster
        "metadata.ownerReferences[].name",
        "spec.nodeName",
        "spec.schedulerName",
        "spec.runtimeClassName",
        "spec.containers[].name",
        "spec.containers[].image",
        "spec.containers[].command",
        "spec.containers[].args",
        "spec.containers[].resources",
        "spec.containers[].securityContext",
        "spec.containers[].env",
        "spec.resourceClaims",
        "spec.volumes[hostPath].name",  # the only volumes the checks look at
        "spec.volumes[hostPath].hostPath",
        "status.phase",
        *_READY_CONDITION,
    ),
)
SERVICES = Resource(
    "",
    "services",
    "Service",
    True,
    keep=(
        "spec.type",
        "spec.selector",
        "spec.ports",
        "spec.externalName",
    ),
)
# Not read by any check: the live view lists namespace names to read a large pod listing per namespace.
NAMESPACES = Resource("", "namespaces", "Namespace", False, metadata_only=True)
VIEW_READS = (NAMESPACES,)  # read by the view itself, not by a check
# Only the cluster-autoscaler status ConfigMap: listing every ConfigMap would be slow and read far too much.
AUTOSCALER_STATUS_CONFIGMAPS = Resource(
    "",
    "configmaps",
    "ConfigMap",
    True,
    keep=("data",),
    field_selector="metadata.name=cluster-autoscaler-status",
)

# apps -----------------------------------------------------------------------------------------------------
DEPLOYMENTS = Resource("apps", "deployments", "Deployment", True, keep=_WORKLOAD_TEMPLATE + ("status",))
DAEMONSETS = Resource("apps", "daemonsets", "DaemonSet", True, keep=_WORKLOAD_TEMPLATE + ("status",))
STATEFULSETS = Resource("apps", "statefulsets", "StatefulSet", True, keep=_WORKLOAD_TEMPLATE + ("status",))

# API machinery --------------------------------------------------------------------------------------------
# CRD bodies carry whole OpenAPI schemas (often hundreds of KB each): list metadata only. The name is
# <plural>.<group>; a CRD is Established exactly when its resource appears in discovery.
CRDS = Resource(
    "apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", False, metadata_only=True
)
APISERVICES = Resource(
    "apiregistration.k8s.io",
    "apiservices",
    "APIService",
    False,
    keep=("spec.service", "spec.group", "spec.version", _CONDITIONS),
)
_WEBHOOK_FIELDS = ("webhooks[].name", "webhooks[].clientConfig", "webhooks[].rules", "webhooks[].failurePolicy")
VALIDATING_WEBHOOKS = Resource(
    "admissionregistration.k8s.io",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    False,
    keep=_WEBHOOK_FIELDS,
)
MUTATING_WEBHOOKS = Resource(
    "admissionregistration.k8s.io",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    False,
    keep=_WEBHOOK_FIELDS,
)
RUNTIMECLASSES = Resource(
    "node.k8s.io", "runtimeclasses", "RuntimeClass", False, keep=("handler", "overhead", "scheduling")
)
HPAS = Resource(
    "autoscaling",
    "horizontalpodautoscalers",
    "HorizontalPodAutoscaler",
    True,
    keep=("spec", "status"),
    versions=("v2",),
)

# Dynamic Resource Allocation ------------------------------------------------------------------------------
DEVICECLASSES = Resource(
    "resource.k8s.io", "deviceclasses", "DeviceClass", False, keep=("spec",), versions=("v1", "v1beta2", "v1beta1")
)
RESOURCESLICES = Resource(
    "resource.k8s.io", "resourceslices", "ResourceSlice", False, keep=("spec",), versions=("v1", "v1beta2", "v1beta1")
)
RESOURCECLAIMS = Resource(
    "resource.k8s.io",
    "resourceclaims",
    "ResourceClaim",
    True,
    keep=("status.allocation", "status.reservedFor"),
    versions=("v1", "v1beta2", "v1beta1"),
)
# Taints put on devices by driver, pool and name, beside the slices' own: resource.k8s.io/v1 from Kubernetes
# 1.37; before, a beta (1.36) or alpha API that is off by default.
DEVICETAINTRULES = Resource(
    "resource.k8s.io",
    "devicetaintrules",
    "DeviceTaintRule",
    False,
    keep=("spec.deviceSelector", "spec.taint.effect"),
    versions=("v1", "v1beta2", "v1alpha3"),
)

# Gateway API and its inference extension ------------------------------------------------------------------
GATEWAYCLASSES = _of(gateways.GATEWAY_APIS, "GatewayClass", keep=("spec.controllerName", _CONDITIONS))
GATEWAYS = _of(gateways.GATEWAY_APIS, "Gateway", keep=("spec.gatewayClassName", _CONDITIONS, "status.addresses"))
HTTPROUTES = _of(gateways.GATEWAY_APIS, "HTTPRoute", keep=("spec.parentRefs", "spec.rules", "status.parents"))
# The GA group, then the older alpha one (gateways.GAIE_GROUPS).
INFERENCEPOOLS, INFERENCEPOOLS_X = (_read(api, keep=("spec", "status")) for api in gateways.GAIE_APIS)

# gang schedulers ------------------------------------------------------------------------------------------
# Each record's queue and usage objects, keeping the fields its record says gang_scheduling reads of them
# (`Queue.fields`, `GangScheduler.usage_fields`): a new scheduler is a record and a ClusterRole rule, no line here.
GANG_SCHEDULER_READS: tuple[Resource, ...] = tuple(
    dict.fromkeys(
        [_read(q.api, q.fields) for s in schedulers.GANG_SCHEDULERS for q in s.queues]
        + [_read(s.usage, s.usage_fields) for s in schedulers.GANG_SCHEDULERS if s.usage]
    )
)

# autoscaling ----------------------------------------------------------------------------------------------
KARPENTER_NODEPOOLS = _of(
    autoscalers.KARPENTER,
    "NodePool",
    keep=("spec.template.spec.requirements", "spec.template.spec.taints", "spec.limits", _CONDITIONS),
)
OPENSHIFT_CLUSTERAUTOSCALERS = _of(autoscalers.OPENSHIFT, "ClusterAutoscaler", keep=("spec",))
CAPI_MACHINEDEPLOYMENTS = _of(autoscalers.CLUSTER_API, "MachineDeployment", keep=("metadata.annotations",))
KEDA_SCALEDOBJECTS = _of(autoscalers.KEDA, "ScaledObject", keep=("spec.scaleTargetRef", "spec.triggers", _CONDITIONS))

# monitoring stacks (read through resource_for by observability) ---------------------------------------------
_PROMETHEUS_OPERATOR, _AZURE, _GMP = (
    monitoring.PROMETHEUS_OPERATOR,
    monitoring.AZURE_MANAGED_PROMETHEUS,
    monitoring.GOOGLE_MANAGED_PROMETHEUS,
)
PROMETHEUSES = _of(
    _PROMETHEUS_OPERATOR,
    "Prometheus",
    keep=(
        "spec.serviceMonitorSelector",
        "spec.serviceMonitorNamespaceSelector",
        "spec.podMonitorSelector",
        "spec.podMonitorNamespaceSelector",
        "status",
    ),
)
SERVICEMONITORS = _of(
    _PROMETHEUS_OPERATOR, "ServiceMonitor", keep=("spec.selector", "spec.namespaceSelector", "spec.endpoints")
)
PODMONITORS = _of(
    _PROMETHEUS_OPERATOR, "PodMonitor", keep=("spec.selector", "spec.namespaceSelector", "spec.podMetricsEndpoints")
)
AZURE_SERVICEMONITORS = _of(_AZURE, "ServiceMonitor", keep=("spec.selector", "spec.endpoints"))
AZURE_PODMONITORS = _of(_AZURE, "PodMonitor", keep=("spec.selector", "spec.podMetricsEndpoints"))
GMP_PODMONITORINGS = _of(_GMP, "PodMonitoring", keep=("spec", _CONDITIONS))
GMP_CLUSTERPODMONITORINGS = _of(_GMP, "ClusterPodMonitoring", keep=("spec", _CONDITIONS))

# accelerator driver managers (knowledge.accelerators: Vendor.driver_managers, read through resource_for) ------
CLUSTERPOLICIES = _of(
    acc.NVIDIA,
    "ClusterPolicy",
    keep=(
        "spec.devicePlugin",
        "spec.mig",
        "spec.cdi",
        "spec.sandboxWorkloads",
        "spec.driver.enabled",
        "spec.dcgmExporter.enabled",
        "status",
    ),
)
NVIDIADRIVERS = _of(acc.NVIDIA, "NVIDIADriver", keep=("spec.driverType", "spec.version", "status.state"))
AMD_DEVICECONFIGS = _of(
    acc.AMD,
    "DeviceConfig",
    keep=("spec.driver.enable", "spec.driver.driverType", "spec.driver.version", "spec.configManager.enable", "status"),
)
INTEL_GPUDEVICEPLUGINS = _of(acc.INTEL, "GpuDevicePlugin", keep=("spec.sharedDevNum", "status"))

# AI operators' custom resources (knowledge.operators: AIOperator.reconciled, read through resource_for) ------
RAYCLUSTERS = _of(operators.KUBERAY, "RayCluster", keep=("status",))
RAYJOBS = _of(operators.KUBERAY, "RayJob", keep=("status.jobDeploymentStatus", "status.jobStatus"))
TRAINJOBS = _of(operators.KUBEFLOW_TRAINER, "TrainJob", keep=(_CONDITIONS,))
INFERENCESERVICES = _of(operators.KSERVE, "InferenceService", keep=(_CONDITIONS,))
DYNAMO_GRAPHDEPLOYMENTS = _of(operators.DYNAMO, "DynamoGraphDeployment", keep=("status",))

# specialised network stacks (knowledge.networks) ------------------------------------------------------------
NETWORK_ATTACHMENT_DEFINITIONS = _of(networks.BY_KEY["multus"], "NetworkAttachmentDefinition")
NIC_CLUSTERPOLICIES = _of(networks.BY_KEY["nvidia-network-operator"], "NicClusterPolicy", keep=("status.state",))


# every definition, and the lookup from registry records ------------------------------------------------------
def _definitions(namespace: dict[str, object]) -> tuple[Resource, ...]:
    """The Resources of this module: its constants and the members of its tuples of Resources, each once."""
    found: list[Resource] = []
    for value in namespace.values():
        found += [r for r in (value if isinstance(value, tuple) else (value,)) if isinstance(r, Resource)]
    return tuple(dict.fromkeys(found))


ALL: tuple[Resource, ...] = _definitions(globals())
_BY_API: dict[tuple[str, str], Resource] = {(r.group, r.resource): r for r in ALL}


def resource_for(api: Api) -> Resource:
    """The definition above of a registry record's API: how every check that reads it lists it.

    Raises KeyError naming the API when there is none: a record whose objects a check lists needs its
    definition here (its `keep`) and a rule in the reader ClusterRole (testdata/rbac/aiconf-reader.yaml).
    """
    try:
        return _BY_API[api.group, api.plural]
    except KeyError:
        raise KeyError(f"{api.qualified} has no definition in kubectl_aiconf/resources.py") from None
