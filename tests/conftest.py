"""Shared test helpers: run one check on a hand-written fixture directory under testdata/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTDATA = REPO / "testdata"
# The shared research folder beside the checkout (reference checklists and real submissions);
# AICONF_SHARED points elsewhere when the checkout lives somewhere else.
SHARED = Path(os.environ.get("AICONF_SHARED") or REPO.parent / "shared")


def run_check(fixture: str | Path, requirement_id: str, conformance_version: str = "1.35"):
    """The CheckResult of `requirement_id` on the snapshot at testdata/checks/<fixture> (or a Path)."""
    from kubectl_aiconf.catalogue import BY_ID
    from kubectl_aiconf.checks import check_for
    from kubectl_aiconf.view.snapshot import SnapshotView

    path = fixture if isinstance(fixture, Path) else TESTDATA / "checks" / fixture
    view = SnapshotView(path, conformance_version)
    check = check_for(requirement_id, BY_ID[requirement_id].category)
    view.load(check.reads)
    return check.run(view)


def names(result, kind: str | None = None) -> set[str]:
    """Names of the evidence objects of a CheckResult (of one kind, if given)."""
    return {e.name for e in result.evidence if kind is None or e.kind == kind}


def fact(result, kind: str, name: str) -> str:
    """The fact seen on one evidence object."""
    return next(e.fact for e in result.evidence if e.kind == kind and e.name == name)


def facts(result, name: str) -> str:
    """Every fact about objects named `name`, joined."""
    return " | ".join(e.fact for e in result.evidence if e.name == name)


def pytest_collection_modifyitems(items):
    """Tests that read ../shared are marked `shared`, so `make unit` runs on a fresh clone without it."""
    for item in items:
        if "reference_submissions" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared)


@pytest.fixture
def check():
    return run_check


@pytest.fixture(scope="session")
def reference_submissions() -> Path:
    """The real vendor submissions; a missing folder fails the tests that need it (never skips them)."""
    path = SHARED / "reference" / "submissions"
    if not path.is_dir():
        pytest.fail(f"reference submissions not found at {path}: set AICONF_SHARED", pytrace=False)
    return path
