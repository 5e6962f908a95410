"""Scenario loader: ``testdata/scenarios/NAME/*.yaml`` -> objects in a live sandbox.

A scenario directory holds multi-document YAML files of ordinary Kubernetes objects (``apiVersion``/``kind``,
``kind: List`` documents are expanded), many of them carrying ``status``. The same directory is what the plugin
reads with ``--snapshot``, so the files describe the cluster as a reader should see it. Files may be symlinks to
shared files (``testdata/scenarios/_shared/``); readers simply open them.

Applying (``Applier.apply``), in dependency order:
  1. Namespaces (declared, plus any a namespaced object needs).
  2. CustomResourceDefinitions, then wait until each is Established.
  3. Everything else by server-side apply (field manager ``aiconf-sandbox``), creating or updating.
     Nodes are created with their status (the API keeps a Node's status on create).
  4. ``status`` is written through the status subresource for objects whose status nobody else writes in a
     sandbox (custom resources, Nodes, ...). Kinds whose status a running controller computes
     (Deployments, DaemonSets, APIServices, HPAs, ...) are NOT written: their YAML ``status`` is an expectation,
     and the loader waits until the live status matches it (e.g. ``availableReplicas``, ``numberReady``,
     condition ``Available``). Pods come from the real controllers and run on kwok nodes.
  5. APIServices and webhook configurations last (so that no webhook intercepts the loader itself).

Sandbox-specific rewrites (the YAML stays cluster-agnostic):
  * a Service annotated ``sandbox.aiconf.dev/backend: custom-metrics`` becomes ``type: ExternalName`` ->
    ``localhost``, and an APIService pointing at it gets the port of the sandbox's loopback custom-metrics server
    (see metrics_api.py);
  * every APIService and webhook ``caBundle`` is replaced with the sandbox CA;
  * pod templates get ``terminationGracePeriodSeconds: 0`` unless they set one, so that deleting a namespace
    (Sandbox.reset) takes a second instead of the 30 s default grace period.
"""

from __future__ import annotations

import base64
import copy
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from kubernetes.client import ApiClient

from .kube import KubeError, RestMapper, get, request

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS_DIR = REPO_ROOT / "testdata" / "scenarios"
FIELD_MANAGER = "aiconf-sandbox"
BACKEND_ANNOTATION = "sandbox.aiconf.dev/backend"
SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}

# status computed by a controller that runs in the sandbox (kube-controller-manager, scheduler, aggregator):
# the loader never writes it, it waits for it to match the YAML
CONTROLLED_STATUS = {
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("v1", "Pod"),
    ("v1", "Namespace"),
    ("v1", "Service"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("resource.k8s.io/v1", "ResourceClaim"),
}
POD_TEMPLATE_KINDS = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"}
LAST_KINDS = {"APIService", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}
# apply order of the remaining kinds (lower first); unknown kinds (custom resources) come after workloads
ORDER = {
    "ClusterRole": 0,
    "ClusterRoleBinding": 1,
    "Role": 1,
    "RoleBinding": 1,
    "ServiceAccount": 1,
    "PriorityClass": 0,
    "RuntimeClass": 0,
    "DeviceClass": 0,
    "Node": 2,
    "ResourceSlice": 3,
    "ConfigMap": 3,
    "Secret": 3,
    "Service": 3,
    "Deployment": 4,
    "DaemonSet": 4,
    "StatefulSet": 4,
    "Job": 4,
    "ResourceClaimTemplate": 4,
    "HorizontalPodAutoscaler": 6,
}
CUSTOM_ORDER = 5
# Scenarios made by code instead of YAML (real controllers at work): NAME -> module of this package whose
# apply(sandbox) builds it. The CLI offers them with the YAML ones; scenario_names() lists the YAML ones only.
PROGRAM_SCENARIOS = {"real-stack": "real_stack"}
CRD_FINALIZER_PATIENCE = 15


def log(msg: str) -> None:
    print(f"[sandbox] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- reading


def scenario_names() -> list[str]:
    return sorted(p.name for p in SCENARIOS_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def scenario_dir(name: str | Path) -> Path:
    path = Path(name)
    if path.is_dir():
        return path
    path = SCENARIOS_DIR / str(name)
    if not path.is_dir():
        raise FileNotFoundError(f"no scenario {name!r} (known: {', '.join(scenario_names())})")
    return path


def load_objects(name: str | Path) -> list[dict]:
    """All objects of a scenario, file by file in name order, ``List`` documents expanded."""
    out: list[dict] = []
    directory = scenario_dir(name)
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            items = doc.get("items", []) if doc.get("kind", "").endswith("List") and "items" in doc else [doc]
            for obj in items:
                if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
                    raise ValueError(f"{path}: a document without apiVersion/kind")
                out.append(obj)
    return out


def ref(obj: dict) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj['kind']} {ns + '/' if ns else ''}{meta.get('name')}"


# ---------------------------------------------------------------- expectations on controller-owned status


def _conditions(status: dict) -> dict[str, str]:
    return {c.get("type"): str(c.get("status")) for c in status.get("conditions") or []}


_COUNTERS = {
    "Deployment": ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "unavailableReplicas"),
    "DaemonSet": (
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "numberReady",
        "numberAvailable",
        "numberMisscheduled",
    ),
    "StatefulSet": ("replicas", "readyReplicas"),
    "ReplicaSet": ("replicas", "readyReplicas", "availableReplicas"),
    "Job": ("succeeded", "failed"),
}


def mismatch(want: dict, live: dict) -> list[str]:
    """Differences between the YAML status (expectation) and the live status of a controller-owned object."""
    kind = want["kind"]
    ws, ls = want.get("status") or {}, live.get("status") or {}
    diffs = []
    for field in _COUNTERS.get(kind, ()):
        if field in ws or kind in ("Deployment", "DaemonSet"):
            if int(ws.get(field) or 0) != int(ls.get(field) or 0):
                diffs.append(f"{field}={ls.get(field) or 0} (want {ws.get(field) or 0})")
    if kind in _COUNTERS and ls.get("observedGeneration", 0) < live["metadata"].get("generation", 0):
        diffs.append("observedGeneration behind")
    wc, lc = _conditions(ws), _conditions(ls)
    for ctype, cstatus in wc.items():
        if lc.get(ctype) != cstatus:
            diffs.append(f"condition {ctype}={lc.get(ctype)} (want {cstatus})")
    if kind == "HorizontalPodAutoscaler" and ws.get("currentMetrics") and not ls.get("currentMetrics"):
        diffs.append("no currentMetrics yet")
    return diffs


# ---------------------------------------------------------------- applying


class Applier:
    def __init__(
        self,
        client: ApiClient,
        ca_pem: bytes,
        backends: dict[str, int] | None = None,
        threads: int = 8,
        progress: Callable[[str], None] = log,
    ):
        self.client = client
        self.mapper = RestMapper(client)
        self.ca_b64 = base64.b64encode(ca_pem).decode()
        self.backends = backends or {}
        self.threads = threads
        self.progress = progress

    # -- rewrites
    def prepare(self, objects: Iterable[dict]) -> list[dict]:
        objs = [copy.deepcopy(o) for o in objects]
        backend_services = {}
        for o in objs:
            ann = o.get("metadata", {}).get("annotations") or {}
            if o["kind"] == "Service" and o["apiVersion"] == "v1" and BACKEND_ANNOTATION in ann:
                backend = ann[BACKEND_ANNOTATION]
                if backend not in self.backends:
                    raise ValueError(f"{ref(o)}: this sandbox has no {backend!r} backend")
                spec = o.setdefault("spec", {})
                for key in (
                    "selector",
                    "clusterIP",
                    "clusterIPs",
                    "ipFamilies",
                    "ipFamilyPolicy",
                    "internalTrafficPolicy",
                    "sessionAffinity",
                ):
                    spec.pop(key, None)
                spec["type"] = "ExternalName"
                spec["externalName"] = "localhost"
                for port in spec.get("ports") or []:
                    port.pop("targetPort", None)
                o.pop("status", None)
                backend_services[(o["metadata"].get("namespace") or "default", o["metadata"]["name"])] = backend
        for o in objs:
            template = (o.get("spec") or {}).get("template") if o["kind"] in POD_TEMPLATE_KINDS else None
            if isinstance(template, dict):
                # pods of a sandbox hold nothing: let them go at once, so that namespace deletion (reset) does
                # not wait out the 30 s default grace period
                template.setdefault("spec", {}).setdefault("terminationGracePeriodSeconds", 0)
            if o["kind"] == "APIService":
                spec = o.setdefault("spec", {})
                svc = spec.get("service")
                if svc:
                    backend = backend_services.get((svc.get("namespace"), svc.get("name")))
                    if backend:
                        svc["port"] = self.backends[backend]
                    spec["caBundle"] = self.ca_b64
                    spec.pop("insecureSkipTLSVerify", None)
            elif o["kind"] in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
                for hook in o.get("webhooks") or []:
                    if "clientConfig" in hook:
                        hook["clientConfig"]["caBundle"] = self.ca_b64
        return objs

    # -- primitives
    def _apply_one(self, obj: dict) -> dict:
        body = {k: v for k, v in obj.items() if k != "status" or obj["kind"] == "Node"}
        meta = body.get("metadata") or {}
        body["metadata"] = {
            k: v
            for k, v in meta.items()
            if k not in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation")
        }
        return request(
            self.client,
            "PATCH",
            self.mapper.path(obj),
            body=body,
            query={"fieldManager": FIELD_MANAGER, "force": "true"},
            content_type="application/apply-patch+yaml",
        )

    def _write_status(self, obj: dict) -> None:
        meta = {"name": obj["metadata"]["name"]}
        if obj["metadata"].get("namespace"):
            meta["namespace"] = obj["metadata"]["namespace"]
        body = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta, "status": obj["status"]}
        request(
            self.client,
            "PATCH",
            self.mapper.path(obj, "status"),
            body=body,
            query={"fieldManager": FIELD_MANAGER + "-status", "force": "true"},
            content_type="application/apply-patch+yaml",
        )

    def _parallel(self, fn, objs: list[dict]) -> list:
        if not objs:
            return []
        with ThreadPoolExecutor(max_workers=min(self.threads, len(objs))) as pool:
            futures = [(o, pool.submit(fn, o)) for o in objs]
        out = []
        for o, f in futures:
            try:
                out.append(f.result())
            except KubeError as exc:
                raise KubeError(exc.status, f"{ref(o)}: {exc.method}", exc.path, exc.body) from None
        return out

    def _wait(self, what: str, pending: list, check: Callable[[object], list[str]], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.1
        while True:
            problems = [(item, diffs) for item in pending for diffs in [check(item)] if diffs]
            pending = [item for item, _ in problems]
            if not pending:
                return
            if time.monotonic() > deadline:
                detail = "; ".join(f"{ref(i) if isinstance(i, dict) else i}: {', '.join(d)}" for i, d in problems)
                raise TimeoutError(f"{what}: not reached after {timeout:.0f}s: {detail}")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    def _crd_established(self, crd: dict) -> list[str]:
        try:
            live = get(
                self.client, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"
            )
        except KubeError as exc:
            return [str(exc)]
        conds = _conditions(live.get("status") or {})
        return [] if conds.get("Established") == "True" else [f"Established={conds.get('Established')}"]

    def _status_matches(self, obj: dict) -> list[str]:
        try:
            live = get(self.client, self.mapper.path(obj))
        except KubeError as exc:
            return [str(exc)]
        return mismatch(obj, live)

    # -- the whole thing
    def apply(self, objects: Iterable[dict], timeout: float = 120) -> dict[str, float]:
        t0 = time.monotonic()
        objs = self.prepare(objects)
        timings: dict[str, float] = {}
        namespaces = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Namespace"}
        crds = [o for o in objs if o["kind"] == "CustomResourceDefinition"]
        last = [o for o in objs if o["kind"] in LAST_KINDS]
        rest = [
            o
            for o in objs
            if o["kind"] not in LAST_KINDS and o["kind"] not in ("Namespace", "CustomResourceDefinition")
        ]
        for o in rest + last:
            ns = o.get("metadata", {}).get("namespace")
            if ns and ns not in namespaces and ns not in SYSTEM_NAMESPACES:
                namespaces[ns] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}

        self._parallel(self._apply_one, list(namespaces.values()) + crds)
        if crds:
            self._wait("CRDs Established", crds, self._crd_established, timeout)
            for crd in crds:
                for v in crd["spec"]["versions"]:
                    self.mapper.forget(f"{crd['spec']['group']}/{v['name']}")
        timings["namespaces+crds"] = time.monotonic() - t0

        # custom resources right after CRDs are Established can still 404 for a moment: retry those
        for order in sorted({ORDER.get(o["kind"], CUSTOM_ORDER) for o in rest}):
            batch = [o for o in rest if ORDER.get(o["kind"], CUSTOM_ORDER) == order]
            self._parallel(self._apply_retrying, batch)
        # (a Node got its status with the create; afterwards kwok owns it)
        status_objs = [
            o
            for o in rest
            if o.get("status") and o["kind"] != "Node" and (o["apiVersion"], o["kind"]) not in CONTROLLED_STATUS
        ]
        self._parallel(self._write_status_if_subresource, status_objs)
        self._parallel(self._apply_retrying, last)
        timings["objects"] = time.monotonic() - t0

        expect = [
            o
            for o in rest + last
            if o.get("status")
            and (o["apiVersion"], o["kind"]) in CONTROLLED_STATUS
            and o["kind"] not in ("Namespace", "Service", "CustomResourceDefinition")
        ]
        if expect:
            self._wait("controller-owned status", expect, self._status_matches, timeout)
        timings["converged"] = time.monotonic() - t0
        return timings

    def _apply_retrying(self, obj: dict) -> dict:
        deadline = time.monotonic() + 30
        while True:
            try:
                return self._apply_one(obj)
            except (KubeError, LookupError) as exc:
                status = getattr(exc, "status", 404)
                if status not in (404, 409, 429, 500, 503) or time.monotonic() > deadline:
                    raise
                self.mapper.forget(obj["apiVersion"])
                time.sleep(0.2)

    def _write_status_if_subresource(self, obj: dict) -> None:
        _, _, has_status = self.mapper.resource(obj["apiVersion"], obj["kind"])
        if has_status:
            self._write_status(obj)

    # -- removing a scenario again (Sandbox.reset)
    def delete(self, objects: Iterable[dict], timeout: float = 120) -> None:
        objs = list(objects)
        gone_check = []

        deleted_uids: set[str] = set()

        def delete_one(o: dict) -> None:
            try:
                gone = request(self.client, "DELETE", self.mapper.path(o), body={"propagationPolicy": "Background"})
                deleted_uids.add(gone.get("metadata", {}).get("uid") or (gone.get("details") or {}).get("uid"))
            except KubeError as exc:
                if exc.status != 404:
                    raise
            except LookupError:
                return  # its API is gone already (CRD deleted)
            gone_check.append(o)

        namespaces = {o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"}
        for o in objs:
            ns = o.get("metadata", {}).get("namespace")
            if ns and ns not in SYSTEM_NAMESPACES:
                namespaces.add(ns)
        # webhooks and APIServices first, then objects outside the namespaces that go away as a whole
        self._parallel(delete_one, [o for o in objs if o["kind"] in LAST_KINDS])
        loose = [
            o
            for o in objs
            if o["kind"] not in LAST_KINDS | {"Namespace", "CustomResourceDefinition"}
            and (
                o.get("metadata", {}).get("namespace") in SYSTEM_NAMESPACES
                or not o.get("metadata", {}).get("namespace")
            )
        ]
        self._parallel(delete_one, loose)
        ns_objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in sorted(namespaces)]
        self._parallel(delete_one, ns_objs)
        # A terminating namespace admits no new pods, so the pods can go right away; left to the namespace
        # controller, their removal takes ~5 s more.
        for n in sorted(namespaces):
            try:
                request(self.client, "DELETE", f"/api/v1/namespaces/{n}/pods", query={"gracePeriodSeconds": "0"})
            except KubeError as exc:
                if exc.status != 404:
                    raise
        crds = [o for o in objs if o["kind"] == "CustomResourceDefinition"]
        self._parallel(delete_one, crds)

        started = time.monotonic()

        def still_there(o: dict) -> list[str]:
            try:
                live = get(self.client, self.mapper.path(o))
            except KubeError as exc:
                return [] if exc.status == 404 else [str(exc)]
            except LookupError:
                return []
            if not live["metadata"].get("deletionTimestamp") and live["metadata"].get("uid") not in deleted_uids:
                delete_one(o)  # re-created meanwhile, or our DELETE got lost
            if (
                o["kind"] == "CustomResourceDefinition"
                and time.monotonic() - started > CRD_FINALIZER_PATIENCE
                and live["metadata"].get("finalizers")
            ):
                # Rarely (seen once in dozens of resets, after a CRD of the same name had just been deleted and
                # re-created) the CRD finalizer never finishes. Nothing of value is lost in a sandbox: drop it.
                conds = {
                    c.get("type"): f"{c.get('status')} {c.get('message', '')}"
                    for c in (live.get("status") or {}).get("conditions") or []
                }
                self.progress(
                    f"{ref(o)} still terminating after {CRD_FINALIZER_PATIENCE}s ({conds}); removing its finalizers"
                )
                request(
                    self.client,
                    "PATCH",
                    self.mapper.path(o),
                    body={"metadata": {"finalizers": None}},
                    content_type="application/merge-patch+json",
                )
            return ["still present"]

        self._wait("deletion", gone_check, still_there, timeout)
        self.mapper.forget()
