"""`kubectl aiconf install`: the manifests, the reader role they carry, and the bootstrap the pods run."""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest
import yaml

from conftest import REPO, TESTDATA
from kubectl_aiconf import install

URL = "https://example.com/kubectl-aiconf.tar.gz"


def _grants(rules):
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_reader_role_is_the_documented_one():
    """Generated from kubectl_aiconf.resources, the source tests/test_rbac.py holds the hand-applied file to."""
    documented = yaml.safe_load((TESTDATA / "rbac" / "aiconf-reader.yaml").read_text())
    role = install.reader_cluster_role()
    assert role["metadata"]["name"] == documented["metadata"]["name"]
    assert _grants(role["rules"]) == _grants(documented["rules"])
    assert {v for rule in role["rules"] for v in rule["verbs"]} == {"get", "list"}
    assert not any("secrets" in rule["resources"] for rule in role["rules"])


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_cronjob_manifests():
    proc = _cli("install", "--dry-run", "--plugin-url", URL, "-n", "checks", "--schedule", "*/30 * * * *")
    assert proc.returncode == 0, proc.stderr
    docs = list(yaml.safe_load_all(proc.stdout))
    assert [d["kind"] for d in docs] == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "CronJob"]
    ns, sa, role, binding, cron = docs
    assert ns["metadata"]["name"] == "checks" and sa["metadata"]["namespace"] == "checks"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert binding["roleRef"]["name"] == role["metadata"]["name"] == "aiconf-reader"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": "checks"}]
    assert cron["spec"]["schedule"] == "*/30 * * * *"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    (container,) = pod["containers"]
    assert container["image"] == install.DEFAULT_IMAGE
    assert container["command"] == ["python3", "-c", install.BOOTSTRAP]  # the literal block reads back unchanged
    assert container["args"] == ["check", "-o", "json", "--unconfirmed-ok"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AICONF_PLUGIN_URL"] == URL and "AICONF_RESULTS_DIR" not in env
    assert "&id" not in proc.stdout  # no YAML anchors: kubectl users read these


def test_json_is_a_list_and_sonobuoy_a_plugin():
    listed = json.loads(_cli("install", "--dry-run", "-o", "json", "--plugin-url", URL, "--image", "x/py:3").stdout)
    assert listed["kind"] == "List" and len(listed["items"]) == 5
    sha = "ab" * 32
    proc = _cli("install", "--dry-run", "--sonobuoy", "--plugin-url", URL, "--plugin-sha256", sha.upper())
    assert proc.returncode == 0, proc.stderr
    plugin = yaml.safe_load(proc.stdout)
    config = plugin["sonobuoy-config"]
    assert config["driver"] == "Job" and config["result-format"] == "junit" and config["plugin-name"] == "aiconf"
    spec = plugin["spec"]
    assert spec["args"] == ["check", "-o", "junit", "--unconfirmed-ok"]
    assert spec["volumeMounts"] == [{"name": "results", "mountPath": "/tmp/sonobuoy/results"}]
    env = {e["name"]: e["value"] for e in spec["env"]}
    assert env["AICONF_RESULTS_DIR"] == "/tmp/sonobuoy/results" and env["AICONF_PLUGIN_SHA256"] == sha


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "only prints the manifests"),  # no --dry-run
        (["--dry-run"], "--plugin-url is required"),
        (["--dry-run", "--plugin-url", "ftp://x/y"], "--plugin-url 'ftp://x/y'"),
        (["--dry-run", "--plugin-url", URL, "--plugin-sha256", "abc"], "64 hexadecimal digits"),
        (["--dry-run", "--plugin-url", URL, "--schedule", "daily"], "five fields"),
        (["--dry-run", "--plugin-url", URL, "-n", "Bad_NS"], "not a valid namespace"),
        (["--dry-run", "--plugin-url", URL, "-o", "table"], "use yaml or json"),
    ],
)
def test_bad_install_flags_are_one_line_usage_errors(args, message):
    proc = _cli("install", *args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr


# the bootstrap, run here as the pods run it, with a stand-in plugin ------------------------------------------
FAKE_PLUGIN = """
import sys
print("plugin got", " ".join(sys.argv[1:]))
print("diagnostics", file=sys.stderr)
sys.exit(int(sys.argv[-1]))
"""


def _bootstrap(tmp_path, payload: bytes, *args, **env):
    source = tmp_path / "download"
    source.write_bytes(payload)
    return subprocess.run(
        [sys.executable, "-c", install.BOOTSTRAP, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TMPDIR": str(tmp_path), "AICONF_PLUGIN_URL": source.as_uri(), **env},
    )


def _archive(plugin: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in (("LICENSE", b"license"), ("kubectl-aiconf", plugin)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


@pytest.mark.parametrize("packed", [False, True], ids=["zipapp", "release-archive"])
def test_bootstrap_runs_the_plugin_in_its_place(tmp_path, packed):
    payload = _archive(FAKE_PLUGIN.encode()) if packed else FAKE_PLUGIN.encode()
    proc = _bootstrap(tmp_path, payload, "check", "-o", "json", "1")
    assert proc.stdout == "plugin got check -o json 1\n"  # the report is the log
    assert "diagnostics" in proc.stderr
    assert proc.returncode == 1  # a failed MUST fails the Job


def test_bootstrap_checks_the_sha256(tmp_path):
    good = hashlib.sha256(FAKE_PLUGIN.encode()).hexdigest()
    assert _bootstrap(tmp_path, FAKE_PLUGIN.encode(), "0", AICONF_PLUGIN_SHA256=good.upper()).returncode == 0
    proc = _bootstrap(tmp_path, FAKE_PLUGIN.encode(), "0", AICONF_PLUGIN_SHA256="0" * 64)
    assert proc.returncode == 1 and "does not have the sha256" in proc.stderr and "plugin got" not in proc.stdout


@pytest.mark.parametrize("code,expected", [(1, 0), (3, 0), (2, 2)])
def test_bootstrap_hands_results_to_sonobuoy(tmp_path, code, expected):
    results = tmp_path / "results"
    results.mkdir()
    proc = _bootstrap(
        tmp_path,
        FAKE_PLUGIN.encode(),
        "-o",
        "junit",
        str(code),
        AICONF_RESULTS_DIR=str(results),
        AICONF_RESULT_FILE="r.xml",
    )
    # the done file is written whatever happened (Sonobuoy would wait for it); only an error fails the container
    assert (results / "done").read_text() == str(results / "r.xml")
    assert (results / "r.xml").read_text() == f"plugin got -o junit {code}\n"
    assert proc.returncode == expected
