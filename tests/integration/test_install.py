"""`kubectl aiconf install`: the real API server accepts both sets of manifests (server-side dry run), and the
bootstrap they run, given the built zipapp over HTTP and a pod's service account, checks the cluster."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.integration.conftest import REPO
from tests.integration.test_global_flags import _mount, _pod_env, _service_account

URL = "https://example.com/kubectl-aiconf.tar.gz"


def install(*args) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", "install", "--dry-run", "--plugin-url", URL, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return list(yaml.safe_load_all(proc.stdout))


def _path(obj: dict, name: str | None = None) -> str:
    group_version, kind = obj["apiVersion"], obj["kind"]
    plural = {
        "Namespace": "namespaces",
        "ServiceAccount": "serviceaccounts",
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
        "CronJob": "cronjobs",
        "Pod": "pods",
    }[kind]
    prefix = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
    namespace = obj["metadata"].get("namespace")
    return prefix + (f"/namespaces/{namespace}" if namespace else "") + f"/{plural}" + (f"/{name}" if name else "")


def dry_run_create(cluster, obj: dict) -> dict:
    """POST with dryRun=All: validated and admitted (pod security included), never stored."""
    from tests.sandbox.kube import request

    return request(cluster.admin_client(), "POST", _path(obj), body=obj, query={"dryRun": "All"})


def test_cronjob_manifests_pass_a_server_side_dry_run(sandbox):
    from tests.sandbox.kube import KubeError, request

    docs = install("-n", "aiconf-install-dry", "--schedule", "*/15 * * * *")
    # other modules on this shared sandbox apply the reader ClusterRole from testdata/rbac under the same name;
    # a create of an existing name is refused before validation, so the cluster-wide pair gets its own name here
    for obj in docs:
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            obj["metadata"]["name"] += "-dry-run"
        if obj["kind"] == "ClusterRoleBinding":
            obj["roleRef"]["name"] += "-dry-run"
    namespace = docs[0]
    assert dry_run_create(sandbox, namespace)["metadata"]["name"] == "aiconf-install-dry"
    # namespaced objects need their namespace to exist; create it for real, with the manifest's labels
    sandbox.apply_objects([namespace])
    for obj in docs[1:]:
        accepted = dry_run_create(sandbox, obj)
        assert accepted["kind"] == obj["kind"] and accepted["metadata"]["name"] == obj["metadata"]["name"]
    for obj in docs[1:]:  # nothing was stored
        with pytest.raises(KubeError) as gone:
            request(sandbox.admin_client(), "GET", _path(obj, obj["metadata"]["name"]))
        assert gone.value.status == 404
    # the Job's pod as the CronJob would create it, admitted in a namespace that enforces "restricted"
    # admission wants the pod's service account to exist (applied with its namespace, whose labels the
    # sandbox's server-side apply would otherwise drop)
    sandbox.apply_objects([namespace, docs[1]])
    template = docs[-1]["spec"]["jobTemplate"]["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "aiconf-check", "namespace": "aiconf-install-dry", **template["metadata"]},
        "spec": template["spec"],
    }
    assert dry_run_create(sandbox, pod)["spec"]["serviceAccountName"] == "kubectl-aiconf"
    # the same pod with a root container is refused there: the admission check is real
    pod["spec"] = {**pod["spec"], "securityContext": {}}
    with pytest.raises(KubeError) as refused:
        dry_run_create(sandbox, pod)
    assert refused.value.status == 403 and "restricted" in str(refused.value)


def test_sonobuoy_plugin_container_passes_a_server_side_dry_run(sandbox):
    (plugin,) = install("--sonobuoy")
    sandbox.create_namespace("aiconf-sonobuoy-dry")
    pod = {  # what Sonobuoy's Job driver makes of it: the container plus its results volume
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "sonobuoy-aiconf-job", "namespace": "aiconf-sonobuoy-dry"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [plugin["spec"]],
            "volumes": [{"name": "results", "emptyDir": {}}],
        },
    }
    accepted = dry_run_create(sandbox, pod)
    assert accepted["spec"]["containers"][0]["args"] == ["check", "-o", "junit", "--unconfirmed-ok"]


@pytest.fixture(scope="module")
def zipapp():
    """The single-file artifact the pods download, (re)built by make when its inputs changed."""
    subprocess.run(["make", "--no-print-directory", "zipapp"], cwd=REPO, check=True, capture_output=True)
    return REPO / "dist" / "kubectl-aiconf"


@pytest.fixture(scope="module")
def release_url(zipapp, tmp_path_factory):
    """The release archive (as `make release` packs it) served over HTTP on loopback."""
    sys.path.insert(0, str(REPO / ".ci"))
    try:
        import release
    finally:
        sys.path.remove(str(REPO / ".ci"))
    root = tmp_path_factory.mktemp("www")
    release.write_archive(root / "kubectl-aiconf.tar.gz")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/kubectl-aiconf.tar.gz"
    server.shutdown()


def run_container(container: dict, env: dict, tmp_path) -> subprocess.CompletedProcess:
    """The container's command and arguments, run here with its environment and a pod's service account.
    Its /tmp is this test's temp dir."""
    declared = {e["name"]: e["value"].replace("/tmp", str(tmp_path)) for e in container["env"]}
    command = [sys.executable if part == "python3" else part for part in container["command"]]
    clean = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "HOME")}
    return subprocess.run(
        [*command, *container["args"]],
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, **declared, "TMPDIR": str(tmp_path), **env},
    )


def test_cronjob_container_checks_with_the_service_account(sandbox, release_url, tmp_path):
    sandbox.use_scenario("ai-platform")
    cronjob = install()[-1]
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    token = _service_account(sandbox, "aiconf-incluster", "reader", bound=True)
    sa_dir = tmp_path / "serviceaccount"
    _mount(sa_dir, token, sandbox.ca_file)
    env = {**_pod_env(sandbox, sa_dir), "AICONF_PLUGIN_URL": release_url}
    proc = run_container(container, env, tmp_path)
    assert proc.returncode == 0, proc.stderr  # --unconfirmed-ok: ai-platform fails no MUST
    report = json.loads(proc.stdout)  # the log holds the JSON report
    assert report["context"] == "in-cluster"
    assert not [r for r in report["requirements"] if "forbidden" in r["message"]]
    assert (tmp_path / "shiv").is_dir()  # the zipapp unpacked where the pod can write


def test_sonobuoy_container_hands_back_junit(sandbox, release_url, tmp_path):
    sandbox.use_scenario("ai-platform")
    (plugin,) = install("--sonobuoy")
    token = _service_account(sandbox, "aiconf-incluster", "reader", bound=True)
    sa_dir = tmp_path / "serviceaccount"
    _mount(sa_dir, token, sandbox.ca_file)
    results = tmp_path / "sonobuoy" / "results"
    results.mkdir(parents=True)
    env = {**_pod_env(sandbox, sa_dir), "AICONF_PLUGIN_URL": release_url}
    proc = run_container(plugin["spec"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    done = (results / "done").read_text()
    assert done == str(results / "aiconf-junit.xml")
    cases = {case.get("name"): case for case in ET.parse(done).getroot().iter("testcase")}
    assert "ai_inference" in cases and "secure_accelerator_access" in cases  # one testcase per requirement
    assert cases["ai_inference"].find("failure") is None  # PASS on ai-platform, as the admin sees it
