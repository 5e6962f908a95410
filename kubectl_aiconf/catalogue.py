"""The requirement catalogue: which requirement applies at which level in which checklist version.

The facts (ids, categories, levels per version) follow the CNCF Kubernetes AI Conformance checklists;
the descriptions are this project's own one-line summaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MUST = "MUST"
SHOULD = "SHOULD"

# Spec category keys, in the order the checklists list them, with the names reports display.
CATEGORIES: dict[str, str] = {
    "accelerators": "Accelerators",
    "networking": "Networking",
    "schedulingOrchestration": "Scheduling & Orchestration",
    "observability": "Observability",
    "security": "Security",
    "operator": "Operator Support",
}

VERSIONS = ("1.33", "1.34", "1.35", "1.36", "1.37")
# Checklists published as drafts (none since 1.37 became final on 2026-08-26); a run against one warns.
DRAFT_VERSIONS: frozenset[str] = frozenset()
NEWEST_FINAL = [v for v in VERSIONS if v not in DRAFT_VERSIONS][-1]


@dataclass(frozen=True)
class Requirement:
    id: str
    category: str
    description: str
    levels: dict[str, str]  # checklist version -> MUST | SHOULD; absent when not in that checklist
    conditional: str = ""  # why the requirement may not apply ("" when it always applies)

    def level(self, version: str) -> str | None:
        return self.levels.get(version)


def _levels(**by_version: str) -> dict[str, str]:
    return {k.replace("v1_", "1."): v for k, v in by_version.items()}


_ALL_MUST = _levels(v1_33=MUST, v1_34=MUST, v1_35=MUST, v1_36=MUST, v1_37=MUST)
_SHOULD_FROM_135 = _levels(v1_35=SHOULD, v1_36=SHOULD, v1_37=SHOULD)
_SHOULD_FROM_136 = _levels(v1_36=SHOULD, v1_37=SHOULD)

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "dra_support",
        "accelerators",
        "The Dynamic Resource Allocation APIs (resource.k8s.io) are served, so workloads can ask for devices "
        "by attributes rather than by count.",
        _levels(v1_33=SHOULD, v1_34=MUST, v1_35=MUST),
    ),
    Requirement(
        "driver_runtime_management",
        "accelerators",
        "Accelerator drivers and the matching container-runtime setup are installed and kept up to date on "
        "accelerator nodes, and their versions can be verified (through DRA attributes once available).",
        _SHOULD_FROM_135,
    ),
    Requirement(
        "gpu_sharing",
        "accelerators",
        "At least one GPU sharing strategy is offered: hardware partitions (such as MIG) as schedulable "
        "resources, or software sharing (time-slicing, MPS) that allows oversubscription.",
        _SHOULD_FROM_135,
    ),
    Requirement(
        "virtualized_accelerator",
        "accelerators",
        "Virtualized accelerators (such as vGPU) can be exposed and managed like physical fractional GPUs.",
        _SHOULD_FROM_135,
    ),
    Requirement(
        "ai_inference",
        "networking",
        "A Gateway API implementation is running and can split traffic by weight and route by header for "
        "inference services.",
        _ALL_MUST,
    ),
    Requirement(
        "advanced_inference_ingress",
        "networking",
        "A Gateway API Inference Extension implementation routes requests to model servers with "
        "model-server-aware decisions.",
        _SHOULD_FROM_136,
    ),
    Requirement(
        "high_performance_networking",
        "networking",
        "Where needed, specialised network devices (RDMA, secondary NICs) are exposed with discoverable "
        "characteristics and can be attached to pods.",
        _SHOULD_FROM_136,
        conditional="only when the platform offers specialised network devices",
    ),
    Requirement(
        "disaggregated_inference",
        "networking",
        "A disaggregated serving stack runs prefill and decode as separate instances.",
        _SHOULD_FROM_136,
    ),
    Requirement(
        "gang_scheduling",
        "schedulingOrchestration",
        "At least one gang scheduler is installed and working, so a group of pods is scheduled all together "
        "or not at all.",
        _ALL_MUST,
    ),
    Requirement(
        "cluster_autoscaling",
        "schedulingOrchestration",
        "If the platform has a cluster autoscaler, it scales node groups of a given accelerator type up and "
        "down with pending pods that ask for that accelerator.",
        _ALL_MUST,
        conditional="only when the platform provides a cluster autoscaler",
    ),
    Requirement(
        "pod_autoscaling",
        "schedulingOrchestration",
        "The HorizontalPodAutoscaler works for accelerator pods, including scaling on custom AI/ML metrics.",
        _ALL_MUST,
    ),
    Requirement(
        "accelerator_metrics",
        "observability",
        "Per-accelerator utilisation and memory metrics (ideally temperature, power, interconnect) are "
        "exposed at a standard machine-readable endpoint.",
        _ALL_MUST,
    ),
    Requirement(
        "ai_service_metrics",
        "observability",
        "A monitoring system discovers and scrapes metrics that workloads expose in the Prometheus format.",
        _ALL_MUST,
    ),
    Requirement(
        "secure_accelerator_access",
        "security",
        "Containers reach accelerators only through a device plugin or DRA, isolated from one another; "
        "pods that asked for none see none.",
        _ALL_MUST,
    ),
    Requirement(
        "workload_sandboxing",
        "security",
        "Untrusted or agent code can run in a sandbox strongly isolated from the host kernel (for example "
        "gVisor or Kata through a RuntimeClass).",
        _levels(v1_37=SHOULD),
    ),
    Requirement(
        "robust_controller",
        "operator",
        "At least one complex AI operator with CRDs (such as KubeRay or Kubeflow) runs: its pods are up, its "
        "webhooks answer and its custom resources are reconciled.",
        _ALL_MUST,
    ),
)

BY_ID: dict[str, Requirement] = {r.id: r for r in REQUIREMENTS}


def requirements_for(version: str) -> list[Requirement]:
    """The requirements of one checklist version, in checklist order."""
    if version not in VERSIONS:
        raise UnknownVersion(version)
    return [r for r in REQUIREMENTS if version in r.levels]


class UnknownVersion(ValueError):
    def __str__(self) -> str:
        return f"unknown conformance version {self.args[0]!r}; known checklists: {', '.join(VERSIONS)}"


_SERVER_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def minor_of(server_version: str) -> str | None:
    """'v1.35.3-gke.1200' -> '1.35'; None when the string has no major.minor."""
    m = _SERVER_VERSION.match(server_version.strip())
    return f"{m.group(1)}.{m.group(2)}" if m else None


def checklist_for_server(server_version: str) -> tuple[str, str | None]:
    """Choose the checklist for a server version. Returns (checklist version, warning or None)."""
    minor = minor_of(server_version)
    if minor is None:
        raise ValueError(f"cannot read a Kubernetes version from {server_version!r}; use --conformance-version X.Y")
    if minor in VERSIONS:
        warning = (
            f"checklist {minor} is a draft; its requirements may still change" if minor in DRAFT_VERSIONS else None
        )
        return minor, warning
    key = _version_key(minor)
    lower = [v for v in VERSIONS if _version_key(v) < key]
    if not lower:
        raise ValueError(
            f"Kubernetes {minor} is older than the first AI conformance checklist "
            f"({VERSIONS[0]}); use --conformance-version X.Y to check anyway"
        )
    chosen = lower[-1]
    return chosen, (f"no AI conformance checklist for Kubernetes {minor}; using the nearest lower checklist {chosen}")


def _version_key(v: str) -> tuple[int, int]:
    major, minor = v.split(".")
    return int(major), int(minor)
