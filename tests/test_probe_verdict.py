"""From probe pod output to the secure_accelerator_access result (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from test_probe_plan import FakeView, node

from kubectl_aiconf.probe.plan import ProbeOptions, build_plan
from kubectl_aiconf.probe.run import describe_permission, pod_state
from kubectl_aiconf.probe.verdict import FAIL, PASS, SKIPPED, UNKNOWN, PodOutcome, judge, parse_output, summarize
from kubectl_aiconf.result import Status

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def log(*devices, uuids=(), env=(), done=True):
    """A probe container's log; `uuids` as the script prints what `nvidia-smi -L` lists."""
    lines = [
        "starting",
        *(f"AICONF device={d}" for d in devices),
        *(f"AICONF env-device={e}" for e in env),
        *(f"AICONF list-nvidia=GPU {i}: NVIDIA H100 80GB HBM3 (UUID: {u})" for i, u in enumerate(uuids)),
        f"AICONF count={len(devices)}",
    ]
    if done:
        lines.append("AICONF done")
    return "\n".join(lines) + "\n"


def plan(gpus=8, labels=None):
    return build_plan(FakeView([node("gpu-0", gpus=gpus, labels=labels)]), ProbeOptions(namespace="aiconf-probe-t"))


def outcomes(p, logs, windows=None, states=None):
    out = []
    for pod in p.pods:
        state, detail = (states or {}).get(pod.name, ("done", ""))
        o = PodOutcome(pod, state, detail, node=pod.node)
        if state == "done":
            for container in pod.expect:
                o.outputs[container] = parse_output(logs.get((pod.name, container), log()))
            o.windows["probe"] = (windows or {}).get(pod.name, (T0, T0 + timedelta(seconds=3)))
        out.append(o)
    return out


GOOD = {
    ("dp-pair-a", "probe"): log("/dev/nvidia0"),
    ("dp-pair-b", "probe"): log("/dev/nvidia1"),
    ("dp-multi", "with-device"): log("/dev/nvidia2"),
    ("dp-multi", "without-device"): log(),
}


def test_parse_output_reads_only_aiconf_lines():
    out = parse_output(
        "noise\nAICONF device=/dev/nvidia3\nAICONF list-nvidia=GPU 3: NVIDIA A100 (UUID: GPU-1234)\n"
        "AICONF list-nvidia=No devices were found\nAICONF env-device=gpu-1\n"
        "AICONF count=1\nAICONF done\n"
    )
    assert out.devices == ["/dev/nvidia3"] and out.uuids == ["GPU-1234"] and out.env_devices == ["gpu-1"]
    assert out.complete
    assert not parse_output("AICONF device=/dev/nvidia0\n").complete


def test_all_probes_pass():
    p = plan()
    result = summarize(p, outcomes(p, GOOD), 12.5)
    assert result.status is Status.PASS, result.message
    assert "two concurrent pods on one node got different devices" in result.message
    assert "only the container given the device saw it" in result.message
    assert "12.5s" in result.message
    facts = {e.name: e.fact for e in result.evidence}
    assert facts["aiconf-probe-t/dp-pair"].startswith("PASS: two pods on gpu-0 got different devices")
    assert "AICONF device=/dev/nvidia0" in facts["aiconf-probe-t/dp-pair-a"]
    assert facts["aiconf-probe-t/negative"].startswith("PASS")


def test_negative_pod_seeing_a_device_fails():
    p = plan()
    logs = dict(GOOD)
    logs[("negative", "visible-devices-all")] = log("/dev/nvidia0", "/dev/nvidia1")
    result = summarize(p, outcomes(p, logs), 5)
    assert result.status is Status.FAIL
    assert (
        "visible-devices-all with NVIDIA_VISIBLE_DEVICES=all requested no accelerator but sees /dev/nvidia0"
        in result.message
    )


def test_negative_pod_names_the_variable_of_the_nodes_vendor():
    p = build_plan(
        FakeView([node("amd-0", gpus=4, resource="amd.com/gpu", taints=[])]), ProbeOptions(namespace="aiconf-probe-t")
    )
    logs = {
        ("dp-pair-a", "probe"): log("/dev/kfd", "/dev/dri/renderD128"),
        ("dp-pair-b", "probe"): log("/dev/kfd", "/dev/dri/renderD129"),
        ("dp-multi", "with-device"): log("/dev/kfd", "/dev/dri/renderD130"),
        ("dp-multi", "without-device"): log(),
    }
    result = summarize(p, outcomes(p, logs), 5)
    assert result.status is Status.PASS, result.message
    assert "even with AMD_VISIBLE_DEVICES=all" in result.message and "NVIDIA" not in result.message
    logs[("negative", "visible-devices-all")] = log("/dev/kfd", "/dev/dri/renderD128")
    result = summarize(p, outcomes(p, logs), 5)
    assert result.status is Status.FAIL
    assert (
        "visible-devices-all with AMD_VISIBLE_DEVICES=all requested no accelerator but sees /dev/kfd" in result.message
    )


def test_device_ids_come_from_each_vendors_listing():
    amd = parse_output(
        "AICONF list-amd=GPU: 0\nAICONF list-amd=    UUID: 6cff74a5-0000-1000-80c3\n"
        "AICONF list-habana=01P4-HL2080A0-15-TNPS34-20-07-07\nAICONF list-nobody=UUID: x\nAICONF done\n"
    )
    assert amd.uuids == ["6cff74a5-0000-1000-80c3", "01P4-HL2080A0-15-TNPS34-20-07-07"]


def test_positive_pod_seeing_nothing_fails():
    p = plan()
    logs = dict(GOOD)
    logs[("dp-pair-a", "probe")] = log()
    result = summarize(p, outcomes(p, logs), 5)
    assert result.status is Status.FAIL
    assert "dp-pair-a: container probe was given 1 accelerator but sees 0" in result.message


def test_positive_pod_seeing_every_gpu_fails():
    p = plan()
    logs = dict(GOOD)
    logs[("dp-pair-a", "probe")] = log(*(f"/dev/nvidia{i}" for i in range(8)))
    assert summarize(p, outcomes(p, logs), 5).status is Status.FAIL


def test_control_nodes_do_not_count_as_accelerators():
    p = plan()
    logs = dict(GOOD)
    logs[("dp-pair-a", "probe")] = log("/dev/nvidia0", "/dev/kfd")  # kfd is not an NVIDIA unit
    assert summarize(p, outcomes(p, logs), 5).status is Status.PASS


def test_second_container_seeing_the_device_fails():
    p = plan()
    logs = dict(GOOD)
    logs[("dp-multi", "without-device")] = log("/dev/nvidia2")
    result = summarize(p, outcomes(p, logs), 5)
    assert result.status is Status.FAIL and "without-device" in result.message


def test_concurrent_pods_sharing_a_device_fail_but_sequential_ones_are_inconclusive():
    p = plan()
    logs = dict(GOOD)
    logs[("dp-pair-b", "probe")] = log("/dev/nvidia0")
    result = summarize(p, outcomes(p, logs), 5)
    assert result.status is Status.FAIL and "both see /dev/nvidia0" in result.message
    apart = {
        "dp-pair-a": (T0, T0 + timedelta(seconds=1)),
        "dp-pair-b": (T0 + timedelta(seconds=5), T0 + timedelta(seconds=6)),
    }
    result = summarize(p, outcomes(p, logs, windows=apart), 5)
    assert result.status is Status.UNKNOWN and "did not run at the same time" in result.message


def test_uuids_decide_when_present():
    p = plan()
    logs = dict(GOOD)
    logs[("dp-pair-a", "probe")] = log("/dev/nvidia0", uuids=["GPU-a"])
    logs[("dp-pair-b", "probe")] = log("/dev/nvidia1", uuids=["GPU-a"])
    assert summarize(p, outcomes(p, logs), 5).status is Status.FAIL


def test_mig_pairs_need_uuids_and_are_skipped_without_them():
    p = plan(labels={"nvidia.com/mig.strategy": "single"})
    logs = dict(GOOD)
    logs[("dp-pair-a", "probe")] = log("/dev/nvidia0")
    logs[("dp-pair-b", "probe")] = log("/dev/nvidia0")
    verdicts = {v.probe: v for v in judge(outcomes(p, logs))}
    assert verdicts["dp-pair"].outcome == SKIPPED and "nvidia-smi" in verdicts["dp-pair"].fact
    # The slices cannot be told apart, which proves nothing either way: positive and negative pods decide.
    result = summarize(p, outcomes(p, logs), 5)
    assert result.status is Status.PASS, result.message
    assert "two concurrent pods" not in result.message
    assert any(e.name.endswith("/dp-pair") and e.fact.startswith("SKIPPED: MIG slices") for e in result.evidence)
    logs[("dp-pair-a", "probe")] = log("/dev/nvidia0", uuids=["MIG-1"])
    logs[("dp-pair-b", "probe")] = log("/dev/nvidia0", uuids=["MIG-2"])
    verdicts = {v.probe: v for v in judge(outcomes(p, logs))}
    assert verdicts["dp-pair"].outcome == PASS


def test_cut_off_output_is_unknown():
    p = plan()
    logs = dict(GOOD)
    logs[("negative", "no-request")] = log(done=False)
    result = summarize(p, outcomes(p, logs), 5)
    assert result.status is Status.UNKNOWN and "no complete probe output" in result.message


def test_pods_that_could_not_run_make_the_result_unknown_with_the_reason():
    p = plan()
    states = {"dp-pair-a": ("unschedulable", "unschedulable: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu")}
    result = summarize(p, outcomes(p, GOOD, states=states), 5)
    assert result.status is Status.UNKNOWN
    assert "Insufficient nvidia.com/gpu" in result.message
    verdicts = [v.probe for v in judge(outcomes(p, GOOD, states=states))]
    assert "dp-pair" not in verdicts  # no comparison without both pods


def test_pods_failing_for_the_same_reason_are_reported_once():
    p = plan()
    why = "image pull failed for registry.invalid/x:1 (ErrImagePull)"
    states = {pod.name: ("image", why) for pod in p.pods}
    result = summarize(p, outcomes(p, GOOD, states=states), 5)
    assert result.message.count(why) == 1
    assert "dp-pair-a, dp-pair-b, dp-multi, negative: image pull failed" in result.message


def test_a_failure_wins_over_unknown():
    p = plan()
    logs = dict(GOOD)
    logs[("negative", "no-request")] = log("/dev/nvidia0")
    states = {"dp-multi": ("timeout", "timed out after 90s")}
    assert summarize(p, outcomes(p, logs, states=states), 5).status is Status.FAIL


def test_negative_alone_proves_nothing():
    p = build_plan(
        FakeView(
            [
                node("gpu-0", gpus=1),
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "x", "namespace": "w"},
                    "spec": {
                        "nodeName": "gpu-0",
                        "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
                    },
                    "status": {"phase": "Running"},
                },
            ]
        ),
        ProbeOptions(namespace="aiconf-probe-t"),
    )
    result = summarize(p, outcomes(p, {}), 3)
    assert result.status is Status.UNKNOWN and "proves nothing" in result.message
    assert any(e.fact.startswith("SKIPPED") for e in result.evidence)


def test_simulated_nodes_are_said_plainly():
    p = build_plan(
        FakeView(
            [node("gpu-0", gpus=8) | {"metadata": {"name": "gpu-0", "annotations": {"kwok.x-k8s.io/node": "fake"}}}]
        ),
        ProbeOptions(namespace="aiconf-probe-t"),
    )
    result = summarize(p, outcomes(p, GOOD), 3)
    assert "simulated (kwok)" in result.message


# pod states ---------------------------------------------------------------------------------------------------
def test_pod_state_reads_scheduler_and_kubelet_reasons():
    assert pod_state({"status": {"phase": "Succeeded"}}) == ("succeeded", "")
    unsched = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
                }
            ],
        }
    }
    assert pod_state(unsched) == ("unschedulable", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
    pull = {
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "probe",
                    "image": "registry.invalid/x:1",
                    "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}},
                }
            ],
        }
    }
    state, detail = pod_state(pull)
    assert state == "image" and "registry.invalid/x:1" in detail and "not found" in detail
    failed = {"status": {"phase": "Failed", "reason": "DeadlineExceeded", "message": "too long"}}
    assert pod_state(failed) == ("failed", "the pod failed: DeadlineExceeded: too long")
    preempt = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 1 cannot allocate all claims. still not schedulable, "
                    "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
                }
            ],
        }
    }
    assert pod_state(preempt) == ("unschedulable", "0/3 nodes are available: 1 cannot allocate all claims.")
    assert pod_state({"status": {"phase": "Running"}}) == ("running", "")
    assert pod_state({"status": {"phase": "Pending"}}) == ("pending", "")


def test_permission_descriptions():
    assert describe_permission("create", "", "namespaces", "", "") == "create namespaces (cluster scope)"
    assert describe_permission("get", "", "pods", "log", "ns") == "get pods/log in the probe namespace"
    assert (
        describe_permission("create", "resource.k8s.io", "resourceclaimtemplates", "", "ns")
        == "create resourceclaimtemplates.resource.k8s.io in the probe namespace"
    )


def test_verdict_constants():
    assert {PASS, FAIL, UNKNOWN} == {"pass", "fail", "unknown"}


def test_a_probe_that_cannot_decide_does_not_hide_a_passive_failure():
    from kubectl_aiconf.probe.command import combine
    from kubectl_aiconf.result import CheckResult, Evidence

    passive_fail = CheckResult(Status.FAIL, "no accelerator in the cluster", [Evidence("Node", "n", "x")])
    cannot = CheckResult(Status.UNKNOWN, "probe cannot run: no accelerator nodes")
    merged = combine(cannot, passive_fail)
    assert merged.status is Status.FAIL
    assert merged.message == "no accelerator in the cluster (probe cannot run: no accelerator nodes)"
    passive_unknown = CheckResult(Status.UNKNOWN, "isolation can only be confirmed with --probe")
    assert combine(cannot, passive_unknown).message == cannot.message
    passed = CheckResult(Status.PASS, "probe passed", [Evidence("Probe", "ns/p", "PASS")])
    merged = combine(passed, CheckResult(Status.WARN, "risky pods", [Evidence("Pod", "a/b", "privileged")]))
    assert merged.status is Status.PASS and [e.kind for e in merged.evidence] == ["Probe", "Pod"]


def test_probe_flags_need_probe():
    import pytest

    from kubectl_aiconf.probe.command import options, parse_timeout

    with pytest.raises(ValueError, match="--probe-node, --keep only apply with --probe"):
        options(False, None, "auto", "docker.io/library/busybox:1.36", "n", "90s", True, False, None)
    with pytest.raises(ValueError, match="cannot be combined with --snapshot"):
        options(True, None, "auto", "img", None, "90s", False, False, "snap/")
    with pytest.raises(ValueError, match="invalid --probe-mechanism"):
        options(True, None, "gpu", "img", None, "90s", False, False, None)
    assert parse_timeout("2m") == 120 and parse_timeout("45") == 45
    with pytest.raises(ValueError):
        parse_timeout("0s")
    assert options(False, None, "auto", "docker.io/library/busybox:1.36", None, "90s", False, False, None) is None


# DRA drivers that name no device inside the container (Kubernetes' DRA test driver) -----------------------------
TEST_DRIVER = "gpu.test-driver.cdi.k8s.io"


def claim_plan(devices=4):
    from test_probe_plan import device_class, resource_slice

    objects = [
        node("real-0", labels={"kubernetes.io/hostname": "real-0"}),
        device_class(TEST_DRIVER, driver=TEST_DRIVER),
        resource_slice("real-0", devices=devices, driver=TEST_DRIVER),
    ]
    return build_plan(
        FakeView(objects, dra={"v1": ["deviceclasses", "resourceslices", "resourceclaims", "resourceclaimtemplates"]}),
        ProbeOptions(namespace="aiconf-probe-t", mechanism="dra"),
    )


def claim_log(*claims):
    return log().replace("AICONF count=0", "\n".join([*(f"AICONF cdi-claim={c}" for c in claims), "AICONF count=0"]))


def marker(pod, suffix="x7k2p"):
    return f"claim_{pod.replace('-', '_')}_accelerator_{suffix}_accelerator"


def claim_outcomes(p, logs, read_claims=True):
    out = outcomes(p, logs)
    for i, o in enumerate(out):
        if o.pod.target:
            o.allocated = [f"{TEST_DRIVER}/real-0/gpu-{i}"]
            if read_claims:
                o.claims = [f"{o.pod.name}-accelerator-x7k2p"]
    return out


CLAIM_GOOD = {
    ("dra-pair-a", "probe"): claim_log(marker("dra-pair-a")),
    ("dra-pair-b", "probe"): claim_log(marker("dra-pair-b")),
    ("dra-multi", "with-device"): claim_log(marker("dra-multi")),
    ("dra-multi", "without-device"): claim_log(),
}


def by_probe(result):
    return {e.name.split("/", 1)[1]: e.fact for e in result.evidence if e.kind == "Probe"}


@pytest.mark.parametrize("read_claims", [True, False])
def test_claim_level_injection_passes_and_says_what_was_compared(read_claims):
    p = claim_plan()
    assert [pod.name for pod in p.pods] == ["dra-pair-a", "dra-pair-b", "dra-multi", "negative"]
    result = summarize(p, claim_outcomes(p, CLAIM_GOOD, read_claims), 5.0)
    assert result.status == Status.PASS, result.message
    assert f"(for {TEST_DRIVER}: the CDI injection of its own claim and no other's" in result.message
    facts = by_probe(result)
    assert facts["dra-pair-a"].startswith(f"PASS: probe: cdi:{marker('dra-pair-a')} on real-0")
    assert (
        f"compared claim-level CDI injection: {TEST_DRIVER} names no device inside the container"
        in (facts["dra-pair-a"])
    )
    assert facts["dra-multi"].startswith(f"PASS: with-device: cdi:{marker('dra-multi')}; without-device: nothing")
    assert facts["dra-pair"].startswith("PASS: two pods on real-0 got different devices (by their claims' allocation)")


def test_a_neighbours_claim_injection_fails():
    p = claim_plan()
    logs = dict(CLAIM_GOOD)
    logs[("dra-pair-b", "probe")] = claim_log(marker("dra-pair-b"), marker("dra-pair-a"))
    logs[("dra-multi", "without-device")] = claim_log(marker("dra-multi"))
    result = summarize(p, claim_outcomes(p, logs), 5.0)
    assert result.status == Status.FAIL
    assert f"dra-pair-b: container probe sees the CDI injection of claims it was not given: {marker('dra-pair-a')}" in (
        result.message
    )
    assert "dra-multi: container without-device sees the CDI injection of claims it was not given: " in result.message
    assert "dra-pair-a:" not in result.message


def test_a_negative_container_seeing_a_claim_injection_fails():
    p = claim_plan()
    logs = dict(CLAIM_GOOD)
    logs[("negative", "no-request")] = claim_log(marker("dra-multi"))
    result = summarize(p, claim_outcomes(p, logs), 5.0)
    assert result.status == Status.FAIL
    assert "negative: container no-request sees the CDI injection of claims it was not given" in result.message


def test_a_container_without_its_own_claim_injection_fails():
    p = claim_plan()
    logs = dict(CLAIM_GOOD)
    logs[("dra-pair-a", "probe")] = claim_log()
    result = summarize(p, claim_outcomes(p, logs), 5.0)
    assert result.status == Status.FAIL
    assert "dra-pair-a: container probe was given 1 claim but sees the CDI injection of 0 of its own" in result.message


def test_claim_injection_never_counts_as_a_device_for_real_drivers():
    """gpu.nvidia.com names its devices in the container: a claim marker alone is not a device there."""
    from test_probe_plan import device_class, resource_slice

    objects = [node("gpu-0"), device_class(), resource_slice("gpu-0", devices=4)]
    p = build_plan(
        FakeView(objects, dra={"v1": ["deviceclasses", "resourceslices", "resourceclaims", "resourceclaimtemplates"]}),
        ProbeOptions(namespace="aiconf-probe-t", mechanism="dra"),
    )
    logs = {(pod.name, c): claim_log(marker(pod.name)) for pod in p.pods if pod.target for c in pod.expect}
    logs[("dra-multi", "without-device")] = claim_log()
    result = summarize(p, claim_outcomes(p, logs), 5.0)
    assert result.status == Status.FAIL
    assert "dra-pair-a: container probe was given 1 accelerator but sees 0" in result.message


def test_claim_level_pair_needs_the_claims_allocation():
    p = claim_plan()
    out = claim_outcomes(p, CLAIM_GOOD, read_claims=False)
    for o in out:
        o.allocated = []
    result = summarize(p, out, 5.0)
    assert result.status == Status.UNKNOWN
    assert "the claims' allocations could not be read" in result.message
