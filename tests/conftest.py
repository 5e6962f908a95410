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


# A real node is machine-wide (one kubelet, containerd and cgroup tree: tests/sandbox/realnode.py holds a lock,
# and a second node fails at once), so the modules that start one (every integration module whose name has
# `realnode`; tests/test_suite_layout.py keeps it so) run in one pytest-xdist worker, one after another.
REAL_NODE_GROUP = "real-node"


def work_unit(nodeid: str) -> str:
    """What one pytest-xdist worker runs whole: a module (its module- and session-scoped fixtures, such as a
    sandbox and its scenario, are then set up in one worker only), or every real-node module together."""
    path = nodeid.split("::", 1)[0]
    return REAL_NODE_GROUP if "realnode" in path.rpartition("/")[2] else path


def _run_order(item) -> int:
    """The real node's group, then the other integration modules, then the unit tests: longest first, so that
    under pytest-xdist the short units fill the end of the run."""
    if work_unit(item.nodeid) == REAL_NODE_GROUP:
        return 0
    return 1 if "integration" in item.path.parts else 2


def pytest_collection_modifyitems(items):
    """Tests that read ../shared are marked `shared`, so `make unit` runs on a fresh clone without it."""
    for item in items:
        if "reference_submissions" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared)
    items.sort(key=_run_order)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test` (-n N --dist loadfile): files as work units, but the real-node modules as one."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModuleScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ModuleScheduling(config, log)


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
