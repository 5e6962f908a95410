"""Tests of the test bed itself: the control plane, its users, the scenarios and their signals.

All tests share the session sandbox (conftest.py) and switch scenarios with use_scenario(); tests are grouped
by scenario to keep resets rare. Only test_teardown_leaves_nothing and test_cli_run start sandboxes of their
own, because they are about start and stop.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.sandbox import Sandbox, load_objects, scenario_names
from tests.sandbox.kube import KubeError, request
from tests.sandbox.procs import port_open
from tests.sandbox.scenarios import SCENARIOS_DIR

REPO = Path(__file__).resolve().parents[2]


def api(sb: Sandbox, method: str, path: str, body=None, user: str = "admin", **kw) -> dict:
    client = sb.admin_client() if user == "admin" else sb.limited_client()
    return request(client, method, path, body=body, **kw)


def status_code(sb: Sandbox, path: str, user: str) -> int:
    try:
        api(sb, "GET", path, user=user)
        return 200
    except KubeError as exc:
        return exc.status


def eventually(fn, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = fn()
            if result:
                return result
        except (KubeError, KeyError, IndexError) as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached in {timeout}s (last error: {last})")


def conditions(obj: dict) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


# ---------------------------------------------------------------------------- no sandbox needed


@pytest.mark.parametrize("name", scenario_names())
def test_scenario_files_are_plain_snapshots(name):
    """Every scenario directory reads as plain objects, and every custom resource's CRD is in the same
    directory, so that the plugin can read it as --snapshot without knowing about the sandbox."""
    objs = load_objects(name)
    served = {("v1", k) for k in ("Namespace", "Node", "Service", "ConfigMap")}
    crds = {}
    for o in objs:
        assert o["metadata"].get("name"), o
        if o["kind"] == "CustomResourceDefinition":
            for v in o["spec"]["versions"]:
                crds[(f"{o['spec']['group']}/{v['name']}", o["spec"]["names"]["kind"])] = o
    builtin_groups = (
        "v1",
        "apps/",
        "autoscaling/",
        "resource.k8s.io/",
        "apiregistration.k8s.io/",
        "admissionregistration.k8s.io/",
        "apiextensions.k8s.io/",
        "rbac.authorization.k8s.io/",
    )
    for o in objs:
        key = (o["apiVersion"], o["kind"])
        if key in served or o["apiVersion"].startswith(builtin_groups):
            continue
        assert key in crds, f"{name}: {o['kind']} {o['metadata']['name']} has no CRD in the scenario"
    # the scenario files carry no YAML anchors/merge keys (other readers need not support them)
    for path in (SCENARIOS_DIR / name).glob("*.yaml"):
        text = path.read_text()
        assert "<<:" not in text and " &" not in text, path


# ---------------------------------------------------------------------------- control plane and users


def test_control_plane_is_real(sandbox):
    version = api(sandbox, "GET", "/version")
    assert version["gitVersion"].startswith("v1.35.")
    assert api(sandbox, "GET", "/api/v1/namespaces/default/serviceaccounts/default")["metadata"]["name"] == "default"
    config = yaml.safe_load(sandbox.kubeconfig.read_text())
    assert config["current-context"] == "admin"
    assert {c["name"] for c in config["contexts"]} == {"admin", "limited"}
    for path, ctx in ((sandbox.admin_kubeconfig, "admin"), (sandbox.limited_kubeconfig, "limited")):
        assert yaml.safe_load(path.read_text())["current-context"] == ctx
    out = subprocess.run(
        [str(sandbox.kubectl), "get", "--raw", "/readyz"], env=sandbox.env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok"
    assert sandbox.startup_seconds is not None and sandbox.startup_seconds < 60


ALLOWED = [
    "/api/v1/pods",
    "/api/v1/services",
    "/api/v1/namespaces",
    "/apis/apps/v1/deployments",
    "/apis/apps/v1/daemonsets",
]
FORBIDDEN = [
    "/api/v1/nodes",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "/apis/apiregistration.k8s.io/v1/apiservices",
    "/apis/resource.k8s.io/v1/resourceslices",
    "/apis/resource.k8s.io/v1/deviceclasses",
    "/apis/resource.k8s.io/v1/resourceclaims",
    "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    "/api/v1/configmaps",
    "/api/v1/namespaces/kube-system/configmaps",
]


@pytest.mark.parametrize("path", ALLOWED)
def test_limited_user_may_read(sandbox, path):
    assert status_code(sandbox, path, "limited") == 200


@pytest.mark.parametrize("path", FORBIDDEN)
def test_limited_user_is_denied(sandbox, path):
    assert status_code(sandbox, path, "limited") == 403
    assert status_code(sandbox, path, "admin") == 200


def test_limited_user_still_sees_discovery(sandbox):
    groups = {g["name"] for g in api(sandbox, "GET", "/apis", user="limited")["groups"]}
    assert "resource.k8s.io" in groups and "apiextensions.k8s.io" in groups


# ---------------------------------------------------------------------------- scenarios, in an order that needs
# few resets: bare -> gpu-cluster -> ai-platform are applied on top of each other, then unhealthy, crds-only


def check_applies_and_stays(sandbox, name):
    sandbox.use_scenario(name)
    assert sandbox.verify_scenario(name) == []
    time.sleep(2)  # controllers must not undo what the scenario describes
    assert sandbox.verify_scenario(name) == []


def test_bare_applies(sandbox):
    check_applies_and_stays(sandbox, "bare")
    assert api(sandbox, "GET", "/api/v1/nodes")["items"] == []


def test_gpu_cluster_applies(sandbox):
    check_applies_and_stays(sandbox, "gpu-cluster")


def test_gpu_pod_is_scheduled_on_a_gpu_node(sandbox):
    sandbox.use_scenario("gpu-cluster")
    ns = "gpu-test-" + uuid.uuid4().hex[:6]
    sandbox.create_namespace(ns)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "cuda", "namespace": ns},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
            "containers": [
                {
                    "name": "c",
                    "image": "nvidia/cuda:12.8.0-base-ubuntu24.04",
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                }
            ],
        },
    }
    try:
        api(sandbox, "POST", f"/api/v1/namespaces/{ns}/pods", body=pod)
        live = eventually(
            lambda: (
                (p := api(sandbox, "GET", f"/api/v1/namespaces/{ns}/pods/cuda"))["status"].get("phase") == "Running"
                and p
            ),
            what="GPU pod Running",
        )
        assert live["spec"]["nodeName"].startswith("gpu-node-")
    finally:
        api(sandbox, "DELETE", f"/api/v1/namespaces/{ns}")


def test_dra_claim_is_allocated_against_resource_slices(sandbox):
    sandbox.use_scenario("gpu-cluster")
    ns = "dra-test-" + uuid.uuid4().hex[:6]
    sandbox.create_namespace(ns)
    template = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaimTemplate",
        "metadata": {"name": "one-gpu", "namespace": ns},
        "spec": {
            "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com"}}]}}
        },
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "dra", "namespace": ns},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
            "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}],
            "containers": [
                {
                    "name": "c",
                    "image": "nvidia/cuda:12.8.0-base-ubuntu24.04",
                    "resources": {"claims": [{"name": "gpu"}]},
                }
            ],
        },
    }
    try:
        api(sandbox, "POST", f"/apis/resource.k8s.io/v1/namespaces/{ns}/resourceclaimtemplates", body=template)
        api(sandbox, "POST", f"/api/v1/namespaces/{ns}/pods", body=pod)

        def allocated():
            claims = api(sandbox, "GET", f"/apis/resource.k8s.io/v1/namespaces/{ns}/resourceclaims")["items"]
            return claims and claims[0].get("status", {}).get("allocation") and claims[0]

        claim = eventually(allocated, what="ResourceClaim allocated")
        result = claim["status"]["allocation"]["devices"]["results"][0]
        assert result["driver"] == "gpu.example.com" and result["pool"].startswith("gpu-node-")
        assert claim["status"]["reservedFor"][0]["name"] == "dra"
        live = eventually(
            lambda: (
                (p := api(sandbox, "GET", f"/api/v1/namespaces/{ns}/pods/dra"))["status"].get("phase") == "Running"
                and p
            ),
            what="DRA pod Running",
        )
        assert live["spec"]["nodeName"] == result["pool"]
    finally:
        api(sandbox, "DELETE", f"/api/v1/namespaces/{ns}")


def test_ai_platform_applies(sandbox):
    check_applies_and_stays(sandbox, "ai-platform")


def test_ai_platform_custom_metrics_api_is_available(sandbox):
    sandbox.use_scenario("ai-platform")
    apisvc = api(sandbox, "GET", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.custom.metrics.k8s.io")
    assert conditions(apisvc)["Available"] == "True"
    before = sandbox.custom_metrics_requests
    listing = api(sandbox, "GET", "/apis/custom.metrics.k8s.io/v1beta1")
    assert "pods/DCGM_FI_DEV_GPU_UTIL" in {r["name"] for r in listing["resources"]}
    values = api(
        sandbox,
        "GET",
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/inference/pods/*/DCGM_FI_DEV_GPU_UTIL",
        query={"labelSelector": "app=llm,version=v1"},
    )
    assert [i["describedObject"]["name"].startswith("llm-v1-") for i in values["items"]] == [True]
    assert sandbox.custom_metrics_requests > before  # answered by the loopback server, through the aggregator
    hpa = api(sandbox, "GET", "/apis/autoscaling/v2/namespaces/inference/horizontalpodautoscalers/llm-v1")
    assert conditions(hpa)["ScalingActive"] == "True"
    assert hpa["status"]["currentMetrics"][0]["pods"]["current"]["averageValue"] == "42"


def test_ai_platform_signals(sandbox):
    sandbox.use_scenario("ai-platform")
    get = lambda path: api(sandbox, "GET", path)  # noqa: E731
    gc = get("/apis/gateway.networking.k8s.io/v1/gatewayclasses/envoy-gateway")
    assert conditions(gc)["Accepted"] == "True"
    gw = get("/apis/gateway.networking.k8s.io/v1/namespaces/inference/gateways/inference-gateway")
    assert conditions(gw)["Programmed"] == "True" and gw["status"]["addresses"]
    assert get("/apis/nvidia.com/v1/clusterpolicies/cluster-policy")["status"]["state"] == "ready"
    wl = get("/apis/kueue.x-k8s.io/v1beta1/namespaces/team-a/workloads/job-pytorch-train-3f2a1")
    assert conditions(wl)["Admitted"] == "True"
    assert get("/apis/ray.io/v1/namespaces/ml-team/rayclusters/raycluster-gpu")["status"]["state"] == "ready"
    vwc = get(
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/kuberay-validating-webhook-configuration"
    )
    hook = vwc["webhooks"][0]
    assert hook["clientConfig"]["service"]["name"] == "kuberay-webhook-service" and hook["clientConfig"]["caBundle"]
    slices = get("/apis/discovery.k8s.io/v1/namespaces/ray-system/endpointslices")["items"]
    webhook_slices = [
        s for s in slices if s["metadata"]["labels"]["kubernetes.io/service-name"] == "kuberay-webhook-service"
    ]
    assert webhook_slices and webhook_slices[0]["endpoints"][0]["conditions"]["ready"] is True
    pods = get("/api/v1/namespaces/ray-system/pods")["items"]
    assert pods and all(p["status"]["phase"] == "Running" for p in pods)
    ds = get("/apis/apps/v1/namespaces/gpu-operator/daemonsets/nvidia-dcgm-exporter")["status"]
    assert ds["desiredNumberScheduled"] == ds["numberReady"] == 2
    slices = get("/apis/resource.k8s.io/v1/resourceslices")["items"]
    assert sorted(s["spec"]["nodeName"] for s in slices) == ["gpu-node-0", "gpu-node-1"]


def test_create_nodes_in_bulk(sandbox):
    t0 = time.monotonic()
    names = sandbox.create_nodes(40, prefix="bulk")
    gpu = sandbox.create_nodes(2, gpu=True, prefix="bulk-gpu")
    sandbox.wait_nodes_ready(names + gpu)
    took = time.monotonic() - t0
    node = api(sandbox, "GET", f"/api/v1/nodes/{gpu[0]}")
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    assert node["metadata"]["labels"]["nvidia.com/gpu.present"] == "true"
    assert took < 60, took
    for name in names + gpu:
        api(sandbox, "DELETE", f"/api/v1/nodes/{name}")


def test_unhealthy_applies(sandbox):
    check_applies_and_stays(sandbox, "unhealthy")


def test_unhealthy_custom_metrics_api_is_not_available(sandbox):
    sandbox.use_scenario("unhealthy")
    apisvc = api(sandbox, "GET", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.custom.metrics.k8s.io")
    assert conditions(apisvc)["Available"] == "False"
    gc = api(sandbox, "GET", "/apis/gateway.networking.k8s.io/v1/gatewayclasses/envoy-gateway")
    assert conditions(gc)["Accepted"] == "False"
    dep = api(sandbox, "GET", "/apis/apps/v1/namespaces/kueue-system/deployments/kueue-controller-manager")
    assert dep["status"].get("availableReplicas", 0) == 0
    ds = api(sandbox, "GET", "/apis/apps/v1/namespaces/gpu-operator/daemonsets/nvidia-device-plugin-daemonset")
    assert ds["status"]["desiredNumberScheduled"] == 2 and ds["status"].get("numberReady", 0) == 0
    hpa = api(sandbox, "GET", "/apis/autoscaling/v2/namespaces/inference/horizontalpodautoscalers/llm-v1")
    assert conditions(hpa)["ScalingActive"] == "False"


def test_crds_only_applies_with_every_crd_established(sandbox):
    check_applies_and_stays(sandbox, "crds-only")
    crds = api(sandbox, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")["items"]
    assert len(crds) == len([o for o in load_objects("crds-only") if o["kind"] == "CustomResourceDefinition"]) == 18
    for crd in crds:
        assert conditions(crd)["Established"] == "True" and conditions(crd)["NamesAccepted"] == "True"
    assert api(sandbox, "GET", "/apis/apps/v1/deployments")["items"] == []
    assert api(sandbox, "GET", "/api/v1/nodes")["items"] == []


# ---------------------------------------------------------------------------- isolation: own sandboxes


def test_teardown_leaves_nothing(sandbox):
    """A second sandbox runs beside the session one (no port clash) and leaves no process, port or file."""
    with Sandbox(build=False, verbose=False) as second:
        assert second.server != sandbox.server
        pids = second.pids()
        ports = dict(second.ports)
        directory = second.dir
        assert len(pids) == 5 and all(_alive(p) for p in pids)
        assert api(second, "GET", "/version")["gitVersion"].startswith("v1.35.")
    assert not any(_alive(p) for p in pids)
    assert not directory.exists()
    assert not any(port_open(p) for name, p in ports.items() if name != "custom-metrics")
    assert api(sandbox, "GET", "/version")  # the session sandbox is untouched


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_cli_run_passes_exit_code_and_kubeconfig(sandbox_binaries):
    script = (
        "kubectl config current-context && kubectl get --raw /version >/dev/null && "
        "kubectl --context limited get nodes >/dev/null 2>&1; echo limited=$?; exit 7"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sandbox", "run", "--no-build", "--", "sh", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout.split() == ["admin", "limited=1"]
    assert re.search(r"Kubernetes v1\.\d+\.\d+ up at https://127\.0\.0\.1:\d+", proc.stderr), proc.stderr
