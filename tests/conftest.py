"""Shared test helpers: run one check on a hand-written fixture directory under testdata/."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTDATA = REPO / "testdata"
SHARED = REPO.parent / "shared"


def run_check(fixture: str | Path, requirement_id: str, conformance_version: str = "1.35"):
    """The CheckResult of `requirement_id` on the snapshot at testdata/checks/<fixture> (or a Path)."""
    from kubectl_aiconf.catalogue import BY_ID
    from kubectl_aiconf.checks import check_for
    from kubectl_aiconf.view.snapshot import SnapshotView

    path = fixture if isinstance(fixture, Path) else TESTDATA / "checks" / fixture
    view = SnapshotView(path, conformance_version)
    check = check_for(requirement_id, BY_ID[requirement_id].category)
    view.load(check.reads)
    return check.function(view)


@pytest.fixture
def check():
    return run_check
