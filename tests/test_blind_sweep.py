"""The rule every verdict obeys: what the tool cannot see can only make a verdict UNKNOWN.

Two sweeps:
- every fixture of every check x every resource the check reads x {forbidden, missing from the snapshot,
  failed}: the verdict stays what it is with everything visible, or becomes UNKNOWN;
- every snapshot in testdata/ x every kind of object in it hidden (as if the snapshot never held that
  listing): the same, for every check of the snapshot's checklist.

A check must never read the items of a listing it could not see (BlindRead): that is a defect even when
the guard would turn the verdict into UNKNOWN anyway, so the sweep calls the check itself too.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pytest

from conftest import TESTDATA
from kubectl_aiconf.catalogue import BY_ID, requirements_for
from kubectl_aiconf.checks import Check, check_for
from kubectl_aiconf.result import CheckResult, Status
from kubectl_aiconf.view import Listing, Outcome, Resource
from kubectl_aiconf.view.snapshot import SnapshotView

VERSION = "1.35"
FIXTURES = sorted(p for p in (TESTDATA / "checks").glob("*/*") if p.is_dir())
SNAPSHOTS = sorted(
    p
    for p in [*(TESTDATA / "scenarios").iterdir(), *(TESTDATA / "snapshots").iterdir()]
    if p.is_dir() and not p.name.startswith("_") and any(f.suffix in (".yaml", ".json") for f in p.iterdir())
)
FAULTS = {
    Outcome.FORBIDDEN: "forbidden",
    Outcome.ERROR: "failed",
    Outcome.NO_DATA: "missing from the snapshot",
}


def _check(requirement_id: str) -> Check:
    return check_for(requirement_id, BY_ID[requirement_id].category)


@cache
def _parsed(path: Path) -> SnapshotView:
    return SnapshotView(path, VERSION)


def _fresh(path: Path, hide: tuple[str, str] | None = None) -> SnapshotView:
    """A new view of the parsed snapshot at `path`, nothing loaded, with the objects of `hide` (group, kind)
    removed as if the files never held them; discovery is inferred again when the snapshot has none."""
    view = copy.copy(_parsed(path))
    view._listings = {}
    view._objects = dict(view._objects)
    view._listed = dict(view._listed)
    if hide is not None:
        view._objects.pop(hide, None)
        view._listed.pop(hide, None)
        if view._discovery is None:
            view._served = view._infer_served(VERSION)
    return view


def _verdict(check: Check, view: SnapshotView) -> CheckResult:
    check.function(view)  # raises BlindRead when the check reads items it could not see
    return check.run(view)


@cache
def _base(path: Path, requirement_id: str) -> CheckResult:
    """The verdict with everything in the snapshot visible."""
    check = _check(requirement_id)
    view = _fresh(path)
    view.load(check.reads)
    return _verdict(check, view)


def _describe(where: str, base: CheckResult, now: CheckResult) -> str:
    return (
        f"{where}: {base.status} ({base.reason}) became {now.status} ({now.reason})\n"
        f"  before: {base.message}\n  after:  {now.message}"
    )


def _fixture_cases():
    for path in FIXTURES:
        requirement_id = path.parent.name
        for res in _check(requirement_id).reads:
            for outcome in FAULTS:
                yield pytest.param(
                    path, requirement_id, res, outcome, id=f"{path.parent.name}/{path.name}-{res.key}-{outcome.value}"
                )


def _fault(view: SnapshotView, res: Resource, outcome: Outcome, path: Path) -> SnapshotView:
    if outcome is Outcome.NO_DATA:
        view = _fresh(path, (res.group, res.kind))
        view._reads = {k: v for k, v in view._reads.items() if k != res.key}
        return view
    view._listings[res.key] = Listing(res, outcome, detail="injected by the sweep")
    return view


@pytest.mark.parametrize("path, requirement_id, res, outcome", list(_fixture_cases()))
def test_a_blind_read_only_makes_a_fixture_verdict_unknown(path, requirement_id, res, outcome):
    check = _check(requirement_id)
    base = _base(path, requirement_id)
    view = _fault(_fresh(path), res, outcome, path)  # a listing put in place before load is not listed again
    view.load(check.reads)
    now = _verdict(check, view)
    assert now.status in (base.status, Status.UNKNOWN), _describe(
        f"{path.relative_to(TESTDATA)} with {res.key} {FAULTS[outcome]}", base, now
    )
    if now.status is Status.UNKNOWN and base.status is not Status.UNKNOWN:
        assert now.reason is not None and now.reason.value in ("forbidden", "read-failed", "not-in-snapshot")


def _kinds_in(path: Path) -> list[tuple[str, str]]:
    view = _parsed(path)
    return sorted(set(view._objects) | set(view._listed))


def _snapshot_cases():
    for path in SNAPSHOTS:
        for kind in _kinds_in(path):
            yield pytest.param(path, kind, id=f"{path.parent.name}/{path.name}-hide-{kind[1]}.{kind[0] or 'core'}")


@pytest.mark.parametrize("path, hidden", list(_snapshot_cases()))
def test_hiding_a_kind_of_a_snapshot_only_makes_verdicts_unknown(path, hidden):
    problems = []
    for req in requirements_for(VERSION):
        check = _check(req.id)
        base = _base(path, req.id)
        view = _fresh(path, hidden)
        view.load(check.reads)
        now = _verdict(check, view)
        if now.status not in (base.status, Status.UNKNOWN):
            problems.append(_describe(f"{req.id} on {path.relative_to(TESTDATA)} without {hidden[1]}", base, now))
    assert not problems, "\n".join(problems)


def test_the_sweeps_cover_every_check_and_snapshot():
    assert {r.id for r in requirements_for(VERSION)} <= {p.parent.name for p in FIXTURES}
    assert len(SNAPSHOTS) >= 5
    assert sum(1 for _ in _fixture_cases()) > 1000
