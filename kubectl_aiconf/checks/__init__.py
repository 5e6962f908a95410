"""One module per checklist category, one check function per requirement.

A check is a pure function of a loaded `ClusterView` returning a `CheckResult`. It declares the resources
it reads, so the runner can list them all in one concurrent round before any check runs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from kubectl_aiconf.result import CheckResult
from kubectl_aiconf.view import ClusterView, Resource

CATEGORY_MODULES = {
    "accelerators": "accelerators",
    "networking": "networking",
    "schedulingOrchestration": "scheduling",
    "observability": "observability",
    "security": "security",
    "operator": "operator",
}


@dataclass(frozen=True)
class Check:
    requirement_id: str
    function: Callable[[ClusterView], CheckResult]
    reads: tuple[Resource, ...]


_REGISTRY: dict[str, Check] = {}


def requirement_check(requirement_id: str, reads: tuple[Resource, ...]):
    """Register the decorated function as the check of `requirement_id`."""

    def register(function: Callable[[ClusterView], CheckResult]):
        _REGISTRY[requirement_id] = Check(requirement_id, function, tuple(reads))
        return function

    return register


def check_for(requirement_id: str, category: str) -> Check:
    importlib.import_module(f"{__name__}.{CATEGORY_MODULES[category]}")
    return _REGISTRY[requirement_id]
