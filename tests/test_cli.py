"""The CLI end to end on snapshots: formats, exit codes, flags (live clusters: tests/integration)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, SHARED, TESTDATA


def cli(*args, env=None):
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "kubectl_aiconf", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=120)


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
