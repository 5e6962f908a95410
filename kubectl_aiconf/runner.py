"""Runs the checks of one checklist version against a view and binds the results to requirements."""

from __future__ import annotations

from kubectl_aiconf.catalogue import MUST, SHOULD, requirements_for
from kubectl_aiconf.checks import check_for
from kubectl_aiconf.result import CheckResult, RequirementResult, Status
from kubectl_aiconf.view import ClusterView, Resource


def reads_for(version: str) -> list[Resource]:
    """Every resource the checks of `version` read, each once."""
    unique: dict[str, Resource] = {}
    for req in requirements_for(version):
        for res in check_for(req.id, req.category).reads:
            unique.setdefault(res.key, res)
    return list(unique.values())


def run_checks(
    view: ClusterView, version: str, overrides: dict[str, CheckResult] | None = None
) -> list[RequirementResult]:
    """Load what the checks read, run them, and return one result per requirement of `version`.

    `overrides` replaces the passive result of a requirement (probe results for secure_accelerator_access).
    """
    view.load(reads_for(version))
    results = []
    for req in requirements_for(version):
        level = req.level(version)
        result = (overrides or {}).get(req.id) or check_for(req.id, req.category).run(view)
        if result.reason is None:  # the guard refuses these for checks; a probe result must carry one too
            raise ValueError(f"{req.id}: a result without a reason: {result.message}")
        # Not meeting a SHOULD is a warning, not a failure.
        should_not_met = level == SHOULD and result.status is Status.FAIL
        results.append(
            RequirementResult(
                req.id,
                req.category,
                level or MUST,
                req.description,
                Status.WARN if should_not_met else result.status,
                result.message,
                list(result.evidence),
                result.reason,
                should_not_met,
            )
        )
    return results
