"""Cheap consistency checks of the packaging files: pins, Makefile targets, the CI script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - a venv made with Python 3.10 has no tomllib; pip carries tomli
    from pip._vendor import tomli as tomllib


def zipapp_pins() -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (REPO / ".ci" / "zipapp-requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+-]+", line), f"not an exact pin: {line!r}"
            name, version = line.split("==")
            assert canonicalize_name(name) not in pins, f"{name} is listed twice"
            pins[canonicalize_name(name)] = version
    return pins


def test_zipapp_list_has_the_pyproject_pins():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = zipapp_pins()
    for raw in project["dependencies"]:
        req = Requirement(raw)
        assert canonicalize_name(req.name) in pins, f"{req.name} is a dependency but not in the zipapp list"
        assert req.specifier.contains(pins[canonicalize_name(req.name)]), f"{raw} vs zipapp pin"
    assert project["requires-python"] == ">=3.10"
    assert project["scripts"]["kubectl-aiconf"] == "kubectl_aiconf.cli:main"


def test_zipapp_list_leaves_out_the_asyncio_stack():
    assert not set(zipapp_pins()) & {
        "aiohttp",
        "yarl",
        "multidict",
        "frozenlist",
        "propcache",
        "aiosignal",
        "aiohappyeyeballs",
        "pydantic",
        "pydantic-core",
    }


def dry_run(target: str) -> str:
    proc = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "MAKEFLAGS": ""},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    "target",
    [
        "venv",
        "zipapp",
        "release",
        "binaries",
        "krew",
        "test",
        "unit",
        "demo",
        "bench",
        "mutate",
        "lint",
        "format",
        "clean",
        "help",
    ],
)
def test_make_target_exists(target):
    dry_run(target)


def test_make_targets_run_what_they_promise():
    assert "tests/sandbox/build.sh" in dry_run("binaries")
    assert "pytest -q tests --ignore=tests/integration" in dry_run("unit")
    demo = dry_run("demo")
    assert re.search(
        r"-m tests\.sandbox run --scenario ai-platform \$real -- \S+ tests/sandbox/demo\.py \./dist/kubectl-aiconf",
        demo,
    )
    assert "real=--real-node" in demo and "build.sh real-node" in demo  # the probe on a real node, as root
    assert "build.sh control-plane" in demo and "build.sh matrix" not in demo  # the pinned version only
    assert "bench/run.py" in dry_run("bench")
    assert "bench/mutate.py" in dry_run("mutate")
    assert "ruff format --check" in dry_run("lint") and "mypy" in dry_run("lint")
    assert "ruff check" in dry_run("test"), "make test includes make lint"
    assert "rm -rf dist build" in dry_run("clean")


def test_ci_script_is_strict():
    script = REPO / ".ci" / "run"
    text = script.read_text()
    assert os.access(script, os.X_OK)
    assert text.startswith("#!/usr/bin/env bash\n")
    assert re.search(r"^set -E?euo pipefail", text, re.MULTILINE)
    assert "export CI=true" in text
    assert "make test" in text
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
