"""gVisor on the sandbox's real node: runsc, registered with containerd as runtime handler ``runsc``, and the
RuntimeClass ``gvisor`` that selects it (what checklist item workload_sandboxing asks a platform to offer).

What is real here: runsc and its containerd shim (built from the gvisor.dev/gvisor module by build.sh, with
one patch: see build_gvisor), containerd's CRI choosing the handler from the RuntimeClass, the scheduler
placing the pod by the RuntimeClass's scheduling, and the pod's processes running on gVisor's kernel
(platform systrap) instead of the machine's. The same commands under runc are the control: they see the
machine's kernel.

Needs root and the real node's binaries (tests/sandbox/build.sh real-node); skipped locally without them,
FAIL under CI=true. One module-wide sandbox; the teardown tests stop it, so they come last.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.test_realnode import _api, _wait_phase, started_sandbox
from tests.sandbox import Sandbox
from tests.sandbox.realnode import LABELS, POD_SUBNET, RUNSC_HANDLER, RUNTIME_CLASS, SHIM_SOCKETS, leftovers

REPO = Path(__file__).resolve().parents[2]
TIMES: dict[str, float] = {}
# the first line of gVisor's dmesg (its kernel's boot messages are its own: "Starting gVisor...", then jokes)
GVISOR_DMESG = "Starting gVisor..."


@pytest.fixture(scope="module")
def sb(sandbox_binaries):
    box = started_sandbox()
    yield box
    box.stop()
    if TIMES:
        print("\nreal node, gVisor: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMES.items()), file=sys.stderr)


@pytest.fixture
def ns(sb):
    name = f"rt-{uuid.uuid4().hex[:6]}"
    sb.create_namespace(name)
    return name


def _pod(sb: Sandbox, name: str, command: list[str], runtime_class: str | None) -> dict:
    """A pod that does not name the node: the RuntimeClass's scheduling must send it there (runc pods get
    the node's selector and toleration themselves)."""
    spec: dict = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "main", "image": sb.real_node.probe_image, "command": command}],
    }
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    else:
        spec["nodeSelector"] = dict(LABELS)
        spec["tolerations"] = [sb.real_node.toleration()]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _logs(sb: Sandbox, ns: str, name: str) -> str:
    out = subprocess.run(
        [str(sb.kubectl), "logs", "-n", ns, name], env=sb.env(), capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def _runtime_of(sb: Sandbox, pod: dict) -> str:
    """containerd's runtime (shim) of the pod's container, from containerd itself."""
    cid = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")
    listed = sb.real_node.ctr("containers", "list")
    assert listed.returncode == 0, listed.stderr
    for line in listed.stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid:
            return fields[-1]
    raise AssertionError(f"container {cid} not in containerd:\n{listed.stdout}")


def _run_to_end(sb: Sandbox, ns: str, name: str, command: list[str], runtime_class: str | None) -> tuple[dict, str]:
    t0 = time.monotonic()
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, name, command, runtime_class))
    pod = _wait_phase(sb, ns, name, {"Succeeded", "Failed"}, timeout=90)
    TIMES[f"{runtime_class or 'runc'} pod finished"] = time.monotonic() - t0
    return pod, _logs(sb, ns, name)


# ---------------------------------------------------------------------------------------------------- tests


def test_the_runtime_class_selects_runsc_on_the_real_node(sb):
    rc = _api(sb, "GET", f"/apis/node.k8s.io/v1/runtimeclasses/{RUNTIME_CLASS}")
    assert rc["handler"] == RUNSC_HANDLER
    assert rc["scheduling"]["nodeSelector"] == LABELS
    assert rc["scheduling"]["tolerations"] == [sb.real_node.toleration()]
    config = (sb.real_node.dir / "containerd.toml").read_text()
    assert f'[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.{RUNSC_HANDLER}]' in config
    assert 'runtime_type = "io.containerd.runsc.v1"' in config


def test_a_pod_runs_under_gvisor(sb, ns):
    """dmesg and uname inside the pod come from gVisor's kernel, not the machine's; containerd ran it with
    the runsc shim; the scheduler placed it by the RuntimeClass alone."""
    command = ["sh", "-c", "dmesg; echo kernel=$(uname -r)"]
    pod, log = _run_to_end(sb, ns, "gvisor", command, RUNTIME_CLASS)
    assert pod["status"]["phase"] == "Succeeded", (pod["status"], log)
    assert pod["spec"]["nodeName"] == sb.real_node.name
    assert log.splitlines()[0].endswith(GVISOR_DMESG), log
    kernel = log.rsplit("kernel=", 1)[1].strip()
    assert kernel and kernel != os.uname().release, log
    assert _runtime_of(sb, pod) == "io.containerd.runsc.v1"


def test_the_same_commands_under_runc_see_the_machines_kernel(sb, ns):
    """The control for the test above: without the RuntimeClass the container shares the machine's kernel."""
    command = ["sh", "-c", "dmesg 2>&1 | head -1; echo kernel=$(uname -r)"]
    pod, log = _run_to_end(sb, ns, "runc", command, None)
    assert pod["status"]["phase"] == "Succeeded", (pod["status"], log)
    assert GVISOR_DMESG not in log
    assert log.rsplit("kernel=", 1)[1].strip() == os.uname().release
    assert _runtime_of(sb, pod) == "io.containerd.runc.v2"


def test_exec_and_the_pod_network_under_gvisor(sb, ns):
    """A running gVisor pod: kubectl exec reaches its container through the runsc shim, and it has an
    address on the node's bridge network (gVisor's own network stack)."""
    t0 = time.monotonic()
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "sleeper", ["sleep", "3600"], RUNTIME_CLASS))
    pod = _wait_phase(sb, ns, "sleeper", {"Running"}, timeout=90)
    TIMES["gvisor pod Running"] = time.monotonic() - t0
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(POD_SUBNET)
    out = subprocess.run(
        [str(sb.kubectl), "exec", "-n", ns, "sleeper", "--", "sh", "-c", "dmesg | head -1; echo $((6*7))"],
        env=sb.env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    first, answer = out.stdout.splitlines()
    assert first.endswith(GVISOR_DMESG) and answer == "42", out.stdout


def test_teardown_with_gvisor_pods_leaves_nothing(sb, ns):
    """runsc adds processes of its own (sandbox, gofer, shim) and the shim's socket outside the node's dir
    (SHIM_SOCKETS): stopping the sandbox with a gVisor pod running leaves none of it behind."""
    node = sb.real_node
    _api(sb, "POST", f"/api/v1/namespaces/{ns}/pods", _pod(sb, "running", ["sleep", "3600"], RUNTIME_CLASS))
    _wait_phase(sb, ns, "running", {"Running"}, timeout=90)
    runsc = [line for line in leftovers(node.dir, node.record) if line.startswith("process") and "runsc" in line]
    assert runsc, "a running gVisor pod must show up as runsc processes in leftovers()"
    created = str(SHIM_SOCKETS.parent) in node.record["created"]  # /run/containerd was not there before
    t0 = time.monotonic()
    sb.stop()
    TIMES["teardown"] = time.monotonic() - t0
    assert leftovers(node.dir, node.record) == []
    if created:
        assert not SHIM_SOCKETS.parent.exists()


def test_a_killed_owner_with_gvisor_pods_is_cleaned_up_by_the_next_real_node(sb):
    """SIGKILL leaves the runsc shim, gofer and sandbox running and the shim's socket in SHIM_SOCKETS; the
    next real node removes all of it before it starts."""
    sb.stop()  # one real node per machine (already stopped by the teardown test)
    script = (
        "import time\n"
        "from tests.sandbox import Sandbox\n"
        "from tests.sandbox.kube import request\n"
        "from tests.integration.test_realnode import _wait_phase\n"
        "from tests.integration.test_realnode_runtimes import RUNTIME_CLASS, _pod\n"
        "sb = Sandbox(build=False, real_node=True, verbose=False).start()\n"
        "sb.create_namespace('crash')\n"
        "pod = _pod(sb, 's', ['sleep', '3600'], RUNTIME_CLASS)\n"
        "request(sb.admin_client(), 'POST', '/api/v1/namespaces/crash/pods', body=pod)\n"
        "_wait_phase(sb, 'crash', 's', {'Running'}, timeout=90)\n"
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
    assert any(line.startswith("process") and "runsc-sandbox" in line for line in stale), stale
    assert any(p.is_socket() for p in SHIM_SOCKETS.iterdir()), "the killed shim's socket"
    with Sandbox(build=False, real_node=True, verbose=False) as again:
        assert not node_dir.exists()
        assert not any(str(node_dir) in line for line in leftovers(again.real_node.dir, again.real_node.record))
        created = str(SHIM_SOCKETS.parent) in again.real_node.record["created"]
    assert leftovers(node_dir, {}) == []
    if created:
        assert not SHIM_SOCKETS.parent.exists()
