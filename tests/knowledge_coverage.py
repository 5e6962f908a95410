"""Which knowledge records the fixtures under testdata/checks/ exercise, and with which verdicts.

A record is exercised by a fixture of one of the checks that use its kind of record when some object of the
fixture is recognised as belonging to it (a node of the vendor, a workload of the scheduler, a GatewayClass
of the implementation, ...). Each record should have a fixture on which its check PASSes and one on which
it does not; `missing()` lists those that lack either. Other tests use `coverage()` and `missing()`.

`listed_apis()` is what the records say the checks list (tests of resources.py and of the reader ClusterRole).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kubectl_aiconf import knowledge
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge import (
    autoscalers,
    gateways,
    monitoring,
    networks,
    operators,
    sandboxes,
    schedulers,
    serving,
)
from kubectl_aiconf.knowledge._base import Api, search

FIXTURES = Path(__file__).resolve().parent.parent / "testdata" / "checks"

# The checks that use each kind of record.
CHECKS_OF_KIND: dict[str, tuple[str, ...]] = {
    "accelerator": (
        "dra_support",
        "driver_runtime_management",
        "gpu_sharing",
        "virtualized_accelerator",
        "accelerator_metrics",
        "secure_accelerator_access",
    ),
    "sharing": ("gpu_sharing", "virtualized_accelerator"),
    "scheduler": ("gang_scheduling",),
    "gateway": ("ai_inference",),
    "cluster-autoscaler": ("cluster_autoscaling",),
    "pod-autoscaler": ("pod_autoscaling",),
    "monitoring": ("ai_service_metrics",),
    "operator": ("robust_controller",),
    "serving": ("disaggregated_inference",),
    "network": ("high_performance_networking",),
    "sandbox": ("workload_sandboxing",),
}


@dataclass
class RecordCoverage:
    record_id: str
    passing: list[str] = field(default_factory=list)  # fixtures (check/case) on which its check PASSes
    other: list[str] = field(default_factory=list)  # fixtures on which it does not

    @property
    def gap(self) -> str:
        """What is missing: "" when covered."""
        if not self.passing and not self.other:
            return "no fixture"
        if not self.passing:
            return "no fixture on which it PASSes"
        if not self.other:
            return "no fixture on which it does not PASS"
        return ""


# fixture objects --------------------------------------------------------------------------------------------
@functools.cache
def fixture_objects(path: Path) -> tuple[dict, ...]:
    """Every object of a fixture directory, list items included (given the list's item kind)."""
    import yaml

    out: list[dict] = []
    for file in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file()):
        text = file.read_text(encoding="utf-8")
        docs = [json.loads(text)] if file.suffix == ".json" else list(yaml.safe_load_all(text))
        stack = [d for d in docs if isinstance(d, dict)]
        while stack:
            obj = stack.pop()
            kind = str(obj.get("kind") or "")
            if isinstance(obj.get("items"), list):
                item_kind = kind[:-4] if kind.endswith("List") else ""
                for item in obj["items"]:
                    if isinstance(item, dict):
                        stack.append({"kind": item_kind, **item} if item_kind and not item.get("kind") else item)
                continue
            out.append(obj)
    return tuple(out)


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _group(obj: dict) -> str:
    return str(obj.get("apiVersion") or "").rpartition("/")[0]


def _crd_name(obj: dict) -> str:
    return str(_meta(obj).get("name") or "") if obj.get("kind") == "CustomResourceDefinition" else ""


def _groups_present(objs: tuple[dict, ...]) -> set[str]:
    """API groups a fixture shows: of its CRDs and of the custom resources it holds."""
    out = {_group(o) for o in objs}
    out |= {name.partition(".")[2] for name in map(_crd_name, objs) if name}
    return out - {""}


def _served_apis(objs: tuple[dict, ...]) -> set[str]:
    """`<plural>.<group>` of every API a fixture's discovery document serves: built-in APIs (the native
    Workload API) show nowhere else."""
    out = set()
    for o in objs:
        if o.get("kind") == "SnapshotInfo":
            for group, versions in ((o.get("spec") or {}).get("discovery") or {}).items():
                out |= {f"{p}.{group}" if group else p for plurals in (versions or {}).values() for p in plurals}
    return out


def _workloads(objs: tuple[dict, ...]) -> list[tuple[str, list[str], str]]:
    out = []
    for o in objs:
        if o.get("kind") in ("Deployment", "DaemonSet", "StatefulSet"):
            spec = ((o.get("spec") or {}).get("template") or {}).get("spec") or {}
            out.append(
                (
                    str(_meta(o).get("name") or ""),
                    [c.get("image", "") for c in spec.get("containers") or []],
                    str(_meta(o).get("namespace") or ""),
                )
            )
    return out


def _pods(objs: tuple[dict, ...]) -> list[dict]:
    return [o for o in objs if o.get("kind") == "Pod"]


def _nodes(objs: tuple[dict, ...]) -> list[dict]:
    return [o for o in objs if o.get("kind") == "Node"]


# what belongs to a record ---------------------------------------------------------------------------------
def _any_workload(component, objs) -> bool:
    return any(component.matches(name, images, ns) for name, images, ns in _workloads(objs))


def _vendor(record: acc.Vendor, objs) -> bool:
    for node in _nodes(objs):
        found = acc.accelerator_vendors_of_node(
            _meta(node).get("labels"), (node.get("status") or {}).get("allocatable")
        )
        if record.key in found:
            return True
    for o in objs:
        if (
            o.get("kind") == "ResourceSlice"
            and acc.vendor_of_driver((o.get("spec") or {}).get("driver") or "") == record.key
        ):
            return True
    apis = {a.qualified for m in record.driver_managers for a in m.apis}
    if any(_crd_name(o) in apis for o in objs):
        return True
    return any(acc.vendor_of_workload(name, images) == record.key for name, images, _ in _workloads(objs))


def _sharing(record: acc.SharingStack, objs) -> bool:
    for node in _nodes(objs):
        if any(a in (_meta(node).get("annotations") or {}) for a in record.node_annotations):
            return True
        if any(
            acc.fullmatch(r.pattern, name)
            for r in record.resources
            for name in ((node.get("status") or {}).get("allocatable") or {})
        ):
            return True
    return any(_any_workload(c, objs) for c in record.components)


def _scheduler(record: schedulers.GangScheduler, objs) -> bool:
    return (
        _any_workload(record.workloads, objs)
        or bool(set(record.api_groups) & _groups_present(objs))
        or bool({a.qualified for a in record.apis} & _served_apis(objs))
    )


def _gateway(record: gateways.GatewayImplementation, objs) -> bool:
    return any(
        gateways.gateway_implementation(str((o.get("spec") or {}).get("controllerName") or "")) is record
        for o in objs
        if o.get("kind") == "GatewayClass"
    )


def _cluster_autoscaler(record: autoscalers.ClusterAutoscaler, objs) -> bool:
    if _any_workload(record.workloads, objs):
        return True
    if record.status_configmap and any(
        o.get("kind") == "ConfigMap" and _meta(o).get("name") == record.status_configmap for o in objs
    ):
        return True
    if record.node_pool_label and any(record.node_pool_label in (_meta(n).get("labels") or {}) for n in _nodes(objs)):
        return True
    if record.annotations:
        return any(set(record.annotations) <= set(_meta(o).get("annotations") or {}) for o in objs)
    return bool({a.group for a in record.apis} & _groups_present(objs))


def _pod_autoscaler(record: autoscalers.PodAutoscaler, objs) -> bool:
    return _any_workload(record.workloads, objs) or bool(set(record.groups) & _groups_present(objs))


def _monitoring(record: monitoring.MonitoringStack, objs) -> bool:
    return _any_workload(record.workloads, objs) or bool(record.group and record.group in _groups_present(objs))


def _operator(record: operators.AIOperator, objs) -> bool:
    crds = [name for name in map(_crd_name, objs) if name]
    if any(
        name.partition(".")[2] in record.groups and search(record.plurals or ".", name.partition(".")[0])
        for name in crds
    ):
        return True
    return _any_workload(record.workloads, objs)


def _serving(record: serving.ServingStack, objs) -> bool:
    for pod in _pods(objs):
        labels = _meta(pod).get("labels") or {}
        if record.label_prefix and any(k.startswith(record.label_prefix) for k in labels):
            return True
        containers = (pod.get("spec") or {}).get("containers") or []
        line = " ".join(
            str(x) for c in containers for x in [c.get("image", "")] + (c.get("command") or []) + (c.get("args") or [])
        )
        if record.word and record.word in line.lower():
            return True
    return False


def _network(record: networks.NetworkStack, objs) -> bool:
    return _any_workload(record.workloads, objs) or bool(set(record.groups) & _groups_present(objs))


def _sandbox(record: sandboxes.SandboxRuntime, objs) -> bool:
    for o in objs:
        if o.get("kind") == "RuntimeClass":
            text = f"{o.get('handler') or ''} {_meta(o).get('name') or ''}"
            if any(w in text for w in record.words):
                return True
    if any(m.matches(_meta(n).get("labels") or {}) for n in _nodes(objs) for m in record.node_labels):
        return True
    return _any_workload(record.installers, objs)


BELONGS = {
    "accelerator": _vendor,
    "sharing": _sharing,
    "scheduler": _scheduler,
    "gateway": _gateway,
    "cluster-autoscaler": _cluster_autoscaler,
    "pod-autoscaler": _pod_autoscaler,
    "monitoring": _monitoring,
    "operator": _operator,
    "serving": _serving,
    "network": _network,
    "sandbox": _sandbox,
}


def belongs(record: object, objs: tuple[dict, ...]) -> bool:
    """Whether a fixture holds something the tool recognises as `record`'s."""
    return BELONGS[record.KIND](record, objs)  # type: ignore[attr-defined]


# coverage -----------------------------------------------------------------------------------------------------
@functools.cache
def _status(requirement: str, case: str) -> str:
    from conftest import run_check

    return run_check(f"{requirement}/{case}", requirement).status.value


def fixtures_of(requirement: str) -> list[str]:
    root = FIXTURES / requirement
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


@functools.cache
def coverage() -> dict[str, RecordCoverage]:
    """{record id: the fixtures that exercise it, split by whether its check PASSes on them}."""
    out = {}
    for record_id, record in knowledge.all_records().items():
        cov = RecordCoverage(record_id)
        for requirement in CHECKS_OF_KIND[record.KIND]:  # type: ignore[attr-defined]
            for case in fixtures_of(requirement):
                if not belongs(record, fixture_objects(FIXTURES / requirement / case)):
                    continue
                name = f"{requirement}/{case}"
                (cov.passing if _status(requirement, case) == "PASS" else cov.other).append(name)
        out[record_id] = cov
    return out


def missing() -> dict[str, str]:
    """{record id: what it lacks} for the records without a PASS fixture or without a non-PASS one."""
    return {rid: cov.gap for rid, cov in coverage().items() if cov.gap}


# APIs the checks list ---------------------------------------------------------------------------------------
def _apis(value: object) -> Iterator[Api]:
    if isinstance(value, Api):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _apis(getattr(value, f.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _apis(item)


def listed_apis() -> list[tuple[str, Api]]:
    """(record id, API) of every API a record of the registry says the checks list: every API a record names,
    except a scheduler's `apis` (which need only be served: its queue and usage objects are listed), and the
    Gateway API and Inference Extension resources. A new record's objects need a definition in resources.py
    and a rule in testdata/rbac/aiconf-reader.yaml."""
    out: list[tuple[str, Api]] = []
    for rid, record in knowledge.all_records().items():
        if isinstance(record, schedulers.GangScheduler):
            apis: list[Api] = [q.api for q in record.queues] + ([record.usage] if record.usage else [])
        else:
            apis = list(_apis(record))
        out += [(rid, api) for api in dict.fromkeys(apis)]
    out += [("gateways", api) for api in gateways.GATEWAY_APIS + gateways.GAIE_APIS]
    return out
