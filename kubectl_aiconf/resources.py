"""Every kind of object the checks read, with the fields they keep.

One definition per resource, shared by all checks, so a resource is listed once per run however many
checks read it.
"""

from kubectl_aiconf.view import Resource

_CONDITIONS = "status.conditions"
_WORKLOAD_TEMPLATE = (
    "metadata.annotations", "spec.replicas", "spec.selector", "spec.template.metadata.labels",
    "spec.template.spec.containers[].name", "spec.template.spec.containers[].image",
    "spec.template.spec.containers[].args", "spec.template.spec.containers[].resources",
    "spec.template.spec.nodeSelector", "spec.template.spec.runtimeClassName",
    "spec.template.spec.resourceClaims",
)

# core -----------------------------------------------------------------------------------------------------
NODES = Resource("", "nodes", "Node", False, keep=(
    "metadata.annotations", "spec.taints", "spec.providerID", "spec.unschedulable",
    "status.capacity", "status.allocatable", _CONDITIONS, "status.nodeInfo",
))
PODS = Resource("", "pods", "Pod", True, keep=(
    "metadata.ownerReferences", "spec.nodeName", "spec.schedulerName", "spec.runtimeClassName",
    "spec.containers[].name", "spec.containers[].image", "spec.containers[].command",
    "spec.containers[].args",
    "spec.containers[].resources", "spec.containers[].securityContext", "spec.containers[].env",
    "spec.resourceClaims", "spec.volumes[].name", "spec.volumes[].hostPath", "status.phase", _CONDITIONS,
))
SERVICES = Resource("", "services", "Service", True, keep=(
    "spec.type", "spec.selector", "spec.ports", "spec.externalName",
))
# Only the cluster-autoscaler status ConfigMap: listing every ConfigMap would be slow and read far too much.
AUTOSCALER_STATUS_CONFIGMAPS = Resource(
    "", "configmaps", "ConfigMap", True, keep=("data",),
    field_selector="metadata.name=cluster-autoscaler-status",
)

# apps -----------------------------------------------------------------------------------------------------
DEPLOYMENTS = Resource("apps", "deployments", "Deployment", True, keep=_WORKLOAD_TEMPLATE + ("status",))
DAEMONSETS = Resource("apps", "daemonsets", "DaemonSet", True, keep=_WORKLOAD_TEMPLATE + ("status",))
STATEFULSETS = Resource("apps", "statefulsets", "StatefulSet", True, keep=_WORKLOAD_TEMPLATE + ("status",))

# API machinery --------------------------------------------------------------------------------------------
# CRD bodies carry whole OpenAPI schemas (often hundreds of KB each): list metadata only. The name is
# <plural>.<group>; a CRD is Established exactly when its resource appears in discovery.
CRDS = Resource("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", False,
                metadata_only=True)
APISERVICES = Resource("apiregistration.k8s.io", "apiservices", "APIService", False,
                       keep=("spec.service", "spec.group", "spec.version", _CONDITIONS))
_WEBHOOK_FIELDS = ("webhooks[].name", "webhooks[].clientConfig", "webhooks[].rules", "webhooks[].failurePolicy")
VALIDATING_WEBHOOKS = Resource("admissionregistration.k8s.io", "validatingwebhookconfigurations",
                               "ValidatingWebhookConfiguration", False, keep=_WEBHOOK_FIELDS)
MUTATING_WEBHOOKS = Resource("admissionregistration.k8s.io", "mutatingwebhookconfigurations",
                             "MutatingWebhookConfiguration", False, keep=_WEBHOOK_FIELDS)
RUNTIMECLASSES = Resource("node.k8s.io", "runtimeclasses", "RuntimeClass", False,
                           keep=("handler", "overhead", "scheduling"))
HPAS = Resource("autoscaling", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True,
                keep=("spec", "status"), versions=("v2",))

# Dynamic Resource Allocation ------------------------------------------------------------------------------
DEVICECLASSES = Resource("resource.k8s.io", "deviceclasses", "DeviceClass", False, keep=("spec",),
                         versions=("v1", "v1beta2", "v1beta1"))
RESOURCESLICES = Resource("resource.k8s.io", "resourceslices", "ResourceSlice", False, keep=("spec",),
                          versions=("v1", "v1beta2", "v1beta1"))
RESOURCECLAIMS = Resource("resource.k8s.io", "resourceclaims", "ResourceClaim", True,
                          keep=("status.allocation", "status.reservedFor"), versions=("v1", "v1beta2", "v1beta1"))

# Gateway API and its inference extension ------------------------------------------------------------------
GATEWAYCLASSES = Resource("gateway.networking.k8s.io", "gatewayclasses", "GatewayClass", False,
                          keep=("spec.controllerName", _CONDITIONS))
GATEWAYS = Resource("gateway.networking.k8s.io", "gateways", "Gateway", True,
                    keep=("spec.gatewayClassName", _CONDITIONS, "status.addresses"))
HTTPROUTES = Resource("gateway.networking.k8s.io", "httproutes", "HTTPRoute", True,
                      keep=("spec.parentRefs", "spec.rules", "status.parents"))
INFERENCEPOOLS = Resource("inference.networking.k8s.io", "inferencepools", "InferencePool", True,
                          keep=("spec", "status"))
INFERENCEPOOLS_X = Resource("inference.networking.x-k8s.io", "inferencepools", "InferencePool", True,
                            keep=("spec", "status"))

# gang schedulers ------------------------------------------------------------------------------------------
KUEUE_CLUSTERQUEUES = Resource("kueue.x-k8s.io", "clusterqueues", "ClusterQueue", False, keep=(_CONDITIONS,))
KUEUE_LOCALQUEUES = Resource("kueue.x-k8s.io", "localqueues", "LocalQueue", True,
                             keep=("spec.clusterQueue", _CONDITIONS))
KUEUE_WORKLOADS = Resource("kueue.x-k8s.io", "workloads", "Workload", True, keep=(_CONDITIONS,))
VOLCANO_QUEUES = Resource("scheduling.volcano.sh", "queues", "Queue", False, keep=("status.state",))
VOLCANO_PODGROUPS = Resource("scheduling.volcano.sh", "podgroups", "PodGroup", True,
                             keep=("spec.minMember", "status.phase"))
KAI_QUEUES = Resource("scheduling.run.ai", "queues", "Queue", False, keep=("status",))
KAI_PODGROUPS = Resource("scheduling.run.ai", "podgroups", "PodGroup", True,
                         keep=("spec.minMember", "status"))
COSCHEDULING_PODGROUPS = Resource("scheduling.x-k8s.io", "podgroups", "PodGroup", True,
                                  keep=("spec.minMember", "status.phase"))

# autoscaling ----------------------------------------------------------------------------------------------
KARPENTER_NODEPOOLS = Resource("karpenter.sh", "nodepools", "NodePool", False,
                               keep=("spec.template.spec.requirements", "spec.template.spec.taints",
                                     "spec.limits", _CONDITIONS))
OPENSHIFT_CLUSTERAUTOSCALERS = Resource("autoscaling.openshift.io", "clusterautoscalers", "ClusterAutoscaler",
                                        False, keep=("spec",))
CAPI_MACHINEDEPLOYMENTS = Resource("cluster.x-k8s.io", "machinedeployments", "MachineDeployment", True,
                                   keep=("metadata.annotations",))
KEDA_SCALEDOBJECTS = Resource("keda.sh", "scaledobjects", "ScaledObject", True,
                              keep=("spec.scaleTargetRef", "spec.triggers", _CONDITIONS))

# monitoring -----------------------------------------------------------------------------------------------
PROMETHEUSES = Resource("monitoring.coreos.com", "prometheuses", "Prometheus", True,
                        keep=("spec.serviceMonitorSelector", "spec.serviceMonitorNamespaceSelector",
                              "spec.podMonitorSelector", "spec.podMonitorNamespaceSelector", "status"))
SERVICEMONITORS = Resource("monitoring.coreos.com", "servicemonitors", "ServiceMonitor", True,
                           keep=("spec.selector", "spec.namespaceSelector", "spec.endpoints"))
PODMONITORS = Resource("monitoring.coreos.com", "podmonitors", "PodMonitor", True,
                       keep=("spec.selector", "spec.namespaceSelector", "spec.podMetricsEndpoints"))
AZURE_SERVICEMONITORS = Resource("azmonitoring.coreos.com", "servicemonitors", "ServiceMonitor", True,
                                 keep=("spec.selector", "spec.endpoints"))
AZURE_PODMONITORS = Resource("azmonitoring.coreos.com", "podmonitors", "PodMonitor", True,
                             keep=("spec.selector", "spec.podMetricsEndpoints"))
GMP_PODMONITORINGS = Resource("monitoring.googleapis.com", "podmonitorings", "PodMonitoring", True,
                              keep=("spec", _CONDITIONS))
GMP_CLUSTERPODMONITORINGS = Resource("monitoring.googleapis.com", "clusterpodmonitorings",
                                     "ClusterPodMonitoring", False, keep=("spec", _CONDITIONS))

# accelerator driver managers (knowledge.accelerators: Vendor.driver_managers) ---------------------------------
CLUSTERPOLICIES = Resource("nvidia.com", "clusterpolicies", "ClusterPolicy", False,
                           keep=("spec.devicePlugin", "spec.mig", "spec.cdi", "spec.sandboxWorkloads",
                                 "spec.driver.enabled", "spec.dcgmExporter.enabled", "status"))
NVIDIADRIVERS = Resource("nvidia.com", "nvidiadrivers", "NVIDIADriver", False,
                         keep=("spec.driverType", "spec.version", "status.state"))
AMD_DEVICECONFIGS = Resource("amd.com", "deviceconfigs", "DeviceConfig", True,
                             keep=("spec.driver.enable", "spec.driver.driverType", "spec.driver.version",
                                   "spec.configManager.enable", "status"))
INTEL_GPUDEVICEPLUGINS = Resource("deviceplugin.intel.com", "gpudeviceplugins", "GpuDevicePlugin", False,
                                  keep=("spec.sharedDevNum", "status"))

# AI operators and serving stacks --------------------------------------------------------------------------
RAYCLUSTERS = Resource("ray.io", "rayclusters", "RayCluster", True, keep=("status",))
RAYJOBS = Resource("ray.io", "rayjobs", "RayJob", True, keep=("status.jobDeploymentStatus", "status.jobStatus"))
TRAINJOBS = Resource("trainer.kubeflow.org", "trainjobs", "TrainJob", True, keep=(_CONDITIONS,))
INFERENCESERVICES = Resource("serving.kserve.io", "inferenceservices", "InferenceService", True,
                             keep=(_CONDITIONS,))
DYNAMO_GRAPHDEPLOYMENTS = Resource("nvidia.com", "dynamographdeployments", "DynamoGraphDeployment", True,
                                   keep=("status",))
NETWORK_ATTACHMENT_DEFINITIONS = Resource("k8s.cni.cncf.io", "network-attachment-definitions",
                                          "NetworkAttachmentDefinition", True)
NIC_CLUSTERPOLICIES = Resource("mellanox.com", "nicclusterpolicies", "NicClusterPolicy", False,
                               keep=("status.state",))
