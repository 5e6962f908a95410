"""workload_sandboxing's probe: which RuntimeClasses it probes and where, and its verdict on recorded pod output
(gVisor's, runc's, a Kata VM's kernel)."""

from __future__ import annotations

import pytest
from test_probe_plan import FakeView, node

from kubectl_aiconf.probe import sandboxing
from kubectl_aiconf.probe.plan import PlanError, ProbeOptions
from kubectl_aiconf.probe.pods import PodRun
from kubectl_aiconf.result import Reason, Status

NS = "aiconf-probe-sb"
HOST = (
    "Linux version 6.8.0-49-generic (buildd@lcy02-amd64-103) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) "
    "13.2.0) #49-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov  4 02:06:24 UTC 2024"
)
GVISOR = "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016"
KATA = (
    "Linux version 6.12.28 (root@buildkitsandbox) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0) #1 SMP "
    "Thu May 29 09:18:46 UTC 2025"
)


def runtime_class(name, handler, selector=None, tolerations=None):
    rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": handler}
    if selector or tolerations:
        rc["scheduling"] = {"nodeSelector": selector or {}, "tolerations": tolerations or []}
    return rc


def real_node(name, labels=None, taints=None, kernel="6.8.0-49-generic", simulated=False):
    n = node(name, labels=labels, taints=taints)
    n["status"]["nodeInfo"] = {"kernelVersion": kernel, "containerRuntimeVersion": "containerd://2.4.2"}
    if simulated:
        n["metadata"]["annotations"] = {"kwok.x-k8s.io/node": "fake"}
    return n


def plan(*objects, node_name=None):
    return sandboxing.plan(FakeView(list(objects)), ProbeOptions(namespace=NS, node=node_name))


def log(release, version, dmesg=()):
    lines = [f"AICONF release={release}", f"AICONF version={version}"]
    lines += [f"AICONF dmesg={d}" for d in dmesg]
    return "\n".join(lines + ["AICONF done"]) + "\n"


def done(name, text, node_name="n1"):
    return PodRun(name, "done", node=node_name, logs={"probe": text})


def test_every_class_named_like_a_sandbox_is_probed_even_on_a_plain_handler():
    part = plan(
        real_node("n1"),
        runtime_class("gvisor", "runsc"),
        runtime_class("sandboxed", "runc"),  # the name promises a sandbox: exactly what to put to the test
        runtime_class("nvidia", "nvidia"),
    )
    pods = [o for o in part.objects if o["kind"] == "Pod"]
    assert [(p["metadata"]["name"], p["spec"].get("runtimeClassName")) for p in pods] == [
        ("host-1", None),
        ("sandbox-1", "gvisor"),
        ("sandbox-2", "sandboxed"),
    ]
    for p in pods:  # the same node for the sandboxed pods and the default-runtime pod they are compared with
        terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"][0]["matchFields"][0]["values"] == ["n1"]
        assert p["spec"]["securityContext"]["runAsNonRoot"] is True
    assert part.permissions == [
        ("create", "", "pods", "", NS),
        ("list", "", "pods", "", NS),
        ("get", "", "pods", "log", NS),
    ]


def test_the_node_is_one_the_class_schedules_to_real_and_tolerated():
    taint = {"key": "sandbox", "value": "true", "effect": "NoSchedule"}
    toleration = {"key": "sandbox", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    part = plan(
        real_node("kwok-0", labels={"sandbox": "yes"}, taints=[taint], simulated=True),
        real_node("plain", taints=[]),
        real_node("sb-1", labels={"sandbox": "yes"}, taints=[taint]),
        runtime_class("gvisor", "runsc", selector={"sandbox": "yes"}, tolerations=[toleration]),
    )
    host = part.objects[0]
    assert host["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ][0]["matchFields"][0]["values"] == ["sb-1"]
    assert host["spec"]["tolerations"] == [toleration]


@pytest.mark.parametrize(
    "objects, why",
    [
        (
            (real_node("n1"), runtime_class("runc", "runc")),
            "no sandbox RuntimeClass (gVisor, Kata, ...) to run a pod under",
        ),
        (
            (real_node("kwok-0", simulated=True), runtime_class("gvisor", "runsc")),
            "RuntimeClass gvisor: no node to run it on (kwok-0: simulated (kwok), it runs no container)",
        ),
    ],
)
def test_nothing_to_probe_is_a_plan_error(objects, why):
    with pytest.raises(PlanError, match=f"^{__import__('re').escape(why)}$"):
        plan(*objects)


def case(rc="gvisor", handler="runsc", runtime="gvisor", kernel="6.8.0-49-generic"):
    return sandboxing.Case(rc, handler, runtime, "n1", "sandbox-1", "host-1", kernel)


def test_gvisor_passes_with_its_own_kernel_and_its_sign():
    runs = {
        "sandbox-1": done(
            "sandbox-1", log("4.4.0", GVISOR, ["[   0.000000] Starting gVisor...", "[   0.1] Mounting deluxe"])
        ),
        "host-1": done("host-1", log("6.8.0-49-generic", HOST)),
    }
    result = sandboxing.judge([case()], runs)
    assert (result.status, result.reason) == (Status.PASS, Reason.PROBE_PASSED)
    assert "RuntimeClass gvisor (handler runsc) on n1: its pod runs on a kernel of its own" in result.message
    assert "gVisor's sign: 'Starting gVisor'" in result.message


def test_a_runc_class_shows_the_nodes_kernel_and_fails_even_beside_a_good_one():
    runs = {
        "sandbox-1": done("sandbox-1", log("4.4.0", GVISOR, ["Starting gVisor..."])),
        "sandbox-2": done("sandbox-2", log("6.8.0-49-generic", HOST)),
        "host-1": done("host-1", log("6.8.0-49-generic", HOST)),
    }
    bad = sandboxing.Case("sandboxed", "runc", None, "n1", "sandbox-2", "host-1", "6.8.0-49-generic")
    result = sandboxing.judge([case(), bad], runs)
    assert (result.status, result.reason) == (Status.FAIL, Reason.PROBE_FAILED)
    assert "RuntimeClass sandboxed (handler runc) on n1: its pod runs on the node's own kernel" in result.message
    assert [e.fact.split(":")[0] for e in result.evidence] == ["PASS", "FAIL"]


def test_a_vm_sandbox_without_a_known_sign_passes_on_the_kernel_alone():
    runs = {
        "sandbox-1": done("sandbox-1", log("6.12.28", KATA)),
        "host-1": done("host-1", log("6.8.0-49-generic", HOST)),
    }
    result = sandboxing.judge([case("kata-qemu", "kata-qemu", "kata")], runs)
    assert result.status is Status.PASS and "sign" not in result.message


def test_without_the_default_runtime_pod_the_nodes_reported_kernel_is_the_comparison():
    runs = {
        "sandbox-1": done("sandbox-1", log("6.8.0-49-generic", HOST)),
        "host-1": PodRun("host-1", "image", "image pull failed"),
    }
    result = sandboxing.judge([case("sandboxed", "runc", None)], runs)
    assert result.status is Status.FAIL and "the node reports kernel 6.8.0-49-generic" in result.message
    result = sandboxing.judge([case("sandboxed", "runc", None, kernel="")], runs)
    assert result.status is Status.UNKNOWN and "nothing to compare its kernel with" in result.message


def test_a_sandbox_pod_that_did_not_run_is_unknown_never_a_pass():
    runs = {
        "sandbox-1": PodRun("sandbox-1", "error", "container probe cannot start (RunContainerError: runsc: not found)"),
        "host-1": done("host-1", log("6.8.0-49-generic", HOST)),
    }
    result = sandboxing.judge([case()], runs)
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.PROBE_INCONCLUSIVE)
    assert "runsc: not found" in result.message
    cut = {"sandbox-1": done("sandbox-1", "AICONF release=4.4.0\n"), "host-1": runs["host-1"]}
    assert sandboxing.judge([case()], cut).status is Status.UNKNOWN
