"""Plan decisions of the accelerator probe, on in-memory cluster fixtures (no API server)."""

from __future__ import annotations

import io
import re

import pytest
import yaml

from kubectl_aiconf.probe.plan import (
    CLAIM_TEMPLATE,
    DEVICE_PLUGIN,
    DRA,
    PLAN_READS,
    PROBE_SELECTOR,
    PlanError,
    ProbeOptions,
    build_plan,
    claim_env_name,
    class_selector,
    dra_targets,
    pod_request,
    render_plan,
    template_claim_env,
)
from kubectl_aiconf.view import ClusterView, Listing, Outcome, projector

SERVED_DRA = {"v1": ["deviceclasses", "resourceslices", "resourceclaims", "resourceclaimtemplates"]}


class FakeView(ClusterView):
    """Listings straight from Python objects, projected like the live view projects them."""

    def __init__(
        self,
        objects: list[dict],
        dra: dict | None = None,
        forbidden: tuple[str, ...] = (),
        failed: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.objects = objects
        self.forbidden = forbidden
        self.failed = failed
        self._served = {"": {"v1": ["nodes", "pods"]}, "node.k8s.io": {"v1": ["runtimeclasses"]}}
        if dra is not False:
            self._served["resource.k8s.io"] = dra or SERVED_DRA
        self.load(PLAN_READS)

    def load(self, resources) -> None:
        for res in resources:
            if res.qualified in self.forbidden:
                self._listings[res.key] = Listing(res, Outcome.FORBIDDEN, detail="forbidden")
                continue
            if res.qualified in self.failed:
                self._listings[res.key] = Listing(res, Outcome.ERROR, detail="the server timed out")
                continue
            version = self.choose_version(res)
            if version is None:
                self._listings[res.key] = Listing(res, Outcome.NOT_SERVED)
                continue
            items = [o for o in self.objects if o["kind"] == res.kind]
            if res.kind == "Pod":  # the live list asks for unfinished pods only
                items = [o for o in items if (o.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            self._listings[res.key] = Listing(res, Outcome.OK, [projector(res)(o) for o in items], version=version)


def node(name, gpus=0, resource="nvidia.com/gpu", labels=None, taints=None, ready=True, unschedulable=False):
    alloc = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    if gpus:
        alloc[resource] = str(gpus)
    default_taints = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}] if gpus else []
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": default_taints if taints is None else taints, "unschedulable": unschedulable},
        "status": {
            "allocatable": alloc,
            "capacity": dict(alloc),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pod(name, node_name, limits=None, phase="Running", requests=None, init=None):
    res = {}
    if limits:
        res["limits"] = limits
    if requests:
        res["requests"] = requests
    spec = {"nodeName": node_name, "containers": [{"name": "main", "resources": res}]}
    if init:
        spec["initContainers"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "work"},
        "spec": spec,
        "status": {"phase": phase},
    }


def device_class(name="gpu.nvidia.com", driver="gpu.nvidia.com", extended=None, config=None):
    spec = {"selectors": [{"cel": {"expression": f"device.driver == '{driver}'"}}]}
    if extended:
        spec["extendedResourceName"] = extended
    if config:
        spec["config"] = config
    return {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": name}, "spec": spec}


def resource_slice(node_name, devices=2, driver="gpu.nvidia.com", generation=1, tainted=(), name=None):
    devs = []
    for i in range(devices):
        d = {"name": f"gpu-{i}", "attributes": {"type": {"string": "gpu"}}}
        if i in tainted:
            d["taints"] = [{"key": "broken", "effect": "NoSchedule"}]
        devs.append(d)
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": name or f"{node_name}-{driver}-{generation}"},
        "spec": {
            "driver": driver,
            "nodeName": node_name,
            "pool": {"name": node_name, "generation": generation, "resourceSliceCount": 1},
            "devices": devs,
        },
    }


def claim(node_name, device, driver="gpu.nvidia.com"):
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": f"used-{device}", "namespace": "work"},
        "status": {
            "allocation": {
                "devices": {"results": [{"request": "gpu", "driver": driver, "pool": node_name, "device": device}]}
            }
        },
    }


def plan_for(objects, **kw):
    dra = kw.pop("dra", None)
    forbidden = kw.pop("forbidden", ())
    failed = kw.pop("failed", ())
    view = FakeView(objects, dra=dra, forbidden=forbidden, failed=failed)
    return build_plan(view, ProbeOptions(namespace="aiconf-probe-test", **kw))


def names(plan):
    return [p.name for p in plan.pods]


# device plugin -------------------------------------------------------------------------------------------------
def test_device_plugin_node_with_free_gpus_gets_pair_multi_and_negative_in_one_wave():
    plan = plan_for([node("gpu-0", gpus=8), node("cpu-0")])
    assert [t.mechanism for t in plan.targets] == [DEVICE_PLUGIN]
    assert names(plan) == ["dp-pair-a", "dp-pair-b", "dp-multi", "negative"]
    assert {p.wave for p in plan.pods} == {1}
    assert all(p.node == "gpu-0" for p in plan.pods)
    assert plan.skipped == []
    pair = plan.pods[0].manifest
    limits = pair["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"
    assert "nodeName" not in pair["spec"]  # the scheduler places it
    terms = pair["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchFields"][0]["values"] == ["gpu-0"]
    assert pair["spec"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_every_pod_is_restricted_and_short_lived():
    plan = plan_for([node("gpu-0", gpus=8)], timeout=60)
    for p in plan.pods:
        spec = p.manifest["spec"]
        assert spec["restartPolicy"] == "Never"
        assert spec["activeDeadlineSeconds"] == 90
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0
            assert c["image"] == "docker.io/library/busybox:1.36"
        assert p.manifest["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-aiconf"
    ns = plan.namespace_manifest()
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["metadata"]["name"] == "aiconf-probe-test"


def test_negative_pod_is_pinned_without_any_request_and_asks_for_all_gpus_by_environment():
    plan = plan_for([node("gpu-0", gpus=8)])
    neg = next(p for p in plan.pods if p.role == "negative")
    spec = neg.manifest["spec"]
    assert spec["nodeName"] == "gpu-0"
    assert "resourceClaims" not in spec
    assert neg.expect == {"no-request": 0, "visible-devices-all": 0}
    for c in spec["containers"]:
        assert "nvidia.com/gpu" not in c["resources"].get("limits", {})
        assert "claims" not in c["resources"]
    assert spec["containers"][1]["env"] == [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]


def test_multi_container_pod_gives_the_device_to_the_first_container_only():
    plan = plan_for([node("gpu-0", gpus=8)])
    multi = next(p for p in plan.pods if p.role == "multi")
    first, second = multi.manifest["spec"]["containers"]
    assert first["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "nvidia.com/gpu" not in second["resources"]["limits"]
    assert multi.expect == {"with-device": 1, "without-device": 0}


def test_free_devices_subtract_requests_of_unfinished_pods_only():
    objects = [
        node("gpu-0", gpus=3),
        pod("busy", "gpu-0", limits={"nvidia.com/gpu": "2"}),  # requests default to limits
        pod("done", "gpu-0", limits={"nvidia.com/gpu": "1"}, phase="Succeeded"),
    ]
    plan = plan_for(objects)
    assert plan.targets[0].free == 1
    assert names(plan) == ["dp-single", "dp-multi", "negative"]
    assert [p.wave for p in plan.pods] == [1, 2, 1]  # one free device: the multi pod waits for the single one
    assert plan.skipped == [("dp-pair", "two concurrent pods on one node: skipped, only 1 free device on gpu-0")]


def test_two_free_devices_run_the_pair_first_and_the_multi_pod_after_it():
    plan = plan_for([node("gpu-0", gpus=2)])
    assert [(p.name, p.wave) for p in plan.pods] == [
        ("dp-pair-a", 1),
        ("dp-pair-b", 1),
        ("dp-multi", 2),
        ("negative", 1),
    ]


def test_pod_request_counts_init_containers_and_sidecars():
    res = "nvidia.com/gpu"
    init = [{"name": "warm", "resources": {"limits": {res: "2"}}}]
    assert pod_request(pod("p", "n", limits={res: "1"}, init=init), res) == 2
    sidecar = [{"name": "side", "restartPolicy": "Always", "resources": {"limits": {res: "1"}}}]
    assert pod_request(pod("p", "n", limits={res: "1"}, init=sidecar), res) == 2
    assert pod_request(pod("p", "n", requests={"cpu": "1"}), res) == 0


def test_prefers_the_node_with_most_free_devices():
    objects = [node("gpu-a", gpus=1), node("gpu-b", gpus=4), pod("x", "gpu-b", limits={"nvidia.com/gpu": "1"})]
    plan = plan_for(objects)
    assert plan.targets[0].node == "gpu-b" and plan.targets[0].free == 3


def test_prefers_a_real_node_to_a_simulated_one_with_more_free_devices():
    kwok = node("kwok-gpu", gpus=8)
    kwok["metadata"]["annotations"] = {"kwok.x-k8s.io/node": "fake"}
    plan = plan_for([kwok, node("real-gpu", gpus=1)])
    assert plan.targets[0].node == "real-gpu"
    assert not plan.simulated_nodes
    plan = plan_for([kwok])  # only simulated: it is still probed, and the verdict will say so
    assert plan.targets[0].node == "kwok-gpu" and plan.simulated_nodes == {"kwok-gpu"}


def test_dra_prefers_a_real_node_to_a_simulated_one_with_more_free_devices():
    kwok = node("kwok-gpu", gpus=0, labels={"type": "kwok", "nvidia.com/gpu.present": "true"})
    objects = [*dra_cluster(devices=1), kwok, resource_slice("kwok-gpu", devices=8)]
    plan = plan_for(objects, mechanism="dra")
    assert [t.node for t in plan.targets] == ["gpu-0"]


@pytest.mark.parametrize(
    "labels, reason",
    [
        ({"nvidia.com/gpu.replicas": "4"}, "nvidia.com/gpu.replicas=4"),
        ({"nvidia.com/gpu.sharing-strategy": "mps"}, "sharing-strategy=mps"),
    ],
)
def test_shared_gpus_skip_the_pair_with_a_reason(labels, reason):
    plan = plan_for([node("gpu-0", gpus=8, labels=labels)])
    assert "dp-pair-a" not in names(plan)
    assert names(plan) == ["dp-single", "dp-multi", "negative"]
    assert [p.wave for p in plan.pods] == [1, 1, 1]
    assert reason in plan.skipped[0][1]


def test_mig_single_strategy_is_compared_by_uuid():
    plan = plan_for([node("gpu-0", gpus=7, labels={"nvidia.com/mig.strategy": "single"})])
    assert plan.targets[0].family == "nvidia-mig"


@pytest.mark.parametrize(
    "resource, family",
    [
        ("amd.com/gpu", "amd"),
        ("gpu.intel.com/i915", "intel"),
        ("habana.ai/gaudi", "habana"),
        ("aws.amazon.com/neurondevice", "neuron"),
        ("google.com/tpu", "tpu"),
        ("nvidia.com/mig-1g.10gb", "nvidia-mig"),
    ],
)
def test_other_device_plugin_resources(resource, family):
    plan = plan_for([node("acc-0", gpus=4, resource=resource, taints=[])])
    assert plan.targets[0].resource == resource
    assert plan.targets[0].family == family
    assert plan.pods[0].manifest["spec"]["containers"][0]["resources"]["limits"][resource] == "1"


def test_intel_shares_and_monitoring_resources_are_not_accelerators():
    gpu = node("gpu-0", gpus=1, resource="gpu.intel.com/i915", taints=[])
    gpu["status"]["allocatable"].update(
        {
            "gpu.intel.com/millicores": "1000",
            "gpu.intel.com/memory.max": "17179869184",
            "gpu.intel.com/tiles": "2",
            "gpu.intel.com/i915_monitoring": "1",
        }
    )
    plan = plan_for([gpu])
    assert [t.resource for t in plan.targets] == ["gpu.intel.com/i915"]
    assert plan.targets[0].free == 1


def test_aks_gpu_pool_taint_is_tolerated_by_its_value():
    plan = plan_for([node("aks-gpu-0", gpus=2, taints=[{"key": "sku", "value": "gpu", "effect": "NoSchedule"}])])
    assert plan.targets[0].node == "aks-gpu-0"
    assert plan.pods[0].manifest["spec"]["tolerations"] == [
        {"key": "sku", "operator": "Exists", "effect": "NoSchedule"}
    ]


def test_taint_value_must_name_an_accelerator_as_a_whole():
    taints = [{"key": "arch", "value": "amd64", "effect": "NoSchedule"}]
    with pytest.raises(PlanError, match="arch=amd64:NoSchedule"):
        plan_for([node("gpu-0", gpus=2, taints=taints)])


def test_neuron_cores_share_a_device():
    plan = plan_for([node("inf-0", gpus=8, resource="aws.amazon.com/neuroncore", taints=[])])
    assert "Neuron cores" in plan.skipped[0][1]


def test_no_accelerator_nodes_is_a_plan_error():
    with pytest.raises(PlanError, match="no accelerator nodes"):
        plan_for([node("cpu-0"), node("cpu-1")])


def test_all_devices_busy_still_runs_the_negative_probe_and_says_why_positive_cannot_run():
    plan = plan_for([node("gpu-0", gpus=1), pod("busy", "gpu-0", limits={"nvidia.com/gpu": "1"})])
    assert names(plan) == ["negative"]
    assert plan.skipped[0][0] == "positive"
    assert "all 1 nvidia.com/gpu in use" in plan.skipped[0][1]


def test_not_ready_and_cordoned_nodes_are_not_targets():
    plan = plan_for(
        [
            node("gpu-down", gpus=8, ready=False),
            node("gpu-cordoned", gpus=8, unschedulable=True),
            node("gpu-ok", gpus=1),
        ]
    )
    assert plan.targets[0].node == "gpu-ok"
    with pytest.raises(PlanError, match="not Ready"):
        plan_for([node("gpu-down", gpus=8, ready=False)], node="gpu-down")
    with pytest.raises(PlanError, match="does not exist"):
        plan_for([node("gpu-0", gpus=8)], node="nope")


def test_foreign_taints_keep_the_probe_off_unless_the_node_is_named():
    taints = [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}, {"key": "team", "value": "ml", "effect": "NoSchedule"}]
    with pytest.raises(PlanError, match="team=ml:NoSchedule"):
        plan_for([node("gpu-0", gpus=8, taints=taints)])
    plan = plan_for([node("gpu-0", gpus=8, taints=taints)], node="gpu-0")
    tolerated = {t["key"] for t in plan.pods[0].manifest["spec"]["tolerations"]}
    assert tolerated == {"nvidia.com/gpu", "team"}


def test_probe_node_restricts_the_targets():
    plan = plan_for([node("gpu-a", gpus=8), node("gpu-b", gpus=2)], node="gpu-b")
    assert {p.node for p in plan.pods} == {"gpu-b"}


def test_nvidia_runtime_class_is_used_when_present():
    rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "nvidia"}, "handler": "nvidia"}
    plan = plan_for([node("gpu-0", gpus=8), rc])
    assert all(p.manifest["spec"].get("runtimeClassName") == "nvidia" for p in plan.pods)
    plan = plan_for([node("gpu-0", gpus=8)])
    assert not any("runtimeClassName" in p.manifest["spec"] for p in plan.pods)


def runtime_class(name, handler):
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": handler}


def test_the_vendors_runtime_class_is_found_by_its_handler_but_never_a_sandbox_one():
    gpu = node("gpu-0", gpus=8)
    assert (
        plan_for([gpu, runtime_class("nvidia-cdi", "nvidia-cdi")]).pods[0].manifest["spec"]["runtimeClassName"]
        == "nvidia-cdi"
    )
    plan = plan_for([gpu, runtime_class("kata-nvidia-gpu", "kata-qemu-nvidia-gpu")])  # a VM, not the GPU runtime
    assert not any("runtimeClassName" in p.manifest["spec"] for p in plan.pods)


@pytest.mark.parametrize(
    "resource, env",
    [
        ("amd.com/gpu", ["AMD_VISIBLE_DEVICES"]),
        ("habana.ai/gaudi", ["HABANA_VISIBLE_DEVICES"]),
        ("huawei.com/Ascend910", ["ASCEND_VISIBLE_DEVICES"]),
        ("gpu.intel.com/i915", []),  # the Intel plugin hands out device nodes only: no variable to try
    ],
)
def test_negative_pod_asks_the_nodes_own_runtime_for_every_device(resource, env):
    plan = plan_for([node("acc-0", gpus=4, resource=resource, taints=[])])
    neg = next(p for p in plan.pods if p.role == "negative")
    containers = neg.manifest["spec"]["containers"]
    assert [e["name"] for c in containers for e in c.get("env", [])] == env
    assert all(e["value"] == "all" for c in containers for e in c.get("env", []))
    assert neg.expect == ({"no-request": 0, "visible-devices-all": 0} if env else {"no-request": 0})


def test_negative_pod_on_a_node_of_no_known_vendor_tries_every_runtimes_variable():
    objects = [
        node("gpu-0"),
        device_class("gpu.example.com", driver="gpu.example.com"),
        resource_slice("gpu-0", driver="gpu.example.com"),
    ]
    neg = next(p for p in plan_for(objects, mechanism="dra").pods if p.role == "negative")
    env = {e["name"] for e in neg.manifest["spec"]["containers"][1]["env"]}
    assert {"NVIDIA_VISIBLE_DEVICES", "AMD_VISIBLE_DEVICES", "ASCEND_VISIBLE_DEVICES"} <= env
    assert "runtimeClassName" not in neg.manifest["spec"]


def test_ascend_pods_use_the_ascend_runtime_and_need_to_know_whether_it_exists():
    npu = node(
        "npu-0",
        gpus=8,
        resource="huawei.com/Ascend910",
        taints=[{"key": "huawei.com/Ascend910", "effect": "NoSchedule"}],
    )
    plan = plan_for([npu, runtime_class("ascend", "ascend")])
    assert plan.targets[0].family == "ascend"
    assert {p.manifest["spec"].get("runtimeClassName") for p in plan.pods} == {"ascend"}
    assert plan.pods[0].manifest["spec"]["tolerations"] == [
        {"key": "huawei.com/Ascend910", "operator": "Exists", "effect": "NoSchedule"}
    ]
    with pytest.raises(PlanError, match="need RuntimeClass ascend cannot be told"):
        plan_for([npu], forbidden=("runtimeclasses.node.k8s.io",))


def test_probe_script_lists_every_vendors_device_nodes_and_id_listings():
    from kubectl_aiconf.probe.plan import PROBE_SCRIPT

    assert "/dev/davinci[0-9]*" in PROBE_SCRIPT and "/dev/kfd" in PROBE_SCRIPT
    assert "nvidia-smi -L" in PROBE_SCRIPT and "amd-smi list" in PROBE_SCRIPT
    assert "neuron-ls" not in PROBE_SCRIPT  # it names no device by id: nothing to compare


def test_openshift_assigns_the_uid():
    view = FakeView([node("gpu-0", gpus=8)])
    view._served["security.openshift.io"] = {"v1": ["securitycontextconstraints"]}
    plan = build_plan(view, ProbeOptions(namespace="aiconf-probe-test"))
    for p in plan.pods:
        spec = p.manifest["spec"]
        contexts = [spec["securityContext"]] + [c["securityContext"] for c in spec["containers"]]
        assert all("runAsUser" not in c and c["runAsNonRoot"] is True for c in contexts)


def test_forbidden_nodes_cannot_be_planned():
    with pytest.raises(PlanError, match="list nodes"):
        plan_for([node("gpu-0", gpus=8)], forbidden=("nodes",))


def test_unreadable_pods_cannot_be_planned():
    # Free devices are counted from the pods that hold them: unknown pods are not "no pod".
    with pytest.raises(PlanError, match="could not list pods: the server timed out"):
        plan_for([node("gpu-0", gpus=8)], failed=("pods",))


@pytest.mark.parametrize("outcome", ["forbidden", "failed"])
def test_unreadable_runtime_classes_stop_an_nvidia_probe(outcome):
    # Whether the NVIDIA pods need RuntimeClass nvidia decides what they can see: no guess either way.
    with pytest.raises(
        PlanError,
        match="whether pods on gpu-0 need RuntimeClass nvidia cannot be told: "
        r"(forbidden|could not list runtimeclasses)",
    ):
        plan_for([node("gpu-0", gpus=8)], **{outcome: ("runtimeclasses.node.k8s.io",)})


def test_an_unreadable_listing_makes_the_probe_inconclusive_and_creates_nothing():
    from kubectl_aiconf.probe.run import run_probe
    from kubectl_aiconf.result import Reason, Status

    class NoCalls:
        def request(self, *args, **kwargs):
            raise AssertionError("the probe must not talk to the cluster when it cannot be planned")

    view = FakeView([node("gpu-0", gpus=8)], forbidden=("runtimeclasses.node.k8s.io",))
    result = run_probe(view, NoCalls(), ProbeOptions(namespace="aiconf-probe-test"), stream=io.StringIO())
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.PROBE_INCONCLUSIVE)
    assert "list runtimeclasses.node.k8s.io (cluster scope)" in result.message


def test_unreadable_runtime_classes_do_not_matter_to_other_vendors():
    plan = plan_for([node("amd-0", gpus=4, resource="amd.com/gpu")], forbidden=("runtimeclasses.node.k8s.io",))
    assert names(plan) == ["dp-pair-a", "dp-pair-b", "dp-multi", "negative"]
    assert not any("runtimeClassName" in p.manifest["spec"] for p in plan.pods)


# DRA -----------------------------------------------------------------------------------------------------------
def dra_cluster(devices=2, extra=()):
    return [
        node("gpu-0", gpus=0, labels={"nvidia.com/gpu.present": "true"}),
        device_class(),
        resource_slice("gpu-0", devices=devices),
        *extra,
    ]


def test_dra_claims_come_from_a_template_and_the_scheduler_places_the_pods():
    plan = plan_for(dra_cluster(devices=4), mechanism="dra")
    assert [t.mechanism for t in plan.targets] == [DRA]
    assert names(plan) == ["dra-pair-a", "dra-pair-b", "dra-multi", "negative"]
    template = plan.prerequisites[0]
    assert template["kind"] == "ResourceClaimTemplate" and template["apiVersion"] == "resource.k8s.io/v1"
    request = template["spec"]["spec"]["devices"]["requests"][0]
    assert request["exactly"]["deviceClassName"] == "gpu.nvidia.com" and request["exactly"]["count"] == 1
    for p in plan.pods:
        spec = p.manifest["spec"]
        if p.role == "negative":
            assert spec["nodeName"] == "gpu-0" and "resourceClaims" not in spec
            continue
        assert "nodeName" not in spec  # pinning would bypass allocation
        assert spec["resourceClaims"] == [{"name": "accelerator", "resourceClaimTemplateName": CLAIM_TEMPLATE}]
        assert not any("nvidia.com/gpu" in c["resources"].get("limits", {}) for c in spec["containers"])
    multi = next(p for p in plan.pods if p.role == "multi")
    claims = [c["resources"].get("claims") for c in multi.manifest["spec"]["containers"]]
    assert claims == [[{"name": "accelerator"}], None]
    assert ("create", "resource.k8s.io", "resourceclaimtemplates", "", "aiconf-probe-test") in plan.permissions()


def test_dra_free_devices_exclude_allocated_tainted_and_stale_ones():
    objects = [
        node("gpu-0", labels={"nvidia.com/gpu.present": "true"}),
        device_class(),
        resource_slice("gpu-0", devices=4, generation=2, tainted=(3,)),
        resource_slice("gpu-0", devices=8, generation=1),  # an older generation: ignored
        claim("gpu-0", "gpu-0"),
    ]
    plan = plan_for(objects, mechanism="dra")
    assert plan.targets[0].free == 2


def test_dra_v1beta1_template_is_flat():
    plan = plan_for(
        dra_cluster(), mechanism="dra", dra={"v1beta1": ["deviceclasses", "resourceslices", "resourceclaims"]}
    )
    request = plan.prerequisites[0]["spec"]["spec"]["devices"]["requests"][0]
    assert plan.prerequisites[0]["apiVersion"] == "resource.k8s.io/v1beta1"
    assert request["deviceClassName"] == "gpu.nvidia.com" and "exactly" not in request


def test_dra_without_the_api_is_a_plan_error():
    with pytest.raises(PlanError, match="does not serve the resource.k8s.io"):
        plan_for([node("gpu-0", gpus=8)], mechanism="dra", dra=False)


def test_dra_without_accelerator_classes_is_a_plan_error():
    objects = [
        node("gpu-0", labels={"nvidia.com/gpu.present": "true"}),
        device_class("cd.nvidia.com", driver="compute-domain.nvidia.com"),
        resource_slice("gpu-0", driver="compute-domain.nvidia.com"),
    ]
    with pytest.raises(PlanError, match="no DeviceClass selects accelerator devices"):
        plan_for(objects, mechanism="dra")


def test_dra_prefers_whole_gpus_to_mig_and_real_drivers_to_example_ones():
    objects = [
        node("gpu-0", labels={"nvidia.com/gpu.present": "true"}),
        device_class("mig.nvidia.com", driver="gpu.nvidia.com"),
        device_class("gpu.nvidia.com"),
        device_class("gpu.example.com", driver="gpu.example.com"),
        resource_slice("gpu-0"),
        resource_slice("gpu-0", driver="gpu.example.com"),
    ]
    plan = plan_for(objects, mechanism="dra")
    assert plan.targets[0].device_class == "gpu.nvidia.com"


def test_example_driver_is_noted():
    objects = [
        node("gpu-0"),
        device_class("gpu.example.com", driver="gpu.example.com"),
        resource_slice("gpu-0", driver="gpu.example.com"),
    ]
    plan = plan_for(objects, mechanism="dra")
    assert plan.targets[0].family == "generic"
    assert any("example driver" in n for n in plan.targets[0].notes)


def test_dra_sharing_config_skips_the_pair():
    config = [{"opaque": {"driver": "gpu.nvidia.com", "parameters": {"sharing": {"strategy": "TimeSlicing"}}}}]
    objects = [node("gpu-0"), device_class(config=config), resource_slice("gpu-0", devices=4)]
    plan = plan_for(objects, mechanism="dra")
    assert names(plan) == ["dra-single", "dra-multi", "negative"]


def cel_class(name, expression):
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "DeviceClass",
        "metadata": {"name": name},
        "spec": {"selectors": [{"cel": {"expression": expression}}]},
    }


def typed_slice(node_name, types, driver="gpu.nvidia.com", **placement):
    """A slice whose devices carry a `type` attribute (whole GPUs and MIG slices side by side) and, for the
    second device on, a qualified boolean `gpu.nvidia.com/shared`."""
    devices = [
        {
            "name": f"dev-{i}",
            "attributes": {"type": {"string": t}, **({"gpu.nvidia.com/shared": {"bool": True}} if i else {})},
        }
        for i, t in enumerate(types)
    ]
    spec = {
        "driver": driver,
        "pool": {"name": node_name or "fabric", "generation": 1, "resourceSliceCount": 1},
        "devices": devices,
        **placement,
    }
    if node_name:
        spec["nodeName"] = node_name
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": f"{node_name or 'fabric'}-{driver}"},
        "spec": spec,
    }


GPU_ONLY = "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'gpu'"


def test_dra_counts_only_the_devices_a_class_selects():
    # One whole GPU and three MIG slices in one slice: the GPU class can hand out one device, not four.
    objects = [
        node("gpu-0", labels={"nvidia.com/gpu.present": "true"}),
        cel_class("gpu.nvidia.com", GPU_ONLY),
        typed_slice("gpu-0", ["gpu", "mig", "mig", "mig"]),
    ]
    plan = plan_for(objects, mechanism="dra")
    assert plan.targets[0].free == 1
    assert names(plan) == ["dra-single", "dra-multi", "negative"]
    assert ("dra-pair", "two concurrent pods on one node: skipped, only 1 free device on gpu-0") in plan.skipped


@pytest.mark.parametrize(
    "expression, free",
    [
        ("device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].shared == true", 2),
        ('device.driver == "gpu.nvidia.com" && (device.attributes["gpu.nvidia.com"].type == "mig")', 2),
        ("device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'tpu'", 0),
    ],
)
def test_dra_attribute_equalities_are_evaluated(expression, free):
    objects = [
        node("gpu-0", labels={"nvidia.com/gpu.present": "true"}),
        cel_class("gpu.nvidia.com", expression),
        typed_slice("gpu-0", ["gpu", "mig", "mig"]),
    ]
    if not free:
        with pytest.raises(PlanError, match="no Ready node has a free device of DeviceClass gpu.nvidia.com"):
            plan_for(objects, mechanism="dra")
        return
    assert plan_for(objects, mechanism="dra").targets[0].free == free


@pytest.mark.parametrize(
    "expression",
    [
        # Clauses under || or ! need not hold: reading them as required would count too few devices.
        "(device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'gpu') || "
        "(device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'mig')",
        "device.driver == 'gpu.nvidia.com' && !(device.attributes['gpu.nvidia.com'].type == 'tpu')",
    ],
)
def test_dra_or_and_not_make_the_count_a_guess_not_a_filter(expression):
    objects = [
        node("gpu-0", labels={"nvidia.com/gpu.present": "true"}),
        cel_class("gpu.nvidia.com", expression),
        typed_slice("gpu-0", ["gpu", "gpu"]),
    ]
    target = plan_for(objects, mechanism="dra").targets[0]
    assert target.free == 2 and target.usable_free == 1 and "does not evaluate" in target.uncertain


@pytest.mark.parametrize(
    "clause",
    ["device.attributes['gpu.nvidia.com'].type == true", "device.attributes['gpu.nvidia.com'].shared == 'true'"],
)
def test_dra_attribute_equality_respects_the_attribute_type(clause):
    objects = [
        node("gpu-0", labels={"nvidia.com/gpu.present": "true"}),
        cel_class("gpu.nvidia.com", f"device.driver == 'gpu.nvidia.com' && {clause}"),
        typed_slice("gpu-0", ["gpu", "gpu"]),
    ]
    with pytest.raises(PlanError, match="no Ready node has a free device"):
        plan_for(objects, mechanism="dra")


def test_dra_devices_sharing_counters_run_one_pod_at_a_time():
    # One GPU published twice (whole, and for passthrough), both drawing on the same counter.
    gpu_slice = typed_slice("gpu-0", ["gpu", "gpu"])
    for device in gpu_slice["spec"]["devices"]:
        device["consumesCounters"] = [{"counterSet": "gpu-0-counters", "counters": {"memory": {"value": "64Gi"}}}]
    objects = [node("gpu-0", labels={"nvidia.com/gpu.present": "true"}), device_class(), gpu_slice]
    plan = plan_for(objects, mechanism="dra")
    assert plan.targets[0].usable_free == 1
    assert "shared counters" in dict(plan.skipped)["dra-pair"]


def test_dra_class_beyond_the_plan_runs_one_pod_at_a_time_and_says_why():
    expression = "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type.startsWith('g')"
    objects = [
        node("gpu-0", labels={"nvidia.com/gpu.present": "true"}),
        cel_class("gpu.nvidia.com", expression),
        typed_slice("gpu-0", ["gpu", "gpu", "gpu", "gpu"]),
    ]
    plan = plan_for(objects, mechanism="dra")
    target = plan.targets[0]
    assert target.free == 4 and target.usable_free == 1
    assert names(plan) == ["dra-single", "dra-multi", "negative"]
    assert [p.wave for p in plan.pods] == [1, 2, 1]
    why = dict(plan.skipped)["dra-pair"]
    assert "a CEL expression the plan does not evaluate" in why


@pytest.mark.parametrize(
    "placement, reachable",
    [
        ({"allNodes": True}, {"gpu-a", "gpu-b"}),
        (
            {
                "nodeSelector": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "rack", "operator": "In", "values": ["r1"]}]}]
                }
            },
            {"gpu-a"},
        ),
        (
            {
                "nodeSelector": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["gpu-a"]}]}
                    ]
                }
            },
            {"gpu-b"},
        ),
    ],
)
def test_dra_network_attached_devices_reach_the_nodes_their_slice_names(placement, reachable):
    gpu_labels = {"nvidia.com/gpu.present": "true"}
    objects = [
        node("gpu-a", labels={**gpu_labels, "rack": "r1"}),
        node("gpu-b", labels={**gpu_labels, "rack": "r2"}),
        device_class(),
        typed_slice(None, ["gpu", "gpu"], **placement),
    ]
    targets, _ = dra_targets(
        FakeView(objects),
        [o for o in objects if o["kind"] == "Node"],
        [(device_class(), class_selector(device_class()))],
    )
    assert {t.node for t in targets} == reachable
    assert all(t.free == 2 for t in targets)
    assert all(any("published for several nodes" in n for n in t.notes) for t in targets)


def test_dra_per_device_node_selection():
    devices = [{"name": "dev-0", "nodeName": "gpu-a"}, {"name": "dev-1", "allNodes": True}]
    fabric = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": "mixed"},
        "spec": {
            "driver": "gpu.nvidia.com",
            "perDeviceNodeSelection": True,
            "devices": devices,
            "pool": {"name": "mixed", "generation": 1, "resourceSliceCount": 1},
        },
    }
    nodes = [node("gpu-a"), node("gpu-b")]
    free = {
        t.node: t.free
        for t in dra_targets(FakeView([*nodes, fabric]), nodes, [(device_class(), class_selector(device_class()))])[0]
    }
    assert free == {"gpu-a": 2, "gpu-b": 1}


def test_auto_probes_both_mechanisms_and_puts_a_negative_pod_on_each_node():
    objects = [
        node("gpu-dp", gpus=8),
        node("gpu-dra", labels={"nvidia.com/gpu.present": "true"}),
        device_class(),
        resource_slice("gpu-dra", devices=4),
    ]
    plan = plan_for(objects)
    assert [(t.mechanism, t.node) for t in plan.targets] == [(DEVICE_PLUGIN, "gpu-dp"), (DRA, "gpu-dra")]
    negatives = [(p.name, p.node) for p in plan.pods if p.role == "negative"]
    assert negatives == [("negative", "gpu-dp"), ("negative-2", "gpu-dra")]
    assert len(plan.prerequisites) == 1


def test_auto_without_dra_permissions_falls_back_to_the_device_plugin_and_says_so():
    plan = plan_for([node("gpu-0", gpus=8)], forbidden=("resourceslices.resource.k8s.io",))
    assert [t.mechanism for t in plan.targets] == [DEVICE_PLUGIN]
    assert plan.skipped == [
        (
            DRA,
            (
                "DRA devices cannot be probed: forbidden: missing permission to list "
                "resourceslices.resource.k8s.io (cluster scope)"
            ),
        )
    ]
    assert "skipped dra: DRA devices cannot be probed" in render_plan(plan, "text")
    with pytest.raises(PlanError, match="list resourceslices"):
        plan_for([node("gpu-0", gpus=8)], mechanism="dra", forbidden=("resourceslices.resource.k8s.io",))


@pytest.mark.parametrize(
    "res", ["deviceclasses.resource.k8s.io", "resourceslices.resource.k8s.io", "resourceclaims.resource.k8s.io"]
)
def test_unreadable_dra_listings_are_not_taken_for_no_dra_devices(res):
    # A node that only DRA makes an accelerator node: with a DRA listing unreadable, the plan must not say
    # that no DRA driver publishes devices.
    objects = [node("gpu-dra"), device_class(), resource_slice("gpu-dra", devices=4)]
    assert [t.mechanism for t in plan_for(objects).targets] == [DRA]
    with pytest.raises(PlanError) as caught:
        plan_for(objects, failed=(res,))
    assert "DRA devices cannot be read: could not list " + res.split(".")[0] in str(caught.value)
    assert "no DRA driver publishes" not in str(caught.value)


def test_unreadable_dra_listings_are_named_when_no_accelerator_node_is_usable():
    taints = [{"key": "team", "value": "ml", "effect": "NoSchedule"}]
    with pytest.raises(PlanError, match="no usable accelerator node .*team=ml.*DRA devices cannot be read"):
        plan_for([node("gpu-0", gpus=8, taints=taints)], forbidden=("deviceclasses.resource.k8s.io",))


def test_device_plugin_mechanism_names_unreadable_device_classes_in_its_hint():
    objects = [node("gpu-0", labels={"nvidia.com/gpu.present": "true"})]
    with pytest.raises(PlanError, match="whether DRA serves accelerator requests here cannot be told: forbidden"):
        plan_for(objects, mechanism="device-plugin", forbidden=("deviceclasses.resource.k8s.io",))


def test_extended_resource_served_by_dra_is_attributed_to_dra():
    # No node advertises nvidia.com/gpu: requests for it would be allocated by DRA, not a device plugin.
    objects = dra_cluster()
    objects[1] = device_class(extended="nvidia.com/gpu")
    with pytest.raises(PlanError, match="served by DRA here.*--probe-mechanism dra"):
        plan_for(objects, mechanism="device-plugin")
    plan = plan_for(objects)
    assert [t.mechanism for t in plan.targets] == [DRA]
    assert any("extended resource nvidia.com/gpu" in n for n in plan.targets[0].notes)


def test_device_plugin_node_next_to_an_extended_resource_class_stays_device_plugin():
    objects = [node("gpu-0", gpus=8), device_class(extended="nvidia.com/gpu")]
    plan = plan_for(objects, mechanism="device-plugin")
    assert plan.targets[0].mechanism == DEVICE_PLUGIN
    assert any("advertised by the node's device plugin" in n for n in plan.targets[0].notes)


def test_unknown_mechanism():
    with pytest.raises(PlanError, match="unknown probe mechanism"):
        plan_for([node("gpu-0", gpus=8)], mechanism="magic")


# showing the plan ----------------------------------------------------------------------------------------------
def test_dry_run_yaml_is_the_manifests_in_creation_order():
    plan = plan_for(dra_cluster(devices=4))
    docs = list(yaml.safe_load_all(render_plan(plan, "yaml")))
    assert [d["kind"] for d in docs] == ["Namespace", "ResourceClaimTemplate", "Pod", "Pod", "Pod", "Pod"]
    assert docs[0]["metadata"]["labels"]["app.kubernetes.io/component"] == "accelerator-probe"
    summary = render_plan(plan, "table")
    assert "nothing was created" in summary and "dra-pair-a" in summary
    assert PROBE_SELECTOR in summary


def test_generated_namespace_names_are_random_and_prefixed():
    view = FakeView([node("gpu-0", gpus=8)])
    a, b = build_plan(view, ProbeOptions()), build_plan(view, ProbeOptions())
    assert a.namespace.startswith("aiconf-probe-") and a.namespace != b.namespace


def test_probe_script_prints_parsable_lines(tmp_path):
    """The script itself, in a local shell, with a fake nvidia-smi and an example-driver variable."""
    import os
    import shutil
    import subprocess

    from kubectl_aiconf.probe.plan import PROBE_SCRIPT
    from kubectl_aiconf.probe.verdict import parse_output

    if not shutil.which("sh"):
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("CI=true and no sh on PATH: the probe script cannot be run")
        pytest.skip("no sh")
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0b1c2d3e-aaaa)'\n")
    smi.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "GPU_DEVICE_0": "gpu-3",
        # what Kubernetes' DRA test driver's CDI edits set: the claim marker, and opaque config values
        "claim_dra_single_accelerator_x7k2p_accelerator": "true",
        "admin_tier": "gold",
        "claim_not_a_marker": "false",
    }
    proc = subprocess.run(["sh", "-c", PROBE_SCRIPT], env=env, capture_output=True, text=True, timeout=10)
    out = parse_output(proc.stdout)
    assert proc.returncode == 0 and out.complete
    assert out.uuids == ["GPU-0b1c2d3e-aaaa"]
    assert out.env_devices == ["gpu-3"]
    assert out.cdi_claims == ["claim_dra_single_accelerator_x7k2p_accelerator"]
    assert all(line.startswith("AICONF ") for line in proc.stdout.splitlines())


def test_claim_env_names_follow_the_test_drivers_convention():
    assert claim_env_name("dra-pair-a-accelerator-x7k2p") == "claim_dra_pair_a_accelerator_x7k2p_accelerator"
    pattern = template_claim_env("dra-pair-a")
    assert re.match(pattern, "claim_dra_pair_a_accelerator_x7k2p_accelerator")
    assert not re.match(pattern, "claim_dra_pair_b_accelerator_x7k2p_accelerator")
    assert not re.match(pattern, "claim_dra_pair_a_accelerator_x7k2p_other")


def test_the_kubernetes_dra_test_driver_is_an_example_driver_that_injects_claims_only():
    from kubectl_aiconf.knowledge import accelerators as acc

    for driver in ("gpu.test-driver.cdi.k8s.io", "test-driver.cdi.k8s.io"):
        assert acc.injects_claim_env(driver) and acc.is_example_driver(driver)
    for driver in ("gpu.nvidia.com", "gpu.example.com", "test-driver.cdi.k8s.io.evil.com"):
        assert not acc.injects_claim_env(driver)
    # no accelerator word: the default name is not an accelerator driver, `gpu.` makes it one
    assert not acc.is_accelerator_driver("test-driver.cdi.k8s.io")
    assert acc.is_accelerator_driver("gpu.test-driver.cdi.k8s.io")
