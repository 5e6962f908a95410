"""DRA on the sandbox's real node: Kubernetes' own DRA test driver (test/e2e/dra/test-driver, the control
plane's version) runs as the node's kubelet plugin, publishes the node's devices as ResourceSlices, and
prepares claims through CDI, which containerd 2.x applies to the containers.

What is real here: the resource.k8s.io/v1 API, the scheduler's allocation, the resourceclaim controller,
the kubelet's plugin registration and its NodePrepareResources/NodeUnprepareResources calls, the CDI specs
and containerd's CDI injection. What is simulated: the devices (the driver's edits only set environment
variables: claim_<claim>_<request>=true, and admin_<key>/user_<key> from opaque configs of the class and
the claim).

Needs root and the real node's binaries (tests/sandbox/build.sh real-node); skipped locally without them,
FAIL under CI=true. One module-wide sandbox; the teardown test stops it, so it comes last.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid

import pytest

from tests.integration.test_realnode import _api, _wait_phase, started_sandbox
from tests.sandbox import Sandbox
from tests.sandbox.kube import request
from tests.sandbox.realnode import DRA_DRIVER, leftovers

TIMES: dict[str, float] = {}
DEVICES = 4
CLASS = "aiconf-test-devices"
V1 = "/apis/resource.k8s.io/v1"


@pytest.fixture(scope="module")
def sb(sandbox_binaries):

    def start_driver(box: Sandbox) -> None:
        t0 = time.monotonic()
        box.real_node.start_dra_driver(devices=DEVICES)
        TIMES["driver registered and published"] = time.monotonic() - t0

    box = started_sandbox(start_driver)
    _api(
        box,
        "POST",
        f"{V1}/deviceclasses",
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": CLASS},
            "spec": {
                "selectors": [{"cel": {"expression": f'device.driver == "{DRA_DRIVER}"'}}],
                # reaches the container as admin_tier=gold
                "config": [{"opaque": {"driver": DRA_DRIVER, "parameters": {"tier": "gold"}}}],
            },
        },
    )
    yield box
    box.stop()
    if TIMES:
        print("\nreal node, DRA: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMES.items()), file=sys.stderr)


@pytest.fixture
def ns(sb):
    name = f"dra-{uuid.uuid4().hex[:6]}"
    sb.create_namespace(name)
    return name


def _claim(name: str, user_params: dict | None = None) -> dict:
    spec: dict = {"devices": {"requests": [{"name": "dev", "exactly": {"deviceClassName": CLASS}}]}}
    if user_params:
        spec["devices"]["config"] = [{"opaque": {"driver": DRA_DRIVER, "parameters": user_params}}]
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": name}, "spec": spec}


def _pod(sb: Sandbox, name: str, claim: str, command: list[str], without: list[str] | None = None) -> dict:
    """Container ``with`` uses the claim; container ``without`` (when ``without`` gives its command) is in
    the same pod and does not."""
    containers = [
        {
            "name": "with",
            "image": sb.real_node.probe_image,
            "command": command,
            "resources": {"claims": [{"name": "d"}]},
        }
    ]
    if without:
        containers.append({"name": "without", "image": sb.real_node.probe_image, "command": without})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            # not nodeName: a pod bound by name skips the scheduler, which is what allocates claims
            "nodeSelector": {"kubernetes.io/hostname": sb.real_node.name},
            "tolerations": [sb.real_node.toleration()],
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "resourceClaims": [{"name": "d", "resourceClaimName": claim}],
            "containers": containers,
        },
    }


def _env_of(sb: Sandbox, ns: str, pod: str, container: str) -> dict[str, str]:
    out = subprocess.run(
        [str(sb.kubectl), "exec", "-n", ns, pod, "-c", container, "--", "env"],
        env=sb.env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def _driver_env(env: dict[str, str]) -> dict[str, str]:
    """The variables the test driver's CDI edits set."""
    return {k: v for k, v in env.items() if re.match(r"(claim|admin|user)_", k)}


def _allocated(sb: Sandbox, ns: str, claim: str) -> dict:
    [result] = _api(sb, "GET", f"{V1}/namespaces/{ns}/resourceclaims/{claim}")["status"]["allocation"]["devices"][
        "results"
    ]
    return result


def _cdi_specs(sb: Sandbox) -> dict[str, dict]:
    d = sb.real_node.cdi_dir
    return {p.name: json.loads(p.read_text()) for p in d.glob("*.json")} if d.is_dir() else {}


def _wait(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout}s")
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------------- tests


def test_the_api_server_serves_resource_k8s_io_v1(sb):
    names = {r["name"] for r in _api(sb, "GET", V1)["resources"]}
    assert {"deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices"} <= names


def test_the_driver_is_registered_with_the_kubelet_and_publishes_the_nodes_devices(sb):
    node = _api(sb, "GET", f"/api/v1/nodes/{sb.real_node.name}")
    query = {"fieldSelector": f"spec.driver={DRA_DRIVER}"}
    [slice_] = request(sb.admin_client(), "GET", f"{V1}/resourceslices", query=query)["items"]
    assert slice_["spec"]["nodeName"] == sb.real_node.name
    assert slice_["spec"]["pool"]["name"] == sb.real_node.name
    assert [d["name"] for d in slice_["spec"]["devices"]] == [f"device-{i:02d}" for i in range(DEVICES)]
    [owner] = slice_["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Node", node["metadata"]["name"], node["metadata"]["uid"])
    # the kubelet found the registration socket under its own root dir (not /var/lib/kubelet) and took it on
    registration = sb.real_node.dir / "kubelet/root/plugins_registry" / f"{DRA_DRIVER}-reg.sock"
    assert sb.real_node.procs["kubelet"].log_contains(f'"SocketPath":"{registration}"')
    assert sb.real_node.procs[f"dra-{DRA_DRIVER}"].log_contains('request="plugin_registered:true"')


def test_a_claim_is_prepared_through_cdi_for_the_container_that_uses_it(sb, ns):
    """The scheduler allocates one of the node's devices; the kubelet has the driver prepare it; the driver's
    CDI spec (the class's and the claim's opaque configs, and the claim's own marker) is in the container
    that lists the claim, and not in its neighbour that does not. When the pod goes, the kubelet has the
    driver unprepare the claim and its CDI spec is removed."""
    _api(sb, "POST", f"{V1}/namespaces/{ns}/resourceclaims", _claim("gpu", {"team": "blue"}))
    t0 = time.monotonic()
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "p", "gpu", ["sleep", "3600"], ["sleep", "3600"]))
    _wait_phase(sb, ns, "p", {"Running"}, timeout=60)
    TIMES["pod with a claim Running"] = time.monotonic() - t0
    claim = _api(sb, "GET", f"{V1}/namespaces/{ns}/resourceclaims/gpu")
    result = _allocated(sb, ns, "gpu")
    assert (result["driver"], result["pool"]) == (DRA_DRIVER, sb.real_node.name)
    assert result["device"] in {f"device-{i:02d}" for i in range(DEVICES)}
    assert [r["name"] for r in claim["status"]["reservedFor"]] == ["p"]

    specs = _cdi_specs(sb)
    [(name, spec)] = [(n, s) for n, s in specs.items() if claim["metadata"]["uid"] in n]
    [device] = spec["devices"]
    assert spec["kind"] == f"{DRA_DRIVER}/test"
    assert sorted(device["containerEdits"]["env"]) == ["admin_tier=gold", "claim_gpu_dev=true", "user_team=blue"]

    assert _driver_env(_env_of(sb, ns, "p", "with")) == {
        "admin_tier": "gold",
        "claim_gpu_dev": "true",
        "user_team": "blue",
    }
    assert _driver_env(_env_of(sb, ns, "p", "without")) == {}
    driver_log = sb.real_node.procs[f"dra-{DRA_DRIVER}"]
    assert driver_log.log_contains(f"claim-{claim['metadata']['uid']}-dev")  # NodePrepareResources' CDI device

    _api(sb, "DELETE", f"/api/v1/namespaces/{ns}/pods/p")
    _wait(lambda: name not in _cdi_specs(sb), f"CDI spec {name} removed (NodeUnprepareResources)")
    _wait(
        lambda: (
            not (_api(sb, "GET", f"{V1}/namespaces/{ns}/resourceclaims/gpu").get("status") or {}).get("reservedFor")
        ),
        "claim released",
    )


def test_two_pods_get_different_devices_and_each_sees_only_its_own_claim(sb, ns):
    for name in ("a", "b"):
        _api(sb, "POST", f"{V1}/namespaces/{ns}/resourceclaims", _claim(f"claim-{name}"))
        _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, name, f"claim-{name}", ["sleep", "3600"]))
    for name in ("a", "b"):
        _wait_phase(sb, ns, name, {"Running"}, timeout=60)
    devices = {name: _allocated(sb, ns, f"claim-{name}")["device"] for name in ("a", "b")}
    assert devices["a"] != devices["b"], devices
    assert _driver_env(_env_of(sb, ns, "a", "with")) == {"admin_tier": "gold", "claim_claim_a_dev": "true"}
    assert _driver_env(_env_of(sb, ns, "b", "with")) == {"admin_tier": "gold", "claim_claim_b_dev": "true"}
    for name in ("a", "b"):
        _api(sb, "DELETE", f"/api/v1/namespaces/{ns}/pods/{name}")


def test_a_pod_whose_claim_cannot_be_allocated_stays_pending(sb, ns):
    """The control for the allocation: a claim for more devices than the node has is never allocated, and
    its pod never runs."""
    claim = _claim("too-many")
    claim["spec"]["devices"]["requests"][0]["exactly"].update({"allocationMode": "ExactCount", "count": DEVICES + 1})
    _api(sb, "POST", f"{V1}/namespaces/{ns}/resourceclaims", claim)
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "p", "too-many", ["true"]))
    status = _wait(
        lambda: [
            c
            for c in (_api(sb, "GET", f"/api/v1/namespaces/{ns}/pods/p").get("status") or {}).get("conditions") or []
            if c["type"] == "PodScheduled" and c["status"] == "False"
        ],
        "pod reported unschedulable",
    )
    assert status[0]["reason"] == "Unschedulable", status
    assert not (_api(sb, "GET", f"{V1}/namespaces/{ns}/resourceclaims/too-many").get("status") or {}).get("allocation")


def test_teardown_with_a_prepared_claim_leaves_nothing(sb, ns):
    """The driver is one of the node's processes: stopping the sandbox with a prepared claim in use stops it
    and leaves no process, socket or CDI spec behind."""
    node = sb.real_node
    _api(sb, "POST", f"{V1}/namespaces/{ns}/resourceclaims", _claim("held"))
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "p", "held", ["sleep", "3600"]))
    _wait_phase(sb, ns, "p", {"Running"}, timeout=60)
    assert _cdi_specs(sb)
    driver = node.procs[f"dra-{DRA_DRIVER}"]
    assert driver.alive()
    t0 = time.monotonic()
    sb.stop()
    TIMES["teardown"] = time.monotonic() - t0
    assert not driver.alive()
    assert leftovers(node.dir, node.record) == []
