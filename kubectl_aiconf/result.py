"""What a check returns: a status, a one-line message and the evidence behind it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubectl_aiconf.waivers import Waiver


class Status(str, enum.Enum):
    PASS = "PASS"  # strong evidence: the component exists and is healthy, or a probe ran and passed
    WARN = "WARN"  # partial evidence (CRDs without a controller, a SHOULD not met, ...)
    FAIL = "FAIL"  # clearly not met, and the tool could see everything it needed
    NA = "N/A"  # does not apply, and the message says why
    UNKNOWN = "UNKNOWN"  # the tool cannot tell: forbidden, not visible, needs --probe, no data

    def __str__(self) -> str:
        return self.value


class Reason(str, enum.Enum):
    """Why a result has its status: stable, machine-readable, in JSON/YAML output and the README.

    Tests and scripts assert reasons, not the wording of messages.
    """

    # PASS
    HEALTHY = "healthy"  # an implementation was found and is healthy
    PROBE_PASSED = "probe-passed"  # a probe workload ran and proved it
    # WARN or FAIL
    CRDS_ONLY = "crds-only"  # the API is installed, nothing serves it
    UNHEALTHY = "unhealthy"  # an implementation was found and is not healthy
    PARTIAL = "partial"  # found and healthy, but incomplete (coverage, an older API version, a simulated device)
    NOT_INSTALLED = "not-installed"  # nothing implements it, and everything that could was visible
    NOT_MET = "not-met"  # seen to be violated (e.g. a workload bypasses accelerator isolation)
    PROBE_FAILED = "probe-failed"  # a probe workload ran and disproved it
    # N/A
    NO_ACCELERATORS = "no-accelerators"  # the cluster has no accelerator nodes or devices
    NOT_APPLICABLE = "not-applicable"  # does not apply for another reason, given in the message
    # UNKNOWN
    FORBIDDEN = "forbidden"  # RBAC denied a read the verdict depends on
    NOT_IN_SNAPSHOT = "not-in-snapshot"  # the snapshot holds no listing the verdict depends on
    READ_FAILED = "read-failed"  # a read failed (server error, timeout, broken connection)
    NEEDS_PROBE = "needs-probe"  # only a probe can tell
    MANAGED_NOT_VISIBLE = "managed-not-visible"  # a managed platform runs it where the API does not show it
    UNRECOGNISED = "unrecognised"  # something is there that the tool does not know how to judge
    PROBE_INCONCLUSIVE = "probe-inconclusive"  # a probe ran but could not decide

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Evidence:
    """One concrete object and the fact seen on it, e.g. DaemonSet gpu-operator/nvidia-dcgm-exporter '2/2 ready'."""

    kind: str
    name: str  # "namespace/name" for namespaced objects, "name" otherwise
    fact: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.fact}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "fact": self.fact}


@dataclass
class CheckResult:
    status: Status
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    reason: Reason | None = None  # every check sets it; the runner's guard refuses a result without one
    # The check vouches that no listing it could not read can overturn this verdict (a healthy
    # implementation seen, or a failure decided from discovery alone). Without it, any blind read turns a
    # verdict into UNKNOWN: see checks.guard_verdict.
    holds_despite_blind: bool = False


@dataclass
class RequirementResult:
    """A check result bound to the requirement (and its level in the chosen checklist)."""

    id: str
    category: str
    level: str
    description: str
    status: Status
    message: str
    evidence: list[Evidence]
    reason: Reason
    # A SHOULD the check found clearly not met is reported WARN; submissions must still call it
    # "Not Implemented" rather than "Partially Implemented".
    should_not_met: bool = False
    # The waiver from --waivers that matches this result: it never changes the status; an unexpired one keeps
    # the result out of the exit code.
    waiver: Waiver | None = None

    @property
    def waived(self) -> bool:
        return self.waiver is not None and self.waiver.active

    def to_dict(self) -> dict:
        data: dict = {
            "id": self.id,
            "category": self.category,
            "level": self.level,
            "status": self.status.value,
            "reason": self.reason.value,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
        }
        if self.waiver is not None:
            data["waiver"] = self.waiver.to_dict()
        return data


@dataclass
class Report:
    conformance_version: str
    kubernetes_version: str | None
    context: str | None  # None when the view is a snapshot
    source: str  # "live" or "snapshot"
    results: list[RequirementResult]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for r in self.results:
            counts[r.status.value] += 1
        return counts

    def to_dict(self) -> dict:
        return {
            "conformanceVersion": self.conformance_version,
            "kubernetesVersion": self.kubernetes_version,
            "context": self.context,
            "source": self.source,
            "requirements": [r.to_dict() for r in self.results],
            "summary": self.summary(),
            "warnings": list(self.warnings),
        }

    def exit_code(self, unconfirmed_ok: bool = False) -> int:
        """0: every MUST is PASS or N/A; 1: a MUST failed; 3: a MUST could not be confirmed (UNKNOWN/WARN).

        A result under an unexpired waiver counts as neither."""
        musts = [r for r in self.results if r.level == "MUST" and not r.waived]
        if any(r.status is Status.FAIL for r in musts):
            return 1
        if any(r.status in (Status.UNKNOWN, Status.WARN) for r in musts):
            return 0 if unconfirmed_ok else 3
        return 0


EXIT_CLUSTER_ERROR = 2  # as a single run that cannot reach its cluster


@dataclass
class ClusterError:
    """A cluster of a multi-cluster run that could not be checked (unreachable, credentials, unknown version).

    Its JSON/YAML document is exactly {"context": ..., "error": "one line"}."""

    context: str
    error: str

    def to_dict(self) -> dict:
        return {"context": self.context, "error": self.error}

    def exit_code(self, unconfirmed_ok: bool = False) -> int:
        return EXIT_CLUSTER_ERROR
