"""The built zipapp, run as a subprocess against the real control plane, for every scenario, as the admin
and as the limited user; and `check --snapshot` of `snapshot -o DIR` gives the live result.

The scenarios that hold DRA objects and accelerators (and bare, on the way to them) are checked on every
Kubernetes version of the matrix (`matrix_sandbox`); the rest runs on the pinned version only."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from tests.integration.conftest import REPO

VERSION = "1.36"  # the checklist with the most requirements that is not a draft

# What each scenario implies, as the admin sees it (every requirement of the 1.36 checklist).
NO_AI = {
    "ai_inference": "FAIL",
    "gang_scheduling": "FAIL",
    "pod_autoscaling": "FAIL",
    "ai_service_metrics": "FAIL",
    "robust_controller": "FAIL",
    "cluster_autoscaling": "N/A",
    "high_performance_networking": "N/A",
    "advanced_inference_ingress": "WARN",
    "disaggregated_inference": "WARN",
}
EXPECTED = {
    # No accelerator anywhere: autoscaling pods that use accelerators does not apply.
    "bare": {
        **NO_AI,
        "pod_autoscaling": "N/A",
        "driver_runtime_management": "N/A",
        "gpu_sharing": "N/A",
        "virtualized_accelerator": "N/A",
        "accelerator_metrics": "FAIL",
        "secure_accelerator_access": "FAIL",
    },
    "gpu-cluster": {
        **NO_AI,
        "driver_runtime_management": "PASS",
        "gpu_sharing": "WARN",
        "virtualized_accelerator": "WARN",
        "accelerator_metrics": "PASS",
        "secure_accelerator_access": "UNKNOWN",
    },
    "ai-platform": {
        "driver_runtime_management": "PASS",
        "gpu_sharing": "WARN",
        "virtualized_accelerator": "WARN",
        "ai_inference": "PASS",
        "advanced_inference_ingress": "WARN",
        "high_performance_networking": "N/A",
        "disaggregated_inference": "WARN",
        "gang_scheduling": "PASS",
        "cluster_autoscaling": "PASS",
        "pod_autoscaling": "PASS",
        "accelerator_metrics": "PASS",
        "ai_service_metrics": "PASS",
        "secure_accelerator_access": "UNKNOWN",
        "robust_controller": "PASS",
    },
    "crds-only": {
        "driver_runtime_management": "WARN",
        "gpu_sharing": "N/A",
        "virtualized_accelerator": "N/A",
        "ai_inference": "WARN",
        "advanced_inference_ingress": "WARN",
        "high_performance_networking": "N/A",
        "disaggregated_inference": "WARN",
        "gang_scheduling": "WARN",
        "cluster_autoscaling": "WARN",
        "pod_autoscaling": "N/A",
        "accelerator_metrics": "FAIL",
        "ai_service_metrics": "WARN",
        "secure_accelerator_access": "FAIL",
        "robust_controller": "WARN",
    },
    "unhealthy": {
        "driver_runtime_management": "WARN",
        "gpu_sharing": "WARN",
        "virtualized_accelerator": "WARN",
        "ai_inference": "FAIL",
        "advanced_inference_ingress": "WARN",
        "high_performance_networking": "N/A",
        "disaggregated_inference": "WARN",
        "gang_scheduling": "FAIL",
        "cluster_autoscaling": "FAIL",
        "pod_autoscaling": "FAIL",
        "accelerator_metrics": "FAIL",
        "ai_service_metrics": "FAIL",
        "secure_accelerator_access": "UNKNOWN",
        "robust_controller": "FAIL",
    },
}
EXIT = {"bare": 1, "gpu-cluster": 1, "ai-platform": 3, "crds-only": 1, "unhealthy": 1}
# Requirements the limited user cannot judge, with a permission its UNKNOWN message must name.
LIMITED_UNKNOWN = {
    "driver_runtime_management": "list nodes",
    "gang_scheduling": "list customresourcedefinitions.apiextensions.k8s.io",
    "secure_accelerator_access": "list nodes",
}


def run(zipapp, *args, env=None):
    proc = subprocess.run(
        [str(zipapp), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )
    return proc


def check_json(zipapp, sandbox, context, *extra):
    proc = run(
        zipapp,
        "check",
        "-o",
        "json",
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "--context",
        context,
        "--conformance-version",
        VERSION,
        *extra,
    )
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def statuses(report):
    return {r["id"]: r["status"] for r in report["requirements"]}


@pytest.mark.parametrize("scenario", ["bare", "gpu-cluster", "ai-platform", "unhealthy"])
def test_scenario_on_every_version(zipapp, matrix_sandbox, scenario):
    """The scenarios with accelerators and DRA objects (and bare, on the way to them), on each version."""
    check_scenario(zipapp, matrix_sandbox, scenario)


@pytest.mark.parametrize("scenario", sorted(set(EXPECTED) - {"bare", "gpu-cluster", "ai-platform", "unhealthy"}))
def test_scenario_on_the_pinned_version(zipapp, sandbox, scenario):
    check_scenario(zipapp, sandbox, scenario)


def check_scenario(zipapp, sandbox, scenario):
    """As the admin: the expected verdicts, with evidence for every PASS; as the limited user: UNKNOWN where
    it lacks a permission, naming it, and never a verdict better than the admin's FAIL."""
    sandbox.use_scenario(scenario)
    code, report = check_json(zipapp, sandbox, "admin")
    assert statuses(report) == EXPECTED[scenario]
    assert code == EXIT[scenario]
    assert report["context"] == "admin" and report["kubernetesVersion"] == f"v{sandbox.kubernetes_version}"
    assert all(r["message"] for r in report["requirements"])
    for r in report["requirements"]:
        if r["status"] == "PASS":
            assert r["evidence"], f"{r['id']} passed without evidence"
        assert "forbidden" not in r["message"], r

    _, limited = check_json(zipapp, sandbox, "limited")
    for r in limited["requirements"]:
        if r["status"] == "UNKNOWN" and "probe" not in r["message"]:
            assert "forbidden: missing permission to list" in r["message"], r
    got = statuses(limited)
    for rid, permission in LIMITED_UNKNOWN.items():
        assert got[rid] == "UNKNOWN", (rid, got[rid])
        message = next(r["message"] for r in limited["requirements"] if r["id"] == rid)
        assert permission in message, message
    # The limited user may see less, never more: it never turns an admin FAIL into PASS.
    for rid, status in EXPECTED[scenario].items():
        if status == "FAIL":
            assert got[rid] in ("FAIL", "UNKNOWN", "WARN"), (rid, got[rid])


@pytest.mark.parametrize(
    "scenario,context", [("ai-platform", "admin"), ("ai-platform", "limited"), ("unhealthy", "admin")]
)
def test_snapshot_reproduces_the_live_result(zipapp, sandbox, scenario, context, tmp_path):
    sandbox.use_scenario(scenario)
    live_code, live = check_json(zipapp, sandbox, context)
    snap = tmp_path / "snap"
    proc = run(
        zipapp,
        "snapshot",
        "-o",
        str(snap),
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "--context",
        context,
        "--conformance-version",
        VERSION,
    )
    assert proc.returncode == 0, proc.stderr
    assert not any("secret" in p.name.lower() for p in snap.iterdir())
    proc = run(zipapp, "check", "--snapshot", str(snap), "-o", "json", "--conformance-version", VERSION)
    offline = json.loads(proc.stdout)
    assert proc.returncode == live_code
    assert offline["requirements"] == live["requirements"]
    assert offline["kubernetesVersion"] == live["kubernetesVersion"]
    assert offline["context"] is None and offline["source"] == "snapshot"


def test_documented_reader_role_is_enough(zipapp, sandbox, tmp_path):
    """A ServiceAccount bound only to testdata/rbac/aiconf-reader.yaml meets no forbidden list."""
    from tests.sandbox.kube import request

    sandbox.use_scenario("ai-platform")
    client = sandbox.admin_client()
    role = yaml.safe_load((REPO / "testdata" / "rbac" / "aiconf-reader.yaml").read_text())
    sandbox.apply_objects(
        [
            role,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "aiconf-rbac"}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader", "namespace": "aiconf-rbac"}},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "aiconf-reader-test"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "aiconf-reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "aiconf-rbac"}],
            },
        ]
    )
    token = request(
        client,
        "POST",
        "/api/v1/namespaces/aiconf-rbac/serviceaccounts/reader/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}},
    )["status"]["token"]
    config = yaml.safe_load(sandbox.admin_kubeconfig.read_text())
    config["users"] = [{"name": "reader", "user": {"token": token}}]
    config["contexts"] = [{"name": "reader", "context": {"cluster": config["clusters"][0]["name"], "user": "reader"}}]
    config["current-context"] = "reader"
    path = tmp_path / "reader.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    proc = run(zipapp, "check", "-o", "json", "--kubeconfig", str(path), "--conformance-version", VERSION)
    report = json.loads(proc.stdout)
    assert not [r for r in report["requirements"] if "forbidden" in r["message"]]
    assert statuses(report) == EXPECTED["ai-platform"]
    sandbox.reset()


def test_kubectl_runs_the_plugin_from_path(zipapp, matrix_sandbox, tmp_path):
    sandbox = matrix_sandbox
    sandbox.use_scenario("gpu-cluster")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl-aiconf").symlink_to(zipapp)
    env = sandbox.env()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(
        [str(sandbox.kubectl), "aiconf", "check", "--context", "admin", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    # chosen from the server's version: each version of the matrix has a final checklist of its own
    assert report["conformanceVersion"] == sandbox.kubernetes_version.rpartition(".")[0]
    assert statuses(report)["accelerator_metrics"] == "PASS"


def test_wrong_credentials_are_one_clear_error(zipapp, sandbox, tmp_path):
    config = yaml.safe_load(sandbox.admin_kubeconfig.read_text())
    for user in config["users"]:
        user["user"] = {"token": "not-a-valid-token"}
    path = tmp_path / "bad.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    proc = run(zipapp, "check", "--kubeconfig", str(path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "rejected the credentials" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_table_output_live(zipapp, sandbox):
    sandbox.use_scenario("ai-platform")
    proc = run(zipapp, "check", "--kubeconfig", str(sandbox.kubeconfig))
    assert proc.returncode == 3
    assert "Kubernetes AI Conformance 1.35  (context admin, Kubernetes v1.35" in proc.stdout
    assert "Summary:" in proc.stdout and "\033[" not in proc.stdout
