"""The CLI end to end on snapshots: formats, exit codes, flags (live clusters: tests/integration)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, SHARED, TESTDATA
from kubectl_aiconf.result import Reason


def cli(*args, env=None):
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.usefixtures("reference_submissions")
def test_validate_command_exit_codes():
    good = SHARED / "reference" / "submissions" / "v1.33" / "alauda" / "PRODUCT.yaml"
    bad = SHARED / "reference" / "submissions" / "v1.33" / "cks" / "PRODUCT.yaml"
    assert cli("validate", "--offline", str(good)).returncode == 0
    proc = cli("validate", "--offline", "-o", "json", str(bad))
    assert proc.returncode == 1
    problems = json.loads(proc.stdout)
    assert any(p["subject"] == "metadata.k8sConformanceUrl" and p["severity"] == "error" for p in problems)
    usage = cli("validate", "--rules", "v9", str(good))
    assert usage.returncode == 2 and usage.stderr.startswith("error: unknown rule set")


AI_PLATFORM = TESTDATA / "scenarios" / "ai-platform"


@pytest.fixture(scope="module")
def failing_snapshot(tmp_path_factory):
    """A cluster with no AI components at all, every list complete: MUSTs fail."""
    d = tmp_path_factory.mktemp("failing")
    lists = [
        "v1 NodeList",
        "v1 PodList",
        "v1 ServiceList",
        "v1 ConfigMapList",
        "apps/v1 DeploymentList",
        "apps/v1 DaemonSetList",
        "apps/v1 StatefulSetList",
        "apiextensions.k8s.io/v1 CustomResourceDefinitionList",
        "apiregistration.k8s.io/v1 APIServiceList",
        "admissionregistration.k8s.io/v1 ValidatingWebhookConfigurationList",
        "admissionregistration.k8s.io/v1 MutatingWebhookConfigurationList",
        "node.k8s.io/v1 RuntimeClassList",
        "autoscaling/v2 HorizontalPodAutoscalerList",
        "resource.k8s.io/v1 DeviceClassList",
        "resource.k8s.io/v1 ResourceSliceList",
        "resource.k8s.io/v1 ResourceClaimList",
    ]
    docs = [{"apiVersion": line.split()[0], "kind": line.split()[1], "items": []} for line in lists]
    docs[0]["items"] = [
        {
            "metadata": {"name": "cpu-0"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "allocatable": {"cpu": "8"}},
        }
    ]
    (d / "cluster.yaml").write_text(yaml.safe_dump_all(docs))
    (d / "version.json").write_text(json.dumps({"gitVersion": "v1.35.2", "major": "1", "minor": "35"}))
    return d


def test_table_output_groups_by_category_without_colour_off_a_terminal():
    proc = cli("check", "--snapshot", str(AI_PLATFORM), "--conformance-version", "1.35")
    assert proc.returncode == 3, proc.stderr
    out = proc.stdout
    assert "\033[" not in out
    headings = [
        h
        for h in (
            "ACCELERATORS",
            "NETWORKING",
            "SCHEDULING & ORCHESTRATION",
            "OBSERVABILITY",
            "SECURITY",
            "OPERATOR SUPPORT",
        )
        if h in out
    ]
    assert len(headings) == 6 and [out.index(h) for h in headings] == sorted(out.index(h) for h in headings)
    assert "secure_accelerator_access" in out and "--probe" in out
    assert out.rstrip().splitlines()[-1].startswith("Summary: ")


def test_wide_shows_every_piece_of_evidence():
    normal = cli("check", "--snapshot", str(AI_PLATFORM), "--conformance-version", "1.35").stdout
    wide = cli("check", "--snapshot", str(AI_PLATFORM), "--conformance-version", "1.35", "-o", "wide").stdout
    assert "more (-o wide shows all)" in normal and "more (-o wide shows all)" not in wide
    assert len(wide.splitlines()) > len(normal.splitlines())


def test_json_shape_and_yaml_agree():
    proc = cli("check", "--snapshot", str(AI_PLATFORM), "--conformance-version", "1.35", "-o", "json")
    data = json.loads(proc.stdout)
    assert {"conformanceVersion", "kubernetesVersion", "context", "requirements", "summary"} <= set(data)
    assert data["conformanceVersion"] == "1.35" and data["context"] is None
    assert len(data["requirements"]) == 12
    for req in data["requirements"]:
        assert set(req) == {"id", "category", "level", "status", "reason", "message", "evidence"}
        assert req["status"] in {"PASS", "WARN", "FAIL", "N/A", "UNKNOWN"} and req["message"]
        assert req["reason"] in {r.value for r in Reason}
        assert all(set(e) == {"kind", "name", "fact"} for e in req["evidence"])
    assert sum(data["summary"].values()) == 12
    as_yaml = yaml.safe_load(
        cli("check", "--snapshot", str(AI_PLATFORM), "--conformance-version", "1.35", "-o", "yaml").stdout
    )
    assert as_yaml == data


def test_exit_code_3_unless_unconfirmed_is_ok():
    args = ["check", "--snapshot", str(AI_PLATFORM), "--conformance-version", "1.35", "-o", "json"]
    assert cli(*args).returncode == 3
    assert cli(*args, "--unconfirmed-ok").returncode == 0


def test_failing_cluster_exits_1(failing_snapshot):
    proc = cli("check", "--snapshot", str(failing_snapshot), "-o", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["kubernetesVersion"] == "v1.35.2" and data["conformanceVersion"] == "1.35"
    statuses = {r["id"]: r["status"] for r in data["requirements"]}
    assert statuses["gang_scheduling"] == "FAIL" and statuses["ai_inference"] == "FAIL"
    assert statuses["cluster_autoscaling"] == "N/A"
    assert cli("check", "--snapshot", str(failing_snapshot), "-o", "json", "--unconfirmed-ok").returncode == 1


def test_server_without_a_checklist_uses_nearest_lower(failing_snapshot, tmp_path):
    for f in failing_snapshot.iterdir():
        (tmp_path / f.name).write_text(f.read_text())
    (tmp_path / "version.json").write_text(json.dumps({"gitVersion": "v1.39.1-eks-1234"}))
    proc = cli("check", "--snapshot", str(tmp_path), "-o", "json")
    assert json.loads(proc.stdout)["conformanceVersion"] == "1.37"
    assert "no AI conformance checklist for Kubernetes 1.39" in proc.stderr


@pytest.mark.parametrize(
    "fmt,marker", [("markdown", "## Compliance Summary"), ("junit", "<testsuites"), ("product-yaml", "spec:")]
)
def test_report_formats(fmt, marker):
    proc = cli("check", "--snapshot", str(AI_PLATFORM), "--conformance-version", "1.35", "-o", fmt)
    assert proc.returncode == 3 and marker in proc.stdout


def test_colour_can_be_forced_off_and_is_never_in_json(tmp_path):
    # Even under a pseudo terminal, NO_COLOR / --no-color win; json never carries colour.
    import pty

    def on_tty(*args, env):
        master, slave = pty.openpty()
        proc = subprocess.run(
            [sys.executable, "-m", "kubectl_aiconf", *args],
            cwd=REPO,
            stdout=slave,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env},
            timeout=60,
        )
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        return proc.returncode, out.decode()

    base = ["check", "--snapshot", str(AI_PLATFORM), "--conformance-version", "1.35"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    _, coloured = on_tty(*base, env={**env, "TERM": "xterm"})
    assert "\033[32mPASS" in coloured
    _, plain = on_tty(*base, "--no-color", env={**env, "TERM": "xterm"})
    assert "\033[" not in plain
    _, plain = on_tty(*base, env={**env, "TERM": "xterm", "NO_COLOR": "1"})
    assert "\033[" not in plain
    _, as_json = on_tty(*base, "-o", "json", env={**env, "TERM": "xterm"})
    assert "\033[" not in as_json


def test_requirements_without_a_version_lists_the_newest_final_checklist():
    data = json.loads(cli("requirements", "-o", "json").stdout)
    assert data["conformanceVersion"] == "1.37" and len(data["requirements"]) == 15


@pytest.mark.parametrize("fmt", ["json", "yaml", "table"])
def test_requirements_command(fmt):
    proc = cli("requirements", "--conformance-version", "1.37", "-o", fmt)
    assert proc.returncode == 0
    if fmt == "json":
        data = json.loads(proc.stdout)
        assert data["conformanceVersion"] == "1.37" and len(data["requirements"]) == 15
        assert {"id": "workload_sandboxing", "category": "security", "level": "SHOULD"}.items() <= next(
            r for r in data["requirements"] if r["id"] == "workload_sandboxing"
        ).items()
    elif fmt == "yaml":
        assert len(yaml.safe_load(proc.stdout)["requirements"]) == 15
    else:
        assert "workload_sandboxing" in proc.stdout and "dra_support" not in proc.stdout
