"""A real, throw-away Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake nodes), started from the binaries that build.sh caches.

    with Sandbox() as sb:
        sb.apply_scenario("ai-platform")
        subprocess.run(["kubectl", "get", "nodes"], env=sb.env())

Everything lives in a fresh temp dir; all ports are picked free on 127.0.0.1 (bind races are retried), so
several sandboxes can run side by side. Teardown (on exit, on error, on Ctrl-C/SIGTERM, and at interpreter
exit) kills every child's process group and removes the temp dir; children also die with this process
(PR_SET_PDEATHSIG), so even a SIGKILLed test run leaves no control plane behind.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from . import binaries, metrics_api, scenarios
from .kube import KubeError, exists, request
from .pki import PKI, make_pki
from .procs import Proc, free_port, port_open, stop_all
from .realnode import RealNode

HERE = Path(__file__).resolve().parent
KWOK_CONFIG = HERE / "kwok-stages.yaml"
LIMITED_RBAC = HERE / "limited-rbac.yaml"

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
LIMITED_GROUP = "aiconf:limited"
KWOK_NODE_SELECTOR = "type=kwok"

# kube-controller-manager: only what the bed needs. Left out on purpose: node-lifecycle (kwok nodes would be
# tainted NotReady whenever a heartbeat is late; nothing here depends on it), persistent volumes, CSR signing,
# resource quota, disruption, cloud and IPAM controllers -- each costs CPU on a 2-core machine.
CONTROLLERS = [
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "namespace-controller",
    "garbage-collector-controller",
    "deployment-controller",
    "replicaset-controller",
    "daemonset-controller",
    "statefulset-controller",
    "job-controller",
    "cronjob-controller",
    "ttl-after-finished-controller",
    "pod-garbage-collector-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "horizontal-pod-autoscaler-controller",
    "clusterrole-aggregation-controller",
    "root-ca-certificate-publisher-controller",
    "resourceclaim-controller",
]

GPU_LABELS = {
    "nvidia.com/gpu.present": "true",
    "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
    "nvidia.com/gpu.count": "8",
    "nvidia.com/gpu.memory": "81559",
    "nvidia.com/cuda.driver-version.full": "570.124.06",
    "nvidia.com/cuda.driver-version.major": "570",
    "nvidia.com/cuda.runtime-version.full": "12.8",
    "feature.node.kubernetes.io/pci-10de.present": "true",
}


class SandboxError(RuntimeError):
    pass


def _say(msg: str) -> None:
    print(f"[sandbox] {msg}", file=sys.stderr, flush=True)


def _contains(objs: list[dict], subset: list[dict]) -> bool:
    """Whether every object of ``subset`` is in ``objs`` with the same content."""

    def key(o: dict):
        meta = o.get("metadata") or {}
        return o["apiVersion"], o["kind"], meta.get("namespace") or "", meta.get("name")

    have = {key(o): json.dumps(o, sort_keys=True) for o in objs}
    return all(have.get(key(o)) == json.dumps(o, sort_keys=True) for o in subset)


def _sweep_stale_dirs(prefix: str) -> None:
    """Remove temp dirs of sandboxes whose owning process died without tearing down (e.g. SIGKILL). A dir with
    a real node's state (``node/``) may still have mounts and processes in it: the next real node cleans it up
    (realnode.RealNode.lock), so it is left alone here."""
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}-*"):
        if (path / "node").exists():
            continue
        try:
            pid = int((path / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass


class Sandbox:
    """One control plane. Use as a context manager (or call start()/stop())."""

    def __init__(
        self,
        *,
        build: bool = True,
        timeout: float = 120.0,
        keep_dir: bool = False,
        verbose: bool = True,
        name: str = "aiconf-sandbox",
        real_node: bool = False,
        kubernetes_version: str | None = None,
    ):
        """``real_node=True`` also starts one real node (kubelet, containerd, runc; realnode.py) next to the
        kwok nodes, as ``self.real_node``; it needs ``build.sh real-node`` and root, and only one runs per
        machine at a time.

        ``kubernetes_version`` (``1.37.2``, or ``1.37``): a control plane of another version of the matrix
        (``KUBERNETES_VERSIONS`` in versions.env); default ``KUBERNETES_VERSION``. The real node's kubelet is
        built at ``KUBERNETES_VERSION`` only, so a real node needs that version."""
        self.kubernetes_version = binaries.resolve_version(kubernetes_version)
        if real_node and self.kubernetes_version != binaries.kubernetes_version():
            raise ValueError(
                f"a real node runs Kubernetes {binaries.kubernetes_version()} only, "
                f"not {self.kubernetes_version} (its kubelet is built at KUBERNETES_VERSION)"
            )
        self.build = build
        self.timeout = timeout
        self.keep_dir = keep_dir
        self.verbose = verbose
        self.name = name
        self.want_real_node = real_node
        self.real_node: RealNode | None = None
        self.dir: Path | None = None
        self.pki: PKI | None = None
        self.procs: dict[str, Proc] = {}
        self.ports: dict[str, int] = {}
        self.tokens: dict[str, str] = {}
        self.startup_seconds: float | None = None
        self.scenarios: list[str] = []  # applied, in order
        self._applied: list[dict] = []
        self._metrics: metrics_api.CustomMetricsServer | None = None
        self._clients: dict[str, object] = {}
        self._stopped = False
        self._old_handlers: dict[int, object] = {}
        self._owner_thread = None
        self._stop_hooks: list = []  # on_stop(): run first when the sandbox stops

    # ------------------------------------------------------------------ paths and clients
    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def kubeconfig(self) -> Path:
        """Both users: contexts ``admin`` (current) and ``limited``."""
        return self.dir / "kubeconfig"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.dir / "admin.kubeconfig"

    @property
    def limited_kubeconfig(self) -> Path:
        return self.dir / "limited.kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.pki.ca_crt

    @staticmethod
    def bin_dir(component: str = "kubernetes") -> Path:
        """``kubernetes`` (kube-apiserver, kubectl, ...), ``etcd`` or ``kwok``."""
        return binaries.bin_dir(component)

    @property
    def kubectl(self) -> Path:
        return binaries.binary("kubectl")

    def env(self, context: str | None = None) -> dict[str, str]:
        """Environment for a subprocess: KUBECONFIG of this sandbox and our kubectl first on PATH."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig if context is None else self.dir / f"{context}.kubeconfig")
        env["PATH"] = f"{self.bin_dir('kubernetes')}{os.pathsep}{env.get('PATH', '')}"
        return env

    def admin_client(self):
        """A kubernetes.client.ApiClient for the admin user (cached; safe to share between threads)."""
        return self._client("admin")

    def limited_client(self):
        return self._client("limited")

    def _client(self, user: str):
        if user not in self._clients:
            from kubernetes import client

            cfg = client.Configuration()
            cfg.host = self.server
            cfg.ssl_ca_cert = str(self.ca_file)
            cfg.api_key = {"authorization": f"Bearer {self.tokens[user]}"}
            cfg.connection_pool_maxsize = 32
            self._clients[user] = client.ApiClient(cfg)
        return self._clients[user]

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _log(self, msg: str) -> None:
        if self.verbose:
            _say(msg)

    def start(self) -> Sandbox:
        t0 = time.monotonic()
        self._owner_thread = threading.current_thread()
        self._install_signal_handlers()
        atexit.register(self.stop)
        try:
            binaries.ensure(build=self.build, kubernetes_version=self.kubernetes_version)
            if self.want_real_node:
                binaries.ensure(build=self.build, real_node=True)
            self.dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
            (self.dir / "owner.pid").write_text(str(os.getpid()))
            if self.want_real_node:  # before anything else: fail fast if another one runs, clean up a dead one
                self.real_node = RealNode(self, log=self._log)
                self.real_node.lock()
            _sweep_stale_dirs(self.name)
            self._log(f"starting in {self.dir}")
            self._make_credentials()
            self._start_etcd()
            self._start_apiserver()
            self._write_kubeconfigs()
            self._start_metrics_server()
            self._wait_http("/healthz", "kube-apiserver healthz")
            self._start_controllers()
            self._wait_http("/readyz", "kube-apiserver readyz")
            self._apply_base()
            self._wait_components()
            if self.real_node is not None:
                self.real_node.start()
        except BaseException:
            self._dump_logs()
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        _say(
            f"Kubernetes v{self.kubernetes_version} up at {self.server} in {self.startup_seconds:.1f}s "
            f"(kubeconfig {self.kubeconfig})"
        )
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        t0 = time.monotonic()
        for hook in reversed(self._stop_hooks):  # e.g. controllers of components.py, which talk to the API server
            try:
                hook()
            except Exception as exc:  # noqa: BLE001 - teardown goes on whatever a hook does
                self._log(f"stop hook {hook!r} failed: {exc}")
        if self.real_node is not None:  # first: its teardown talks to containerd, not to the API server
            self.real_node.stop()
        order = ["kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"]
        # nothing in a sandbox is worth a graceful shutdown (kube-apiserver alone would wait seconds): SIGKILL
        stop_all([self.procs[n] for n in order if n in self.procs], grace=0)
        if self._metrics is not None:
            self._metrics.stop()
        for c in self._clients.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass
        if self.dir is not None and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        self._restore_signal_handlers()
        try:
            atexit.unregister(self.stop)
        except Exception:  # noqa: BLE001
            pass
        if self.procs:
            self._log(f"stopped in {time.monotonic() - t0:.1f}s")

    def on_stop(self, hook) -> None:
        """Call ``hook()`` first when the sandbox stops (last registered, first called)."""
        self._stop_hooks.append(hook)

    def pids(self) -> list[int]:
        procs = list(self.procs.values()) + (list(self.real_node.procs.values()) if self.real_node else [])
        return [p.pid for p in procs if p.pid]

    # signals: SIGTERM/SIGHUP become SystemExit in the main thread, so `with` blocks and fixtures tear down
    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, frame):
            raise SystemExit(128 + signum)

        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                old = signal.getsignal(sig)
                if old in (signal.SIG_DFL, None):  # keep handlers somebody else installed
                    self._old_handlers[sig] = old
                    signal.signal(sig, handler)
            except (ValueError, OSError):
                pass

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, old in self._old_handlers.items():
            try:
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
            except (ValueError, OSError):
                pass
        self._old_handlers.clear()

    # ------------------------------------------------------------------ steps
    def _make_credentials(self) -> None:
        self.pki = make_pki(self.dir / "pki")
        self.pki.issue("front-proxy-client", "front-proxy-client", client=True)
        self.pki.issue("custom-metrics", "custom-metrics-apiserver", dns=metrics_api.SERVER_NAMES, ips=["127.0.0.1"])
        import secrets

        self.tokens = {"admin": secrets.token_hex(16), "limited": secrets.token_hex(16)}
        lines = [
            f'{self.tokens["admin"]},admin,uid-admin,"system:masters"',
            f'{self.tokens["limited"]},limited,uid-limited,"{LIMITED_GROUP}"',
        ]
        if self.real_node is not None:
            # the kubelet's identity; RealNode binds the system:node role to it (there is no Node authorizer)
            self.tokens["node"] = secrets.token_hex(16)
            node_user = f"system:node:{self.real_node.name}"
            lines.append(f'{self.tokens["node"]},{node_user},uid-{self.real_node.name},"system:nodes"')
            # what the API server shows the kubelet for logs and exec (the kubelet trusts the sandbox CA)
            self.pki.issue("kubelet-client", "kube-apiserver-kubelet-client", client=True)
        (self.dir / "tokens.csv").write_text("\n".join(lines) + "\n")
        (self.dir / "tokens.csv").chmod(0o600)

    def _spawn(self, name: str, argv: list[str]) -> Proc:
        proc = Proc(name, argv, self.dir / "logs" / f"{name}.log").start()
        self.procs[name] = proc
        return proc

    def _start_listening(self, name: str, make_argv, port_names: list[str], probe: str, attempts: int = 5) -> None:
        """Start a server on freshly picked ports; if it loses a bind race, pick new ports and retry."""
        for attempt in range(attempts):
            for p in port_names:
                self.ports[p] = free_port()
            proc = self._spawn(name, make_argv())
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                if port_open(self.ports[probe]):
                    return
                if not proc.alive():
                    break
                time.sleep(0.05)
            else:
                raise SandboxError(f"{name} did not open port {self.ports[probe]} in {self.timeout:.0f}s")
            if proc.log_contains("address already in use") and attempt + 1 < attempts:
                self._log(f"{name}: port taken, retrying with new ports")
                proc.stop()
                proc.log_path.rename(proc.log_path.with_suffix(f".attempt{attempt}.log"))
                continue
            raise SandboxError(f"{name} exited with {proc.returncode()}:\n{proc.log_tail()}")
        raise SandboxError(f"{name}: no free ports after {attempts} attempts")

    def _start_etcd(self) -> None:
        def argv():
            client = f"http://127.0.0.1:{self.ports['etcd']}"
            peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
            data = self.dir / "etcd"
            shutil.rmtree(data, ignore_errors=True)
            return [
                str(binaries.binary("etcd")),
                "--name",
                "sandbox",
                "--data-dir",
                str(data),
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                f"sandbox={peer}",
                "--initial-cluster-state",
                "new",
                "--unsafe-no-fsync",
                "--log-level",
                "warn",
                "--quota-backend-bytes",
                str(4 << 30),
            ]

        self._start_listening("etcd", argv, ["etcd", "etcd-peer"], "etcd")

    def _start_apiserver(self) -> None:
        pki = self.pki

        def argv():
            return [
                str(binaries.kubernetes_binary("kube-apiserver", self.kubernetes_version)),
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['apiserver']}",
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",
                f"--tls-cert-file={pki.serving_crt}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_crt}",
                f"--token-auth-file={self.dir / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                # aggregation layer: the front-proxy identity the aggregator presents to extension API servers
                f"--requestheader-client-ca-file={pki.ca_crt}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki.dir / 'front-proxy-client.crt'}",
                f"--proxy-client-key-file={pki.dir / 'front-proxy-client.key'}",
                "--profiling=false",
                "--enable-priority-and-fairness=false",
                # new Nodes would get the node.kubernetes.io/not-ready taint, which only the node-lifecycle
                # controller (left out, see CONTROLLERS) removes again; kwok nodes are Ready from the start
                "--disable-admission-plugins=TaintNodesByCondition",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                *(
                    [
                        f"--kubelet-client-certificate={pki.dir / 'kubelet-client.crt'}",
                        f"--kubelet-client-key={pki.dir / 'kubelet-client.key'}",
                    ]
                    if self.real_node is not None
                    else []
                ),
                "--v=1",
            ]

        self._start_listening("kube-apiserver", argv, ["apiserver"], "apiserver")

    def _write_kubeconfigs(self) -> None:
        import base64

        ca = base64.b64encode(self.pki.ca_crt.read_bytes()).decode()
        cluster = {"name": self.name, "cluster": {"server": self.server, "certificate-authority-data": ca}}

        def config(users: list[str], current: str) -> dict:
            return {
                "apiVersion": "v1",
                "kind": "Config",
                "preferences": {},
                "clusters": [cluster],
                "users": [{"name": u, "user": {"token": self.tokens[u]}} for u in users],
                "contexts": [{"name": u, "context": {"cluster": self.name, "user": u}} for u in users],
                "current-context": current,
            }

        for path, users in (
            (self.kubeconfig, ["admin", "limited"]),
            (self.admin_kubeconfig, ["admin"]),
            (self.limited_kubeconfig, ["limited"]),
        ):
            path.write_text(yaml.safe_dump(config(users, users[0]), sort_keys=False))
            path.chmod(0o600)

    def _start_metrics_server(self) -> None:
        crt, key = self.pki.dir / "custom-metrics.crt", self.pki.dir / "custom-metrics.key"
        self._metrics = metrics_api.CustomMetricsServer(str(crt), str(key), self._list_names).start()
        self.ports["custom-metrics"] = self._metrics.port

    def _list_names(self, plural: str, namespace: str | None, selector: str) -> list[str]:
        path = f"/api/v1/namespaces/{namespace}/{plural}" if namespace else f"/api/v1/{plural}"
        query = {"labelSelector": selector} if selector else None
        items = request(self.admin_client(), "GET", path, query=query).get("items", [])
        return [i["metadata"]["name"] for i in items]

    def _wait_http(self, path: str, what: str) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        req = urllib.request.Request(self.server + path, headers={"Authorization": f"Bearer {self.tokens['admin']}"})
        deadline = time.monotonic() + self.timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.procs["kube-apiserver"].alive():
                raise SandboxError(f"kube-apiserver exited:\n{self.procs['kube-apiserver'].log_tail()}")
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = exc.read().decode(errors="replace")[-500:]
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise SandboxError(f"{what} not OK after {self.timeout:.0f}s: {last}")

    def _start_controllers(self) -> None:
        kc = str(self.admin_kubeconfig)
        self._spawn(
            "kube-controller-manager",
            [
                str(binaries.kubernetes_binary("kube-controller-manager", self.kubernetes_version)),
                f"--kubeconfig={kc}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--root-ca-file={self.pki.ca_crt}",
                f"--service-account-private-key-file={self.pki.sa_key}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--use-service-account-credentials=false",
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                "--horizontal-pod-autoscaler-sync-period=2s",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                str(binaries.kubernetes_binary("kube-scheduler", self.kubernetes_version)),
                f"--kubeconfig={kc}",
                "--leader-elect=false",
                "--secure-port=0",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._spawn(
            "kwok",
            [
                str(binaries.binary("kwok")),
                f"--kubeconfig={kc}",
                f"--config={KWOK_CONFIG}",
                # only its own nodes (node_object() and the scenarios label them), never a real node's
                f"--manage-nodes-with-label-selector={KWOK_NODE_SELECTOR}",
                "--node-ip=127.0.0.1",
                f"--cidr={POD_CIDR}",
                # leases only gate kwok's own node ownership here (node-lifecycle is off): renew rarely
                "--node-lease-duration-seconds=600",
            ],
        )

    def _apply_base(self) -> None:
        objs = list(yaml.safe_load_all(LIMITED_RBAC.read_text()))
        scenarios.Applier(self.admin_client(), self.pki.ca_crt.read_bytes(), progress=self._log).apply(objs)

    def _wait_components(self) -> None:
        """Controller-manager is working once `default` has its ServiceAccount; scheduler/kwok must be alive."""
        deadline = time.monotonic() + self.timeout
        client = self.admin_client()
        while True:
            for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
                proc = self.procs[name]
                if not proc.alive():
                    raise SandboxError(f"{name} exited with {proc.returncode()}:\n{proc.log_tail()}")
            if exists(client, "/api/v1/namespaces/default/serviceaccounts/default"):
                return
            if time.monotonic() > deadline:
                raise SandboxError("kube-controller-manager did not create the default ServiceAccount")
            time.sleep(0.1)

    def _dump_logs(self) -> None:
        for proc in list(self.procs.values()) + (list(self.real_node.procs.values()) if self.real_node else []):
            tail = proc.log_tail(15)
            if tail:
                _say(f"--- last lines of {proc.name} ({proc.log_path}):\n{tail}")

    # ------------------------------------------------------------------ content
    def applier(self) -> scenarios.Applier:
        return scenarios.Applier(
            self.admin_client(),
            self.pki.ca_crt.read_bytes(),
            backends={"custom-metrics": self.ports["custom-metrics"]},
            progress=self._log,
        )

    def apply_scenario(self, name: str | Path, timeout: float = 120) -> float:
        """Apply testdata/scenarios/NAME on top of what is there; returns the seconds it took."""
        t0 = time.monotonic()
        objs = scenarios.load_objects(name)
        self.applier().apply(objs, timeout=timeout)
        self._applied.extend(objs)
        self.scenarios.append(str(name))
        took = time.monotonic() - t0
        self._log(f"scenario {name}: {len(objs)} objects applied and settled in {took:.1f}s")
        return took

    def use_scenario(self, name: str, timeout: float = 120) -> None:
        """Make the cluster hold exactly scenario NAME, so that one session-wide sandbox can serve tests of
        several scenarios: nothing to do if NAME is what is loaded; applied on top if NAME contains every object
        loaded now unchanged (bare -> gpu-cluster -> ai-platform); otherwise reset() first."""
        if self.scenarios == [str(name)]:
            return
        objs = scenarios.load_objects(name)
        if not _contains(objs, self._applied):
            self.reset(timeout=timeout)
        self.apply_scenario(name, timeout=timeout)
        self._applied = list(objs)
        self.scenarios = [str(name)]

    def verify_scenario(self, name: str | Path) -> list[str]:
        """Problems found comparing the live cluster with scenario NAME (empty list: all as described):
        every object exists, controller-computed status matches the YAML, written status is unchanged."""
        applier = self.applier()
        problems = []
        for obj in applier.prepare(scenarios.load_objects(name)):
            try:
                live = request(self.admin_client(), "GET", applier.mapper.path(obj))
            except (KubeError, LookupError) as exc:
                problems.append(f"{scenarios.ref(obj)}: {exc}")
                continue
            if not obj.get("status") or obj["kind"] in ("Node", "Namespace", "Service", "CustomResourceDefinition"):
                continue
            if (obj["apiVersion"], obj["kind"]) in scenarios.CONTROLLED_STATUS:
                diffs = scenarios.mismatch(obj, live)
            else:
                diffs = [] if live.get("status") == obj["status"] else ["status differs from the YAML"]
            problems += [f"{scenarios.ref(obj)}: {d}" for d in diffs]
        return problems

    def apply_objects(self, objs: list[dict], timeout: float = 120) -> None:
        """Apply ad-hoc objects the same way as a scenario (tracked for reset())."""
        self.applier().apply(objs, timeout=timeout)
        self._applied.extend(objs)

    def reset(self, timeout: float = 120) -> float:
        """Delete everything the applied scenarios created (their namespaces, CRDs, nodes, ...).
        Takes ~6-8 s: kube-controller-manager's namespace controller waits a hard-coded 5 s before it starts
        on a deleted namespace."""
        t0 = time.monotonic()
        if self._applied:
            self.applier().delete(self._applied, timeout=timeout)
        self._applied.clear()
        self.scenarios.clear()
        took = time.monotonic() - t0
        self._log(f"reset in {took:.1f}s")
        return took

    def create_namespace(self, name: str, labels: dict | None = None, timeout: float = 30) -> None:
        """Create a namespace and wait until its default ServiceAccount exists (pods need it)."""
        client = self.admin_client()
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        try:
            request(client, "POST", "/api/v1/namespaces", body=body)
        except KubeError as exc:
            if exc.status != 409:
                raise
        deadline = time.monotonic() + timeout
        while not exists(client, f"/api/v1/namespaces/{name}/serviceaccounts/default"):
            if time.monotonic() > deadline:
                raise SandboxError(f"namespace {name}: no default ServiceAccount after {timeout}s")
            time.sleep(0.1)

    @staticmethod
    def node_object(
        name: str, gpu: bool = False, labels: dict | None = None, gpus: int = 8, ip: str | None = None
    ) -> dict:
        """A kwok-managed fake node; with gpu=True it advertises nvidia.com/gpu, GFD labels and the GPU taint."""
        all_labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
        }
        resources = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "500Gi"}
        spec: dict = {}
        if gpu:
            all_labels.update(GPU_LABELS)
            all_labels["nvidia.com/gpu.count"] = str(gpus)
            resources["nvidia.com/gpu"] = str(gpus)
            spec["taints"] = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
        all_labels.update(labels or {})
        status: dict = {"capacity": resources, "allocatable": dict(resources)}
        if ip:
            status["addresses"] = [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": all_labels, "annotations": {"kwok.x-k8s.io/node": "fake"}},
            "spec": spec,
            "status": status,
        }

    def create_nodes(
        self,
        count: int,
        gpu: bool = False,
        labels: dict | None = None,
        prefix: str | None = None,
        gpus: int = 8,
        threads: int = 16,
        start: int = 0,
    ) -> list[str]:
        """Create ``count`` kwok nodes in parallel (plain POSTs; 2,000 nodes take tens of seconds on 2 cores)."""
        prefix = prefix or ("gpu-node" if gpu else "node")
        client = self.admin_client()
        names = [f"{prefix}-{i}" for i in range(start, start + count)]

        def create(i_name):
            i, name = i_name
            ip = f"10.{128 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}"
            body = self.node_object(name, gpu=gpu, labels=labels, gpus=gpus, ip=ip)
            for attempt in range(5):
                try:
                    request(client, "POST", "/api/v1/nodes", body=body)
                    return
                except KubeError as exc:
                    if exc.status == 409:
                        return
                    if exc.status not in (429, 500, 503) or attempt == 4:
                        raise
                    time.sleep(0.2 * (attempt + 1))

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(create, enumerate(names, start)))
        self._applied.extend({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}} for n in names)
        return names

    def wait_nodes_ready(self, names: list[str], timeout: float = 120) -> None:
        """Wait until kwok has initialised the given nodes (Ready=True, phase Running)."""
        client = self.admin_client()
        want = set(names)
        deadline = time.monotonic() + timeout
        while True:
            items = request(client, "GET", "/api/v1/nodes").get("items", [])
            ready = {
                n["metadata"]["name"]
                for n in items
                if (n.get("status") or {}).get("phase") == "Running"
                and any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (n.get("status") or {}).get("conditions") or []
                )
            }
            if want <= ready:
                return
            if time.monotonic() > deadline:
                raise SandboxError(f"{len(want - ready)} nodes not Ready after {timeout}s")
            time.sleep(0.2)

    @property
    def custom_metrics_requests(self) -> int:
        """How many requests the loopback custom-metrics server has answered (proof the aggregator uses it)."""
        return self._metrics.requests if self._metrics else 0
