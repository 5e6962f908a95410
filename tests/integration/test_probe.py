"""`kubectl aiconf check --probe` against a real control plane (kube-apiserver, etcd, scheduler,
controller-manager) with kwok nodes.

The devices are simulated: kwok runs no containers, so the probe pods' output is scripted per test
(tests/sandbox/probe_kwok.py, probe_stages.yaml). What is real: the API server (RBAC, SelfSubjectAccessReview,
Pod Security admission of the restricted namespace, pods/log proxied to kwok's kubelet endpoint), the
scheduler (device-plugin resource fit, DRA claim allocation against ResourceSlices, unschedulable
messages), the controller-manager (claims from templates, namespace deletion), and the plugin process itself
(progress, signals, cleanup).

These tests start their own sandbox (kwok with its log server and probe stages); they are skipped when the
sandbox binaries are not built (tests/sandbox/build.sh), and fail instead under CI.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import unavailable
from tests.sandbox import binaries

REPO = Path(__file__).resolve().parents[2]

LABEL = "app.kubernetes.io/managed-by=kubectl-aiconf,app.kubernetes.io/component=accelerator-probe"
DP_NODE, DRA_NODE, DRA_NOMATCH_NODE = "probe-gpu-0", "probe-dra-0", "probe-dra-nomatch"
WALL_TIMES: dict[str, float] = {}


def _dra_objects() -> list[dict]:
    def slice_(node, driver, devices):
        return {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceSlice",
            "metadata": {"name": f"{node}-{driver}"},
            "spec": {
                "driver": driver,
                "nodeName": node,
                "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
                "devices": [{"name": f"gpu-{i}", "attributes": {"model": {"string": "A10"}}} for i in range(devices)],
            },
        }

    return [
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": "gpu.nvidia.com"},
            "spec": {"selectors": [{"cel": {"expression": "device.driver == 'gpu.nvidia.com'"}}]},
        },
        # Names its driver, so the plan counts its devices as free (it evaluates attribute equalities, not
        # string functions), but asks for a model no device has: the scheduler cannot allocate it, and its
        # message must surface.
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": "gpu.other.com"},
            "spec": {
                "selectors": [
                    {
                        "cel": {
                            "expression": "device.driver == 'gpu.other.com' && "
                            "device.attributes['gpu.other.com'].model.startsWith('B3')"
                        }
                    }
                ]
            },
        },
        slice_(DRA_NODE, "gpu.nvidia.com", 4),
        slice_(DRA_NOMATCH_NODE, "gpu.other.com", 2),
    ]


@pytest.fixture(scope="module")
def sb():
    from tests.sandbox.kube import request
    from tests.sandbox.probe_kwok import ProbeSandbox

    if binaries.missing():
        unavailable("sandbox binaries not built (tests/sandbox/build.sh)")
    with ProbeSandbox(build=False) as sandbox:
        client = sandbox.admin_client()
        gpu_labels = {"nvidia.com/gpu.present": "true"}
        for obj in (
            sandbox.gpu_node(DP_NODE, gpus=4),
            sandbox.gpu_node(DRA_NODE, labels=gpu_labels, taint=False),
            sandbox.gpu_node(DRA_NOMATCH_NODE, labels=gpu_labels, taint=False),
        ):
            request(client, "POST", "/api/v1/nodes", body=obj)
        for obj in _dra_objects():
            kind = obj["kind"].lower() + "es" if obj["kind"] == "DeviceClass" else "resourceslices"
            request(client, "POST", f"/apis/resource.k8s.io/v1/{kind}", body=obj)
        sandbox.wait_nodes_ready([DP_NODE, DRA_NODE, DRA_NOMATCH_NODE])
        yield sandbox
    if WALL_TIMES:
        print(
            "\nprobe wall times on the sandbox: " + ", ".join(f"{k} {v:.1f}s" for k, v in WALL_TIMES.items()),
            file=sys.stderr,
        )


@pytest.fixture(autouse=True)
def isolated_logs(sb):
    sb.probe_logs.write()  # every test starts from a cluster that isolates accelerators
    yield
    sb.probe_logs.write()


# helpers ----------------------------------------------------------------------------------------------------
def plugin(sb, *args, context=None, kubeconfig=None, timeout=240):
    env = sb.env(context)
    if kubeconfig:
        env["KUBECONFIG"] = str(kubeconfig)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    proc.seconds = time.monotonic() - started
    return proc


def probe_result(proc) -> dict:
    assert proc.stdout, proc.stderr
    report = json.loads(proc.stdout)
    return next(r for r in report["requirements"] if r["id"] == "secure_accelerator_access")


def facts(result) -> dict[str, str]:
    return {e["name"].split("/", 1)[-1]: e["fact"] for e in result["evidence"] if e["kind"] == "Probe"}


def namespaces(sb) -> set[str]:
    from tests.sandbox.kube import request

    return {n["metadata"]["name"] for n in request(sb.admin_client(), "GET", "/api/v1/namespaces")["items"]}


def probe_namespaces(sb) -> set[str]:
    from tests.sandbox.kube import request

    items = request(sb.admin_client(), "GET", "/api/v1/namespaces", query={"labelSelector": LABEL})["items"]
    return {n["metadata"]["name"] for n in items}


def namespace_of(proc) -> str:
    for line in proc.stderr.splitlines():
        if "created namespace " in line:
            return line.split("created namespace ", 1)[1].split()[0]
    raise AssertionError(f"no namespace created:\n{proc.stderr}")


def check_probe(sb, *flags, timeout=240):
    return plugin(sb, "check", "--probe", "secure_accelerator_access", "-o", "json", *flags, timeout=timeout)


# all probes pass --------------------------------------------------------------------------------------------
def test_device_plugin_probes_pass(sb):
    proc = check_probe(sb, "--probe-mechanism", "device-plugin", "--probe-node", DP_NODE)
    result = probe_result(proc)
    assert result["status"] == "PASS", result["message"] + proc.stderr
    f = facts(result)
    assert set(f) == {"dp-pair-a", "dp-pair-b", "dp-multi", "negative", "dp-pair"}
    assert f["dp-pair"].startswith(
        "PASS: two pods on probe-gpu-0 got different device ids while running at the same time"
    )
    assert "via nvidia.com/gpu through the device plugin" in f["dp-pair-a"]
    assert "simulated (kwok)" in result["message"]
    # progress on stderr: what is created, waited for, collected, removed, and the wall time
    for step in (
        "created namespace aiconf-probe-",
        "created pod dp-pair-a",
        "waiting for 4 pods",
        "collecting the logs of with-device, without-device",
        "is gone",
        "done in",
    ):
        assert step in proc.stderr, proc.stderr
    assert namespace_of(proc) not in namespaces(sb)
    assert probe_namespaces(sb) == set()
    WALL_TIMES["device plugin"] = proc.seconds


def test_dra_probes_pass_with_claims_allocated_by_the_scheduler(sb):
    proc = check_probe(sb, "--probe-mechanism", "dra", "--probe-node", DRA_NODE)
    result = probe_result(proc)
    assert result["status"] == "PASS", result["message"] + proc.stderr
    f = facts(result)
    assert set(f) == {"dra-pair-a", "dra-pair-b", "dra-multi", "negative", "dra-pair"}
    # The scheduler allocated each pod's claim from the published ResourceSlice, one device each.
    allocated = {}
    for pod in ("dra-pair-a", "dra-pair-b", "dra-multi"):
        assert "claim allocated gpu.nvidia.com/probe-dra-0/gpu-" in f[pod], f[pod]
        allocated[pod] = f[pod].split("claim allocated ", 1)[1].split()[0]
    assert len(set(allocated.values())) == 3
    assert "created ResourceClaimTemplate aiconf-one-accelerator" in proc.stderr
    assert probe_namespaces(sb) == set()
    WALL_TIMES["DRA"] = proc.seconds


def test_auto_probes_every_mechanism_the_cluster_has(sb):
    proc = check_probe(sb)
    result = probe_result(proc)
    assert result["status"] == "PASS", result["message"] + proc.stderr
    f = facts(result)
    assert {"dp-pair", "dra-pair", "negative", "negative-2"} <= set(f)
    assert "nvidia.com/gpu through the device plugin on probe-gpu-0" in result["message"]
    assert "DRA claim on DeviceClass gpu.nvidia.com" in result["message"]
    WALL_TIMES["auto (both)"] = proc.seconds


# failures ---------------------------------------------------------------------------------------------------
def test_negative_probe_seeing_a_device_fails(sb):
    from tests.sandbox.probe_kwok import probe_lines

    sb.probe_logs.write({("negative", "visible-devices-all"): probe_lines("/dev/nvidia0", "/dev/nvidia1")})
    proc = check_probe(sb, "--probe-node", DP_NODE, "--probe-mechanism", "device-plugin")
    result = probe_result(proc)
    assert result["status"] == "FAIL", result["message"]
    assert (
        "visible-devices-all with NVIDIA_VISIBLE_DEVICES=all requested no accelerator but sees /dev/nvidia0"
        in result["message"]
    )
    assert proc.returncode == 1
    assert probe_namespaces(sb) == set()


def test_positive_probe_seeing_no_device_fails(sb):
    from tests.sandbox.probe_kwok import probe_lines

    sb.probe_logs.write({("dp-pair-a", "probe"): probe_lines()})
    proc = check_probe(sb, "--probe-node", DP_NODE, "--probe-mechanism", "device-plugin")
    result = probe_result(proc)
    assert result["status"] == "FAIL", result["message"]
    assert "dp-pair-a: container probe was given 1 accelerator but sees 0" in result["message"]


def test_two_pods_sharing_one_device_fail(sb):
    from tests.sandbox.probe_kwok import probe_lines

    sb.probe_logs.write({("dra-pair-b", "probe"): probe_lines("/dev/nvidia4", uuids=("GPU-dra-4",))})
    proc = check_probe(sb, "--probe-node", DRA_NODE, "--probe-mechanism", "dra")
    result = probe_result(proc)
    assert result["status"] == "FAIL", result["message"]
    assert "both see GPU-dra-4" in result["message"]


# cannot run -------------------------------------------------------------------------------------------------
def test_unschedulable_pods_report_the_schedulers_message(sb):
    proc = check_probe(sb, "--probe-node", DRA_NOMATCH_NODE, "--probe-mechanism", "dra")
    result = probe_result(proc)
    assert result["status"] == "UNKNOWN", result["message"]
    assert "unschedulable: 0/3 nodes are available" in result["message"], result["message"]
    assert "claim" in result["message"]  # the DRA plugin's reason, e.g. "cannot allocate all claims"
    assert facts(result)["negative"].startswith("PASS")  # the pinned pod without a request still ran
    assert probe_namespaces(sb) == set()


def test_timeout_gives_up_and_cleans_up(sb):
    from tests.sandbox.probe_kwok import HANGS_IMAGE

    proc = check_probe(sb, "--probe-node", DP_NODE, "--probe-image", HANGS_IMAGE, "--probe-timeout", "6s")
    result = probe_result(proc)
    assert result["status"] == "UNKNOWN", result["message"]
    assert "timed out after 6s (still Running on probe-gpu-0)" in result["message"]
    assert proc.seconds < 6 + 60
    assert probe_namespaces(sb) == set()


def test_image_pull_failure_is_reported(sb):
    from tests.sandbox.probe_kwok import PULL_FAILS_IMAGE

    proc = check_probe(sb, "--probe-node", DP_NODE, "--probe-image", PULL_FAILS_IMAGE)
    result = probe_result(proc)
    assert result["status"] == "UNKNOWN", result["message"]
    assert f"image pull failed for {PULL_FAILS_IMAGE} (ErrImagePull" in result["message"]
    assert proc.seconds < 60  # no waiting for the timeout
    assert probe_namespaces(sb) == set()


# permissions ------------------------------------------------------------------------------------------------
def _service_account_kubeconfig(sb, tmp_path, name: str, rules: list[dict]) -> Path:
    """A kubeconfig for a ServiceAccount bound to `rules` cluster-wide (token from the TokenRequest API)."""
    from tests.sandbox.kube import KubeError, request

    client = sb.admin_client()
    objs = [
        (
            "/api/v1/namespaces/default/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "default"}},
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": name},
                "rules": rules,
            },
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}],
            },
        ),
    ]
    for path, body in objs:
        try:
            request(client, "POST", path, body=body)
        except KubeError as exc:
            if exc.status != 409:
                raise
    token = request(
        client,
        "POST",
        f"/api/v1/namespaces/default/serviceaccounts/{name}/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
    )["status"]["token"]
    config = yaml.safe_load(sb.admin_kubeconfig.read_text())
    config["users"] = [{"name": name, "user": {"token": token}}]
    config["contexts"] = [{"name": name, "context": {"cluster": config["clusters"][0]["name"], "user": name}}]
    config["current-context"] = name
    path = tmp_path / f"{name}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


READ_ONLY = [
    {"apiGroups": [""], "resources": ["nodes", "pods", "namespaces"], "verbs": ["get", "list"]},
    {
        "apiGroups": ["resource.k8s.io"],
        "resources": ["deviceclasses", "resourceslices", "resourceclaims"],
        "verbs": ["get", "list"],
    },
    {"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"], "verbs": ["get", "list"]},
]


def test_read_only_user_gets_unknown_naming_every_missing_permission_and_nothing_is_created(sb, tmp_path):
    rules = READ_ONLY + [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create"]}]
    kubeconfig = _service_account_kubeconfig(sb, tmp_path, "probe-reader", rules)
    before = namespaces(sb)
    proc = plugin(
        sb,
        "check",
        "--probe",
        "secure_accelerator_access",
        "-o",
        "json",
        "--probe-node",
        DRA_NODE,
        kubeconfig=kubeconfig,
    )
    result = probe_result(proc)
    assert result["status"] == "UNKNOWN", result["message"]
    message = result["message"]
    assert "missing permissions (nothing was created)" in message
    for missing in (
        "delete namespaces (cluster scope)",
        "create pods in the probe namespace",
        "get pods/log in the probe namespace",
        "create resourceclaimtemplates.resource.k8s.io in the probe namespace",
    ):
        assert missing in message, message
    for granted in ("create namespaces", "list pods in"):
        assert granted not in message
    assert namespaces(sb) == before


def test_user_who_cannot_read_nodes_gets_unknown(sb):
    before = namespaces(sb)
    proc = plugin(sb, "check", "--probe", "secure_accelerator_access", "-o", "json", context="limited")
    result = probe_result(proc)
    assert result["status"] == "UNKNOWN"
    assert "missing permission to list nodes" in result["message"]
    assert namespaces(sb) == before


# interruption, --keep, cleanup, dry run ---------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_plugin_leaves_nothing_behind(sb, sig):
    from tests.sandbox.probe_kwok import HANGS_IMAGE

    # As in a terminal's foreground job, Ctrl-C must reach the plugin. A CI runner started as a background job
    # of a non-interactive shell passes SIGINT down ignored, and the plugin rightly keeps that choice
    # (tests/test_probe_signals.py), so the child gets the default disposition back.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubectl_aiconf",
            "check",
            "--probe",
            "secure_accelerator_access",
            "--probe-node",
            DP_NODE,
            "--probe-image",
            HANGS_IMAGE,
            "--probe-timeout",
            "120s",
            "-o",
            "json",
        ],
        cwd=REPO,
        env=sb.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    running = threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line)
            if "is running on" in line:
                running.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert running.wait(60), "".join(lines)
        namespace = next(
            line.split("created namespace ", 1)[1].split()[0] for line in lines if "created namespace " in line
        )
        assert namespace in probe_namespaces(sb)
        proc.send_signal(sig)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            raise AssertionError("the plugin did not exit within 120s of the signal:\n" + "".join(lines)) from None
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    text = "".join(lines)
    assert proc.returncode == 130, text
    assert "interrupted; cleaning up" in text and f"namespace {namespace} is gone" in text
    assert namespace not in namespaces(sb)
    assert probe_namespaces(sb) == set()


def test_keep_leaves_the_namespace_and_cleanup_removes_it(sb):
    proc = check_probe(sb, "--probe-node", DP_NODE, "--keep")
    assert probe_result(proc)["status"] == "PASS"
    namespace = namespace_of(proc)
    assert "keeping namespace" in proc.stderr
    assert probe_namespaces(sb) == {namespace}
    listed = plugin(sb, "cleanup", "--dry-run")
    assert listed.returncode == 0 and f"would delete namespace {namespace}" in listed.stdout
    assert probe_namespaces(sb) == {namespace}
    cleaned = plugin(sb, "cleanup")
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"deleted namespace {namespace}" in cleaned.stdout
    assert namespace not in namespaces(sb)
    again = plugin(sb, "cleanup")
    assert again.stdout.strip() == "no probe namespaces left behind"


def test_cleanup_leaves_namespaces_of_running_probes_alone(sb):
    from datetime import datetime, timedelta, timezone

    from tests.sandbox.kube import request

    client = sb.admin_client()
    now = datetime.now(timezone.utc)
    stamps = {"aiconf-probe-killed": now - timedelta(minutes=1), "aiconf-probe-running": now + timedelta(minutes=5)}
    labels = dict(kv.split("=") for kv in LABEL.split(","))
    for name, until in stamps.items():
        request(
            client,
            "POST",
            "/api/v1/namespaces",
            body={
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": name,
                    "labels": labels,
                    "annotations": {"kubectl-aiconf/active-until": until.strftime("%Y-%m-%dT%H:%M:%SZ")},
                },
            },
        )
    try:
        proc = plugin(sb, "cleanup")
        assert proc.returncode == 1
        assert "deleted namespace aiconf-probe-killed" in proc.stdout
        assert "left namespace aiconf-probe-running alone" in proc.stdout
        assert probe_namespaces(sb) == {"aiconf-probe-running"}
    finally:
        request(client, "DELETE", "/api/v1/namespaces/aiconf-probe-running")
        deadline = time.monotonic() + 90
        while probe_namespaces(sb) and time.monotonic() < deadline:
            time.sleep(0.5)


def test_dry_run_prints_manifests_and_creates_nothing(sb):
    before = namespaces(sb)
    proc = plugin(
        sb, "check", "--probe", "secure_accelerator_access", "--dry-run", "-o", "yaml", "--probe-node", DRA_NODE
    )
    assert proc.returncode == 0, proc.stderr
    docs = list(yaml.safe_load_all(proc.stdout))
    assert [d["kind"] for d in docs] == ["Namespace", "ResourceClaimTemplate", "Pod", "Pod", "Pod", "Pod"]
    assert docs[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespaces(sb) == before


def test_manifests_pass_restricted_pod_security_admission(sb):
    """The dry-run manifests are accepted by the API server in a restricted namespace (server-side dry run)."""
    from tests.sandbox.kube import exists, request

    proc = plugin(
        sb, "check", "--probe", "secure_accelerator_access", "--dry-run", "-o", "json", "--probe-node", DP_NODE
    )
    items = json.loads(proc.stdout)["items"]
    client = sb.admin_client()
    namespace = items[0]["metadata"]["name"]
    request(client, "POST", "/api/v1/namespaces", body=items[0])
    try:
        deadline = time.monotonic() + 30
        while not exists(client, f"/api/v1/namespaces/{namespace}/serviceaccounts/default"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        for pod in items[1:]:
            request(client, "POST", f"/api/v1/namespaces/{namespace}/pods", body=pod, query={"dryRun": "All"})
    finally:
        request(client, "DELETE", f"/api/v1/namespaces/{namespace}")
        deadline = time.monotonic() + 90
        while exists(client, f"/api/v1/namespaces/{namespace}") and time.monotonic() < deadline:
            time.sleep(0.5)
