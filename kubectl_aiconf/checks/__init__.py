"""One module per checklist category, one check function per requirement.

A check is a pure function of a loaded `ClusterView` returning a `CheckResult`. It declares the resources
it reads, so the runner can list them all in one concurrent round before any check runs.

Every check runs behind one guard (`Check.run`): whatever a check could not see can only turn its verdict
into UNKNOWN. The guard records each listing the check reads and each discovery question a snapshot cannot
answer; a verdict other than UNKNOWN next to such a blind spot becomes UNKNOWN naming it, unless the check
vouches (`holds_despite_blind`) that nothing unseen could overturn it.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from kubectl_aiconf.result import CheckResult, Reason, Status
from kubectl_aiconf.view import ClusterView, Listing, Outcome, Resource

CATEGORY_MODULES = {
    "accelerators": "accelerators",
    "networking": "networking",
    "schedulingOrchestration": "scheduling",
    "observability": "observability",
    "security": "security",
    "operator": "operator",
}


class ReadLog:
    """A view as one check sees it: every call goes to the real view; what could not be seen is noted."""

    def __init__(self, view: ClusterView) -> None:
        self._view = view
        self.blind: dict[str, Listing] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def _note(self, listings: Iterable[Listing]) -> None:
        for listing in listings:
            if not listing.visible:
                self.blind.setdefault(listing.resource.key, listing)

    def list(self, res: Resource) -> Listing:
        listing = self._view.list(res)
        self._note([listing])
        if listing.outcome is Outcome.NOT_SERVED:  # "not served" is knowledge only where discovery answers
            self._note(self._view.discovery_gaps(res.group, res.resource))
        return listing

    def serves(self, group: str, resource: str | None = None, version: str | None = None) -> bool:
        served = self._view.serves(group, resource, version)
        if not served:
            self._note(self._view.discovery_gaps(group, resource))
        return served

    def group_versions(self, group: str) -> builtins.list[str]:  # `list` here is the method above
        versions = self._view.group_versions(group)
        if not versions:
            self._note(self._view.discovery_gaps(group))
        return versions

    def choose_version(self, res: Resource) -> str | None:
        version = self._view.choose_version(res)
        if version is None:
            self._note(self._view.discovery_gaps(res.group, res.resource))
        return version


def blind_reason(blind: Iterable[Listing]) -> Reason:
    """The reason code of an UNKNOWN caused by `blind`: forbidden before failed before not-in-snapshot."""
    outcomes = {listing.outcome for listing in blind}
    if Outcome.FORBIDDEN in outcomes:
        return Reason.FORBIDDEN
    if Outcome.ERROR in outcomes:
        return Reason.READ_FAILED
    return Reason.NOT_IN_SNAPSHOT


def why_blind(blind: Iterable[Listing]) -> str:
    """Every blind spot once, joined: 'forbidden: missing permission to list ...; the snapshot holds no ...'."""
    return "; ".join(dict.fromkeys(listing.why_unknown() for listing in blind))


def guard_verdict(result: CheckResult, blind: list[Listing]) -> CheckResult:
    """Apply the one rule of every verdict: what could not be seen can only make it UNKNOWN."""
    if result.reason is None:
        raise ValueError(f"a check returned {result.status} without a reason: {result.message}")
    if not blind or result.status is Status.UNKNOWN or result.holds_despite_blind:
        return result
    return replace(
        result,
        status=Status.UNKNOWN,
        reason=blind_reason(blind),
        message=f"cannot tell: {why_blind(blind)} (from what could be read: {result.message})",
    )


@dataclass(frozen=True)
class Check:
    requirement_id: str
    function: Callable[[ClusterView], CheckResult]
    reads: tuple[Resource, ...]

    def run(self, view: ClusterView) -> CheckResult:
        """The check's verdict on `view` (already loaded with `reads`), through the guard."""
        log = ReadLog(view)
        result = self.function(log)  # type: ignore[arg-type]  # a ReadLog stands in for its view
        return guard_verdict(result, list(log.blind.values()))


_REGISTRY: dict[str, Check] = {}


CheckFunction = Callable[[ClusterView], CheckResult]


def requirement_check(requirement_id: str, reads: tuple[Resource, ...]) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the check of `requirement_id`."""

    def register(function: CheckFunction) -> CheckFunction:
        _REGISTRY[requirement_id] = Check(requirement_id, function, tuple(reads))
        return function

    return register


def check_for(requirement_id: str, category: str) -> Check:
    importlib.import_module(f"{__name__}.{CATEGORY_MODULES[category]}")
    return _REGISTRY[requirement_id]
