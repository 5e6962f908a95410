"""A large synthetic cluster written as `kubectl get -o json` style List files (full objects, not trimmed)."""

from __future__ import annotations

import json
from pathlib import Path

GPU_EVERY = 10  # one node in ten is a GPU node


def _node(i: int) -> dict:
    gpu = i % GPU_EVERY == 0
    labels = {"kubernetes.io/hostname": f"node-{i}", "topology.kubernetes.io/zone": f"zone-{i % 3}"}
    allocatable = {"cpu": "64", "memory": "256Gi", "pods": "110"}
    if gpu:
        labels |= {
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
            "nvidia.com/gpu.count": "8",
            "nvidia.com/cuda.driver-version.full": "580.65.06",
        }
        allocatable["nvidia.com/gpu"] = "8"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": f"node-{i}",
            "labels": labels,
            "uid": f"uid-node-{i}",
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {
            "providerID": f"aws:///zone/i-{i:08x}",
            "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}] if gpu else [],
        },
        "status": {
            "capacity": allocatable,
            "allocatable": allocatable,
            "conditions": [
                {
                    "type": t,
                    "status": "True" if t == "Ready" else "False",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
                for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
            ],
            "nodeInfo": {"containerRuntimeVersion": "containerd://2.1.4", "kubeletVersion": "v1.35.3"},
            # Real nodes carry long image lists; the checks never read them.
            "images": [
                {"names": [f"registry.example/app-{j}@sha256:{j:064x}"], "sizeBytes": 123456789} for j in range(20)
            ],
        },
    }


def _pod(i: int, nodes: int) -> dict:
    gpu = i % 20 == 0
    resources = {"requests": {"cpu": "100m", "memory": "128Mi"}}
    if gpu:
        resources["limits"] = {"nvidia.com/gpu": "1"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"app-{i}",
            "namespace": f"team-{i % 50}",
            "uid": f"uid-pod-{i}",
            "labels": {"app": f"app-{i % 300}"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": f"app-{i % 300}-abc", "uid": "x"}],
        },
        "spec": {
            "nodeName": f"node-{i % nodes}",
            "containers": [
                {
                    "name": "main",
                    "image": f"registry.example/app-{i % 300}:1.0",
                    "resources": resources,
                    "env": [{"name": f"VAR_{k}", "value": "x" * 20} for k in range(10)],
                }
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _crd(i: int) -> dict:
    # A schema of a realistic size (tens of KB): CRD bodies dominate list payloads on real clusters.
    props = {f"field{k}": {"type": "string", "description": "d" * 200} for k in range(150)}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets{i}.example{i % 20}.io"},
        "spec": {
            "group": f"example{i % 20}.io",
            "scope": "Namespaced",
            "names": {"plural": f"widgets{i}", "kind": f"Widget{i}"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": props}},
                }
            ],
        },
        "status": {"conditions": [{"type": "Established", "status": "True"}]},
    }


def _workloads(gpu_nodes: int) -> list[dict]:
    def daemonset(ns, name):
        return {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": f"nvcr.io/nvidia/{name}:1"}]}}},
            "status": {"desiredNumberScheduled": gpu_nodes, "numberReady": gpu_nodes},
        }

    def deployment(ns, name, ready=1):
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 1},
            "status": {"availableReplicas": ready, "readyReplicas": ready},
        }

    objs = [
        daemonset("gpu-operator", n)
        for n in (
            "nvidia-device-plugin-daemonset",
            "nvidia-dcgm-exporter",
            "gpu-feature-discovery",
            "nvidia-driver-daemonset",
        )
    ]
    objs += [deployment(f"team-{i % 50}", f"app-{i}") for i in range(300)]
    objs += [deployment("gpu-operator", "gpu-operator"), deployment("kueue-system", "kueue-controller-manager")]
    return objs


def write(directory: Path, nodes: int = 5000, pods: int = 20000, crds: int = 200) -> dict[str, int]:
    directory.mkdir(parents=True, exist_ok=True)
    gpu_nodes = len(range(0, nodes, GPU_EVERY))
    files = {
        "nodes.json": [_node(i) for i in range(nodes)],
        "pods.json": [_pod(i, nodes) for i in range(pods)],
        "crds.json": [_crd(i) for i in range(crds)],
        "workloads.json": _workloads(gpu_nodes),
    }
    for name, items in files.items():
        (directory / name).write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    (directory / "version.json").write_text(json.dumps({"major": "1", "minor": "35", "gitVersion": "v1.35.3"}))
    return {name: len(items) for name, items in files.items()}
