"""driver_runtime_management: does the driver a container given an accelerator sees match what the node
advertises?

What the node advertises: the vendor's version labels (knowledge.accelerators: e.g. NVIDIA's
nvidia.com/cuda.driver-version.full) and, for a DRA device, the version attributes its driver publishes in
the ResourceSlice. What the container sees: the vendor's driver version file (/proc/driver/nvidia/version,
...), read by a pod given one accelerator the way the accelerator probe gives it (device plugin or DRA
claim). The node's container runtime version (nodeInfo) is evidence.

  PASS     the container sees the version the node advertises
  FAIL     it sees another: the advertised version is stale, or the upgrade did not reach the node
  UNKNOWN  nothing to compare: no advertised version, or the container sees none (a driver without a
           version file, such as Kubernetes' DRA test driver), or the pod could not run
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubectl_aiconf.checks import common
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.probe.plan import PLAN_READS
from kubectl_aiconf.probe.pods import PROBE_LABEL, PodRun, keys, run_pods
from kubectl_aiconf.probe.suite import Context, Part
from kubectl_aiconf.resources import NODES, RESOURCESLICES
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.view import ClusterView

PROBE = "driver_runtime_management"
POD = "driver-version"
CLAIM = "driver-version"
READS = PLAN_READS


@dataclass(frozen=True)
class Subject:
    """The node, the accelerator the pod gets, and what the node advertises about its driver."""

    node: str
    how: str  # e.g. "nvidia.com/gpu through the device plugin"
    vendor: str | None
    advertised: dict[str, str]  # source (label or attribute) -> version
    runtime: str  # nodeInfo.containerRuntimeVersion


def version_script(vendor: str | None) -> str:
    """Print each of the vendor's driver version files (every known vendor's when it is unknown)."""
    vendors = [v for v in acc.VENDORS if v.key == vendor] or list(acc.VENDORS)
    lines = []
    for v in vendors:
        for path, _ in v.driver_version_files:
            lines.append(f'[ -r {path} ] && sed -n "1p" {path} | sed "s|^|AICONF version-file={path}:|"')
    return "\n".join(lines + ['echo "AICONF done"']) + "\n"


def slice_versions(view: ClusterView, node: str, driver: str, vendor: str | None) -> dict[str, str]:
    """Version attributes the DRA driver publishes for the node's devices: {"ResourceSlice attribute X": v}."""
    record = acc.BY_KEY.get(vendor or "")
    names = record.dra_version_attributes if record else ()
    listing = view.list(RESOURCESLICES)
    out: dict[str, str] = {}
    for s in listing.items if listing.visible else []:
        spec = s.get("spec") or {}
        if spec.get("driver") != driver or spec.get("nodeName") != node:
            continue
        for device in spec.get("devices") or []:
            attrs = device.get("attributes") or (device.get("basic") or {}).get("attributes") or {}
            for name, value in attrs.items():
                bare = name.rsplit("/", 1)[-1]
                if bare in names and isinstance(value, dict):
                    found = value.get("version") or value.get("string")
                    if found:
                        out[f"ResourceSlice attribute {bare}"] = str(found)
    return out


def plan(view: ClusterView, options) -> Part:
    from kubectl_aiconf.probe import dra
    from kubectl_aiconf.probe.plan import DRA, build_plan

    planned = build_plan(view, options)
    if not planned.targets:
        from kubectl_aiconf.probe.plan import PlanError

        raise PlanError("no free accelerator to give the pod" + "".join(f"; {why}" for _, why in planned.skipped))
    target = planned.targets[0]
    node = next(n for n in view.list(NODES).items if common.name_of(n) == target.node)
    advertised = {f"label {k}": v for k, v in _labels(target.vendor, node).items()}
    if target.mechanism == DRA:
        advertised.update(slice_versions(view, target.node, target.driver or "", target.vendor))
    runtime = str(((node.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion") or "")
    subject = Subject(target.node, target.describe(), target.vendor, advertised, runtime)
    ns = options.namespace
    script = version_script(target.vendor)
    template = next(p.manifest for p in planned.pods if p.target is target)
    objects: list[dict] = []
    if target.mechanism == DRA:
        claim_target = dra.ClaimTarget(
            target.device_class or "", target.driver or "", target.node, planned.resource_api or "v1", template
        )
        objects = [
            dra.claim_manifest(ns, CLAIM, claim_target),
            dra.claim_pod(ns, POD, PROBE, CLAIM, claim_target, script),
        ]
    else:
        objects = [_device_plugin_pod(template, ns, script)]
    summary = [
        f"pod {POD} on {target.node} given one accelerator ({subject.how}), printing the driver version it sees",
        "the node advertises " + (", ".join(f"{k}={v}" for k, v in advertised.items()) or "no driver version"),
    ]

    def execute(ctx: Context) -> CheckResult:
        for obj in objects[:-1]:  # the ResourceClaim of a DRA target
            ctx.create(f"/apis/{obj['apiVersion']}/namespaces/{ns}/resourceclaims", obj)
            ctx.progress(f"created ResourceClaim {obj['metadata']['name']}")
        runs = run_pods(ctx, objects[-1:])
        return judge(subject, runs[POD])

    perms = [("create", "", "pods", "", ns), ("list", "", "pods", "", ns), ("get", "", "pods", "log", ns)]
    if target.mechanism == DRA:
        perms.append(("create", "resource.k8s.io", "resourceclaims", "", ns))
    return Part(objects, perms, execute, summary, holds_devices=True)


def _labels(vendor: str | None, node: dict) -> dict[str, str]:
    labels = common.labels_of(node)
    record = acc.BY_KEY.get(vendor or "")
    found = acc.advertised_versions(vendor or "", labels)
    if not record or "driver" not in found:
        return {}
    label = next(vl for vl in record.version_labels if vl.what == "driver")
    return {label.full if labels.get(label.full) else "+".join(label.parts): found["driver"]}


def _device_plugin_pod(template: dict, namespace: str, script: str) -> dict:
    import copy

    manifest = copy.deepcopy(template)
    manifest["metadata"] = {
        "name": POD,
        "namespace": namespace,
        "labels": {**manifest["metadata"]["labels"], PROBE_LABEL: PROBE},
    }
    container = manifest["spec"]["containers"][0]
    manifest["spec"]["containers"] = [container]
    container["name"] = "probe"
    container["command"] = ["sh", "-c", script]
    return manifest


# verdict (pure) -------------------------------------------------------------------------------------------------
def seen_versions(vendor: str | None, log: str) -> dict[str, str]:
    """{file: version} from the pod's `version-file=PATH:first line` lines, by the vendors' patterns."""
    patterns = {path: rx for v in acc.VENDORS for path, rx in v.driver_version_files}
    out = {}
    for line in keys(log).get("version-file", []):
        path, _, text = line.partition(":")
        match = re.search(patterns.get(path, r"$^"), text)
        if match and match.group(1):
            out[path] = match.group(1)
    return out


def judge(subject: Subject, run: PodRun) -> CheckResult:
    evidence = [Evidence("Node", subject.node, f"advertises {k}={v}") for k, v in subject.advertised.items()]
    if subject.runtime:
        evidence.append(Evidence("Node", subject.node, f"container runtime {subject.runtime}"))
    where = f"on {subject.node} ({subject.how})"
    if not run.ran:
        return CheckResult(
            Status.UNKNOWN,
            f"probe incomplete: pod {POD} {where} did not run: {run.detail}",
            evidence,
            Reason.PROBE_INCONCLUSIVE,
        )
    log = run.logs.get("probe", "")
    if "done" not in keys(log):
        return CheckResult(
            Status.UNKNOWN,
            f"probe incomplete: pod {POD} {where} printed no complete output",
            evidence,
            Reason.PROBE_INCONCLUSIVE,
        )
    seen = seen_versions(subject.vendor, log)
    evidence += [Evidence("Pod", POD, f"sees driver {v} in {path}") for path, v in seen.items()]
    advertised = set(subject.advertised.values())
    if not seen or not advertised:
        missing = []
        if not advertised:
            missing.append(f"the node advertises no driver version for {subject.vendor or 'this driver'}")
        if not seen:
            missing.append("the container given the accelerator sees no driver version file")
        return CheckResult(
            Status.UNKNOWN,
            f"probe could not compare driver versions {where}: " + "; ".join(missing),
            evidence,
            Reason.PROBE_INCONCLUSIVE,
        )
    versions = set(seen.values())
    if versions <= advertised and len(advertised) == 1:
        return CheckResult(
            Status.PASS,
            f"probe passed: a pod given an accelerator {where} sees driver {', '.join(sorted(versions))}, the version "
            "the node advertises",
            evidence,
            Reason.PROBE_PASSED,
        )
    return CheckResult(
        Status.FAIL,
        f"probe failed: a pod given an accelerator {where} sees driver {', '.join(sorted(versions))}, but the node "
        f"advertises {', '.join(f'{k}={v}' for k, v in subject.advertised.items())}",
        evidence,
        Reason.PROBE_FAILED,
    )
