"""The NVIDIA GPU Operator run against a Sandbox with kwok GPU nodes (``build.sh gpu-operator``).

What is real: the operator (``github.com/NVIDIA/gpu-operator``'s ``cmd/gpu-operator``, at the version of
components.env's ``GPU_OPERATOR_CRDS``) runs as a process on this machine with the admin kubeconfig, its CRDs are
generated from its Go API types, and everything it does from a ClusterPolicy is its own: it labels the GPU nodes
(``nvidia.com/gpu.deploy.*``), renders its DaemonSets (container toolkit, device plugin, GPU feature discovery,
DCGM, the DCGM exporter, the validator) from its own manifests, and writes the ClusterPolicy's status
(``state: ready`` once every DaemonSet it made is ready). kwok runs those DaemonSets' pods on the GPU nodes, so
they are "ready" without a GPU, a driver or an image: nothing is pulled.

What stands in: the image names (``CLUSTER_POLICY`` names ``aiconf.local/nvidia/<upstream image name>``, so
the checks see the components they would see, from a registry nothing is pulled from), the driver (the
ClusterPolicy says it is pre-installed: the sandbox's GPU nodes advertise a driver version), two paths the
operator hard-codes and build.sh patches (its manifests, and the host's /etc: this machine's), and, as in
components.py, the Deployment ``gpu-operator/gpu-operator`` whose pod kwok runs for "the operator runs here".
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml

from . import binaries, components
from .kube import request
from .procs import Proc, free_port

NAMESPACE = "gpu-operator"
POLICY = "cluster-policy"
HOST_NODE = "gpu-operator-host-0"  # where the placeholder pod runs (no GPU, so no operand lands there)
HOST_LABEL = "sandbox.aiconf.dev/gpu-operator-host"


def version() -> str:
    return components.pins()["GPU_OPERATOR_CRDS"].split()[0].rpartition("@v")[2]


def install_dir() -> Path:
    return binaries.cache_root() / f"gpu-operator-{version()}"


def crd_dir() -> Path:
    return binaries.cache_root() / f"crds-gpu-operator-{version()}"


def missing() -> list[Path]:
    want = (install_dir() / "bin" / "gpu-operator", install_dir() / "assets" / "manifests", crd_dir() / ".complete")
    return [p for p in want if not p.exists()]


def ensure(build: bool = True) -> None:
    """Build (``build.sh gpu-operator``) unless cached; raises binaries.BinariesMissing when that is not possible."""
    if not missing():
        return
    if build:
        proc = subprocess.run(["bash", str(binaries.BUILD_SCRIPT), "gpu-operator"], capture_output=True, text=True)
        if proc.returncode == 0 and not missing():
            return
        raise binaries.BinariesMissing(f"build.sh gpu-operator failed: {(proc.stderr or '').strip()[-2000:]}")
    raise binaries.BinariesMissing(f"missing {', '.join(map(str, missing()))}: run tests/sandbox/build.sh gpu-operator")


def _image(name: str) -> dict:
    return {"repository": "aiconf.local/nvidia", "image": name, "version": "sandbox"}


# A ClusterPolicy as the operator's Helm chart would fill it in for a cluster whose nodes have the driver already.
CLUSTER_POLICY = {
    "apiVersion": "nvidia.com/v1",
    "kind": "ClusterPolicy",
    "metadata": {"name": POLICY},
    "spec": {
        "operator": {"defaultRuntime": "containerd", "initContainer": _image("cuda")},
        "daemonsets": {},
        "driver": {"enabled": False, **_image("driver")},
        "toolkit": {"enabled": True, **_image("container-toolkit")},
        "devicePlugin": {"enabled": True, **_image("k8s-device-plugin")},
        "gfd": {"enabled": True, **_image("k8s-device-plugin")},
        "dcgm": {"enabled": True, **_image("dcgm")},
        "dcgmExporter": {"enabled": True, **_image("dcgm-exporter")},
        "validator": {
            "plugin": {"env": [{"name": "WITH_WORKLOAD", "value": "false"}]},
            **_image("gpu-operator-validator"),
        },
        "mig": {"strategy": "single"},
        "migManager": {"enabled": False, **_image("k8s-mig-manager")},
        "nodeStatusExporter": {"enabled": False, **_image("gpu-operator-validator")},
        "gds": {"enabled": False},
        "vgpuManager": {"enabled": False},
        "vgpuDeviceManager": {"enabled": False},
        "vfioManager": {"enabled": False},
        "sandboxWorkloads": {"enabled": False},
        "sandboxDevicePlugin": {"enabled": False},
        "kataManager": {"enabled": False},
        "cdi": {},
        "psp": {"enabled": False},
    },
}


class GpuOperator:
    """The operator against ``sb`` (a started Sandbox with kwok GPU nodes). ``start()`` installs the CRDs, a host
    node and the placeholder Deployment and starts the process; ``apply_cluster_policy()`` waits for the state the
    operator reports; ``stop()`` is the broken variant. The process ends with the sandbox, or with ``close()``."""

    def __init__(self, sb, timeout: float = 120.0):
        self.sb = sb
        self.timeout = timeout
        self.proc: Proc | None = None
        self.health_port = 0
        self.stopped = False
        sb.on_stop(self.close)

    def _placeholder(self, crashing: bool) -> dict:
        labels = {"app": "gpu-operator", "app.kubernetes.io/component": "gpu-operator"}
        pod_labels = {**labels, **({components.POD_STATE_LABEL: "crashloop"} if crashing else {})}
        where = f"gpu-operator {version()}, pid {self.proc.pid}" if self.proc and self.proc.alive() else "stopped"
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "gpu-operator",
                "namespace": NAMESPACE,
                "labels": labels,
                "annotations": {components.RUNS_OUTSIDE: where},
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "strategy": {"type": "Recreate"},  # a stopped operator leaves no Ready pod behind
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "terminationGracePeriodSeconds": 0,
                        "nodeSelector": {HOST_LABEL: "true"},
                        "containers": [
                            {
                                "name": "gpu-operator",
                                "image": components.LOCAL_IMAGE.format(key="gpu-operator", version=version()),
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
                raise components.ComponentError(f"gpu-operator exited:\n{self.proc.log_tail(20)}")
            value = ok()
            if value:
                return value
            if time.monotonic() > deadline:
                raise components.ComponentError(f"timed out waiting for {what}")
            time.sleep(0.3)

    def _placeholder_ready(self, want: bool) -> bool:
        dep = request(self.sb.admin_client(), "GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/gpu-operator")
        st = dep.get("status") or {}
        if st.get("observedGeneration") != dep["metadata"].get("generation"):
            return False
        ready = st.get("readyReplicas") or 0
        return ready >= 1 and st.get("updatedReplicas") == 1 if want else ready == 0 and bool(st.get("replicas"))

    def _set_placeholder(self, crashing: bool) -> None:
        self.sb.apply_objects([self._placeholder(crashing)])
        self._wait(f"Deployment {NAMESPACE}/gpu-operator (placeholder)", lambda: self._placeholder_ready(not crashing))

    def _readyz(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/readyz", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    def start(self) -> GpuOperator:
        crds = [o for p in sorted(crd_dir().glob("*.yaml")) for o in yaml.safe_load_all(p.read_text()) if o]
        host = self.sb.node_object(HOST_NODE, labels={HOST_LABEL: "true"})
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        self.sb.apply_objects([*crds, namespace, host])
        self.sb.wait_nodes_ready([HOST_NODE])
        self.health_port = free_port()
        env = {**os.environ, "KUBECONFIG": str(self.sb.admin_kubeconfig), "OPERATOR_NAMESPACE": NAMESPACE}
        argv = [
            str(install_dir() / "bin" / "gpu-operator"),
            f"--metrics-bind-address=127.0.0.1:{free_port()}",
            f"--health-probe-bind-address=127.0.0.1:{self.health_port}",
        ]
        self.proc = Proc("gpu-operator", argv, Path(self.sb.dir) / "logs" / "gpu-operator.log").start(env=env)
        self._wait("gpu-operator's /readyz", self._readyz)
        self._set_placeholder(crashing=False)
        return self

    def apply_cluster_policy(self, obj: dict | None = None, state: str = "ready") -> dict:
        """Apply a ClusterPolicy (default ``CLUSTER_POLICY``) and wait until the operator reports ``state`` (and,
        for ``ready``, its Ready condition: the operator may write the two in separate updates)."""
        obj = copy.deepcopy(obj or CLUSTER_POLICY)
        self.sb.apply_objects([obj])
        path = f"/apis/nvidia.com/v1/clusterpolicies/{obj['metadata']['name']}"

        def reached():
            live = request(self.sb.admin_client(), "GET", path)
            status = live.get("status") or {}
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            return live if status.get("state") == state and (ready or state != "ready") else None

        return self._wait(f"ClusterPolicy state {state}", reached)

    def stop(self) -> None:
        """The operator stops: its process ends and its pod crash-loops (no Ready pod left)."""
        self.stopped = True
        if self.proc is not None:
            self.proc.stop(grace=5)
        self._set_placeholder(crashing=True)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stop(grace=0)
