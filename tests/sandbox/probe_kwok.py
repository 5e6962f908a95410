"""Sandbox support for the accelerator probe (`kubectl aiconf check --probe`): scripted probe pods.

kwok runs no containers, so in the sandbox the probe's pods are completed by kwok stages and their output is
scripted: `probe_stages.yaml` (stages) plus one ClusterLogs per probe pod name, generated here, pointing at
files under `<sandbox dir>/probe-logs/<pod>/<container>.log`. Tests rewrite those files to play a scenario
(a device leak, a missing device, ...). The devices are simulated: nothing here proves anything about real
hardware; it proves that the plugin creates, waits, reads, judges and cleans up correctly against a real
API server, scheduler (which allocates DRA claims) and controller-manager.

`ProbeSandbox` is the sandbox with kwok's kubelet-like server turned on (so `pods/log` works through the API
server) and this configuration loaded; it changes nothing else of `Sandbox`.
"""

from __future__ import annotations

from pathlib import Path

from .procs import free_port
from .sandbox import Sandbox

HERE = Path(__file__).resolve().parent
STAGES = HERE / "probe_stages.yaml"

PULL_FAILS_IMAGE = "registry.invalid/aiconf/no-such-image:1"
HANGS_IMAGE = "registry.invalid/aiconf/sleeps-forever:1"

# Probe pod name -> its containers (kubectl_aiconf/probe/plan.py names them so).
PROBE_PODS = {
    **{f"{m}-{role}": ["probe"] for m in ("dp", "dra") for role in ("pair-a", "pair-b", "single")},
    "dp-multi": ["with-device", "without-device"],
    "dra-multi": ["with-device", "without-device"],
    "negative": ["no-request", "visible-devices-all"],
    "negative-2": ["no-request", "visible-devices-all"],
}
_STAMP = "2026-01-01T00:00:00.000000000Z"


def cri_log(lines: list[str]) -> str:
    """Container log file content in the CRI format kubelet (and kwok) read."""
    return "".join(f"{_STAMP} stdout F {line}\n" for line in lines)


def probe_lines(*devices: str, uuids: tuple[str, ...] = (), done: bool = True) -> list[str]:
    """What the probe script prints when it sees `devices`, and `nvidia-smi -L` lists the GPUs `uuids`."""
    lines = [f"AICONF device={d}" for d in devices] + [
        f"AICONF list-nvidia=GPU {i}: NVIDIA H100 80GB HBM3 (UUID: {u})" for i, u in enumerate(uuids)
    ]
    lines.append(f"AICONF count={len(devices)}")
    if done:
        lines.append("AICONF done")
    return lines


def isolated_outputs() -> dict[tuple[str, str], list[str]]:
    """A cluster that isolates accelerators: every probe sees what it should."""
    out: dict[tuple[str, str], list[str]] = {}
    for prefix, base in (("dp", 0), ("dra", 4)):
        out[(f"{prefix}-pair-a", "probe")] = probe_lines(f"/dev/nvidia{base}", uuids=(f"GPU-{prefix}-{base}",))
        out[(f"{prefix}-pair-b", "probe")] = probe_lines(f"/dev/nvidia{base + 1}", uuids=(f"GPU-{prefix}-{base + 1}",))
        out[(f"{prefix}-single", "probe")] = probe_lines(f"/dev/nvidia{base}")
        out[(f"{prefix}-multi", "with-device")] = probe_lines(f"/dev/nvidia{base + 2}")
        out[(f"{prefix}-multi", "without-device")] = probe_lines()
    for neg in ("negative", "negative-2"):
        out[(neg, "no-request")] = probe_lines()
        out[(neg, "visible-devices-all")] = probe_lines()
    return out


class ProbeLogs:
    """The scripted output of probe pods in one sandbox."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def path(self, pod: str, container: str) -> Path:
        return self.dir / pod / f"{container}.log"

    def write(self, outputs: dict[tuple[str, str], list[str]] | None = None) -> None:
        """Reset every file to the isolated outputs, then apply `outputs` on top."""
        merged = isolated_outputs()
        merged.update(outputs or {})
        for (pod, container), lines in merged.items():
            path = self.path(pod, container)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(cri_log(lines))

    def config_documents(self) -> str:
        docs = []
        for pod, containers in PROBE_PODS.items():
            logs = "".join(f"  - containers: [{c}]\n    logsFile: {self.path(pod, c)}\n" for c in containers)
            docs.append(
                "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterLogs\n"
                f"metadata:\n  name: aiconf-probe-{pod}\n"
                f"spec:\n  selector:\n    matchNames: [{pod}]\n  logs:\n{logs}"
            )
        return "---\n".join(docs)


class ProbeSandbox(Sandbox):
    """A Sandbox whose kwok also serves pod logs and completes the probe's pods with scripted output."""

    def __init__(self, **kw) -> None:
        kw.setdefault("name", "aiconf-probe-sandbox")
        super().__init__(**kw)
        self.probe_logs: ProbeLogs | None = None

    @property
    def kwok_port(self) -> int:
        return self.ports["kwok-server"]

    def _spawn(self, name: str, argv: list[str]):
        if name == "kwok":
            argv = argv + self._probe_kwok_args()
        return super()._spawn(name, argv)

    def _probe_kwok_args(self) -> list[str]:
        self.probe_logs = ProbeLogs(self.dir / "probe-logs")
        self.probe_logs.write()
        config = self.dir / "probe-kwok.yaml"
        config.write_text(STAGES.read_text().rstrip() + "\n---\n" + self.probe_logs.config_documents())
        self.ports["kwok-server"] = free_port()
        return [
            f"--config={config}",
            f"--server-address=127.0.0.1:{self.kwok_port}",
            f"--tls-cert-file={self.pki.serving_crt}",
            f"--tls-private-key-file={self.pki.serving_key}",
        ]

    def gpu_node(self, name: str, gpus: int = 0, labels: dict | None = None, taint: bool = True) -> dict:
        """A kwok node the API server can reach for logs (InternalIP 127.0.0.1, kubelet port = kwok's server);
        with `gpus` it advertises nvidia.com/gpu like a node with the NVIDIA device plugin."""
        obj = self.node_object(name, gpu=bool(gpus), gpus=gpus or 8, labels=labels)
        if not taint:
            obj["spec"].pop("taints", None)
        obj["status"]["addresses"] = [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": name},
        ]
        obj["status"]["daemonEndpoints"] = {"kubeletEndpoint": {"Port": self.kwok_port}}
        return obj
