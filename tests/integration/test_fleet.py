"""Several real clusters in one run, a cluster that cannot be reached, diffs of real runs, waivers on a real run.

Two control planes: the session's sandbox with the ai-platform scenario, seen as the admin and as the limited
user, and one of this module's own, which starts bare; plus a context whose server is a closed port. Every
cluster of a fleet run must give exactly what a single run of its context gives (a multi-cluster run that
silently reused the first connection would not).
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import subprocess
import sys

import pytest
import yaml

from tests.integration.conftest import REPO
from tests.sandbox import Sandbox

CONTEXTS = ["one-admin", "one-limited", "two-admin", "down"]
WORST_LAST = (0, 3, 2, 1)  # the documented order of exit codes, best first


def aiconf(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.fixture(scope="module")
def two(sandbox_binaries):
    sb = Sandbox(build=False, timeout=180, name="two")
    try:
        sb.start()
    except Exception as exc:  # noqa: BLE001 - binaries exist, so this is a real failure: never skip it
        pytest.fail(f"second sandbox did not start: {exc}", pytrace=False)
    sb.use_scenario("bare")
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def kubeconfig(sandbox, two, tmp_path_factory):
    sandbox.use_scenario("ai-platform")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    one = yaml.safe_load(sandbox.kubeconfig.read_text())
    other = yaml.safe_load(two.kubeconfig.read_text())
    users = {u["name"]: u["user"] for u in one["users"]}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "one", "cluster": one["clusters"][0]["cluster"]},
            {"name": "two", "cluster": other["clusters"][0]["cluster"]},
            {"name": "down", "cluster": {"server": f"https://127.0.0.1:{closed}"}},
        ],
        "users": [
            {"name": "one-admin", "user": users["admin"]},
            {"name": "one-limited", "user": users["limited"]},
            {"name": "two-admin", "user": {u["name"]: u["user"] for u in other["users"]}["admin"]},
        ],
        "contexts": [
            {"name": "one-admin", "context": {"cluster": "one", "user": "one-admin"}},
            {"name": "one-limited", "context": {"cluster": "one", "user": "one-limited"}},
            {"name": "two-admin", "context": {"cluster": "two", "user": "two-admin"}},
            {"name": "down", "context": {"cluster": "down", "user": "one-admin"}},
        ],
        "current-context": "one-admin",
    }
    path = tmp_path_factory.mktemp("fleet") / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def statuses(doc: dict) -> dict[str, str]:
    return {r["id"]: r["status"] for r in doc["requirements"]}


@pytest.fixture(scope="module")
def singles(kubeconfig):
    """Each reachable context checked alone: (exit code, JSON document)."""
    out = {}
    for context in CONTEXTS[:3]:
        proc = aiconf("check", "--kubeconfig", kubeconfig, "--context", context, "-o", "json")
        assert proc.returncode in (0, 1, 3), proc.stderr
        out[context] = (proc.returncode, json.loads(proc.stdout))
    return out


@pytest.fixture(scope="module")
def fleet_run(kubeconfig):
    return aiconf("check", "--kubeconfig", kubeconfig, "--all-contexts", "-o", "json", "--request-timeout", "10s")


def test_each_cluster_of_a_fleet_run_is_what_a_single_run_gives(fleet_run, singles):
    docs = json.loads(fleet_run.stdout)
    assert [d["context"] for d in docs] == CONTEXTS
    for doc in docs[:3]:
        code, single = singles[doc["context"]]
        assert statuses(doc) == statuses(single), doc["context"]
        assert {r["id"]: r["reason"] for r in doc["requirements"]} == {
            r["id"]: r["reason"] for r in single["requirements"]
        }
        assert (doc["kubernetesVersion"], doc["conformanceVersion"]) == (
            single["kubernetesVersion"],
            single["conformanceVersion"],
        )
    # Three different views: the admin and the limited user of one cluster, and another cluster.
    one, limited, other = (statuses(d) for d in docs[:3])
    assert one != limited and one != other and limited != other
    assert one["ai_inference"] == "PASS" and other["ai_inference"] == "FAIL"
    assert limited["gang_scheduling"] == "UNKNOWN"


def test_an_unreachable_cluster_is_reported_and_the_exit_code_is_the_worst(fleet_run, singles):
    docs = json.loads(fleet_run.stdout)
    assert set(docs[3]) == {"context", "error"}
    assert docs[3]["context"] == "down" and "cannot reach the API server" in docs[3]["error"]
    expected = max([code for code, _ in singles.values()] + [2], key=WORST_LAST.index)
    assert fleet_run.returncode == expected == 1  # the bare cluster fails MUSTs


def test_table_shows_the_matrix_and_each_clusters_problems(kubeconfig, singles):
    proc = aiconf("check", "--kubeconfig", kubeconfig, "--context", ",".join(CONTEXTS))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["REQUIREMENT", "LEVEL"])
    assert header.split() == ["REQUIREMENT", "LEVEL", *CONTEXTS]
    for rid in ("ai_inference", "gang_scheduling"):
        row = next(line for line in lines if line.split()[:1] == [rid]).split()
        assert row[2:] == [*(statuses(singles[c][1])[rid] for c in CONTEXTS[:3]), "ERROR"]
    assert "down: not checked: cannot reach the API server" in proc.stdout
    assert "\nTWO-ADMIN\n" in proc.stdout


def test_waivers_apply_per_context_in_a_fleet_run(kubeconfig, singles, tmp_path):
    failing = [
        r["id"] for r in singles["two-admin"][1]["requirements"] if r["level"] == "MUST" and r["status"] == "FAIL"
    ]
    assert failing
    until = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        yaml.safe_dump(
            [
                {"requirement": rid, "context": "two-admin", "reason": "new cluster", "expires": until, "by": "ops"}
                for rid in failing
            ]
        )
    )
    proc = aiconf(
        "check", "--kubeconfig", kubeconfig, "--context", "one-admin,two-admin", "-o", "json", "--waivers", str(waivers)
    )
    one, two = json.loads(proc.stdout)
    assert all("waiver" not in r for r in one["requirements"])
    waived = {r["id"]: r for r in two["requirements"] if "waiver" in r}
    assert sorted(waived) == sorted(failing)
    assert all(r["status"] == "FAIL" and r["waiver"]["context"] == "two-admin" for r in waived.values())
    # No MUST fails unexcused any more: each cluster is at worst unconfirmed.
    assert proc.returncode == 3, proc.stderr


def test_diff_of_two_real_runs_and_a_baseline(kubeconfig, two, tmp_path):
    before = tmp_path / "bare.json"
    proc = aiconf("check", "--kubeconfig", kubeconfig, "--context", "two-admin", "-o", "json")
    before.write_text(proc.stdout)
    two.use_scenario("ai-platform")
    after = aiconf(
        "check", "--kubeconfig", kubeconfig, "--context", "two-admin", "-o", "json", "--baseline", str(before)
    )
    assert after.returncode == 0, after.stderr  # no MUST got worse
    assert "IMPROVEMENTS" in after.stderr and "nothing fails the run" in after.stderr
    (tmp_path / "platform.json").write_text(after.stdout)
    diff = aiconf("diff", str(before), str(tmp_path / "platform.json"), "-o", "json")
    assert diff.returncode == 0
    found = json.loads(diff.stdout)["clusters"][0]["requirements"]
    changes = {r["id"]: r["change"] for r in found}
    assert changes["ai_inference"] == "improvement" and changes["gang_scheduling"] == "improvement"
    # GPU nodes arrive with the platform: SHOULDs about sharing them go from N/A to partly met. Listed, not failing.
    assert all(r["level"] == "SHOULD" for r in found if r["change"] == "regression")
    back = aiconf("diff", str(tmp_path / "platform.json"), str(before))
    assert back.returncode == 1 and "REGRESSIONS" in back.stdout
    # A fleet baseline: the whole fleet run compared with itself after the change of cluster two.
    fleet_before = tmp_path / "fleet.json"
    run = aiconf("check", "--kubeconfig", kubeconfig, "--context", "one-admin,two-admin", "-o", "json")
    fleet_before.write_text(run.stdout)
    two.use_scenario("bare")
    again = aiconf(
        "check", "--kubeconfig", kubeconfig, "--context", "one-admin,two-admin", "--baseline", str(fleet_before)
    )
    assert again.returncode == 1 and "CLUSTER" in again.stderr
    regressions = again.stderr.split("REGRESSIONS")[1].split("\n\n")[0]
    assert "two-admin" in regressions and "one-admin" not in regressions


def test_impersonation_applies_to_every_cluster_of_a_fleet(kubeconfig, singles):
    proc = aiconf(
        "check",
        "--kubeconfig",
        kubeconfig,
        "--context",
        "one-admin,two-admin",
        "--as",
        "limited",
        "--as-group",
        "aiconf:limited",
        "-o",
        "json",
    )
    one, two = json.loads(proc.stdout)
    assert statuses(one) == statuses(singles["one-limited"][1])
    # The other cluster, as the same limited identity: nothing it may not list can be judged.
    assert statuses(two)["gang_scheduling"] == "UNKNOWN" != statuses(singles["two-admin"][1])["gang_scheduling"]
