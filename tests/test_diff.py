"""`diff OLD NEW` and `check --baseline`: the order of statuses, what counts as a regression, fleets, the files."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, TESTDATA
from kubectl_aiconf.diff import DiffError, compare, documents, load, render
from kubectl_aiconf.result import Report
from kubectl_aiconf.runner import run_checks
from kubectl_aiconf.view.snapshot import SnapshotView

SCENARIOS = TESTDATA / "scenarios"


def doc_of(scenario: str, version: str = "1.35", context: str | None = "prod") -> dict:
    """The JSON document of a real run on a scenario snapshot."""
    view = SnapshotView(SCENARIOS / scenario, version)
    return Report(version, "v1.35.0", context, "snapshot", run_checks(view, version), []).to_dict()


@pytest.fixture(scope="module")
def platform():
    return doc_of("ai-platform")


@pytest.fixture(scope="module")
def gpu():
    return doc_of("gpu-cluster")


def requirement(doc: dict, rid: str) -> dict:
    return next(r for r in doc["requirements"] if r["id"] == rid)


def with_status(doc: dict, rid: str, status: str, level: str | None = None, **extra) -> dict:
    doc = copy.deepcopy(doc)
    r = requirement(doc, rid)
    r["status"] = status
    if level:
        r["level"] = level
    r.update(extra)
    return doc


def test_same_report_has_no_changes(platform):
    diff = compare(platform, copy.deepcopy(platform))
    assert diff.clusters[0].changes == [] and diff.exit_code() == 0
    assert render(diff, "table").endswith(
        "Summary: 0 regressions, 0 improvements, 0 other changes, 0 evidence changes; nothing fails the run."
    )


@pytest.mark.parametrize(
    "old, new, kind",
    [
        ("PASS", "WARN", "regression"),
        ("N/A", "UNKNOWN", "regression"),
        ("WARN", "UNKNOWN", "regression"),
        ("UNKNOWN", "FAIL", "regression"),
        ("FAIL", "UNKNOWN", "improvement"),
        ("WARN", "N/A", "improvement"),
        ("PASS", "N/A", "changed"),
    ],
)
def test_order_of_statuses(platform, old, new, kind):
    changes = compare(with_status(platform, "gang_scheduling", old), with_status(platform, "gang_scheduling", new))
    [change] = changes.clusters[0].changes
    assert (change.id, change.kind) == ("gang_scheduling", kind)
    assert changes.exit_code() == (1 if kind == "regression" else 0)


def test_a_should_regression_is_listed_and_does_not_fail(platform):
    rid = next(r["id"] for r in platform["requirements"] if r["level"] == "SHOULD" and r["status"] == "PASS")
    diff = compare(platform, with_status(platform, rid, "WARN"))
    assert [(c.id, c.kind, c.level) for c in diff.clusters[0].changes] == [(rid, "regression", "SHOULD")]
    assert diff.exit_code() == 0 and diff.to_dict()["summary"]["regression"] == 1


def test_a_waived_regression_does_not_fail_unless_the_waiver_expired(platform):
    waiver = {"reason": "r", "expires": "2099-01-01", "by": "b", "context": None, "expired": False}
    waived = with_status(platform, "gang_scheduling", "FAIL", waiver=waiver)
    diff = compare(platform, waived)
    assert diff.exit_code() == 0 and diff.to_dict()["clusters"][0]["requirements"][0]["waived"] is True
    expired = with_status(platform, "gang_scheduling", "FAIL", waiver={**waiver, "expired": True})
    assert compare(platform, expired).exit_code() == 1


def test_real_runs_regressions_improvements_and_evidence(platform, gpu):
    diff = compare(platform, gpu)
    kinds = {c.id: c.kind for c in diff.clusters[0].changes}
    assert kinds["ai_inference"] == "regression" and kinds["gang_scheduling"] == "regression"
    assert diff.exit_code() == 1
    back = compare(gpu, platform)
    assert {c.id: c.kind for c in back.clusters[0].changes}["ai_inference"] == "improvement"
    assert back.exit_code() == 0
    change = next(c for c in diff.clusters[0].changes if c.id == "gang_scheduling")
    added, removed = change.evidence()
    assert removed and all(e in requirement(platform, "gang_scheduling")["evidence"] for e in removed)
    text = render(diff, "table")
    assert "REGRESSIONS" in text and "IMPROVEMENTS" not in text
    assert "gang_scheduling" in text and "PASS (healthy)" in text and "FAIL (not-installed)" in text
    assert f"      - {removed[0]['kind']} {removed[0]['name']}: {removed[0]['fact']}" in text


def test_changed_evidence_with_the_same_status(platform):
    new = copy.deepcopy(platform)
    r = requirement(new, "gang_scheduling")
    r["evidence"] = r["evidence"][1:] + [{"kind": "Deployment", "name": "ns/extra", "fact": "1/1 available"}]
    diff = compare(platform, new)
    [change] = diff.clusters[0].changes
    assert change.kind == "evidence" and diff.exit_code() == 0
    data = change.to_dict()
    assert data["evidence"]["added"] == [{"kind": "Deployment", "name": "ns/extra", "fact": "1/1 available"}]
    assert data["evidence"]["removed"] == [requirement(platform, "gang_scheduling")["evidence"][0]]


def test_requirements_of_another_checklist_are_added_or_removed_never_regressions():
    old, new = doc_of("gpu-cluster", "1.33"), doc_of("gpu-cluster", "1.36")
    diff = compare(old, new)
    added = [c.id for c in diff.clusters[0].changes if c.kind == "added"]
    assert added and not [c for c in diff.clusters[0].changes if c.kind == "regression"]
    assert diff.exit_code() == 0


def test_fleets_are_matched_by_context_and_a_cluster_lost_is_a_regression(platform, gpu):
    a, b = platform, {**copy.deepcopy(platform), "context": "staging"}
    old = [a, b]
    new = [
        {"context": "staging", "error": "cannot reach the API server"},
        {**gpu, "context": "prod"},
        {**gpu, "context": "dev"},
    ]
    diff = compare(old, new)
    by_context = {c.context: c for c in diff.clusters}
    assert by_context["staging"].kind == "regression"
    assert by_context["dev"].kind == "added" and by_context["dev"].changes == []
    assert {c.id for c in by_context["prod"].changes if c.kind == "regression"} >= {"ai_inference"}
    assert diff.exit_code() == 1
    back = compare(new, old)
    assert {c.context: c.kind for c in back.clusters}["staging"] == "improvement"
    assert {c.context: c.kind for c in back.clusters}["dev"] == "removed"
    assert "CLUSTER" in render(diff, "table")
    data = json.loads(render(diff, "json"))
    assert data["regressed"] is True
    staging = next(c for c in data["clusters"] if c["context"] == "staging")
    assert staging["new"] == {"error": "cannot reach the API server"}
    assert yaml.safe_load(render(diff, "yaml")) == data


def test_a_single_report_compares_with_a_fleet_of_one(platform, gpu):
    diff = compare(platform, [{**gpu, "context": "renamed"}])
    assert len(diff.clusters) == 1 and diff.exit_code() == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "Config"}, "not a kubectl-aiconf report"),
        ([], "an empty list of reports"),
        ({"requirements": [{"id": "x", "status": "GREEN"}]}, "a requirement without an id or a known status"),
    ],
)
def test_documents_rejects_what_is_not_a_report(data, message):
    with pytest.raises(DiffError, match=message):
        documents(data, "report f")


def test_load_reads_json_and_yaml_and_rejects_others(tmp_path, platform):
    (tmp_path / "r.json").write_text(json.dumps(platform))
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(platform))
    (tmp_path / "r.txt").write_text("{not: [json")
    assert load(str(tmp_path / "r.json")) == load(str(tmp_path / "r.yaml")) == platform
    with pytest.raises(DiffError, match="neither JSON nor YAML"):
        load(str(tmp_path / "r.txt"))
    with pytest.raises(DiffError, match="cannot read"):
        load(str(tmp_path / "missing.json"))


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def snapshot_run(scenario: str, *extra: str):
    return cli("check", "--snapshot", str(SCENARIOS / scenario), "--conformance-version", "1.35", *extra)


def test_cli_diff_of_two_runs(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(snapshot_run("ai-platform", "-o", "json").stdout)
    new.write_text(snapshot_run("gpu-cluster", "-o", "json").stdout)
    worse = cli("diff", str(old), str(new))
    assert worse.returncode == 1 and "REGRESSIONS" in worse.stdout
    better = cli("diff", str(new), str(old), "-o", "json")
    assert better.returncode == 0
    assert json.loads(better.stdout)["summary"]["improvement"] > 0
    missing = cli("diff", str(old), str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: report ")


def test_cli_check_baseline_prints_the_report_and_fails_only_on_regressions(tmp_path):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(snapshot_run("gpu-cluster", "-o", "json").stdout)
    same = snapshot_run("gpu-cluster", "-o", "json", "--baseline", str(baseline))
    # The run itself fails MUSTs (exit 1 without a baseline), but nothing got worse.
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout) == json.loads(baseline.read_text())
    assert "Since the baseline:" in same.stderr and "nothing fails the run" in same.stderr
    good = tmp_path / "good.json"
    good.write_text(snapshot_run("ai-platform", "-o", "json").stdout)
    worse = snapshot_run("gpu-cluster", "--baseline", str(good))
    assert worse.returncode == 1 and "REGRESSIONS" in worse.stderr
    bad = snapshot_run("gpu-cluster", "--baseline", str(tmp_path / "nope.json"))
    assert bad.returncode == 2 and bad.stdout == ""
