"""workload_sandboxing: does a pod under a sandbox RuntimeClass really run on a kernel other than the node's?

For each RuntimeClass that says it is a sandbox (its handler or name names gVisor, Kata, ... or "sandbox"),
one pod runs under it on a chosen node, and one pod under the node's default runtime runs on the same node.
Both print `uname -r`, /proc/version and the first lines of the kernel log they can read.

  vendor-neutral   the sandboxed pod's /proc/version differs from the default-runtime pod's on the same node
                   (without that pod: its kernel release differs from the one the node reports)
  per runtime      the runtime's own sign (knowledge.sandboxes: gVisor's kernel log starts "Starting gVisor...")

A class whose pod shows the node's own kernel FAILs: whoever picks it for isolation does not get it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubectl_aiconf.checks import common
from kubectl_aiconf.knowledge import sandboxes
from kubectl_aiconf.knowledge._base import search
from kubectl_aiconf.probe.pods import PodRun, keys, pod, run_pods
from kubectl_aiconf.probe.suite import Context, Part
from kubectl_aiconf.resources import NODES, RUNTIMECLASSES
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.view import ClusterView

PROBE = "workload_sandboxing"
READS = (RUNTIMECLASSES, NODES)
MAX_CLASSES = 3
SCRIPT = (
    'echo "AICONF release=$(uname -r)"\n'
    'echo "AICONF version=$(cat /proc/version 2>/dev/null)"\n'
    "dmesg 2>/dev/null | head -n 3 | sed 's/^/AICONF dmesg=/'\n"
    'echo "AICONF done"\n'
)


@dataclass(frozen=True)
class Case:
    """One RuntimeClass probed: its pod, the default-runtime pod on the same node, and what the node reports."""

    runtime_class: str
    handler: str
    runtime: str | None  # key of the knowledge record, when the class names a known runtime
    node: str
    pod: str
    host_pod: str
    node_kernel: str  # status.nodeInfo.kernelVersion


def claims_sandbox(rc: dict) -> bool:
    """Named like a sandbox, by its handler or its name: what users pick it for (a plain handler behind a
    sandbox name is exactly what the probe exists to catch)."""
    return bool(
        search(sandboxes.SANDBOX_WORDS, str(rc.get("handler") or ""))
        or search(sandboxes.SANDBOX_WORDS, common.name_of(rc))
    )


def runtime_of(rc: dict) -> sandboxes.SandboxRuntime | None:
    text = f"{rc.get('handler')} {common.name_of(rc)}"
    return next((r for r in sandboxes.SANDBOX_RUNTIMES if any(w in text for w in r.words)), None)


def _tolerates(tolerations: list[dict], taint: dict) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol.get("key") == taint.get("key")):
            return True
        if tol.get("key") == taint.get("key") and str(tol.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def choose_node(rc: dict, nodes: list[dict], named: str | None) -> tuple[dict | None, list[dict], str]:
    """(node, tolerations for its taints, why none): a Ready, real node the class's scheduling admits."""
    scheduling = rc.get("scheduling") or {}
    selector = scheduling.get("nodeSelector") or {}
    tolerations = list(scheduling.get("tolerations") or [])
    why = []
    for node in nodes:
        name = common.name_of(node)
        if named and name != named:
            continue
        if not common.node_ready(node):
            why.append(f"{name}: not Ready")
            continue
        if common.is_simulated_node(node):
            why.append(f"{name}: simulated (kwok), it runs no container")
            continue
        labels = common.labels_of(node)
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") != "PreferNoSchedule"]
        blocking = [t for t in taints if not _tolerates(tolerations, t)]
        if blocking and not named:
            why.append(f"{name}: tainted {', '.join(str(t.get('key')) for t in blocking)}")
            continue
        # The class's tolerations reach its pod through RuntimeClass admission; the default-runtime pod on the
        # same node needs them (and, on a node named with --probe-node, every taint) itself.
        extra = [{"key": t.get("key"), "operator": "Exists", "effect": t.get("effect")} for t in blocking]
        return node, tolerations + extra, ""
    if selector and not why:
        why.append(
            "no node has the labels of its scheduling.nodeSelector " + ",".join(f"{k}={v}" for k, v in selector.items())
        )
    return None, [], "; ".join(why) or "no node"


def plan(view: ClusterView, options) -> Part:
    from kubectl_aiconf.probe.plan import PlanError

    classes_listing, nodes_listing = view.list(RUNTIMECLASSES), view.list(NODES)
    for listing in (classes_listing, nodes_listing):
        if not listing.visible:
            raise PlanError(f"cannot plan the sandbox probe: {listing.why_unknown()}")
    claimed = sorted((rc for rc in classes_listing.items if claims_sandbox(rc)), key=common.name_of)
    if not claimed:
        raise PlanError("no sandbox RuntimeClass (gVisor, Kata, ...) to run a pod under")
    ns = options.namespace
    cases: list[Case] = []
    objects: list[dict] = []
    host_pods: dict[str, str] = {}
    skipped = []
    for rc in claimed[:MAX_CLASSES]:
        name = common.name_of(rc)
        node, tolerations, why = choose_node(rc, nodes_listing.items, options.node)
        if node is None:
            skipped.append(f"RuntimeClass {name}: no node to run it on ({why})")
            continue
        node_name = common.name_of(node)
        pod_name = f"sandbox-{len(cases) + 1}"
        if node_name not in host_pods:
            host_pods[node_name] = f"host-{len(host_pods) + 1}"
            objects.append(
                pod(
                    ns,
                    host_pods[node_name],
                    PROBE,
                    SCRIPT,
                    options.image,
                    node_name,
                    tolerations,
                    None,
                    options.timeout,
                )
            )
        objects.append(pod(ns, pod_name, PROBE, SCRIPT, options.image, node_name, tolerations, name, options.timeout))
        runtime = runtime_of(rc)
        kernel = str(((node.get("status") or {}).get("nodeInfo") or {}).get("kernelVersion") or "")
        cases.append(
            Case(
                name,
                str(rc.get("handler") or ""),
                runtime.key if runtime else None,
                node_name,
                pod_name,
                host_pods[node_name],
                kernel,
            )
        )
    if not cases:
        raise PlanError("; ".join(skipped))
    summary = [
        f"pod {c.pod} under RuntimeClass {c.runtime_class} (handler {c.handler}) on {c.node}, "
        f"beside pod {c.host_pod} under the node's default runtime"
        for c in cases
    ]
    summary += [f"skipped {s}" for s in skipped]
    summary += [
        f"skipped RuntimeClass {common.name_of(rc)}: at most {MAX_CLASSES} classes are probed"
        for rc in claimed[MAX_CLASSES:]
    ]

    def execute(ctx: Context) -> CheckResult:
        runs = run_pods(ctx, objects)
        return judge(cases, runs, skipped)

    perms = [("create", "", "pods", "", ns), ("list", "", "pods", "", ns), ("get", "", "pods", "log", ns)]
    return Part(objects, perms, execute, summary)


# verdict (pure) -------------------------------------------------------------------------------------------------
def _first(found: dict[str, list[str]], key: str) -> str:
    return (found.get(key) or [""])[0].strip()


def judge_case(case: Case, runs: dict[str, PodRun]) -> tuple[str, str]:
    """(PASS, FAIL or UNKNOWN, what was seen) for one RuntimeClass."""
    what = f"RuntimeClass {case.runtime_class} (handler {case.handler}) on {case.node}"
    run = runs.get(case.pod)
    if run is None or not run.ran:
        return "UNKNOWN", f"{what}: its pod did not run ({run.detail if run else 'not created'})"
    seen = keys(run.logs.get("probe", ""))
    if "done" not in seen:
        return "UNKNOWN", f"{what}: its pod printed no complete output"
    release, version = _first(seen, "release"), _first(seen, "version")
    host = runs.get(case.host_pod)
    host_seen = keys(host.logs.get("probe", "")) if host and host.ran else {}
    host_version = _first(host_seen, "version")
    if host_version and version:
        same, basis = version == host_version, f"pod {case.host_pod} under the default runtime shows {host_version!r}"
    elif case.node_kernel and release:
        same, basis = release == case.node_kernel, f"the node reports kernel {case.node_kernel}"
    else:
        why = host.detail if host and not host.ran else "printed no kernel version"
        return "UNKNOWN", f"{what}: nothing to compare its kernel with (the default-runtime pod {why})"
    record = sandboxes.BY_KEY.get(case.runtime or "")
    sign = ""
    if record and record.probe_signature:
        text = "\n".join(seen.get("dmesg", []) + [version])
        match = re.search(record.probe_signature, text)
        sign = (
            f"; {record.name}'s sign: {match.group(0)!r}" if match else f"; no sign of {record.name} in its kernel log"
        )
    if same:
        return "FAIL", f"{what}: its pod runs on the node's own kernel ({version or release!r}; {basis}){sign}"
    return "PASS", f"{what}: its pod runs on a kernel of its own ({version or release!r}; {basis}){sign}"


def judge(cases: list[Case], runs: dict[str, PodRun], skipped: list[str] | None = None) -> CheckResult:
    verdicts = [(case, *judge_case(case, runs)) for case in cases]
    evidence = [Evidence("Probe", f"{case.runtime_class}", f"{outcome}: {fact}") for case, outcome, fact in verdicts]
    evidence += [Evidence("Probe", "skipped", s) for s in skipped or []]
    failed = [fact for _, outcome, fact in verdicts if outcome == "FAIL"]
    passed = [fact for _, outcome, fact in verdicts if outcome == "PASS"]
    if failed:
        return CheckResult(
            Status.FAIL,
            "probe shows a sandbox RuntimeClass that does not sandbox: " + "; ".join(failed),
            evidence,
            Reason.PROBE_FAILED,
        )
    if passed:
        return CheckResult(Status.PASS, "probe passed: " + "; ".join(passed), evidence, Reason.PROBE_PASSED)
    return CheckResult(
        Status.UNKNOWN,
        "probe incomplete: " + "; ".join(fact for _, _, fact in verdicts),
        evidence,
        Reason.PROBE_INCONCLUSIVE,
    )
