import pytest

from conftest import TESTDATA
from kubectl_aiconf import checks
from kubectl_aiconf.catalogue import requirements_for
from kubectl_aiconf.result import CheckResult, Reason, Report, RequirementResult, Status
from kubectl_aiconf.runner import reads_for, run_checks
from kubectl_aiconf.view.snapshot import SnapshotView


def test_every_requirement_of_every_version_has_a_check():
    for version in ("1.33", "1.34", "1.35", "1.36", "1.37"):
        for req in requirements_for(version):
            assert checks.check_for(req.id, req.category).requirement_id == req.id


def test_reads_are_unique_and_cover_every_check():
    reads = reads_for("1.37")
    keys = [r.key for r in reads]
    assert len(keys) == len(set(keys))
    for req in requirements_for("1.37"):
        assert {r.key for r in checks.check_for(req.id, req.category).reads} <= set(keys)


@pytest.fixture
def forced(monkeypatch):
    """Make every check of 1.35 return the given status."""

    def force(status_by_id):
        for rid, status in status_by_id.items():
            original = checks._REGISTRY[rid]
            monkeypatch.setitem(
                checks._REGISTRY,
                rid,
                checks.Check(
                    rid,
                    lambda view, s=status: CheckResult(s, f"forced {s}", [], Reason.NOT_MET, holds_despite_blind=True),
                    original.reads,
                ),
            )

    return force


def test_unmet_should_is_warn_but_remembered(forced):
    forced({"gpu_sharing": Status.FAIL, "dra_support": Status.FAIL})
    results = {r.id: r for r in run_checks(SnapshotView(TESTDATA / "snapshots" / "kubectl-get"), "1.35")}
    assert results["gpu_sharing"].status is Status.WARN and results["gpu_sharing"].should_not_met
    assert results["dra_support"].status is Status.FAIL and not results["dra_support"].should_not_met


def test_overrides_replace_the_passive_result():
    probe = CheckResult(Status.PASS, "probes passed", [], Reason.PROBE_PASSED)
    results = {
        r.id: r
        for r in run_checks(
            SnapshotView(TESTDATA / "snapshots" / "kubectl-get"), "1.35", overrides={"secure_accelerator_access": probe}
        )
    }
    assert results["secure_accelerator_access"].message == "probes passed"


def _report(*pairs):
    results = [
        RequirementResult(f"r{i}", "security", level, "", status, "", [], Reason.HEALTHY)
        for i, (level, status) in enumerate(pairs)
    ]
    return Report("1.35", "v1.35.0", None, "snapshot", results)


@pytest.mark.parametrize(
    "pairs,code,relaxed",
    [
        ([("MUST", Status.PASS), ("MUST", Status.NA), ("SHOULD", Status.FAIL)], 0, 0),
        ([("MUST", Status.PASS), ("MUST", Status.FAIL), ("MUST", Status.UNKNOWN)], 1, 1),
        ([("MUST", Status.PASS), ("MUST", Status.UNKNOWN)], 3, 0),
        ([("MUST", Status.WARN), ("SHOULD", Status.UNKNOWN)], 3, 0),
        ([("SHOULD", Status.UNKNOWN), ("MUST", Status.PASS)], 0, 0),
    ],
)
def test_exit_codes(pairs, code, relaxed):
    report = _report(*pairs)
    assert report.exit_code() == code
    assert report.exit_code(unconfirmed_ok=True) == relaxed


def test_summary_counts_every_status():
    report = _report(("MUST", Status.PASS), ("MUST", Status.PASS), ("SHOULD", Status.NA))
    assert report.summary() == {"PASS": 2, "WARN": 0, "FAIL": 0, "N/A": 1, "UNKNOWN": 0}
