"""Sandbox runtimes (a kernel between the workload and the host) and the agent-sandbox API."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_aiconf.knowledge._base import Component, LabelMatch, Record


@dataclass(frozen=True)
class SandboxRuntime(Record):
    key: str
    name: str
    words: tuple[str, ...]  # words in a RuntimeClass name or handler that name it
    node_labels: tuple[LabelMatch, ...] = ()  # labels its installer puts on nodes that have it
    installers: Component = field(default_factory=Component)
    # What a pod under it prints that only this runtime prints (regex over its dmesg and /proc/version): the
    # probe's per-runtime sign, beside the vendor-neutral one (a kernel other than the node's).
    probe_signature: str = ""

    KIND = "sandbox"


SANDBOX_RUNTIMES: tuple[SandboxRuntime, ...] = (
    SandboxRuntime(
        "gvisor",
        "gVisor",
        ("gvisor", "runsc"),
        (LabelMatch("sandbox.gke.io/runtime", "gvisor"),),
        Component(r"gvisor|runsc", r"gvisor|runsc"),
        probe_signature=r"Starting gVisor",  # the first line of gVisor's own kernel log
    ),
    SandboxRuntime(
        "kata",
        "Kata Containers",
        ("kata",),
        (LabelMatch("katacontainers.io/kata-runtime"),),
        Component(r"kata-deploy|kata-monitor", r"kata-deploy|kata-monitor"),
    ),
    SandboxRuntime("quark", "Quark", ("quark",)),
    SandboxRuntime("krun", "libkrun", ("krun",)),
)
BY_KEY: dict[str, SandboxRuntime] = {s.key: s for s in SANDBOX_RUNTIMES}

# Words of a sandbox RuntimeClass: the runtimes' own, and `sandbox` (GKE Sandbox's gvisor class is
# `gvisor`, but clusters also name classes `sandboxed`).
SANDBOX_WORDS = r"|".join([w for s in SANDBOX_RUNTIMES for w in s.words] + ["sandbox"])
# Handlers that run ordinary containers on the host kernel, whatever the RuntimeClass is called.
PLAIN_HANDLER = r"^(runc|crun|youki|runhcs.*|nvidia.*|docker|containerd)$"
# kubernetes-sigs/agent-sandbox: sandboxes for agents, which need a sandbox runtime underneath.
AGENT_SANDBOX_GROUP = "agents.x-k8s.io"
AGENT_SANDBOX = Component(r"agent-sandbox", r"agent-sandbox")

RECORDS = SANDBOX_RUNTIMES
