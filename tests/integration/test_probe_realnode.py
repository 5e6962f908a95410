"""`kubectl aiconf check --probe` end to end on the sandbox's real node (tests/sandbox/realnode.py).

What is real: the kubelet's device plugin API path (registration on kubelet.sock, ListAndWatch, the
scheduler's fit on the node's allocatable nvidia.com/gpu, the kubelet's allocation and its Allocate call),
containerd and runc creating the device nodes and the environment that Allocate returns, the probe script
running in busybox under Pod Security "restricted", logs read back through the API server, the namespace
deleted and the containers removed from containerd. What is simulated: the devices. The test device plugin
(tests/sandbox/deviceplugin/) hands out character devices 1:3 (like /dev/null) as /dev/nvidia<N>; its
leaking mode gives every container every device, so the probe's FAIL path is real too.

DRA: Kubernetes' DRA test driver, named gpu.test-driver.cdi.k8s.io, publishes the node's four devices; the
scheduler allocates the probe's claims, the kubelet has the driver prepare them, and containerd applies the
driver's CDI specs. That driver names no device inside the container, only the claim
(claim_<claim>_<request>=true), so the probe judges each container by the claim injections it sees and the
pair by the devices the claims' status names. Its leaking mode (RealNode.leak_cdi) rewrites the driver's CDI
specs so that every prepared claim's device also injects every other's, through containerd's CDI injection.

Needs root and `tests/sandbox/build.sh real-node`; without them the tests are skipped locally and FAIL under
CI=true. One real node per machine: run beside other real-node tests with
`flock /tmp/aiconf-realnode-tests.lock pytest ...`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_realnode import _prerequisites
from tests.sandbox import Sandbox
from tests.sandbox.kube import request as api
from tests.sandbox.realnode import (
    DEVICE_PLUGIN_DEVICES,
    DEVICE_PLUGIN_SOCKET,
    DEVICE_PLUGINS,
    GPU_RESOURCE,
    leftovers,
)

REPO = Path(__file__).resolve().parents[2]
LABEL = "app.kubernetes.io/managed-by=kubectl-aiconf,app.kubernetes.io/component=accelerator-probe"
REQUIREMENT = "secure_accelerator_access"
# the kubelet removes the containers of a deleted pod in its garbage collection, once a minute
CONTAINER_GC_SECONDS = 150
TIMES: dict[str, float] = {}
PROBE_NAMESPACES: list[str] = []  # of every probe run that created pods: their containers must go
CONTAINERS_AFTER_RUN: dict[str, int] = {}  # namespace -> its containers in containerd right after the run


@pytest.fixture(scope="module")
def sb(sandbox_binaries):
    _prerequisites()
    box = Sandbox(build=False, real_node=True, timeout=180)
    try:
        box.start()
    except Exception as exc:  # noqa: BLE001 - prerequisites are there, so this is a real failure: never skip
        pytest.fail(f"sandbox with a real node did not start: {exc}", pytrace=False)
    yield box
    box.stop()
    if TIMES:
        print("\nprobe on the real node: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMES.items()), file=sys.stderr)
        print(f"containers in containerd right after each run: {CONTAINERS_AFTER_RUN}", file=sys.stderr)


def _plugin_log(sb) -> str:
    return (sb.dir / "logs" / "deviceplugin.log").read_text(errors="replace")


def _allocations(log: str) -> list[tuple[list[str], list[str]]]:
    """(devices the kubelet allocated, devices the container got) of every Allocate in the plugin's log."""
    out = []
    for allocated, given in re.findall(r"Allocate: kubelet allocated \[([^]]*)\], container gets \[([^]]*)\]", log):
        out.append((allocated.split(), given.split()))
    return out


@pytest.fixture
def honest(sb):
    t0 = time.monotonic()
    node = sb.real_node.start_device_plugin(leaky=False)
    TIMES.setdefault("device plugin advertised", time.monotonic() - t0)
    return node


@pytest.fixture
def leaky(sb):
    sb.real_node.start_device_plugin(leaky=True)
    yield
    sb.real_node.start_device_plugin(leaky=False)


def probe(
    sb, *flags: str, context: str | None = None, image: str | None = None, mechanism: str = "device-plugin"
) -> tuple[subprocess.CompletedProcess, dict, float]:
    """Run `check --probe` on the real node with the probe image it has (or ``image``); (the process, the
    secure_accelerator_access result, seconds)."""
    rn = sb.real_node
    argv = [sys.executable, "-m", "kubectl_aiconf", "check", "--probe", REQUIREMENT, "-o", "json"]
    argv += ["--probe-node", rn.name]
    argv += ["--probe-image", image or rn.probe_image, "--probe-mechanism", mechanism, *flags]
    t0 = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=sb.env(context), capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - t0
    assert proc.stdout, proc.stderr
    result = next(r for r in json.loads(proc.stdout)["requirements"] if r["id"] == REQUIREMENT)
    for line in proc.stderr.splitlines():
        if "created namespace " in line:
            namespace = line.split("created namespace ", 1)[1].split()[0]
            PROBE_NAMESPACES.append(namespace)
            CONTAINERS_AFTER_RUN[namespace] = len(containers_of(sb, namespace))
    return proc, result, seconds


def facts(result: dict) -> dict[str, str]:
    return {e["name"].split("/", 1)[-1]: e["fact"] for e in result["evidence"] if e["kind"] == "Probe"}


def probe_namespaces(sb) -> set[str]:
    items = api(sb.admin_client(), "GET", "/api/v1/namespaces", query={"labelSelector": LABEL})["items"]
    return {n["metadata"]["name"] for n in items}


def namespaces(sb) -> set[str]:
    return {n["metadata"]["name"] for n in api(sb.admin_client(), "GET", "/api/v1/namespaces")["items"]}


def containers_of(sb, namespace: str) -> list[str]:
    """Containers (pod sandboxes included) that containerd holds for pods of ``namespace``."""
    res = sb.real_node.ctr("containers", "list", "--quiet", f'labels."io.kubernetes.pod.namespace"=={namespace}')
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


SEEN = re.compile(r"AICONF device=(/dev/nvidia\d+)")


def seen_devices(fact: str, container: str = "probe") -> list[str]:
    """The device nodes a container printed, from the log excerpt in its evidence."""
    log = fact.split("(log: ", 1)[1]
    part = next(p for p in log.split("; ") if p.startswith(f"{container}:"))
    return SEEN.findall(part)


# ------------------------------------------------------------------------------------------ the device plugin


def test_device_plugin_registers_with_the_real_kubelet(sb, honest):
    node = honest
    assert node["status"]["allocatable"][GPU_RESOURCE] == str(DEVICE_PLUGIN_DEVICES)
    assert node["status"]["capacity"][GPU_RESOURCE] == str(DEVICE_PLUGIN_DEVICES)
    labels = node["metadata"]["labels"]
    assert labels["nvidia.com/gpu.present"] == "true"
    assert labels["nvidia.com/gpu.count"] == str(DEVICE_PLUGIN_DEVICES)
    # the kubelet's registration socket and the plugin's own, in the kubelet's fixed directory
    assert (DEVICE_PLUGINS / "kubelet.sock").is_socket()
    assert (DEVICE_PLUGINS / DEVICE_PLUGIN_SOCKET).is_socket()
    assert "ListAndWatch: 4 devices, all healthy" in _plugin_log(sb)
    # a real node: the plugin reads it as one, not as a kwok node whose devices are simulated
    assert "kwok.x-k8s.io/node" not in (node["metadata"].get("annotations") or {})
    assert labels.get("type") != "kwok"


# ------------------------------------------------------------------------------------------ admin


def test_probe_passes_with_the_honest_device_plugin(sb, honest):
    allocations_before = len(_allocations(_plugin_log(sb)))
    proc, result, seconds = probe(sb)
    TIMES["probe PASS"] = seconds
    assert result["status"] == "PASS", result["message"] + "\n" + proc.stderr
    f = facts(result)
    assert set(f) == {"dp-pair-a", "dp-pair-b", "dp-multi", "negative", "dp-pair"}, f
    assert all(fact.startswith("PASS: ") for fact in f.values()), f
    assert "simulated (kwok)" not in result["message"]  # the node is real, and the probe knows it
    for phrase in (
        "a pod without a request saw no accelerator, even with NVIDIA_VISIBLE_DEVICES=all",
        "each pod given one accelerator saw exactly one",
        "two concurrent pods on one node got different devices",
        "only the container given the device saw it",
    ):
        assert phrase in result["message"], result["message"]
    a, b = seen_devices(f["dp-pair-a"]), seen_devices(f["dp-pair-b"])
    multi = seen_devices(f["dp-multi"], "with-device")
    assert len(a) == len(b) == len(multi) == 1 and len({*a, *b, *multi}) == 3, (a, b, multi)
    assert seen_devices(f["dp-multi"], "without-device") == []
    # what the pods saw is what the kubelet allocated through the plugin: one Allocate per container that
    # asked (pair-a, pair-b, multi's with-device), each given exactly the device the kubelet chose
    allocations = _allocations(_plugin_log(sb))[allocations_before:]
    assert len(allocations) == 3, allocations
    assert all(allocated == given and len(given) == 1 for allocated, given in allocations), allocations
    allocated = {"/dev/nvidia" + given[0].rsplit("-", 1)[1] for _, given in allocations}
    assert allocated == {*a, *b, *multi}
    # the run cleaned up after itself in the API
    namespace = PROBE_NAMESPACES[-1]
    assert f"namespace {namespace} is gone" in proc.stderr
    assert namespace not in namespaces(sb) and probe_namespaces(sb) == set()


def test_probe_fails_with_the_leaking_device_plugin(sb, leaky):
    proc, result, seconds = probe(sb)
    TIMES["probe FAIL"] = seconds
    assert result["status"] == "FAIL", result["message"] + "\n" + proc.stderr
    assert proc.returncode == 1
    message = result["message"]
    all_devices = ", ".join(f"/dev/nvidia{i}" for i in range(DEVICE_PLUGIN_DEVICES))
    for pod, container in (("dp-pair-a", "probe"), ("dp-pair-b", "probe"), ("dp-multi", "with-device")):
        assert f"{pod}: container {container} was given 1 accelerator but sees 4 ({all_devices})" in message
    assert f"dp-pair: two pods that each got one accelerator on {sb.real_node.name} at the same time both see" in (
        message
    )
    f = facts(result)
    assert f["negative"].startswith("PASS")  # no request, no Allocate: nothing leaks there
    assert seen_devices(f["dp-multi"], "without-device") == []  # Allocate is per container
    # the kubelet allocated one device per container; the plugin gave each all of them
    allocations = _allocations(_plugin_log(sb))[-3:]
    assert all(len(allocated) == 1 and len(given) == DEVICE_PLUGIN_DEVICES for allocated, given in allocations)
    assert probe_namespaces(sb) == set()


def test_an_image_the_node_does_not_have_is_reported_at_once(sb, honest):
    """The real kubelet's ErrImagePull (containerd pulls nothing here) ends the run without waiting for the
    probe's timeout, and the namespace still goes."""
    image = "aiconf.local/sandbox/not-imported:1"
    proc, result, seconds = probe(sb, image=image)
    assert result["status"] == "UNKNOWN", result["message"]
    assert f"image pull failed for {image} (ErrImagePull" in result["message"], result["message"]
    assert seconds < 60, proc.stderr  # the probe's timeout is 90s
    assert probe_namespaces(sb) == set()


# ------------------------------------------------------------------------------------------ limited user


@pytest.mark.parametrize("plugin", ["honest", "leaky"])
def test_limited_user_gets_unknown_and_nothing_is_created(sb, request, plugin):
    """The sandbox's limited user may not read nodes: the probe cannot plan, so it says UNKNOWN whatever the
    device plugin does, creates nothing and runs nothing on the node."""
    request.getfixturevalue(plugin)
    before, allocations = namespaces(sb), len(_allocations(_plugin_log(sb)))
    proc, result, _ = probe(sb, context="limited")
    assert result["status"] == "UNKNOWN", result["message"]
    assert "missing permission to list nodes" in result["message"]
    assert "created namespace" not in proc.stderr
    assert namespaces(sb) == before
    assert len(_allocations(_plugin_log(sb))) == allocations


# ------------------------------------------------------------------------------------------ DRA
DRA_GPU_DRIVER = "gpu.test-driver.cdi.k8s.io"  # the test driver under a name with an accelerator word
DRA_DEVICES = 4
CDI_MARKER = re.compile(r"AICONF cdi-claim=(claim_\w+)")


@pytest.fixture
def dra(sb):
    """The DRA test driver on the real node (started once), and a DeviceClass that selects its devices."""
    rn = sb.real_node
    if f"dra-{DRA_GPU_DRIVER}" not in rn.procs:
        t0 = time.monotonic()
        rn.start_dra_driver(driver=DRA_GPU_DRIVER, devices=DRA_DEVICES)
        TIMES["DRA driver published"] = time.monotonic() - t0
        api(
            sb.admin_client(),
            "POST",
            "/apis/resource.k8s.io/v1/deviceclasses",
            body={
                "apiVersion": "resource.k8s.io/v1",
                "kind": "DeviceClass",
                "metadata": {"name": DRA_GPU_DRIVER},
                "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{DRA_GPU_DRIVER}"'}}]},
            },
        )
    rn.leak_cdi(False)
    return rn


@pytest.fixture
def dra_leaky(dra):
    dra.leak_cdi(True, driver=DRA_GPU_DRIVER)
    yield dra
    dra.leak_cdi(False)


def cdi_markers(fact: str, container: str = "probe") -> list[str]:
    """The claim injections a container printed, from the log excerpt in its evidence."""
    log = fact.split("(log: ", 1)[1]
    part = next(p for p in log.split("; ") if p.startswith(f"{container}:"))
    return CDI_MARKER.findall(part)


def driver_specs(sb) -> list[str]:
    return sorted(p.name for p in sb.real_node.cdi_dir.glob(f"{DRA_GPU_DRIVER}-*.json"))


def wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not after {timeout}s"
        time.sleep(0.5)


def test_dra_probe_passes_with_the_test_driver(sb, dra):
    proc, result, seconds = probe(sb, mechanism="dra")
    TIMES["DRA probe PASS"] = seconds
    assert result["status"] == "PASS", result["message"] + "\n" + proc.stderr
    message = result["message"]
    assert (
        f"probe passed (DRA claim on DeviceClass {DRA_GPU_DRIVER} (driver {DRA_GPU_DRIVER}) on {sb.real_node.name})"
        in (message)
    )
    assert f"(for {DRA_GPU_DRIVER}: the CDI injection of its own claim and no other's" in message
    f = facts(result)
    assert set(f) == {"dra-pair-a", "dra-pair-b", "dra-multi", "negative", "dra-pair"}, f
    assert all(fact.startswith("PASS: ") for fact in f.values()), f
    # each container given the claim saw exactly its own claim's injection (the claim's name is the pod's
    # name, the claim's, and five random characters), the one beside it and the negative pod none
    for pod, container in (("dra-pair-a", "probe"), ("dra-pair-b", "probe"), ("dra-multi", "with-device")):
        [marker] = cdi_markers(f[pod], container)
        assert re.fullmatch(f"claim_{pod.replace('-', '_')}_accelerator_[a-z0-9]{{5}}_accelerator", marker), marker
        assert "compared claim-level CDI injection" in f[pod]
        assert re.search(rf"claim allocated {DRA_GPU_DRIVER}/{sb.real_node.name}/device-0\d", f[pod]), f[pod]
    assert cdi_markers(f["dra-multi"], "without-device") == []
    assert cdi_markers(f["negative"], "no-request") == []
    assert "got different devices (by their claims' allocation)" in f["dra-pair"]
    # cleanup: the namespace (and with it the claims) is gone, and the driver unprepared every claim
    namespace = PROBE_NAMESPACES[-1]
    assert f"namespace {namespace} is gone" in proc.stderr
    assert probe_namespaces(sb) == set()
    wait_for(lambda: driver_specs(sb) == [], "the driver's CDI specs removed (NodeUnprepareResources)")


def test_dra_probe_fails_when_the_drivers_cdi_specs_leak(sb, dra_leaky):
    proc, result, seconds = probe(sb, mechanism="dra")
    TIMES["DRA probe FAIL"] = seconds
    assert result["status"] == "FAIL", result["message"] + "\n" + proc.stderr
    assert proc.returncode == 1
    assert dra_leaky.cdi_leak is not None and dra_leaky.cdi_leak.leaked, "the leak rewrote no CDI spec"
    assert "sees the CDI injection of claims it was not given: claim_dra_" in result["message"], result["message"]
    f = facts(result)
    # every claim's injection stays out of the containers that got none: CDI devices are per container
    assert cdi_markers(f["dra-multi"], "without-device") == []
    assert f["negative"].startswith("PASS")
    # a container saw a claim beside its own, through containerd's CDI injection of the rewritten spec
    leaked = [p for p in ("dra-pair-a", "dra-pair-b", "dra-multi") if f[p].startswith("FAIL")]
    assert leaked, f
    for pod in leaked:
        container = "with-device" if pod == "dra-multi" else "probe"
        assert len(cdi_markers(f[pod], container)) >= 2, f[pod]
    assert probe_namespaces(sb) == set()


def test_dra_limited_user_gets_unknown_and_nothing_is_created(sb, dra):
    before = namespaces(sb)
    proc, result, _ = probe(sb, context="limited", mechanism="dra")
    assert result["status"] == "UNKNOWN", result["message"]
    assert "missing permission to list nodes" in result["message"]
    assert "created namespace" not in proc.stderr
    assert namespaces(sb) == before
    assert driver_specs(sb) == []


# ------------------------------------------------------------------------------------------ containerd


def test_no_probe_container_is_left_in_containerd(sb):
    """Every probe run above deleted its namespace; the kubelet then removes the pods' containers (and pod
    sandboxes) from containerd in its garbage collection. Nothing of theirs may stay."""
    assert len(PROBE_NAMESPACES) >= 2, PROBE_NAMESPACES  # the PASS and the FAIL run
    # the namespace is gone when a run ends, but the kubelet has not collected its containers yet: this is
    # what the filter below finds (4 pods: 4 pod sandboxes and 6 containers), so finding nothing later means
    # they went
    assert any(n >= 10 for n in CONTAINERS_AFTER_RUN.values()), CONTAINERS_AFTER_RUN
    t0 = time.monotonic()
    deadline = t0 + CONTAINER_GC_SECONDS
    while True:
        left = {ns: containers_of(sb, ns) for ns in PROBE_NAMESPACES}
        left = {ns: ids for ns, ids in left.items() if ids}
        if not left:
            break
        assert time.monotonic() < deadline, f"containers still in containerd after {CONTAINER_GC_SECONDS}s: {left}"
        time.sleep(2)
    TIMES["containers removed (after the last run)"] = time.monotonic() - t0


# ------------------------------------------------------------------------------------------ make demo


def test_sandbox_command_refuses_a_leaky_plugin_without_a_real_node():
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sandbox", "run", "--leaky-device-plugin", "--", "true"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 125, proc.stderr
    assert "--leaky-device-plugin needs --real-node" in proc.stderr


def test_demo_runs_the_check_and_the_probe_on_a_real_node(sb):
    """What `make demo` runs (with the plugin from source instead of the zipapp): the read-only check of the
    ai-platform scenario, then the probe on a real node that `--real-node` started with its device plugin."""
    node = sb.real_node
    sb.stop()  # one real node per machine: the module's goes first (this test comes last)
    # its teardown took the device plugin, its socket and its device nodes with it
    assert leftovers(node.dir, node.record) == []
    assert not (DEVICE_PLUGINS / DEVICE_PLUGIN_SOCKET).exists()
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sandbox", "run", "--scenario", "ai-platform", "--real-node", "--no-build"]
        + ["--", sys.executable, "tests/sandbox/demo.py", sys.executable, "-m", "kubectl_aiconf"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    TIMES["demo"] = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "=== kubectl aiconf check: read-only, against the ai-platform scenario" in out
    assert "Summary: " in out  # the table of the read-only check
    assert "=== kubectl aiconf check --probe on real-node-0" in out
    assert (
        "secure_accelerator_access: PASS\n  probe passed (nvidia.com/gpu through the device plugin on real-node-0)"
        in out
    )
    # then every requirement in one line: the scenario's controllers are objects only, which the probes show
    assert "Every requirement after the probes (id, status, reason, message):" in out
    no_status = r"\n  robust_controller +FAIL +probe-failed +probe failed: the KubeRay controller wrote no status"
    assert re.search(no_status, out), out[-3000:]
    assert re.search(r"\n  secure_accelerator_access +PASS +probe-passed ", out)
    assert "starting the test device plugin (4 nvidia.com/gpu, leaky=False)" in proc.stderr
    # every probe of the default set runs; each says when it is done
    done = re.search(r"probe \[ *[\d.]+s\] secure_accelerator_access: done in [\d.]+s: PASS", proc.stderr)
    assert done, proc.stderr[-3000:]
    assert not (DEVICE_PLUGINS / DEVICE_PLUGIN_SOCKET).exists()
