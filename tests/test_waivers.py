"""Waivers (--waivers): the file's rules, matching, expiry, the exit code, and every output format showing them."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import REPO, TESTDATA
from kubectl_aiconf.output import RenderOptions, render
from kubectl_aiconf.result import Report, Status
from kubectl_aiconf.runner import run_checks
from kubectl_aiconf.view.snapshot import SnapshotView
from kubectl_aiconf.waivers import Waiver, WaiverError, apply, load, parse

TODAY = datetime.date(2026, 6, 1)
GPU_CLUSTER = TESTDATA / "scenarios" / "gpu-cluster"
FAILING = ["ai_inference", "gang_scheduling", "robust_controller"]  # no gateway, no gang scheduler, no AI operator


def scenario_report(context: str | None = "prod") -> Report:
    """A real run of checklist 1.35 on the gpu-cluster scenario: three MUSTs fail (FAILING)."""
    view = SnapshotView(GPU_CLUSTER, "1.35")
    return Report("1.35", "v1.35.0", context, "snapshot", run_checks(view, "1.35"), [])


def waiver(requirement="gang_scheduling", expires="2026-12-31", **extra):
    return {"requirement": requirement, "reason": "moving to Kueue in Q3", "expires": expires, "by": "alice", **extra}


def test_parse_reads_every_field_and_judges_expiry_by_the_given_day():
    waivers = parse(
        [waiver(), waiver("ai_inference", "2026-05-31", context="prod"), waiver("dra_support", "2026-06-01")],
        "w.yaml",
        TODAY,
    )
    assert waivers[0] == Waiver("gang_scheduling", "moving to Kueue in Q3", datetime.date(2026, 12, 31), "alice")
    assert waivers[1].context == "prod" and waivers[1].expired  # the day after its expiry
    assert not waivers[2].expired  # a waiver holds through its expiry day
    assert waivers[1].to_dict() == {
        "reason": "moving to Kueue in Q3",
        "expires": "2026-05-31",
        "by": "alice",
        "context": "prod",
        "expired": True,
    }


def test_parse_accepts_yaml_dates_and_an_empty_file():
    data = yaml.safe_load("- {requirement: gang_scheduling, reason: r, expires: 2026-12-31, by: bob}")
    assert parse(data, "w", TODAY)[0].expires == datetime.date(2026, 12, 31)
    assert parse(None, "w", TODAY) == []


@pytest.mark.parametrize(
    "data, message",
    [
        ({"requirement": "x"}, "expected a YAML list of waivers"),
        (["gang_scheduling"], "waiver 1: expected a mapping"),
        ([waiver("gang_sheduling")], "waiver 1: unknown requirement 'gang_sheduling'"),
        ([waiver(expires="31.12.2026")], "waiver 1: expires '31.12.2026' is not a date YYYY-MM-DD"),
        ([waiver(expires="2026-02-30")], "is not a date YYYY-MM-DD"),
        ([waiver(expires=datetime.datetime(2026, 12, 31, 10))], "expires must be a date YYYY-MM-DD, not a time"),
        ([{"requirement": "gang_scheduling", "reason": "r", "by": "b"}], "waiver 1: missing expires"),
        ([waiver(expiry="2026-01-01")], "waiver 1: unknown field 'expiry'"),
        ([waiver(by=["alice"])], "waiver 1: by must be a non-empty string"),
        ([waiver(), waiver()], "waiver 2: a second waiver for gang_scheduling"),
        ([waiver(context="a"), waiver(context="a")], "waiver 2: a second waiver for gang_scheduling on context 'a'"),
    ],
)
def test_parse_rejects_mistakes_with_one_line(data, message):
    with pytest.raises(WaiverError) as err:
        parse(data, "w.yaml", TODAY)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_load_reports_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(WaiverError, match="cannot read"):
        load(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("- requirement: [unclosed\n")
    with pytest.raises(WaiverError, match="not valid YAML"):
        load(str(bad))


def test_a_waiver_of_the_context_wins_over_a_general_one_and_others_do_not_match():
    report = scenario_report("prod")
    waivers = parse(
        [
            waiver(reason="everywhere"),
            {**waiver(context="prod"), "reason": "prod only"},
            {**waiver("ai_inference", context="staging")},
        ],
        "w",
        TODAY,
    )
    apply(report, waivers)
    by_id = {r.id: r for r in report.results}
    assert by_id["gang_scheduling"].waiver is not None and by_id["gang_scheduling"].waiver.reason == "prod only"
    assert by_id["ai_inference"].waiver is None
    assert report.warnings == []


def test_an_unexpired_waiver_keeps_the_status_and_stops_it_failing_the_exit_code():
    report = scenario_report()
    by_id = {r.id: r for r in report.results}
    failing = [r.id for r in report.results if r.level == "MUST" and r.status is Status.FAIL]
    assert sorted(failing) == FAILING  # the scenario, as the checks see it
    assert report.exit_code() == 1
    apply(report, parse([waiver(rid) for rid in FAILING], "w", TODAY))
    assert by_id["gang_scheduling"].status is Status.FAIL and by_id["gang_scheduling"].waived
    # No MUST fails any more, but others are still unconfirmed.
    assert report.exit_code() == 3


def test_an_expired_waiver_is_a_warning_and_excuses_nothing():
    report = scenario_report()
    apply(
        report,
        parse(
            [waiver("ai_inference", "2026-01-31"), waiver("gang_scheduling"), waiver("robust_controller")], "w", TODAY
        ),
    )
    assert report.exit_code() == 1
    assert report.warnings == ["the waiver for ai_inference expired on 2026-01-31; it no longer excuses its FAIL"]
    doc = {r["id"]: r for r in report.to_dict()["requirements"]}
    assert doc["ai_inference"]["waiver"]["expired"] is True and doc["ai_inference"]["status"] == "FAIL"
    assert "waiver" not in doc["dra_support"]


def waived_report() -> Report:
    report = scenario_report()
    apply(report, parse([waiver(), waiver("ai_inference", "2026-01-31", by="bob")], "w", TODAY))
    return report


def test_table_shows_the_status_and_the_waiver():
    text = render(waived_report(), RenderOptions("table"))
    assert "FAIL (waived)" in text and "FAIL (waiver expired)" in text
    assert "waived until 2026-12-31 by alice: moving to Kueue in Q3" in text
    assert "waiver expired on 2026-01-31 (bob: moving to Kueue in Q3)" in text


def test_markdown_shows_the_waiver_next_to_the_status():
    text = render(waived_report(), RenderOptions("markdown"))
    assert "FAIL (`not-installed`), waived" in text
    assert "**Waiver:** waived until 2026-12-31 by alice: moving to Kueue in Q3" in text


def test_junit_skips_a_waived_failure_and_keeps_an_expired_one_failing():
    root = ET.fromstring(render(waived_report(), RenderOptions("junit")))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    skipped = cases["gang_scheduling"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("waived until 2026-12-31 by alice")
    assert "FAIL (not-installed)" in skipped.get("message", "")
    props = {p.get("name"): p.get("value") for p in cases["gang_scheduling"].iter("property")}
    assert props["status"] == "FAIL" and props["waiver"].startswith("waived until")
    assert cases["ai_inference"].find("failure") is not None


def test_product_yaml_notes_the_waiver_and_never_calls_a_waived_fail_implemented():
    doc = yaml.safe_load(render(waived_report(), RenderOptions("product-yaml")))
    items = {i["id"]: i for items in doc["spec"].values() for i in items}
    assert items["gang_scheduling"]["status"] == "Not Implemented"
    assert "Waived until 2026-12-31 by alice: moving to Kueue in Q3." in items["gang_scheduling"]["notes"]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_waivers_change_the_exit_code_and_mark_the_json(tmp_path):
    base = ["check", "--snapshot", str(GPU_CLUSTER), "--conformance-version", "1.35", "-o", "json"]
    plain = cli(*base)
    assert plain.returncode == 1
    future = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump([waiver(rid, future) for rid in FAILING]))
    waived = cli(*base, "--waivers", str(path))
    assert waived.returncode == 3, waived.stderr
    doc = {r["id"]: r for r in json.loads(waived.stdout)["requirements"]}
    assert doc["gang_scheduling"]["status"] == "FAIL"
    assert doc["gang_scheduling"]["waiver"] == {
        "reason": "moving to Kueue in Q3",
        "expires": future,
        "by": "alice",
        "context": None,
        "expired": False,
    }


def test_cli_expired_waiver_warns_and_unknown_requirement_is_an_error(tmp_path):
    base = ["check", "--snapshot", str(GPU_CLUSTER), "--conformance-version", "1.35"]
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump([waiver("ai_inference", "2020-01-01")]))
    expired = cli(*base, "--waivers", str(path))
    assert expired.returncode == 1
    assert "warning: the waiver for ai_inference expired on 2020-01-01" in expired.stderr
    path.write_text(yaml.safe_dump([waiver("no_such_requirement")]))
    bad = cli(*base, "--waivers", str(path))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        f"error: waivers {path}: waiver 1: unknown requirement 'no_such_requirement' "
        "(see `kubectl aiconf requirements`)"
    ]
