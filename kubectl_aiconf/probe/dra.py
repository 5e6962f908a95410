"""dra_support: a ResourceClaim is allocated by the scheduler and prepared by the node's driver.

The probe creates one ResourceClaim for one device of a DeviceClass that has a free device on a Ready node
(chosen as the accelerator probe chooses its DRA target) and one pod that uses it. While the pod runs, the
claim's status is read: the allocation result (driver/pool/device), the pod it is reserved for, and any
device status the driver wrote. The pod lists what the driver gave its container.

  PASS     the pod ran with the claim (the kubelet starts it only once the driver prepared the claim), and
           the claim's allocation names the device
  FAIL     the claim was allocated but the node never prepared it (the pod did not start within the limit,
           the kubelet reporting why when its events can be read)
  UNKNOWN  no DeviceClass with a free device, the scheduler did not allocate, or the pod could not run for
           another reason (image, timeout before scheduling)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from kubectl_aiconf.probe.plan import PLAN_READS
from kubectl_aiconf.probe.pods import PodRun, events, run_pods
from kubectl_aiconf.probe.suite import Context, Part
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.view import ClusterView

PROBE = "dra_support"
CLAIM = "dra-support"
POD = "dra-support"
LINGER_SECONDS = 2  # the pod stays up that long after printing, so that its claim is read while in use
PREPARE_FAILURES = ("FailedPrepareDynamicResources", "FailedPrepareResources")


READS = PLAN_READS


@dataclass
class ClaimTarget:
    """Where and how a probe gets one DRA device."""

    device_class: str
    driver: str
    node: str
    api: str  # resource.k8s.io version
    pod_template: dict  # a planned accelerator-probe pod for the target (tolerations, RuntimeClass, affinity)
    notes: list[str] = field(default_factory=list)


def claim_target(view: ClusterView, options) -> ClaimTarget:
    """The DRA target the accelerator probe would use. Raises PlanError saying why there is none."""
    from kubectl_aiconf.probe.plan import DRA, build_plan

    planned = build_plan(view, replace(options, mechanism=DRA))
    target = next(t for t in planned.targets if t.mechanism == DRA)  # build_plan raised if there is none
    template = next(p.manifest for p in planned.pods if p.target is target)
    return ClaimTarget(
        target.device_class or "",
        target.driver or "",
        target.node,
        planned.resource_api or "v1",
        template,
        target.notes,
    )


def claim_manifest(namespace: str, name: str, target: ClaimTarget) -> dict:
    from kubectl_aiconf.probe.plan import _labels

    request: dict[str, object]
    if target.api == "v1beta1":  # v1beta1 requests are flat; v1beta2 and v1 wrap them in `exactly`
        request = {"name": "device", "deviceClassName": target.device_class, "count": 1, "allocationMode": "ExactCount"}
    else:
        request = {
            "name": "device",
            "exactly": {"deviceClassName": target.device_class, "count": 1, "allocationMode": "ExactCount"},
        }
    return {
        "apiVersion": f"resource.k8s.io/{target.api}",
        "kind": "ResourceClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels()},
        "spec": {"devices": {"requests": [request]}},
    }


def claim_pod(namespace: str, name: str, probe: str, claim: str, target: ClaimTarget, script: str) -> dict:
    """The planned accelerator-probe pod of the target, using ResourceClaim `claim` and running `script`."""
    from kubectl_aiconf.probe.pods import PROBE_LABEL

    manifest = copy.deepcopy(target.pod_template)
    manifest["metadata"] = {
        "name": name,
        "namespace": namespace,
        "labels": {**manifest["metadata"]["labels"], PROBE_LABEL: probe},
    }
    spec = manifest["spec"]
    spec["resourceClaims"] = [{"name": "device", "resourceClaimName": claim}]
    container = spec["containers"][0]
    spec["containers"] = [container]
    container["name"] = "probe"
    container["command"] = ["sh", "-c", script]
    container["resources"]["claims"] = [{"name": "device"}]
    return manifest


class ClaimWatch:
    """Reads the claim on every poll while its pod exists; keeps the last status that had an allocation."""

    def __init__(self, ctx: Context, api: str, name: str) -> None:
        self.ctx, self.path = ctx, f"/apis/resource.k8s.io/{api}/namespaces/{ctx.namespace}/resourceclaims/{name}"
        self.allocated: dict | None = None
        self.last: dict | None = None

    def __call__(self, _pods: dict[str, dict]) -> None:
        from kubectl_aiconf.view.live import ApiError

        try:
            claim = self.ctx.conn.request("GET", self.path)
        except ApiError:
            return
        self.last = claim
        if ((claim.get("status") or {}).get("allocation") or {}).get("devices"):
            if self.allocated is None:
                self.ctx.progress(
                    f"claim {claim['metadata']['name']}: allocated " + ", ".join(allocated_devices(claim))
                )
            self.allocated = claim


def allocated_devices(claim: dict | None) -> list[str]:
    results = ((((claim or {}).get("status") or {}).get("allocation") or {}).get("devices") or {}).get("results") or []
    return [f"{r.get('driver')}/{r.get('pool')}/{r.get('device')}" for r in results]


def reserved_for(claim: dict | None) -> list[str]:
    return [str(r.get("name")) for r in ((claim or {}).get("status") or {}).get("reservedFor") or []]


def device_status(claim: dict | None) -> list[str]:
    """What the driver wrote about the allocated devices (status.devices: conditions, network data)."""
    out = []
    for d in ((claim or {}).get("status") or {}).get("devices") or []:
        conds = ", ".join(f"{c.get('type')}={c.get('status')}" for c in d.get("conditions") or [])
        out.append(f"{d.get('driver')}/{d.get('pool')}/{d.get('device')}" + (f" ({conds})" if conds else ""))
    return out


def plan(view: ClusterView, options) -> Part:
    from kubectl_aiconf.probe.plan import PROBE_SCRIPT

    target = claim_target(view, options)
    ns = options.namespace
    objects = [
        claim_manifest(ns, CLAIM, target),
        claim_pod(ns, POD, PROBE, CLAIM, target, PROBE_SCRIPT + f"sleep {LINGER_SECONDS}\n"),
    ]
    summary = [
        f"ResourceClaim {CLAIM}: one device of DeviceClass {target.device_class} (driver {target.driver})",
        f"pod {POD} on {target.node} using it: the claim must be allocated and prepared",
    ] + [f"note on {target.node}: {n}" for n in target.notes]

    def execute(ctx: Context) -> CheckResult:
        ctx.create(f"/apis/resource.k8s.io/{target.api}/namespaces/{ns}/resourceclaims", objects[0])
        ctx.progress(f"created ResourceClaim {CLAIM} (one device of DeviceClass {target.device_class})")
        watch = ClaimWatch(ctx, target.api, CLAIM)
        runs = run_pods(ctx, objects[1:], on_poll=watch)
        run = runs[POD]
        return judge(target, run, watch.allocated or watch.last, [] if run.ran else events(ctx, POD))

    perms = [
        ("create", "resource.k8s.io", "resourceclaims", "", ns),
        ("get", "resource.k8s.io", "resourceclaims", "", ns),
        ("create", "", "pods", "", ns),
        ("list", "", "pods", "", ns),
        ("get", "", "pods", "log", ns),
    ]
    return Part(objects, perms, execute, summary, holds_devices=True)


# verdict (pure) -------------------------------------------------------------------------------------------------
def what_container_saw(run: PodRun) -> str:
    from kubectl_aiconf.probe.verdict import parse_output

    out = parse_output(run.logs.get("probe", ""))
    seen = out.devices + [f"GPU_DEVICE {d}" for d in out.env_devices] + [f"CDI injection {c}" for c in out.cdi_claims]
    seen += [f"device {u}" for u in out.uuids]
    return ", ".join(seen) or "no device node or variable the probe knows"


def judge(target: ClaimTarget, run: PodRun, claim: dict | None, pod_events: list[str]) -> CheckResult:
    devices = allocated_devices(claim)
    where = f"DeviceClass {target.device_class} (driver {target.driver}) on {target.node}"
    evidence = [Evidence("ResourceClaim", CLAIM, f"allocated {', '.join(devices) or 'nothing'}")]
    if reserved_for(claim):
        evidence.append(Evidence("ResourceClaim", CLAIM, f"reserved for {', '.join(reserved_for(claim))}"))
    if device_status(claim):
        evidence.append(
            Evidence("ResourceClaim", CLAIM, f"device status by the driver: {'; '.join(device_status(claim))}")
        )
    evidence += [Evidence("Probe target", target.node, n) for n in target.notes]
    if run.ran:
        saw = what_container_saw(run)
        evidence.append(Evidence("Pod", POD, f"ran on {run.node}; its container saw {saw}"))
        allocation = f"allocated {', '.join(devices)}" if devices else "allocated (the claim's allocation was not read)"
        return CheckResult(
            Status.PASS,
            f"probe passed: a ResourceClaim of {where} was {allocation} and prepared by the node; pod {POD} ran "
            f"with it on {run.node} and saw {saw}",
            evidence,
            Reason.PROBE_PASSED,
        )
    failures = [e for e in pod_events if e.split(":", 1)[0] in PREPARE_FAILURES]
    evidence += [Evidence("Event", POD, e) for e in pod_events[-5:]]
    if devices and (failures or run.state == "timeout"):
        why = failures[-1] if failures else run.detail
        return CheckResult(
            Status.FAIL,
            f"probe failed: the scheduler allocated {', '.join(devices)} of {where}, but the node never prepared "
            f"it: {why}",
            evidence,
            Reason.PROBE_FAILED,
        )
    why = run.detail or run.state
    if not devices:
        why = f"the claim was not allocated ({why})"
    return CheckResult(Status.UNKNOWN, f"probe incomplete: {where}: {why}", evidence, Reason.PROBE_INCONCLUSIVE)
