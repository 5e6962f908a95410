"""Karpenter with its kwok cloud provider, run against a Sandbox (``build.sh karpenter``).

What is real: the controller (``sigs.k8s.io/karpenter``'s ``kwok`` main package, built from the module) runs
as a process on this machine with the admin kubeconfig, and the CRDs are generated from its Go API types with
controller-gen. It writes every NodePool and NodeClaim status, holds its leader Lease, and provisions: for a
pending pod that no node fits, it creates a NodeClaim and the kwok provider creates the Node, with the
instance type's resources (``nvidia.com/gpu`` included) as allocatable. The nodes carry the NodePool's
template labels; ``NODEPOOL_LABELS`` gives them ``type=kwok``, so the sandbox's kwok makes them Ready and runs
their pods (kwok leaves the real node alone by that label), and Karpenter then registers and initialises them.

What stands in:
* the instance types are ours (``INSTANCE_TYPES``, written to a file the provider reads): a CPU type and two
  GPU types of family ``gpu``;
* the KWOKNodeClass gets ``Ready=True`` from us: the kwok provider has no controller that writes it, and
  NodePools of a NodeClass that is not Ready are not Ready either;
* the cluster cannot show a process on this machine, so a Deployment ``karpenter/karpenter`` whose pod kwok
  runs on a small host node stands for "the controller runs here" (components.py's convention). ``stop()``
  stops the process and makes that pod crash-loop, as a stopped controller's pod would.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml

from . import binaries, components
from .kube import request
from .procs import Proc, free_port

NAMESPACE = "karpenter"
NODE_CLASS = "default"
HOST_NODE = "karpenter-host-0"  # where the placeholder pod runs; no GPU, so GPU pods never fit it
HOST_LABEL = "sandbox.aiconf.dev/karpenter-host"
# Labels every provisioned node gets from the NodePools here: kwok manages only nodes labelled type=kwok.
NODEPOOL_LABELS = {"type": "kwok"}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def _offering(price: float) -> dict:
    return {
        "Price": price,
        "Available": True,
        "Requirements": [
            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["sandbox-zone-a"]},
        ],
    }


def _instance_type(name: str, price: float, resources: dict[str, str]) -> dict:
    return {
        "name": name,  # the family is what precedes the first '-' (karpenter.kwok.sh/instance-family)
        "architecture": "amd64",
        "operatingSystems": ["linux"],
        "resources": {"pods": "110", **resources},
        "offerings": [_offering(price)],
    }


INSTANCE_TYPES = [
    _instance_type("cpu-8x-amd64-linux", 0.4, {"cpu": "8", "memory": "32Gi"}),
    _instance_type("gpu-1x-amd64-linux", 3.0, {"cpu": "16", "memory": "128Gi", "nvidia.com/gpu": "1"}),
    _instance_type("gpu-8x-amd64-linux", 24.0, {"cpu": "96", "memory": "1Ti", "nvidia.com/gpu": "8"}),
]


class KarpenterError(RuntimeError):
    pass


def version() -> str:
    """The pinned version: that of the module in components.env's KARPENTER_CRDS."""
    return components.pins()["KARPENTER_CRDS"].split()[0].rpartition("@v")[2]


def binary() -> Path:
    return binaries.cache_root() / f"karpenter-kwok-{version()}" / "bin" / "karpenter-kwok"


def crd_dirs() -> list[Path]:
    """karpenter.sh's NodePool and NodeClaim, then NodeOverlay, CapacityBuffer and KWOKNodeClass (build.sh)."""
    return [binaries.cache_root() / f"crds-{name}-{version()}" for name in ("karpenter", "karpenter-kwok")]


def missing() -> list[Path]:
    return [p for p in (binary(), *(d / ".complete" for d in crd_dirs())) if not p.exists()]


def ensure(build: bool = True) -> None:
    """Build (``build.sh karpenter``) unless cached; raises binaries.BinariesMissing when that is not possible."""
    if not missing():
        return
    if build:
        proc = subprocess.run(["bash", str(binaries.BUILD_SCRIPT), "karpenter"], capture_output=True, text=True)
        if proc.returncode == 0 and not missing():
            return
        raise binaries.BinariesMissing(f"build.sh karpenter failed: {(proc.stderr or '').strip()[-2000:]}")
    raise binaries.BinariesMissing(f"missing {', '.join(map(str, missing()))}: run tests/sandbox/build.sh karpenter")


def nodepool(name: str, family: str | None = "gpu", limits: dict | None = None, taints: list | None = None) -> dict:
    """A NodePool of the kwok provider, restricted to one instance family (``gpu`` or ``cpu``) or, with
    ``family=None``, to none: then nothing in it names accelerators, yet a GPU pod gets a GPU node from it. A
    ``gpu`` pool is tainted like the sandbox's GPU nodes unless ``taints`` says otherwise."""
    requirements = [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}]
    if family:
        requirements.insert(0, {"key": "karpenter.kwok.sh/instance-family", "operator": "In", "values": [family]})
    template_spec: dict = {
        "nodeClassRef": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": NODE_CLASS},
        "requirements": requirements,
        "expireAfter": "Never",
    }
    if taints is None:
        taints = [GPU_TAINT] if family == "gpu" else []
    if taints:
        template_spec["taints"] = taints
    spec: dict = {
        "template": {"metadata": {"labels": dict(NODEPOOL_LABELS)}, "spec": template_spec},
        # nothing is consolidated away while a test looks at it
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "Never"},
    }
    if limits:
        spec["limits"] = limits
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name}, "spec": spec}


def gpu_pod(name: str, namespace: str = "default", gpus: int = 1) -> dict:
    """A pod that only a GPU node of a NodePool here can take (asks for nvidia.com/gpu, tolerates its taint)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{"key": GPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}],
            "nodeSelector": {"karpenter.sh/capacity-type": "on-demand"},
            "containers": [
                {
                    "name": "main",
                    "image": "registry.example/cuda-app:1",
                    "resources": {"limits": {"nvidia.com/gpu": str(gpus)}, "requests": {"cpu": "1"}},
                }
            ],
        },
    }


class Karpenter:
    """One Karpenter controller against ``sb`` (a started Sandbox). ``start()`` installs the CRDs, the
    KWOKNodeClass, the host node and the placeholder Deployment, then starts the process and waits until it
    is ready; ``stop()`` is the broken variant (see the module docstring). The process ends with the sandbox,
    or with ``close()``."""

    def __init__(self, sb, timeout: float = 90.0):
        self.sb = sb
        self.timeout = timeout
        self.proc: Proc | None = None
        self.health_port = 0
        self.started_seconds = 0.0
        self.stopped = False  # by stop(), on purpose
        sb.on_stop(self.close)

    # ------------------------------------------------------------------ set-up
    def _node_class(self) -> dict:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ready = {"type": "Ready", "status": "True", "reason": "Ready", "message": "", "lastTransitionTime": now}
        return {
            "apiVersion": "karpenter.kwok.sh/v1alpha1",
            "kind": "KWOKNodeClass",
            "metadata": {"name": NODE_CLASS},
            "status": {"conditions": [ready]},  # the applier writes it through the status subresource
        }

    def _placeholder(self, crashing: bool) -> dict:
        labels = {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter"}
        pod_labels = {**labels, **({components.POD_STATE_LABEL: "crashloop"} if crashing else {})}
        where = f"{binary().name} {version()}, pid {self.proc.pid}" if self.proc and self.proc.alive() else "stopped"
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "karpenter",
                "namespace": NAMESPACE,
                "labels": labels,
                "annotations": {components.RUNS_OUTSIDE: where},
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                # the old pod goes before the new one comes: a stopped controller leaves no Ready pod behind
                "strategy": {"type": "Recreate"},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "terminationGracePeriodSeconds": 0,
                        "nodeSelector": {HOST_LABEL: "true"},
                        "containers": [
                            {
                                "name": "controller",
                                "image": components.LOCAL_IMAGE.format(key="karpenter", version=version()),
                            }
                        ],
                    },
                },
            },
        }

    def _wait(self, what: str, ok, timeout: float | None = None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if self.proc is not None and not self.proc.alive() and not self.stopped:
                raise KarpenterError(f"karpenter exited with {self.proc.returncode()}:\n{self.proc.log_tail(20)}")
            value = ok()
            if value:
                return value
            if time.monotonic() > deadline:
                raise KarpenterError(f"timed out waiting for {what}")
            time.sleep(0.2)

    def _placeholder_ready(self, want: bool) -> bool:
        dep = request(self.sb.admin_client(), "GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/karpenter")
        st = dep.get("status") or {}
        if st.get("observedGeneration") != dep["metadata"].get("generation"):
            return False
        ready = st.get("readyReplicas") or 0
        return ready >= 1 and st.get("updatedReplicas") == 1 if want else ready == 0 and bool(st.get("replicas"))

    def _set_placeholder(self, crashing: bool) -> None:
        self.sb.apply_objects([self._placeholder(crashing)])
        state = "not Ready (crash-looping)" if crashing else "available"
        self._wait(
            f"Deployment {NAMESPACE}/karpenter (the placeholder) {state}", lambda: self._placeholder_ready(not crashing)
        )

    def _readyz(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/readyz", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    def start(self) -> Karpenter:
        t0 = time.monotonic()
        crds = [o for d in crd_dirs() for p in sorted(d.glob("*.yaml")) for o in yaml.safe_load_all(p.read_text()) if o]
        host = self.sb.node_object(HOST_NODE, labels={HOST_LABEL: "true"})
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        self.sb.apply_objects([*crds, namespace, host, self._node_class()])
        self.sb.wait_nodes_ready([HOST_NODE])
        self.start_process()
        self._set_placeholder(crashing=False)
        self.started_seconds = time.monotonic() - t0
        return self

    def start_process(self) -> None:
        """Start the controller process and wait for its /readyz (caches synced, its CRDs known)."""
        d = Path(self.sb.dir) / "karpenter"
        d.mkdir(exist_ok=True)
        types = d / "instance-types.json"
        types.write_text(json.dumps(INSTANCE_TYPES, indent=1))
        self.health_port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "KUBECONFIG": str(self.sb.admin_kubeconfig),
                "INSTANCE_TYPES_FILE_PATH": str(types),
                "HEALTH_PROBE_PORT": str(self.health_port),
                "METRICS_PORT": str(free_port()),
                # its real Lease, in its namespace, as a controller running outside the cluster holds it
                "LEADER_ELECTION_NAMESPACE": NAMESPACE,
                # provision within seconds of a pod becoming pending (defaults: 1s idle, 10s at most)
                "BATCH_IDLE_DURATION": "1s",
                "BATCH_MAX_DURATION": "3s",
                "LOG_LEVEL": "debug",
            }
        )
        self.proc = Proc("karpenter", [str(binary())], Path(self.sb.dir) / "logs" / "karpenter.log").start(env=env)
        self._wait("karpenter's /readyz", self._readyz)

    # ------------------------------------------------------------------ NodePools and pods
    def apply_nodepool(self, obj: dict, wait_ready: bool = True) -> dict:
        """Apply a NodePool and wait until Karpenter has made it Ready; returns it as Karpenter left it."""
        self.sb.apply_objects([obj])
        name = obj["metadata"]["name"]
        if not wait_ready:
            return self.get_nodepool(name)
        return self._wait(f"NodePool {name} Ready", lambda: self._ready_nodepool(name))

    def get_nodepool(self, name: str) -> dict:
        return request(self.sb.admin_client(), "GET", f"/apis/karpenter.sh/v1/nodepools/{name}")

    def _ready_nodepool(self, name: str) -> dict | None:
        pool = self.get_nodepool(name)
        conds = (pool.get("status") or {}).get("conditions") or []
        return pool if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds) else None

    def nodeclaims(self) -> list[dict]:
        return request(self.sb.admin_client(), "GET", "/apis/karpenter.sh/v1/nodeclaims").get("items", [])

    # ------------------------------------------------------------------ the broken variant and teardown
    def stop(self) -> None:
        """The controller stops: its process ends and its pod crash-loops (no Ready pod left)."""
        self.stopped = True
        if self.proc is not None:
            self.proc.stop(grace=5)
        self._set_placeholder(crashing=True)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stop(grace=0)
