"""A cluster view read from files: YAML/JSON documents as `kubectl get -o yaml` prints them, or the
directory that `kubectl aiconf snapshot` writes.

What the files do not say is never guessed as "absent": a resource the snapshot holds no listing of is
NO_DATA, which checks turn into UNKNOWN.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kubectl_aiconf.view import ClusterView, Listing, LoadError, Outcome, Resource, gc_paused, projector

SNAPSHOT_API_VERSION = "aiconf/v1"
SNAPSHOT_KIND = "SnapshotInfo"

# Built-in API groups served by every cluster of a given version, with the resources the checks read.
_BUILTIN = {
    "": {"v1": ["nodes", "pods", "services", "configmaps", "namespaces"]},
    "apps": {"v1": ["deployments", "daemonsets", "statefulsets"]},
    "apiextensions.k8s.io": {"v1": ["customresourcedefinitions"]},
    "apiregistration.k8s.io": {"v1": ["apiservices"]},
    "admissionregistration.k8s.io": {"v1": ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]},
    "node.k8s.io": {"v1": ["runtimeclasses"]},
    "autoscaling": {"v2": ["horizontalpodautoscalers"], "v1": ["horizontalpodautoscalers"]},
}
_AGGREGATED_GROUPS = ("metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io")
# resource.k8s.io/v1 is GA and on by default from 1.34; earlier versions served only opt-in betas.
_DRA_BUILTIN_FROM = (1, 34)
_DRA = {"v1": ["deviceclasses", "resourceslices", "resourceclaims", "resourceclaimtemplates"]}
# DeviceTaintRules are GA and served by default from 1.37: a snapshot of such a server without their listing
# cannot say that no rule taints a device.
_DRA_TAINT_RULES_FROM = (1, 37)


def _group_of(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class SnapshotView(ClusterView):
    source = "snapshot"

    def __init__(self, path: str | os.PathLike, conformance_version: str | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self._objects: dict[tuple[str, str], list[dict]] = {}  # (group, kind) -> objects
        # (group, kind) -> version of each explicit (maybe empty) <Kind>List: the API was served then
        self._listed: dict[tuple[str, str], str] = {}
        self._reads: dict[str, dict] = {}  # Resource.key -> recorded outcome, from SnapshotInfo
        self._discovery: dict[str, dict[str, list[str]]] | None = None
        with gc_paused():
            self._read_files()
        self._served = self._discovery if self._discovery is not None else self._infer_served(conformance_version)

    # reading ---------------------------------------------------------------------------------------------
    def _files(self) -> list[Path]:
        if not self.path.exists():
            raise LoadError(f"snapshot {self.path}: no such file or directory")
        if self.path.is_file():
            return [self.path]
        files = sorted(p for p in self.path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
        if not files:
            raise LoadError(f"snapshot {self.path}: no .yaml, .yml or .json files")
        return files

    def _read_files(self) -> None:
        import yaml

        count = 0
        for file in self._files():
            try:
                # JSON is parsed from bytes: no decoded copy of a file that may hold 20,000 pods.
                docs = (
                    [json.loads(file.read_bytes())]
                    if file.suffix == ".json"
                    else list(
                        yaml.load_all(
                            file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                        )
                    )
                )
            except (OSError, UnicodeDecodeError) as exc:
                raise LoadError(f"snapshot {file}: cannot read: {exc}") from None
            except (yaml.YAMLError, ValueError) as exc:
                raise LoadError(
                    f"snapshot {file}: invalid {'JSON' if file.suffix == '.json' else 'YAML'}: "
                    f"{str(exc).splitlines()[0] if str(exc) else exc}"
                ) from None
            for index, doc in enumerate(docs, 1):
                if doc is None:
                    continue
                count += self._add_document(doc, f"{file} (document {index})")
        if count == 0 and self.kubernetes_version is None:
            raise LoadError(f"snapshot {self.path}: no Kubernetes objects found")

    def _add_document(self, doc, where: str) -> int:
        if not isinstance(doc, dict):
            raise LoadError(f"snapshot {where}: expected a Kubernetes object, found {type(doc).__name__}")
        if "gitVersion" in doc and "kind" not in doc:  # the /version document
            self.kubernetes_version = str(doc["gitVersion"])
            return 1
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if not api_version or not kind:
            raise LoadError(f"snapshot {where}: object without apiVersion/kind")
        if api_version == SNAPSHOT_API_VERSION and kind == SNAPSHOT_KIND:
            self._add_info(doc)
            return 1
        if kind.endswith("List") and isinstance(doc.get("items"), list):
            if kind == "List":  # untyped: each item says what it is
                for item in doc["items"]:
                    self._add_document(item, where)
                return 1
            item_kind = kind[:-4]
            group, version = _group_of(api_version)
            self._listed[group, item_kind] = version
            # A typed list's items are all of its kind: one pass, without a call per item (20,000 pods).
            objects: list[dict] = []
            for item in doc["items"]:
                if not isinstance(item, dict):
                    raise LoadError(f"snapshot {where}: expected a Kubernetes object, found {type(item).__name__}")
                if "apiVersion" not in item:
                    item["apiVersion"] = api_version
                if "kind" not in item:
                    item["kind"] = item_kind
                if item["apiVersion"] != api_version or item["kind"] != item_kind:
                    self._add_document(item, where)
                else:
                    objects.append(item)
            if objects:
                self._objects.setdefault((group, item_kind), []).extend(objects)
            return 1
        group, _ = _group_of(api_version)
        self._objects.setdefault((group, kind), []).append(doc)
        return 1

    def _add_info(self, doc: dict) -> None:
        info = doc.get("spec") or {}
        if info.get("kubernetesVersion"):
            self.kubernetes_version = str(info["kubernetesVersion"])
        discovery = info.get("discovery")
        if isinstance(discovery, dict):
            self._discovery = {g: {v: list(r) for v, r in versions.items()} for g, versions in discovery.items()}
        for read in info.get("reads") or []:
            self._reads[read["resource"]] = read

    # served groups when the snapshot has no discovery document -------------------------------------------
    def _infer_served(self, conformance_version: str | None) -> dict[str, dict[str, list[str]]]:
        from kubectl_aiconf import resources

        served: dict[str, dict[str, list[str]]] = {g: {v: list(r) for v, r in vs.items()} for g, vs in _BUILTIN.items()}
        version = conformance_version or self.kubernetes_version or ""
        from kubectl_aiconf.catalogue import minor_of

        minor = minor_of(version) if version else None
        if minor and tuple(int(x) for x in minor.split(".")) >= _DRA_BUILTIN_FROM:
            served["resource.k8s.io"] = {v: list(r) for v, r in _DRA.items()}
        server = minor_of(self.kubernetes_version or version) if self.kubernetes_version or version else None
        if server and tuple(int(x) for x in server.split(".")) >= _DRA_TAINT_RULES_FROM:
            served.setdefault("resource.k8s.io", {}).setdefault("v1", []).append("devicetaintrules")

        def add(group: str, version: str, plural: str) -> None:
            names = served.setdefault(group, {}).setdefault(version, [])
            if plural not in names:
                names.append(plural)

        known = {(r.group, r.kind): r.resource for r in resources.ALL}
        for (group, kind), list_version in self._listed.items():
            if (group, kind) in known:
                add(group, list_version, known[group, kind])
        for (group, kind), objs in self._objects.items():
            plural = known.get((group, kind))
            if plural:
                add(group, _group_of(objs[0]["apiVersion"])[1], plural)
            if (group, kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                for crd in objs:
                    if _condition_false(crd, "Established"):
                        continue
                    spec = crd.get("spec") or {}
                    plural, _, crd_group = crd["metadata"]["name"].partition(".")
                    versions = [v["name"] for v in spec.get("versions") or [] if v.get("served", True)]
                    for v in versions or ["v1"]:
                        add(spec.get("group") or crd_group, v, plural)
            if (group, kind) == ("apiregistration.k8s.io", "APIService"):
                for svc in objs:
                    spec = svc.get("spec") or {}
                    if spec.get("group") and not _condition_false(svc, "Available"):
                        served.setdefault(spec["group"], {}).setdefault(spec.get("version") or "v1", [])
        return served

    def discovery_gaps(self, group: str, resource: str | None = None) -> list[Listing]:
        if self._discovery is not None or group in _BUILTIN or self.serves(group, resource):
            return []
        from kubectl_aiconf.resources import APISERVICES, CRDS

        # The metrics APIs are aggregated (APIServices); every other group the checks read comes from CRDs.
        # Without the listing that would show it, an unseen group may still be served.
        res = APISERVICES if group in _AGGREGATED_GROUPS else CRDS
        return [] if self._holds(res) else [Listing(res, Outcome.NO_DATA)]

    def _holds(self, res: Resource) -> bool:
        read = self._reads.get(res.key)
        return (
            (res.group, res.kind) in self._objects
            or (res.group, res.kind) in self._listed
            or bool(read and read.get("outcome") == Outcome.OK.value)
        )

    # listings --------------------------------------------------------------------------------------------
    def load(self, resources) -> None:
        with gc_paused():
            for res in resources:
                if res.key not in self._listings:
                    self._listings[res.key] = self._listing(res)

    def _listing(self, res: Resource) -> Listing:
        read = self._reads.get(res.key)
        if read and read.get("outcome") != Outcome.OK.value:
            return Listing(res, Outcome(read["outcome"]), detail=read.get("detail", ""))
        if not self.serves(res.group, res.resource):
            return Listing(res, Outcome.NOT_SERVED)
        if not self._holds(res):
            return Listing(res, Outcome.NO_DATA)
        objs = [
            o for o in self._objects.get((res.group, res.kind)) or [] if _field_selector_matches(o, res.field_selector)
        ]
        project = projector(_snapshot_projection(res), share_strings=False)
        return Listing(res, Outcome.OK, [project(o) for o in objs], version=self.choose_version(res))


def _condition_false(obj: dict, type_: str) -> bool:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return str(cond.get("status")) == "False"
    return False


def _snapshot_projection(res: Resource) -> Resource:
    """Metadata-only resources keep, from full objects, the fields a metadata list would let checks derive."""
    if not res.metadata_only:
        return res
    from dataclasses import replace

    return replace(
        res,
        keep=res.keep
        + ("spec.group", "spec.names", "spec.versions[].name", "spec.versions[].served", "status.conditions"),
    )


def _field_selector_matches(obj: dict, selector: str) -> bool:
    """Only the `metadata.name=X` / `metadata.namespace=X` selectors the checks use."""
    for term in filter(None, selector.split(",")):
        field, _, value = term.partition("=")
        meta = obj.get("metadata") or {}
        if meta.get(field.removeprefix("metadata.")) != value:
            return False
    return True


def write_snapshot(view: ClusterView, directory: str | os.PathLike) -> list[Path]:
    """Write exactly what the checks read from `view` (already loaded) so that a SnapshotView of the
    directory reproduces the same listings: an info document (version, discovery, per-resource outcomes)
    and one `<Kind>List` file per listed resource. Secrets are never read, so never written.

    JSON rather than YAML: the standard library parses it in C, which matters for 20,000 pods when the
    zipapp carries the pure-Python YAML parser."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    reads = []
    for listing in view.listings():
        res = listing.resource
        reads.append(
            {
                "resource": res.key,
                "outcome": listing.outcome.value,
                **({"detail": listing.detail} if listing.detail else {}),
            }
        )
        if not listing.ok:
            continue
        api_version = f"{res.group}/{listing.version}" if res.group else (listing.version or "v1")
        name = res.key.replace("?", "_").replace("=", "-").replace("/", "-")
        path = out / f"{name}.json"
        doc = {"apiVersion": api_version, "kind": f"{res.kind}List", "items": listing.items}
        path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        written.append(path)
    info = {
        "apiVersion": SNAPSHOT_API_VERSION,
        "kind": SNAPSHOT_KIND,
        "metadata": {"name": "snapshot"},
        "spec": {
            "kubernetesVersion": view.kubernetes_version,
            "sourceContext": view.context,
            "discovery": view._served,
            "reads": reads,
        },
    }
    info_path = out / "_snapshot-info.json"
    info_path.write_text(json.dumps(info, indent=1), encoding="utf-8")
    return [info_path] + written
