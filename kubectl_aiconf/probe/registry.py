"""The probes `check --probe` knows: one per requirement it can decide by running something.

Adding a probe is a module in kubectl_aiconf.probe with `READS` (the listings its plan needs) and
`plan(view, options) -> Part` (see suite.Part), plus one line in PROBES below. This module imports nothing
else, so that `--help` can list the ids.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class ProbeInfo:
    id: str  # the requirement it decides
    creates: str  # one line: what it creates in the probe namespace
    module: str  # kubectl_aiconf.probe.<module>: READS and plan()
    safe: bool = True  # part of the default set (`--probe` alone); opt-in probes must be named

    def load(self) -> ModuleType:
        return importlib.import_module(f"kubectl_aiconf.probe.{self.module}")


PROBES: tuple[ProbeInfo, ...] = (
    ProbeInfo(
        "secure_accelerator_access",
        "short pods given one accelerator each (device plugin, DRA claim) and pods given none, listing the devices "
        "they can see",
        "accelerator",
    ),
    ProbeInfo(
        "dra_support",
        "a ResourceClaim of a DeviceClass with free devices and a pod using it, reporting the device it received",
        "dra",
    ),
    ProbeInfo(
        "driver_runtime_management",
        "a pod given one accelerator that reports the driver version it sees, compared with what the node advertises",
        "driver",
    ),
    ProbeInfo(
        "workload_sandboxing",
        "a pod under each sandbox RuntimeClass and one under the node's default runtime, comparing their kernels",
        "sandboxing",
    ),
    ProbeInfo(
        "accelerator_metrics",
        "nothing: reads each accelerator node's exporter through the API server's pod proxy",
        "accelerator_metrics",
    ),
    ProbeInfo(
        "ai_service_metrics",
        "a pod serving Prometheus metrics, its Service and a ServiceMonitor (or scrape annotations, or a "
        "PodMonitoring for managed Prometheus), then looks for its series",
        "service_metrics",
    ),
    ProbeInfo(
        "pod_autoscaling",
        "a Deployment of one idle pod and an HPA on a custom or external metric whose target is never reached",
        "autoscaling",
    ),
    ProbeInfo(
        "ai_inference",
        "an HTTPRoute for a host that never resolves, on an existing Gateway or a probe Gateway, and its Service",
        "inference",
    ),
    ProbeInfo(
        "gang_scheduling",
        "a LocalQueue on an existing ClusterQueue (Kueue) or PodGroups, a gang that fits and one a pod too big",
        "gang",
    ),
    ProbeInfo(
        "robust_controller",
        "a minimal RayCluster its controller must reconcile, and an invalid one its webhook must refuse",
        "controller",
    ),
    ProbeInfo(
        "cluster_autoscaling",
        "a pod asking for one accelerator no node has free, so that a node is added (opt-in: costs money)",
        "cluster_autoscaling",
        safe=False,
    ),
)
BY_ID: dict[str, ProbeInfo] = {p.id: p for p in PROBES}
DEFAULT_IDS: tuple[str, ...] = tuple(p.id for p in PROBES if p.safe)


def select(ids: str | None) -> list[ProbeInfo]:
    """The probes named in `ids` (comma-separated), or every safe one for None/"". Raises ValueError naming
    the known ids for an unknown one."""
    if not ids or not ids.strip():
        return [p for p in PROBES if p.safe]
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    unknown = [i for i in wanted if i not in BY_ID]
    if unknown:
        raise ValueError(f"unknown probe {', '.join(unknown)}; known probes: {', '.join(BY_ID)}")
    return [BY_ID[i] for i in dict.fromkeys(wanted)]
