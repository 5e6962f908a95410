"""The sandbox's real node (tests/sandbox/realnode.py): a kubelet, containerd and runc on this machine,
joined to the sandbox's API server next to the kwok nodes.

What is real here: the kubelet (registration, pod sync, logs served to the API server), containerd's CRI,
runc, the CNI bridge, overlayfs, cgroups. The images are the project's own (tests/sandbox/images/), imported,
never pulled. One module-wide sandbox serves the tests; the teardown tests stop it, so they come last.

Needs root and the real node's binaries (`tests/sandbox/build.sh real-node`, built here when missing unless
AICONF_SANDBOX_BUILD=0); without them the tests are skipped locally and FAIL under CI=true.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import in_ci
from tests.sandbox import Sandbox, binaries, load_objects, scenario_names
from tests.sandbox.images import build_images
from tests.sandbox.kube import request
from tests.sandbox.realnode import LOCK, NODE_IP, POD_SUBNET, RECORD, TAINT, RealNodeError, leftovers

REPO = Path(__file__).resolve().parents[2]
TIMES: dict[str, float] = {}


def unavailable(reason: str):
    """Fail under CI, skip elsewhere."""
    if in_ci():
        pytest.fail(f"real node unavailable under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _prerequisites() -> None:
    if os.geteuid() != 0:
        unavailable("the real node needs root (kubelet, containerd, mounts, cgroups)")
    if shutil.which("ip") is None:
        unavailable("the real node needs iproute2's `ip` for its bridge")
    if not Path("/proc/filesystems").read_text().count("overlay"):
        unavailable("the real node needs overlayfs")
    try:
        binaries.ensure(build=os.environ.get("AICONF_SANDBOX_BUILD", "1") != "0", real_node=True)
    except binaries.BinariesMissing as exc:
        unavailable(str(exc))


def started_sandbox(then=None) -> Sandbox:
    """A started sandbox with a real node, after `then(sandbox)` (a driver to start, say); fails the test
    (never skips it) when it cannot start, since the prerequisites are there."""
    _prerequisites()
    box = Sandbox(build=False, real_node=True, timeout=180)
    try:
        box.start()
        if then:
            then(box)
    except Exception as exc:  # noqa: BLE001
        box.stop()
        pytest.fail(f"sandbox with a real node did not start: {exc}", pytrace=False)
    return box


@pytest.fixture(scope="module")
def sb(sandbox_binaries):
    box = started_sandbox()
    TIMES["node Ready"] = box.real_node.ready_seconds
    yield box
    box.stop()
    if TIMES:
        print("\nreal node: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMES.items()), file=sys.stderr)


def _api(sb: Sandbox, method: str, path: str, body=None) -> dict:
    return request(sb.admin_client(), method, path, body=body)


def _pod(sb: Sandbox, name: str, command: list[str], image: str | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeName": sb.real_node.name,
            "tolerations": [sb.real_node.toleration()],
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": image or sb.real_node.probe_image, "command": command}],
        },
    }


def _wait_phase(sb: Sandbox, ns: str, name: str, phases: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        pod = _api(sb, "GET", f"/api/v1/namespaces/{ns}/pods/{name}")
        if (pod.get("status") or {}).get("phase") in phases:
            return pod
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {ns}/{name} not in {phases} after {timeout}s: {pod.get('status')}")
        time.sleep(0.1)


@pytest.fixture
def ns(sb):
    name = f"rn-{uuid.uuid4().hex[:6]}"
    sb.create_namespace(name)
    return name


# ---------------------------------------------------------------------------------------------------- no node needed


def test_every_scenario_node_is_kwoks():
    """kwok manages only nodes labelled type=kwok (so that it leaves a real node alone): a scenario node
    without the label would never become Ready."""
    for name in scenario_names():
        for obj in load_objects(name):
            if obj["kind"] == "Node":
                assert obj["metadata"]["labels"].get("type") == "kwok", (name, obj["metadata"]["name"])
    assert Sandbox.node_object("n")["metadata"]["labels"]["type"] == "kwok"


def test_image_archives_are_oci_layouts_named_for_containerd(tmp_path):
    """One layer, digests that match the blobs, the name containerd's import reads, byte-identical rebuilds."""
    fake = tmp_path / "pause-binary"
    fake.write_bytes(b"\x7fELF not really")
    archives = []
    for i in range(2):
        path = tmp_path / f"pause{i}.tar"
        build_images.write_archive(path, "aiconf.local/sandbox/pause:9", build_images.pause_layer(fake), {})
        archives.append(path.read_bytes())
    assert archives[0] == archives[1]
    with tarfile.open(tmp_path / "pause0.tar") as tar:
        blobs = {
            m.name.rsplit("/", 1)[1]: tar.extractfile(m).read()
            for m in tar
            if m.name.startswith("blobs/sha256/") and m.isfile()
        }
        index = json.loads(tar.extractfile("index.json").read())
        assert json.loads(tar.extractfile("oci-layout").read()) == {"imageLayoutVersion": "1.0.0"}
    assert all(hashlib.sha256(data).hexdigest() == name for name, data in blobs.items())
    [desc] = index["manifests"]
    assert desc["annotations"]["io.containerd.image.name"] == "aiconf.local/sandbox/pause:9"
    manifest = json.loads(blobs[desc["digest"].split(":")[1]])
    [layer] = manifest["layers"]
    with tarfile.open(fileobj=io.BytesIO(blobs[layer["digest"].split(":")[1]])) as tar:
        [member] = tar.getmembers()
        assert (member.name, member.mode, member.mtime, member.uid) == ("pause", 0o755, 0, 0)


# ---------------------------------------------------------------------------------------------------- node


def test_node_is_real_and_ready(sb):
    node = _api(sb, "GET", f"/api/v1/nodes/{sb.real_node.name}")
    conds = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conds["Ready"] == "True", node["status"]["conditions"]
    info = node["status"]["nodeInfo"]
    # written by the kubelet and containerd, not by kwok's stages (which would say kwok-... / kwok fake node)
    assert info["kubeletVersion"] == "v" + binaries.versions()["KUBERNETES_VERSION"]
    assert info["containerRuntimeVersion"] == "containerd://" + binaries.versions()["CONTAINERD_VERSION"]
    assert "kwok" not in info["osImage"]
    assert {"type": "InternalIP", "address": NODE_IP} in node["status"]["addresses"]
    assert TAINT in node["spec"]["taints"]  # only pods that ask for it land here
    assert "kwok.x-k8s.io/node" not in (node["metadata"].get("annotations") or {})


def test_kwok_still_manages_its_own_nodes(sb):
    """kwok is restricted to type=kwok nodes: its nodes still become Ready and run their pods."""
    [name] = sb.create_nodes(1, prefix="kwok-beside-real")
    sb.wait_nodes_ready([name], timeout=60)
    node = _api(sb, "GET", f"/api/v1/nodes/{name}")
    assert node["status"]["nodeInfo"]["kubeletVersion"].startswith("kwok-")


# ---------------------------------------------------------------------------------------------------- pods


def test_pod_runs_and_its_log_is_read_back(sb, ns):
    t0 = time.monotonic()
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "echo", ["echo", "hello from the real node"]))
    pod = _wait_phase(sb, ns, "echo", {"Succeeded", "Failed"})
    TIMES["echo pod Succeeded"] = time.monotonic() - t0
    assert pod["status"]["phase"] == "Succeeded", pod["status"]
    [status] = pod["status"]["containerStatuses"]
    assert status["state"]["terminated"]["exitCode"] == 0
    assert status["containerID"].startswith("containerd://")
    logs = subprocess.run(
        [str(sb.kubectl), "logs", "-n", ns, "echo"], env=sb.env(), capture_output=True, text=True, timeout=30
    )
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == "hello from the real node\n"


def test_exec_reaches_a_running_container_on_the_pod_network(sb, ns):
    """kubectl exec goes API server -> kubelet -> containerd's streaming server; the pod has an address on
    the node's bridge network."""
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "sleeper", ["sleep", "3600"]))
    pod = _wait_phase(sb, ns, "sleeper", {"Running"})
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(POD_SUBNET)
    out = subprocess.run(
        [str(sb.kubectl), "exec", "-n", ns, "sleeper", "--", "sh", "-c", "echo $((6*7)) $(id -u)"],
        env=sb.env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "42 0\n"
    _api(sb, "DELETE", f"/api/v1/namespaces/{ns}/pods/sleeper")


def test_a_failing_command_fails_the_pod(sb, ns):
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "fail", ["sh", "-c", "exit 3"]))
    pod = _wait_phase(sb, ns, "fail", {"Succeeded", "Failed"})
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_an_image_that_was_not_imported_is_never_pulled(sb, ns):
    """containerd's proxy points at a closed port: a pull fails at once, nothing reaches a registry."""
    _api(
        sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "pull", ["true"], image="docker.io/library/busybox:1.36")
    )
    deadline = time.monotonic() + 60
    while True:
        pod = _api(sb, "GET", f"/api/v1/namespaces/{ns}/pods/pull")
        waiting = [(s.get("state") or {}).get("waiting") or {} for s in pod["status"].get("containerStatuses") or []]
        if any(w.get("reason") in ("ErrImagePull", "ImagePullBackOff") for w in waiting):
            break
        assert time.monotonic() < deadline, pod["status"]
        time.sleep(0.2)
    assert "127.0.0.1:9" in waiting[0].get("message", ""), waiting
    _api(sb, "DELETE", f"/api/v1/namespaces/{ns}/pods/pull")


def test_a_second_real_node_on_the_machine_is_refused(sb):
    other = Sandbox(build=False, real_node=True, verbose=False)
    with pytest.raises(RealNodeError, match="another real node runs on this machine"):
        other.start()
    assert other.dir is not None and not other.dir.exists()  # it tore itself down
    assert sb.real_node.record and RECORD.exists()  # and left the running node alone


# ---------------------------------------------------------------------------------------------------- teardown


def test_teardown_leaves_nothing(sb, ns):
    """A running container, an exited one and a pod network are there when the sandbox stops; afterwards
    no process, mount, cgroup, container, network link, log link, file or sysctl change is left."""
    node = sb.real_node
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "done", ["echo", "done"]))
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "sleeper", ["sleep", "3600"]))
    _wait_phase(sb, ns, "done", {"Succeeded"})
    _wait_phase(sb, ns, "sleeper", {"Running"})
    containers = node.ctr("containers", "list", "--quiet").stdout.split()
    assert len(containers) >= 4, containers  # two pod sandboxes and their containers, at least
    assert leftovers(node.dir, node.record), "a running node must show up in leftovers()"
    pids = sb.pids()
    t0 = time.monotonic()
    sb.stop()
    TIMES["teardown"] = time.monotonic() - t0
    assert leftovers(node.dir, node.record) == []
    assert not any(_alive(p) for p in pids)
    assert not sb.dir.exists()


def test_a_killed_owner_is_cleaned_up_by_the_next_real_node(sb):
    """SIGKILL leaves shims and containers running (they are not children of the Python process); the next
    real node finds RECORD, removes all of it, and starts."""
    sb.stop()  # one real node per machine: the module's must be gone (it is, after test_teardown_leaves_nothing)
    assert not RECORD.exists()
    script = (
        "import sys, time\n"
        "from tests.sandbox import Sandbox\n"
        "from tests.integration.test_realnode import _pod, _wait_phase\n"
        "sb = Sandbox(build=False, real_node=True, verbose=False).start()\n"
        "sb.create_namespace('crash')\n"
        "from tests.sandbox.kube import request\n"
        "request(sb.admin_client(), 'POST', '/api/v1/namespaces/crash/pods', body=_pod(sb, 's', ['sleep', '3600']))\n"
        "_wait_phase(sb, 'crash', 's', {'Running'})\n"
        "print(sb.real_node.dir, flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        node_dir = Path(proc.stdout.readline().strip())
        assert node_dir.name == "node", "the child did not start its real node"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    stale = leftovers(node_dir, {})
    assert any(line.startswith("process") for line in stale), stale  # the shim and `sleep` outlived it
    assert RECORD.exists()
    with Sandbox(build=False, real_node=True, verbose=False) as again:
        assert again.real_node.ready_seconds is not None
        assert not node_dir.exists()
        assert not any(str(node_dir) in line for line in leftovers(again.real_node.dir, again.real_node.record))
    assert leftovers(node_dir, {}) == []
    assert not RECORD.exists()
    assert LOCK.exists()  # the lock file stays; only its flock is released


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
