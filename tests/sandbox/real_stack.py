"""The `real-stack` scenario: real controllers (components.py) doing real work on kwok GPU nodes.

    with Sandbox() as sb:
        stack = real_stack.apply(sb)  # -> RealStack; python -m tests.sandbox up --scenario real-stack
        stack.components.stop("kueue")  # a broken variant

Unlike the YAML scenarios, nothing here carries a status written by this project: every status is written by
the controller that owns it.

* 2 kwok GPU nodes (8 `nvidia.com/gpu` each, GFD labels, the GPU taint) and a CPU node.
* Kueue: a ResourceFlavor for those nodes, a ClusterQueue with GPU quota and a LocalQueue in `ml-team`. Kueue
  itself marks them Active.
* KubeRay: RayCluster `ml-team/raycluster-gpu` (a head and two 1-GPU workers) submitted to that LocalQueue,
  suspended as Kueue's webhook would leave it (the webhook is not installed: see components.py). Kueue makes
  its Workload, admits it and unsuspends the cluster, with the flavor's node labels and tolerations; the
  KubeRay operator creates the head and worker pods, which kwok runs on the GPU nodes, and reports the
  cluster `ready`.
* The Prometheus Operator: Prometheus `monitoring/k8s`, which the operator turns into StatefulSet
  `prometheus-k8s` (kwok runs its pod) and reports Available, and a ServiceMonitor on KubeRay's metrics Service.
"""

from __future__ import annotations

from dataclasses import dataclass

from .components import Components, condition_true

NAME = "real-stack"
NAMESPACE = "ml-team"
LOCAL_QUEUE = "team-a-queue"
CLUSTER_QUEUE = "gpu-cluster-queue"
RAYCLUSTER = "raycluster-gpu"
PROMETHEUS = "k8s"
GPU_PRODUCT = "NVIDIA-H100-80GB-HBM3"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def nodes(sandbox) -> list[dict]:
    return [
        sandbox.node_object("gpu-node-0", gpu=True, ip="10.128.0.10"),
        sandbox.node_object("gpu-node-1", gpu=True, ip="10.128.0.11"),
        sandbox.node_object("cpu-node-0", ip="10.128.0.12"),
    ]


def kueue_objects() -> list[dict]:
    api = "kueue.x-k8s.io/v1beta2"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": api,
            "kind": "ResourceFlavor",
            "metadata": {"name": "gpu-h100"},
            "spec": {"nodeLabels": {"nvidia.com/gpu.product": GPU_PRODUCT}, "tolerations": [GPU_TOLERATION]},
        },
        {
            "apiVersion": api,
            "kind": "ClusterQueue",
            "metadata": {"name": CLUSTER_QUEUE},
            "spec": {
                "namespaceSelector": {},
                "queueingStrategy": "BestEffortFIFO",
                "resourceGroups": [
                    {
                        "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                        "flavors": [
                            {
                                "name": "gpu-h100",
                                "resources": [
                                    {"name": "cpu", "nominalQuota": 64},
                                    {"name": "memory", "nominalQuota": "512Gi"},
                                    {"name": "nvidia.com/gpu", "nominalQuota": 16},
                                ],
                            }
                        ],
                    }
                ],
            },
        },
        {
            "apiVersion": api,
            "kind": "LocalQueue",
            "metadata": {"name": LOCAL_QUEUE, "namespace": NAMESPACE},
            "spec": {"clusterQueue": CLUSTER_QUEUE},
        },
    ]


def _ray_container(name: str, gpus: int) -> dict:
    limits = {"cpu": "2", "memory": "8Gi", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    return {"name": name, "image": "rayproject/ray:2.46.0", "resources": {"requests": dict(limits), "limits": limits}}


def raycluster() -> dict:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": RAYCLUSTER, "namespace": NAMESPACE, "labels": {"kueue.x-k8s.io/queue-name": LOCAL_QUEUE}},
        "spec": {
            "rayVersion": "2.46.0",
            # what Kueue's mutating webhook does to a RayCluster of a queue: created suspended, until admitted
            "suspend": True,
            "headGroupSpec": {
                "rayStartParams": {},
                "template": {"spec": {"containers": [_ray_container("ray-head", 0)]}},
            },
            "workerGroupSpecs": [
                {
                    "groupName": "gpu-workers",
                    "replicas": 2,
                    "minReplicas": 2,
                    "maxReplicas": 2,
                    "rayStartParams": {},
                    "template": {"spec": {"containers": [_ray_container("ray-worker", 1)]}},
                }
            ],
        },
    }


def monitoring_objects() -> list[dict]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "prometheus-k8s", "namespace": "monitoring"},
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "Prometheus",
            "metadata": {"name": PROMETHEUS, "namespace": "monitoring"},
            "spec": {
                "replicas": 1,
                "serviceAccountName": "prometheus-k8s",
                "serviceMonitorSelector": {"matchLabels": {"release": "kube-prometheus-stack"}},
                "serviceMonitorNamespaceSelector": {},
                "podMonitorSelector": {},
                "podMonitorNamespaceSelector": {},
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "ray-head", "namespace": NAMESPACE, "labels": {"release": "kube-prometheus-stack"}},
            "spec": {
                "selector": {"matchLabels": {"ray.io/node-type": "head"}},
                "endpoints": [{"port": "metrics", "interval": "30s"}],
            },
        },
    ]


@dataclass
class RealStack:
    sandbox: object
    components: Components

    def path(self, kind: str) -> str:
        return {
            "clusterqueue": f"/apis/kueue.x-k8s.io/v1beta2/clusterqueues/{CLUSTER_QUEUE}",
            "localqueue": f"/apis/kueue.x-k8s.io/v1beta2/namespaces/{NAMESPACE}/localqueues/{LOCAL_QUEUE}",
            "raycluster": f"/apis/ray.io/v1/namespaces/{NAMESPACE}/rayclusters/{RAYCLUSTER}",
            "prometheus": f"/apis/monitoring.coreos.com/v1/namespaces/monitoring/prometheuses/{PROMETHEUS}",
            "statefulset": f"/apis/apps/v1/namespaces/monitoring/statefulsets/prometheus-{PROMETHEUS}",
            "workloads": f"/apis/kueue.x-k8s.io/v1beta2/namespaces/{NAMESPACE}/workloads",
        }[kind]


def apply(sandbox, timeout: float = 180) -> RealStack:
    """Start the controllers, create the objects, and wait until the controllers have done their work."""
    comps = Components(sandbox)
    stack = RealStack(sandbox, comps)
    sandbox.apply_objects(nodes(sandbox))
    sandbox.wait_nodes_ready(["gpu-node-0", "gpu-node-1", "cpu-node-0"])
    # KubeRay's CRDs before Kueue starts: Kueue enables its RayCluster integration only for served APIs
    comps.start("kuberay")
    comps.start("kueue")
    comps.start("prometheus-operator")

    sandbox.apply_objects(kueue_objects())
    comps.wait_for("ClusterQueue Active", stack.path("clusterqueue"), lambda o: condition_true(o, "Active"), timeout)
    comps.wait_for("LocalQueue Active", stack.path("localqueue"), lambda o: condition_true(o, "Active"), timeout)

    sandbox.apply_objects([raycluster()])
    comps.wait_for(
        "Workload admitted",
        stack.path("workloads"),
        lambda o: any(condition_true(w, "Admitted") for w in o.get("items") or []),
        timeout,
    )
    comps.wait_for(
        "RayCluster ready",
        stack.path("raycluster"),
        lambda o: str((o.get("status") or {}).get("state", "")).lower() == "ready",
        timeout,
    )

    sandbox.apply_objects(monitoring_objects())
    comps.wait_for(
        "StatefulSet prometheus-k8s ready",
        stack.path("statefulset"),
        lambda o: int((o.get("status") or {}).get("readyReplicas") or 0) >= 1,
        timeout,
    )
    comps.wait_for("Prometheus Available", stack.path("prometheus"), lambda o: condition_true(o, "Available"), timeout)
    return stack
