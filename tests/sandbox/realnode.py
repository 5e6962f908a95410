"""One real node next to the sandbox's kwok nodes: containerd + runc + a CNI bridge + the kubelet, all on
this machine, started by ``Sandbox(real_node=True)``.

    with Sandbox(real_node=True) as sb:
        sb.real_node.name, sb.real_node.probe_image, sb.real_node.ready_seconds

What it takes on the machines this project runs on (root, cgroup v1, no CAP_SYS_RESOURCE, no registry):

* containerd runs with its own root, state, sockets, shim sockets and runc root under ``<sandbox dir>/node``,
  with the CRI's ``restrict_oom_score_adj`` (raising a score needs CAP_SYS_RESOURCE), the cgroupfs driver,
  NRI and the /opt plugin off, and proxy variables that point at a closed port: an image that is not
  already imported fails at once instead of being pulled. The pause and probe images are OCI archives that
  ``build.sh real-node`` assembles (images/build_images.py) and ``ctr images import`` loads.
* The kubelet (the control plane's version) runs with ``failCgroupV1: false``, the cgroupfs driver, its pods
  under the cgroup ``/aiconf-realnode`` (never the machine's ``kubepods``), its root dir, certificates and pod
  logs under the sandbox dir, serving on NODE_IP to the API server's client certificate only. It registers
  with the taint ``sandbox.aiconf.dev/real-node=true:NoSchedule``, so only pods that ask for it land here.
* Runtimes: runc (the default) and gVisor, containerd's handler ``runsc`` (shim and runsc by path, their
  state under the node's dir), selected by the RuntimeClass ``gvisor`` that the node creates. CDI is on,
  its specs in ``cdi_dir``: ``start_dra_driver()`` runs Kubernetes' DRA test driver, which writes them.
* Pod network: one bridge (``aiconf-cni0``) that the node creates with the node's address ``NODE_IP`` (the
  kubelet refuses a loopback node IP), host-local IPAM in ``POD_SUBNET``, no gateway, no NAT, no iptables:
  pods reach each other and the node's address, and no other host network setting changes.

Some of what the kubelet and containerd write is outside the sandbox dir whatever they are told:
``/var/lib/kubelet/device-plugins/`` (fixed in the kubelet), ``/var/log/containers`` (symlinks),
``/var/lib/cni`` (libcni's result cache), the bridge, cgroups, and six kernel sysctls the kubelet sets
(``vm.overcommit_memory``, ``kernel.panic``, ...). So only one real node runs on a machine at a time (a lock
file, ``LOCK``), what was there before is recorded in ``RECORD``, and teardown puts all of it back: it
stops the kubelet, deletes every container and task through containerd, stops containerd, kills whatever
is still left in the node's cgroups or names the node's sockets, unmounts everything under the node's dir,
deletes the bridge, the cgroups, the symlinks and the files it created, and restores the sysctls. When the
owning process was SIGKILLed, the next real node finds ``RECORD`` and does the same for it before it starts.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import yaml

from . import binaries
from .kube import KubeError, request
from .procs import Proc, free_port, stop_all

LOCK = Path("/run/kubectl-aiconf-realnode.lock")
RECORD = Path("/run/kubectl-aiconf-realnode.json")
NODE_NAME = "real-node-0"
TAINT = {"key": "sandbox.aiconf.dev/real-node", "value": "true", "effect": "NoSchedule"}
LABELS = {"sandbox.aiconf.dev/real-node": "true"}
CGROUP_ROOT = "aiconf-realnode"  # top-level cgroup in every hierarchy; the kubelet's cgroupRoot
BRIDGE = "aiconf-cni0"
POD_SUBNET = "10.250.0.0/24"
# the node's InternalIP, on the bridge: the kubelet refuses a loopback node IP, and an address on an interface
# the node owns keeps the machine's own addresses out of it (the kubelet serves here, to the API server only)
NODE_IP = "10.250.0.1"
CNI_NETWORK = "aiconf-realnode"
RUNSC_HANDLER = "runsc"  # containerd's runtime handler for gVisor
RUNTIME_CLASS = "gvisor"  # the RuntimeClass that selects it; its scheduling sends pods to this node
DRA_DRIVER = "test-driver.cdi.k8s.io"  # the DRA test driver's default name (start_dra_driver)
DEVICE_PLUGINS = Path("/var/lib/kubelet/device-plugins")
# the test device plugin (start_device_plugin): its socket in DEVICE_PLUGINS, what it advertises
DEVICE_PLUGIN_SOCKET = "aiconf-gpu.sock"
GPU_RESOURCE = "nvidia.com/gpu"
DEVICE_PLUGIN_DEVICES = 4
SIMULATED_PRODUCT = "AICONF-SIMULATED-GPU"  # nvidia.com/gpu.product of the real node: its devices are fake
CONTAINER_LOGS = Path("/var/log/containers")
CNI_CACHE = Path("/var/lib/cni")
# the kubelet sets these when protectKernelDefaults is false (and refuses to start when it is true and they
# differ): recorded before it starts, restored on teardown
SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
# machine-wide places that one of the two daemons creates when missing: removed again if they were missing
# gVisor's shim (built against containerd 2.1, whose shim library fixes the directory) puts its sockets in
# /run/containerd/s whatever the shim manager's socket_dir says; the shim removes each when it exits
SHIM_SOCKETS = Path("/run/containerd/s")
CREATED_PATHS = (Path("/var/lib/kubelet"), DEVICE_PLUGINS, CONTAINER_LOGS, CNI_CACHE, SHIM_SOCKETS.parent)
MAX_SOCKET_PATH = 107  # sun_path


class RealNodeError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------- machine state


def _cgroup_mounts() -> list[Path]:
    """Mount points of every cgroup hierarchy (v1 controllers, a v2 ``unified`` one, or a pure v2 root)."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        if right.split(" ")[0] in ("cgroup", "cgroup2"):
            out.append(Path(_unescape(left.split(" ")[4])))
    return out


def _unescape(path: str) -> str:
    return path.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def _mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` (deepest last, as mounted)."""
    prefix = str(root).rstrip("/") + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape(line.split(" ")[4])
        if point == str(root) or point.startswith(prefix):
            points.append(point)
    return points


def _unmount_all(root: Path) -> list[str]:
    """Detach every mount under ``root``, deepest first (a few rounds: stacked mounts); returns those that stay."""
    libc = ctypes.CDLL(None, use_errno=True)
    mnt_detach = 2
    for _ in range(5):
        points = _mounts_under(root)
        if not points:
            break
        for point in reversed(points):
            libc.umount2(point.encode(), mnt_detach)
    return _mounts_under(root)


def _pids_in_cgroups() -> set[int]:
    pids = set()
    for mount in _cgroup_mounts():
        base = mount / CGROUP_ROOT
        if not base.is_dir():
            continue
        for procs in base.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except (OSError, ValueError):
                pass
    return pids


def _pids_naming(needle: str) -> set[int]:
    """Processes whose command line contains ``needle`` (the node's dir: shims name their sockets there)."""
    out = set()
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                out.add(int(entry.name))
        except OSError:
            pass
    return out


def _kill_all(pids_fn, timeout: float = 10.0) -> set[int]:
    """SIGKILL what ``pids_fn`` returns until it returns nothing; returns what survived ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        pids = pids_fn()
        if not pids or time.monotonic() > deadline:
            return pids
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def _remove_cgroups() -> list[str]:
    """rmdir the node's cgroup tree in every hierarchy, leaves first; returns the directories that stayed."""
    left = []
    for mount in _cgroup_mounts():
        base = mount / CGROUP_ROOT
        if not base.is_dir():
            continue
        dirs = sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        for d in [*dirs, base]:
            for _ in range(50):  # a cgroup whose last task just died can stay busy for a moment
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                left.append(str(d))
    return left


def _make_cgroup_root() -> None:
    """Create ``/CGROUP_ROOT`` in every hierarchy (the kubelet insists that its cgroupRoot exists); a v1
    cpuset child starts with no CPUs and no memory nodes, so it gets its parent's."""
    for mount in _cgroup_mounts():
        base = mount / CGROUP_ROOT
        base.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (base / name).exists() and not (base / name).read_text().strip():
                (base / name).write_text((mount / name).read_text())


def _read_sysctls() -> dict[str, str]:
    out = {}
    for name in SYSCTLS:
        try:
            out[name] = (Path("/proc/sys") / name).read_text().strip()
        except OSError:
            pass
    return out


def _write_sysctls(values: dict[str, str]) -> list[str]:
    failed = []
    for name, value in values.items():
        path = Path("/proc/sys") / name
        try:
            if path.read_text().strip() != value:
                path.write_text(value)
        except OSError as exc:
            failed.append(f"{name}: {exc}")
    return failed


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _delete_link(name: str) -> None:
    if _link_exists(name):
        subprocess.run(["ip", "link", "delete", name], capture_output=True)


def clean_machine(node_dir: Path | None, record: dict) -> list[str]:
    """Remove everything a real node whose state lived in ``node_dir`` (None: unknown) left on the machine;
    ``record`` is what was there before it started (RealNode.record). Returns what could not be removed
    (empty when all is clean). Safe to call twice, and after a crash."""
    problems = []
    survivors = _kill_all(lambda: _pids_in_cgroups() | (_pids_naming(str(node_dir)) if node_dir else set()))
    if survivors:
        problems.append(f"processes still alive: {sorted(survivors)}")
    if node_dir:
        problems += [f"still mounted: {p}" for p in _unmount_all(node_dir)]
    _delete_link(BRIDGE)
    if _link_exists(BRIDGE):
        problems.append(f"bridge {BRIDGE} still exists")
    problems += [f"cgroup still exists: {d}" for d in _remove_cgroups()]
    if node_dir and CONTAINER_LOGS.is_dir():
        for link in CONTAINER_LOGS.iterdir():
            try:
                if link.is_symlink() and os.readlink(link).startswith(str(node_dir) + "/"):
                    link.unlink()
            except OSError as exc:
                problems.append(f"{link}: {exc}")
    for entry in _cni_cache_entries(node_dir) if node_dir else []:
        entry.unlink(missing_ok=True)
    for name in ("kubelet.sock", "kubelet_internal_checkpoint", DEVICE_PLUGIN_SOCKET):
        if name not in record.get("device_plugins", []):
            (DEVICE_PLUGINS / name).unlink(missing_ok=True)
    # a killed gVisor shim leaves its socket; when the node created /run/containerd, every socket there is its own
    if str(SHIM_SOCKETS.parent) in record.get("created", []) and SHIM_SOCKETS.is_dir():
        for sock in SHIM_SOCKETS.iterdir():
            if sock.is_socket():
                sock.unlink(missing_ok=True)
    # the machine-wide directories the daemons created, innermost first, if they hold nothing of anyone else
    for path in sorted(map(Path, record.get("created", [])), key=lambda p: len(p.parts), reverse=True):
        _remove_empty_tree(path)
    problems += _write_sysctls(record.get("sysctls", {}))
    if node_dir and node_dir.exists():
        shutil.rmtree(node_dir, ignore_errors=True)
        if node_dir.exists():
            problems.append(f"{node_dir} could not be removed")
    return problems


def leftovers(node_dir: Path, record: dict) -> list[str]:
    """What a real node whose state lived in ``node_dir`` left on the machine, one line each; [] when
    nothing is left (``record``: RealNode.record, what was there before it started)."""
    out = []
    for pid in sorted(_pids_in_cgroups() | _pids_naming(str(node_dir))):
        try:
            cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out.append(f"process {pid}: {cmd.strip()[:200]}")
    out += [f"mount: {line}" for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(node_dir) in line]
    out += [f"cgroup: {m / CGROUP_ROOT}" for m in _cgroup_mounts() if (m / CGROUP_ROOT).exists()]
    if _link_exists(BRIDGE):
        out.append(f"network link: {BRIDGE}")
    if CONTAINER_LOGS.is_dir():
        out += [f"log link: {p}" for p in CONTAINER_LOGS.iterdir() if str(node_dir) in os.readlink(p)]
    out += [f"CNI cache: {p}" for p in _cni_cache_entries(node_dir)]
    out += [f"created and not removed: {p}" for p in record.get("created", []) if Path(p).exists()]
    if (DEVICE_PLUGINS / "kubelet.sock").exists() and "kubelet.sock" not in record.get("device_plugins", []):
        out.append(f"socket: {DEVICE_PLUGINS / 'kubelet.sock'}")
    if (DEVICE_PLUGINS / DEVICE_PLUGIN_SOCKET).exists() and DEVICE_PLUGIN_SOCKET not in record.get(
        "device_plugins", []
    ):
        out.append(f"socket: {DEVICE_PLUGINS / DEVICE_PLUGIN_SOCKET}")
    now = _read_sysctls()
    out += [f"sysctl {k}: {now.get(k)} (was {v})" for k, v in record.get("sysctls", {}).items() if now.get(k) != v]
    if node_dir.exists():
        out.append(f"directory: {node_dir}")
    if RECORD.exists():
        out.append(f"record: {RECORD}")
    return out


def _cni_cache_entries(node_dir: Path) -> list[Path]:
    """libcni's cached results of the node's pods (our bridge network and containerd's loopback one): each
    names the pod's network namespace, which lives under the node's dir."""
    results = CNI_CACHE / "results"
    if not results.is_dir():
        return []
    out = []
    for entry in results.iterdir():
        try:
            if str(node_dir) + "/" in entry.read_text(errors="replace"):
                out.append(entry)
        except OSError:
            pass
    return out


def _remove_empty_tree(path: Path) -> None:
    """Remove ``path`` if it holds only empty directories."""
    if not path.is_dir() or path.is_symlink():
        return
    for d in sorted((p for p in path.rglob("*")), key=lambda p: len(p.parts), reverse=True):
        if not d.is_dir() or d.is_symlink():
            return
        try:
            d.rmdir()
        except OSError:
            return
    try:
        path.rmdir()
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------- the node


class RealNode:
    """containerd + kubelet of one node; ``start()`` returns when the Node is Ready, ``stop()`` leaves the
    machine as it was. Normally made and driven by ``Sandbox(real_node=True)``."""

    def __init__(self, sandbox, name: str = NODE_NAME, timeout: float = 60.0, log=None):
        self.sb = sandbox
        self.name = name
        self.timeout = timeout
        self._log = log or (lambda msg: None)
        self.dir: Path = sandbox.dir / "node"
        self.procs: dict[str, Proc] = {}
        self.ports: dict[str, int] = {}
        self.ready_seconds: float | None = None
        self._lock_fd: int | None = None
        self.record: dict = {}  # what was on the machine before (see start()); RECORD holds a copy
        self._stopped = False
        self.cdi_leak: CdiLeak | None = None

    # ------------------------------------------------------------------ names
    @property
    def containerd_socket(self) -> Path:
        return self.dir / "containerd.sock"

    @property
    def cdi_dir(self) -> Path:
        """Where containerd reads CDI specs (``cdi_spec_dirs``) and the DRA test driver writes them."""
        return self.dir / "cdi"

    @property
    def pause_image(self) -> str:
        return _image_ref("pause")

    @property
    def probe_image(self) -> str:
        return _image_ref("probe")

    @property
    def kubelet_token(self) -> str:
        return self.sb.tokens["node"]

    def toleration(self) -> dict:
        """What a pod needs to run here (with ``nodeName`` or ``nodeSelector: LABELS``)."""
        return {"key": TAINT["key"], "operator": "Equal", "value": TAINT["value"], "effect": TAINT["effect"]}

    def ctr(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run ``ctr`` against this node's containerd in the CRI namespace ``k8s.io``."""
        argv = [str(binaries.binary("ctr")), "--address", str(self.containerd_socket), "--namespace", "k8s.io", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    # ------------------------------------------------------------------ lifecycle
    def lock(self) -> None:
        """Take the machine-wide lock (fails at once when another real node runs), then clean up after a
        previous owner that died without tearing down."""
        if os.geteuid() != 0:
            raise RealNodeError("a real node needs root (kubelet, containerd, mounts, cgroups, a bridge)")
        fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 4096).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RealNodeError(
                f"another real node runs on this machine ({owner}); only one at a time, because the kubelet "
                f"always uses {DEVICE_PLUGINS} (lock {LOCK})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, sandbox {self.sb.dir}".encode())
        self._lock_fd = fd
        # we hold the lock, so no real node runs: a record, or a cgroup of ours, is a dead owner's leftover
        stale: dict = {}
        if RECORD.exists():
            try:
                stale = json.loads(RECORD.read_text())
            except (OSError, ValueError):
                stale = {"dir": None}
        if stale or any((m / CGROUP_ROOT).exists() for m in _cgroup_mounts()):
            self._log(f"real node: cleaning up after a previous run ({stale.get('dir') or 'no record'})")
            problems = clean_machine(Path(stale["dir"]) if stale.get("dir") else None, stale)
            if problems:
                raise RealNodeError("leftovers of a previous real node could not be removed: " + "; ".join(problems))
            RECORD.unlink(missing_ok=True)

    def start(self) -> RealNode:
        t0 = time.monotonic()
        if self._lock_fd is None:
            self.lock()
        socket_dir_len = len(str(self.dir)) + len("/s/") + 64  # the shims' sockets: <dir>/s/<sha256>
        if socket_dir_len > MAX_SOCKET_PATH:
            raise RealNodeError(f"{self.dir} is too long for the shims' unix sockets; set TMPDIR to a shorter path")
        self.record = {
            "pid": os.getpid(),
            "dir": str(self.dir),
            "sysctls": _read_sysctls(),
            "created": [str(p) for p in CREATED_PATHS if not p.exists()],
            "device_plugins": sorted(p.name for p in DEVICE_PLUGINS.iterdir()) if DEVICE_PLUGINS.is_dir() else [],
        }
        RECORD.write_text(json.dumps(self.record, indent=1))
        for sub in ("containerd/root", "containerd/state", "cni/net.d", "cni/ipam", "kubelet/root", "kubelet/pki"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        _make_cgroup_root()
        self._make_bridge()
        self._write_cni_config()
        self._start_containerd()
        self._import_images()
        self._grant_node_identity()
        self._start_kubelet()
        self._wait_ready()
        self._create_runtime_class()
        self.ready_seconds = time.monotonic() - t0
        self._log(f"real node {self.name} Ready in {self.ready_seconds:.1f}s (containerd {self.containerd_socket})")
        return self

    def stop(self) -> list[str]:
        """Tear down; returns what could not be cleaned (also logged). Idempotent."""
        if self._stopped or self._lock_fd is None:
            return []
        self._stopped = True
        t0 = time.monotonic()
        if self.cdi_leak:
            self.cdi_leak.stop(restore=False)
            self.cdi_leak = None
        if "kubelet" in self.procs:
            stop_all([self.procs["kubelet"]], grace=2)
        if "containerd" in self.procs and self.procs["containerd"].alive():
            self._delete_containers()
        stop_all([p for n, p in self.procs.items() if n != "kubelet"], grace=2)
        problems = clean_machine(self.dir, self.record) if self.record else []
        if problems:
            self._log("real node teardown left: " + "; ".join(problems))
        else:
            RECORD.unlink(missing_ok=True)
        os.close(self._lock_fd)  # releases the lock
        self._lock_fd = None
        self._log(f"real node stopped in {time.monotonic() - t0:.1f}s")
        return problems

    # ------------------------------------------------------------------ containerd
    def _containerd_config(self) -> dict:
        d = self.dir
        runtime = "io.containerd.cri.v1.runtime"
        return {
            "version": 3,
            "root": str(d / "containerd/root"),
            "state": str(d / "containerd/state"),
            "imports": [],  # never the machine's /etc/containerd/conf.d
            "disabled_plugins": [
                "io.containerd.internal.v1.opt",  # would create /opt/containerd
                "io.containerd.nri.v1.nri",  # would listen on /var/run/nri/nri.sock
                "io.containerd.snapshotter.v1.blockfile",
                "io.containerd.snapshotter.v1.erofs",
                "io.containerd.differ.v1.erofs",
            ],
            "grpc": {"address": str(self.containerd_socket)},
            "ttrpc": {"address": str(self.containerd_socket) + ".ttrpc"},
            "plugins": {
                "io.containerd.cri.v1.images": {
                    "snapshotter": "overlayfs",
                    "pinned_images": {"sandbox": self.pause_image},
                },
                runtime: {
                    "restrict_oom_score_adj": True,  # no CAP_SYS_RESOURCE: never raise a score
                    "netns_mounts_under_state_dir": True,  # not /var/run/netns
                    # CDI (on by default in 2.x): the DRA test driver writes its specs here (start_dra_driver)
                    "enable_cdi": True,
                    "cdi_spec_dirs": [str(self.cdi_dir)],
                    "containerd": {
                        "default_runtime_name": "runc",
                        "runtimes": {
                            "runc": {
                                "runtime_type": "io.containerd.runc.v2",
                                "options": {
                                    "BinaryName": str(binaries.binary("runc")),
                                    "Root": str(d / "runc"),  # not /run/containerd/runc
                                    "SystemdCgroup": False,
                                },
                            },
                            # gVisor (RuntimeClass RUNTIME_CLASS): its shim by path, its options in a file of
                            # ours (never /run/containerd/runsc or /etc/containerd/runsc)
                            RUNSC_HANDLER: {
                                "runtime_type": "io.containerd.runsc.v1",
                                "runtime_path": str(binaries.binary("containerd-shim-runsc-v1")),
                                "options": {
                                    "TypeUrl": "io.containerd.runsc.v1.options",
                                    "ConfigPath": str(d / "runsc.toml"),
                                },
                            },
                        },
                    },
                    "cni": {"bin_dirs": [str(binaries.bin_dir("cni-plugins"))], "conf_dir": str(d / "cni/net.d")},
                },
                "io.containerd.grpc.v1.cri": {"disable_tcp_service": True, "stream_server_address": "127.0.0.1"},
                "io.containerd.shim.v1.manager": {"socket_dir": str(d)},  # shims' sockets: <dir>/s/, not /run
            },
        }

    def _runsc_config(self) -> dict:
        """The gVisor shim's options (the file ``ConfigPath`` names): runsc by path, its state under the node's
        dir, and runsc's own flags (``runsc_config``), its logs in the sandbox's log dir."""
        return {
            "binary_name": str(binaries.binary("runsc")),
            "root": str(self.dir / "runsc-root"),
            "runsc_config": {
                # systrap needs no KVM; it is also gVisor's default
                "platform": "systrap",
                "debug-log": str(self.sb.dir / "logs" / "runsc") + "/",
            },
        }

    def _start_containerd(self) -> None:
        config = self.dir / "containerd.toml"
        config.write_text(_toml(self._containerd_config()))
        (self.dir / "runsc.toml").write_text(_toml(self._runsc_config()))
        env = {
            "PATH": os.pathsep.join(
                [str(binaries.bin_dir("containerd")), str(binaries.bin_dir("runc")), "/usr/sbin:/usr/bin:/sbin:/bin"]
            ),
            # nothing is ever pulled: an image that was not imported fails at once instead of reaching a registry
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "",
            "TMPDIR": str(self.dir),
        }
        proc = Proc(
            "containerd", [str(binaries.binary("containerd")), "--config", str(config)], self._logfile("containerd")
        )
        self.procs["containerd"] = proc.start(env=env)
        deadline = time.monotonic() + self.timeout
        while True:
            if not proc.alive():
                raise RealNodeError(f"containerd exited with {proc.returncode()}:\n{proc.log_tail()}")
            if self.containerd_socket.exists() and self.ctr("version").returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RealNodeError(f"containerd not serving after {self.timeout:.0f}s:\n{proc.log_tail()}")
            time.sleep(0.05)

    def _import_images(self) -> None:
        for name in binaries.IMAGES:
            res = self.ctr("images", "import", "--platform", "linux/" + _go_arch(), str(binaries.image_archive(name)))
            if res.returncode != 0:
                raise RealNodeError(f"ctr images import {name}: {res.stderr.strip() or res.stdout.strip()}")

    def _delete_containers(self) -> None:
        """Kill and delete every task and container in containerd, so that the shims exit and unmount what
        they mounted; the kubelet would only do this ~50 s after a pod is gone, and it is already stopped."""
        listed = self.ctr("containers", "list", "--quiet", timeout=20)
        ids = listed.stdout.split() if listed.returncode == 0 else []
        for cid in ids:
            self.ctr("tasks", "kill", "--all", "--signal", "SIGKILL", cid, timeout=10)
        for cid in ids:
            self.ctr("tasks", "delete", "--force", cid, timeout=10)
            self.ctr("containers", "delete", cid, timeout=10)

    # ------------------------------------------------------------------ network
    def _make_bridge(self) -> None:
        for argv in (
            ["ip", "link", "add", BRIDGE, "type", "bridge"],
            ["ip", "addr", "add", f"{NODE_IP}/{POD_SUBNET.split('/')[1]}", "dev", BRIDGE],
            ["ip", "link", "set", BRIDGE, "up"],
        ):
            res = subprocess.run(argv, capture_output=True, text=True)
            if res.returncode != 0:
                raise RealNodeError(f"{' '.join(argv)}: {res.stderr.strip()}")

    def _write_cni_config(self) -> None:
        conf = {
            "cniVersion": "1.0.0",
            "name": CNI_NETWORK,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    # the bridge keeps the node's address; no gateway and no NAT: no ip_forward, no iptables
                    "isGateway": False,
                    "ipMasq": False,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_SUBNET}]],
                        "dataDir": str(self.dir / "cni/ipam"),
                    },
                }
            ],
        }
        (self.dir / "cni/net.d/10-aiconf.conflist").write_text(json.dumps(conf, indent=1))

    # ------------------------------------------------------------------ kubelet
    def _grant_node_identity(self) -> None:
        """The sandbox authorises with RBAC alone (no Node authorizer): bind system:node to this node's user."""
        body = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"aiconf-sandbox:{self.name}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": f"system:node:{self.name}"}],
        }
        try:
            request(self.sb.admin_client(), "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", body=body)
        except KubeError as exc:
            if exc.status != 409:
                raise

    def _kubelet_files(self) -> tuple[Path, Path]:
        d = self.dir / "kubelet"
        kubeconfig = d / "kubeconfig"
        import base64

        ca = base64.b64encode(self.sb.ca_file.read_bytes()).decode()
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "sandbox", "cluster": {"server": self.sb.server, "certificate-authority-data": ca}}
                    ],
                    "users": [{"name": "node", "user": {"token": self.kubelet_token}}],
                    "contexts": [{"name": "node", "context": {"cluster": "sandbox", "user": "node"}}],
                    "current-context": "node",
                }
            )
        )
        kubeconfig.chmod(0o600)
        self.ports["kubelet"] = free_port()  # free on 127.0.0.1; NODE_IP is the node's alone
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": NODE_IP,
            "port": self.ports["kubelet"],
            "readOnlyPort": 0,
            "healthzPort": 0,
            # the API server's client certificate (sandbox CA) may do anything; nobody else may do anything
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
                "x509": {"clientCAFile": str(self.sb.ca_file)},
            },
            "authorization": {"mode": "AlwaysAllow"},
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{CGROUP_ROOT}",
            "failCgroupV1": False,
            "failSwapOn": False,
            "podLogsDir": str(d / "pod-logs"),
            "volumePluginDir": str(d / "volume-plugins"),
            "registerWithTaints": [TAINT],
            "maxPods": 30,
            "clusterDomain": "cluster.local",
            "resolvConf": "/etc/resolv.conf",
            "makeIPTablesUtilChains": False,
            # a shared 2-core machine: never evict and never collect our imported images
            "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "shutdownGracePeriod": "0s",
            # a device plugin's devices reach the Node's allocatable at the next status update: every second,
            # not every 10 s; an unchanged status is still posted only every 5 minutes
            "nodeStatusUpdateFrequency": "1s",
            "nodeStatusReportFrequency": "5m",
            "serializeImagePulls": False,
        }
        path = d / "config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return kubeconfig, path

    def _start_kubelet(self) -> None:
        kubeconfig, config = self._kubelet_files()
        d = self.dir / "kubelet"
        labels = ",".join(f"{k}={v}" for k, v in LABELS.items())
        argv = [
            str(binaries.binary("kubelet")),
            f"--config={config}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={d / 'root'}",
            f"--cert-dir={d / 'pki'}",
            f"--hostname-override={self.name}",
            f"--node-ip={NODE_IP}",
            f"--node-labels={labels}",
            "--v=1",
        ]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(d)}
        self.procs["kubelet"] = Proc("kubelet", argv, self._logfile("kubelet")).start(env=env)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        kubelet = self.procs["kubelet"]
        while True:
            if not kubelet.alive():
                raise RealNodeError(f"kubelet exited with {kubelet.returncode()}:\n{kubelet.log_tail()}")
            try:
                node = request(self.sb.admin_client(), "GET", f"/api/v1/nodes/{self.name}")
                conds = {c["type"]: c["status"] for c in (node.get("status") or {}).get("conditions") or []}
                if conds.get("Ready") == "True":
                    return
            except KubeError as exc:
                if exc.status != 404:
                    raise
            if time.monotonic() > deadline:
                raise RealNodeError(f"node {self.name} not Ready after {self.timeout:.0f}s:\n{kubelet.log_tail()}")
            time.sleep(0.1)

    def _logfile(self, name: str) -> Path:
        return self.sb.dir / "logs" / f"{name}.log"

    def log_tails(self, lines: int = 15) -> dict[str, str]:
        return {name: p.log_tail(lines) for name, p in self.procs.items()}

    # ------------------------------------------------------------------ gVisor and DRA
    def _create_runtime_class(self) -> None:
        """RuntimeClass RUNTIME_CLASS (handler RUNSC_HANDLER), whose scheduling places its pods on this node
        (the node's label and a toleration of its taint), as a cluster that runs gVisor on some nodes does."""
        body = {
            "apiVersion": "node.k8s.io/v1",
            "kind": "RuntimeClass",
            "metadata": {"name": RUNTIME_CLASS},
            "handler": RUNSC_HANDLER,
            "scheduling": {"nodeSelector": dict(LABELS), "tolerations": [self.toleration()]},
        }
        try:
            request(self.sb.admin_client(), "POST", "/apis/node.k8s.io/v1/runtimeclasses", body=body)
        except KubeError as exc:
            if exc.status != 409:
                raise

    def start_dra_driver(self, driver: str = DRA_DRIVER, devices: int = 4, timeout: float = 60.0) -> list[dict]:
        """Run Kubernetes' DRA test driver (test/e2e/dra/test-driver, the control plane's version) as this
        node's kubelet plugin named ``driver`` with ``devices`` devices (device-00, ...); returns the node's
        ResourceSlices of the driver once the kubelet has registered it and it has published them.

        It registers through the kubelet's ``plugins_registry`` under the kubelet's root dir, serves its DRA
        socket from ``plugins/<driver>`` there, and prepares each claim by writing a CDI spec into
        ``cdi_dir`` that sets ``claim_<claim>_<request>=true`` (and, from opaque configs of the driver,
        ``admin_<key>``/``user_<key>``) in the container's environment; containerd applies it. It publishes
        with the admin's credentials (a real driver has its own service account). Stopped with the node;
        the ResourceSlices stay in the API server until the sandbox goes."""
        name = f"dra-{driver}"
        if name in self.procs and self.procs[name].alive():
            raise RealNodeError(f"the DRA driver {driver} already runs on {self.name}")
        root = self.dir / "kubelet/root"
        (root / "plugins" / driver).mkdir(parents=True, exist_ok=True)  # the driver creates only its parent
        argv = [
            str(binaries.binary("dra-test-driver")),
            f"--kubeconfig={self.sb.admin_kubeconfig}",
            f"--drivername={driver}",
            "--v=6",  # logs every gRPC call: the kubelet's registration, NodePrepareResources, ...
            "kubelet-plugin",
            f"--node-name={self.name}",
            f"--num-devices={devices}",
            f"--cdi-dir={self.cdi_dir}",
            f"--plugin-registration-path={root / 'plugins_registry'}",
            f"--datadir={root / 'plugins'}",
        ]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.dir)}
        proc = Proc(name, argv, self._logfile(name)).start(env=env)
        self.procs[name] = proc
        deadline = time.monotonic() + timeout
        query = {"fieldSelector": f"spec.nodeName={self.name},spec.driver={driver}"}
        while True:
            if not proc.alive():
                raise RealNodeError(f"DRA driver {driver} exited with {proc.returncode()}:\n{proc.log_tail()}")
            slices = request(self.sb.admin_client(), "GET", "/apis/resource.k8s.io/v1/resourceslices", query=query)
            items = slices.get("items") or []
            published = sum(len((s.get("spec") or {}).get("devices") or []) for s in items) == devices
            # the kubelet calls NotifyRegistrationStatus once it has taken the plugin on
            if published and proc.log_contains("NotifyRegistrationStatus"):
                return items
            if time.monotonic() > deadline:
                raise RealNodeError(
                    f"DRA driver {driver}: not registered with the kubelet, or no ResourceSlices with {devices} "
                    f"devices for {self.name}, after {timeout:.0f}s:\n{proc.log_tail()}"
                )
            time.sleep(0.2)

    def stop_dra_driver(self, driver: str = DRA_DRIVER, timeout: float = 30.0) -> None:
        """Stop the DRA driver ``driver`` and return once the kubelet has unregistered it; its ResourceSlices
        stay. Until the kubelet notices, it would still call the dead driver to prepare a claim, keep the claim
        as its own, and then hold the pod in Terminating for good (it cannot unprepare without the driver)."""
        self.procs[f"dra-{driver}"].stop()
        kubelet_log = self.procs["kubelet"].log_path
        unregistered = f'"Name":"{driver}"'
        deadline = time.monotonic() + timeout
        while not any(
            "UnregisterPlugin started" in line and unregistered in line
            for line in kubelet_log.read_text(errors="replace").splitlines()
        ):
            if time.monotonic() > deadline:
                raise RealNodeError(f"the kubelet has not unregistered the DRA driver {driver} after {timeout:.0f}s")
            time.sleep(0.5)

    def leak_cdi(self, on: bool, driver: str = DRA_DRIVER) -> None:
        """Make the DRA test driver's claims leak (``on``) or stop it: see ``CdiLeak``."""
        if self.cdi_leak:
            self.cdi_leak.stop(restore=True)
            self.cdi_leak = None
        if on:
            self.cdi_leak = CdiLeak(self.cdi_dir, driver, self.dir)
            self.cdi_leak.start()
            self._log(f"CDI specs of {driver} now leak every prepared claim into every claim's containers")

    # ------------------------------------------------------------------ the test device plugin
    def start_device_plugin(
        self, leaky: bool = False, devices: int = DEVICE_PLUGIN_DEVICES, timeout: float = 60.0
    ) -> dict:
        """Run the test device plugin (deviceplugin/, built by ``build.sh real-node``): it registers
        GPU_RESOURCE with ``devices`` fake devices with this node's kubelet through the device plugin API.
        Allocate gives each container its own devices: ``NVIDIA_VISIBLE_DEVICES=<ids>`` and a device node
        ``/dev/nvidia<N>`` per device (character devices 1:3, like /dev/null, made under ``<dir>/devices``);
        ``leaky=True`` gives every container that asks for one every device. The node is labelled like a GPU
        node (the sandbox's GPU labels, ``nvidia.com/gpu.count=<devices>``), as NVIDIA's feature discovery
        would. Replaces a plugin that runs already; returns the Node once the kubelet has connected to this
        one and advertises ``devices`` allocatable. Stopped with the node (or ``stop_device_plugin()``)."""
        from .sandbox import GPU_LABELS  # sandbox imports this module

        self.stop_device_plugin(unlabel=False)
        argv = [
            str(binaries.device_plugin_binary()),
            f"-devices={devices}",
            f"-resource={GPU_RESOURCE}",
            f"-dev-dir={self.dir / 'devices'}",
            f"-plugin-dir={DEVICE_PLUGINS}",
            f"-socket={DEVICE_PLUGIN_SOCKET}",
        ] + (["-leak"] if leaky else [])
        self._log(f"real node: starting the test device plugin ({devices} {GPU_RESOURCE}, leaky={leaky})")
        proc = Proc("deviceplugin", argv, self._logfile("deviceplugin"))
        log_start = proc.log_path.stat().st_size if proc.log_path.exists() else 0
        self.procs["deviceplugin"] = proc.start(env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        labels = {**GPU_LABELS, "nvidia.com/gpu.count": str(devices), "nvidia.com/gpu.product": SIMULATED_PRODUCT}
        self._patch_node_labels(labels)
        deadline = time.monotonic() + timeout
        while True:
            if not proc.alive():
                raise RealNodeError(f"the device plugin exited with {proc.returncode()}:\n{proc.log_tail()}")
            # the kubelet's ListAndWatch on *this* process: a previous plugin's devices may still be advertised
            connected = "ListAndWatch:" in _read_from(proc.log_path, log_start)
            node = request(self.sb.admin_client(), "GET", f"/api/v1/nodes/{self.name}")
            allocatable = ((node.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE)
            if connected and allocatable == str(devices):
                return node
            if time.monotonic() > deadline:
                raise RealNodeError(
                    f"node {self.name} does not advertise {devices} {GPU_RESOURCE} after {timeout:.0f}s "
                    f"(allocatable {allocatable}, kubelet connected: {connected}):\n{proc.log_tail()}"
                )
            time.sleep(0.2)

    def stop_device_plugin(self, unlabel: bool = True) -> None:
        """Stop the test device plugin (its socket goes with it; the kubelet then stops advertising its
        devices as healthy) and, with ``unlabel``, remove the GPU labels it put on the node."""
        proc = self.procs.pop("deviceplugin", None)
        if proc is not None:
            stop_all([proc], grace=2)
            (DEVICE_PLUGINS / DEVICE_PLUGIN_SOCKET).unlink(missing_ok=True)
        if unlabel:
            from .sandbox import GPU_LABELS

            self._patch_node_labels(dict.fromkeys(GPU_LABELS))

    def _patch_node_labels(self, labels: dict) -> None:
        """Merge ``labels`` into the node's (a None value removes the label)."""
        request(
            self.sb.admin_client(),
            "PATCH",
            f"/api/v1/nodes/{self.name}",
            body={"metadata": {"labels": labels}},
            content_type="application/merge-patch+json",
        )


class CdiLeak(threading.Thread):
    """A leaking DRA driver, made of the honest test driver: every few milliseconds it rewrites the CDI specs
    that the driver wrote for the claims it prepared (``<driver>-<claim uid>-<request>.json``) so that each
    claim's CDI device also sets the ``claim_<claim>_<request>=true`` variables of every other claim the driver
    has prepared. containerd re-reads the spec directory when it creates a container (pkg/cdi's Refresh), so
    the leak goes through its real CDI injection: a container given one claim is also given the others'
    injections, as a driver whose devices all share one CDI spec would do. Claims prepared earlier (pods that
    still run) leak into later ones; ``stop(restore=True)`` puts back what the driver wrote."""

    def __init__(self, cdi_dir: Path, driver: str, scratch: Path, period: float = 0.01):
        super().__init__(name=f"cdi-leak-{driver}", daemon=True)
        self.cdi_dir, self.driver, self.scratch, self.period = cdi_dir, driver, scratch, period
        self.originals: dict[str, str] = {}  # spec file -> the text the driver wrote
        self.written: dict[str, str] = {}  # spec file -> the leaky text written over it
        self.leaked: set[str] = set()  # spec files that were given another claim's variables
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.period):
            try:
                self.sweep()
            except OSError:
                continue  # a file went (unprepared) between listing and writing

    def sweep(self) -> None:
        present = {p.name for p in self.cdi_dir.glob(f"{self.driver}-*.json")} if self.cdi_dir.is_dir() else set()
        for name in set(self.originals) - present:
            self.originals.pop(name, None)
            self.written.pop(name, None)
        specs: dict[str, dict] = {}
        for name in sorted(present):
            try:
                text = (self.cdi_dir / name).read_text()
                if self.written.get(name) != text:  # the driver wrote it (again)
                    json.loads(text)  # os.WriteFile is not atomic: a half-written spec waits a sweep
                    self.originals[name] = text
                specs[name] = json.loads(self.originals[name])
            except (FileNotFoundError, ValueError):
                continue
        markers = {
            env
            for spec in specs.values()
            for device in spec.get("devices") or []
            for env in (device.get("containerEdits") or {}).get("env") or []
            if env.startswith("claim_")
        }
        for name, spec in specs.items():
            extra = False
            for device in spec.get("devices") or []:
                edits = device.setdefault("containerEdits", {})
                extra |= bool(markers - set(edits.get("env") or []))
                edits["env"] = sorted(set(edits.get("env") or []) | markers)
            text = json.dumps(spec)
            if extra and text != self.written.get(name):
                self._replace(name, text)
                self.written[name] = text
                self.leaked.add(name)

    def _replace(self, name: str, text: str) -> None:
        target = self.cdi_dir / name
        if not target.exists():  # unprepared meanwhile: never bring a claim's spec back
            return
        tmp = self.scratch / f".cdi-leak-{name}"
        tmp.write_text(text)
        os.replace(tmp, target)

    def stop(self, restore: bool) -> None:
        self._halt.set()
        self.join(timeout=5)
        for name, text in self.originals.items() if restore else ():
            if (self.cdi_dir / name).exists():
                self._replace(name, text)


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _image_ref(name: str) -> str:
    return f"aiconf.local/sandbox/{name}:{binaries.versions()['SANDBOX_IMAGES_VERSION']}"


def _go_arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _toml(doc: dict) -> str:
    """The little TOML containerd's config needs: nested tables of strings, numbers, booleans and lists."""
    lines: list[str] = []

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(type(v))

    def table(path: list[str], d: dict) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
        if path:
            lines.append("")
            lines.append("[" + ".".join(json.dumps(p) if not p.isidentifier() else p for p in path) + "]")
        lines.extend(f"{json.dumps(k) if not k.isidentifier() else k} = {value(v)}" for k, v in scalars.items())
        for k, v in d.items():
            if isinstance(v, dict):
                table([*path, k], v)

    table([], doc)
    return "\n".join(lines) + "\n"
