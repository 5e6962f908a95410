"""`--help` and `version` must not import the Kubernetes client (it alone costs most of a second)."""

import json
import subprocess
import sys

import pytest

from conftest import REPO

PROBE = """
import sys
sys.argv = ["kubectl-aiconf"] + {args!r}
from kubectl_aiconf import cli
try:
    cli.main()
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("kubernetes", "urllib3", "tabulate", "yaml"))
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["version"], ["check", "--help"], ["version", "-o", "json"]])
def test_light_commands_do_not_import_the_client(args):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], cwd=REPO, capture_output=True, text=True)
    heavy = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], proc.stderr


def test_version_output():
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", "version", "-o", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    assert data["checklists"] == ["1.33", "1.34", "1.35", "1.36", "1.37"] and data["draftChecklists"] == []
    text = subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", "version"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert text.startswith("kubectl-aiconf ") and "1.37" in text and "draft" not in text
