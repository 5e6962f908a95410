"""Several clusters in one run: choosing contexts, running them concurrently, the worst exit code, and the
fleet renderings (live clusters: tests/integration/test_fleet.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import REPO, TESTDATA
from kubectl_aiconf import fleet
from kubectl_aiconf.output import OutputError, RenderOptions, render_fleet
from kubectl_aiconf.result import ClusterError, Report, Status
from kubectl_aiconf.runner import run_checks
from kubectl_aiconf.view.kubeconfig import KubeconfigError
from kubectl_aiconf.view.snapshot import SnapshotView


def kubeconfig(path, contexts, current=None):
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": c, "cluster": {"server": server}} for c, server in contexts.items()],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": c, "context": {"cluster": c, "user": "u"}} for c in contexts],
                "current-context": current or next(iter(contexts)),
            }
        )
    )
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_contexts_for_keeps_the_given_order_once_each_and_checks_the_names(tmp_path):
    path = str(kubeconfig(tmp_path / "kc", {"a": "https://a", "b": "https://b", "c": "https://c"}))
    assert fleet.contexts_for(path, "c,a, c", False) == ["c", "a"]
    assert fleet.contexts_for(path, None, True) == ["a", "b", "c"]
    with pytest.raises(KubeconfigError, match="context 'x' not found"):
        fleet.contexts_for(path, "a,x", False)
    with pytest.raises(ValueError, match="an empty context name"):
        fleet.contexts_for(path, "a,", False)
    with pytest.raises(ValueError, match="exclude each other"):
        fleet.contexts_for(path, "a,b", True)


def test_all_contexts_merges_kubeconfig_files_like_kubectl(tmp_path, monkeypatch):
    first = kubeconfig(tmp_path / "one", {"a": "https://a", "b": "https://b"})
    second = kubeconfig(tmp_path / "two", {"b": "https://other", "z": "https://z"})
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{second}")
    assert fleet.contexts_for(None, None, True) == ["a", "b", "z"]


def test_is_fleet_only_for_a_list_or_all_contexts():
    assert not fleet.is_fleet(None, False) and not fleet.is_fleet("a", False)
    assert fleet.is_fleet("a,b", False) and fleet.is_fleet(None, True)


def report_of(scenario: str, version: str, context: str) -> Report:
    view = SnapshotView(TESTDATA / "scenarios" / scenario, version)
    return Report(version, f"v{version}.0", context, "live", run_checks(view, version), [])


@pytest.mark.parametrize(
    "codes, worst",
    [([0, 0], 0), ([0, 3], 3), ([3, 2], 2), ([2, 1], 1), ([1, 3, 0], 1), ([], 0)],
)
def test_exit_code_is_the_worst_of_the_clusters(codes, worst):
    class Fixed:
        def __init__(self, code):
            self.code = code

        def exit_code(self, unconfirmed_ok=False):
            return 0 if unconfirmed_ok and self.code == 3 else self.code

    assert fleet.exit_code([Fixed(c) for c in codes]) == worst  # type: ignore[list-item]


def test_unconfirmed_ok_never_hides_a_cluster_that_could_not_be_checked():
    report = report_of("gpu-cluster", "1.35", "a")
    for r in report.results:  # only unconfirmed MUSTs left
        if r.status is Status.FAIL:
            r.status = Status.UNKNOWN
    assert fleet.exit_code([report]) == 3 and fleet.exit_code([report], unconfirmed_ok=True) == 0
    assert fleet.exit_code([report, ClusterError("b", "down")], unconfirmed_ok=True) == 2


def test_check_all_runs_a_bounded_number_at_once_keeps_order_and_isolates_errors():
    running, peak, lock = 0, 0, threading.Lock()

    def check_one(name: str) -> Report:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        if name.startswith("down"):
            raise KubeconfigError(f"cannot reach {name}\nsecond line")
        return Report("1.35", "v1.35.0", name, "live", [], [])

    names = ["a", "down-1", "b", "c", "d", "down-2", "e"]
    reports = fleet.check_all(names, check_one, (KubeconfigError,), parallel=3)
    assert [r.context for r in reports] == names
    assert peak == 3
    errors = [r for r in reports if isinstance(r, ClusterError)]
    assert [e.to_dict() for e in errors] == [
        {"context": "down-1", "error": "cannot reach down-1 second line"},
        {"context": "down-2", "error": "cannot reach down-2 second line"},
    ]


def test_check_all_lets_unexpected_errors_through():
    def broken(name: str) -> Report:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fleet.check_all(["a", "b"], broken, (KubeconfigError,))


@pytest.fixture(scope="module")
def three():
    """Two real runs on different checklists (1.33 lacks requirements 1.36 has) and a cluster that was down."""
    return [
        report_of("ai-platform", "1.36", "prod"),
        report_of("gpu-cluster", "1.33", "staging"),
        ClusterError("edge", "cannot reach the API server at https://127.0.0.1:1: Connection refused"),
    ]


def test_json_is_a_list_of_the_single_cluster_documents(three):
    docs = json.loads(render_fleet(three, RenderOptions("json")))
    assert docs[0] == three[0].to_dict() and docs[1] == three[1].to_dict()
    assert docs[2] == {"context": "edge", "error": three[2].error}
    assert yaml.safe_load(render_fleet(three, RenderOptions("yaml"))) == docs


def test_table_matrix_has_must_rows_first_and_a_column_per_cluster(three):
    text = render_fleet(three, RenderOptions("table"))
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["REQUIREMENT", "LEVEL"])
    assert lines[header].split() == ["REQUIREMENT", "LEVEL", "prod", "staging", "edge"]
    rows = {}
    for line in lines[header + 1 :]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells[1:]
    levels = [cells[0] for cells in rows.values()]
    assert levels == sorted(levels, key=lambda level: "MUST" not in level.split("/"))
    by_id = {r.id: r for r in three[0].results}
    for rid, result in by_id.items():
        assert rows[rid][1] == result.status.value.split()[0] and rows[rid][-1] == "ERROR"
    only_new = [rid for rid in by_id if rid not in {r.id for r in three[1].results}]
    assert only_new and all(rows[rid][2] == "-" for rid in only_new)
    assert "edge: not checked: cannot reach the API server" in text


def test_table_lists_each_clusters_problems_with_their_messages(three):
    text = render_fleet(three, RenderOptions("table"))
    section = text.split("\nSTAGING\n")[1].split("\nEDGE\n")[0]
    problems = [r for r in three[1].results if r.status not in (Status.PASS, Status.NA)]
    assert problems
    for r in problems:
        assert any(line.split()[:3] == [r.id, r.level, r.status.value] for line in section.splitlines())
        assert r.message[:40] in section
    for r in three[1].results:
        if r.status in (Status.PASS, Status.NA):
            assert f"  {r.id} " not in section


def test_junit_has_a_suite_per_cluster_and_an_error_for_the_unreachable_one(three):
    root = ET.fromstring(render_fleet(three, RenderOptions("junit")))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "Kubernetes AI Conformance v1.36 (prod)",
        "Kubernetes AI Conformance v1.33 (staging)",
        "Kubernetes AI Conformance (edge)",
    ]
    assert int(root.get("tests", "0")) == sum(int(s.get("tests", "0")) for s in suites)
    assert int(root.get("errors", "0")) == 1
    error = suites[2].find("testcase/error")
    assert error is not None and "Connection refused" in (error.text or "")


def test_markdown_has_the_matrix_and_every_cluster(three):
    text = render_fleet(three, RenderOptions("markdown"))
    assert "| Requirement | Level | `prod` | `staging` | `edge` |" in text
    assert "## `edge`\n\nNot checked: cannot reach the API server" in text


def test_product_yaml_describes_one_cluster_only(three):
    with pytest.raises(OutputError, match="describes one cluster"):
        render_fleet(three, RenderOptions("product-yaml"))


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_unreachable_clusters_are_reported_and_exit_2(tmp_path):
    path = kubeconfig(
        tmp_path / "kc",
        {"one": f"https://127.0.0.1:{closed_port()}", "two": f"https://127.0.0.1:{closed_port()}"},
    )
    proc = cli("check", "--kubeconfig", str(path), "--context", "one,two", "-o", "json", "--request-timeout", "5s")
    assert proc.returncode == 2, proc.stderr
    docs = json.loads(proc.stdout)
    assert [d["context"] for d in docs] == ["one", "two"]
    assert all(set(d) == {"context", "error"} and "cannot reach the API server" in d["error"] for d in docs)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--context", "one,nope"], "error: context 'nope' not found in the kubeconfig"),
        (["--all-contexts", "-o", "product-yaml"], "error: -o product-yaml describes one cluster"),
        (["--all-contexts", "--server", "https://127.0.0.1:1"], "error: --server cannot be combined with several"),
        (["--all-contexts", "-o", "markdown", "--metadata", "m.yaml"], "error: --metadata describes one platform"),
        (["--all-contexts", "--snapshot", str(TESTDATA / "scenarios" / "bare")], "error: several clusters are checked"),
    ],
)
def test_cli_fleet_usage_errors_come_before_connecting(tmp_path, extra, message):
    path = kubeconfig(tmp_path / "kc", {"one": f"https://127.0.0.1:{closed_port()}"})
    (tmp_path / "m.yaml").write_text("platformName: Example\n")
    proc = cli("check", "--kubeconfig", str(path), *(str(tmp_path / a) if a == "m.yaml" else a for a in extra))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(message) and len(proc.stderr.strip().splitlines()) == 1
