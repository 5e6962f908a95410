"""What differs between the Kubernetes versions of the matrix, checked on each of them (`matrix_sandbox`): the
versions of the DRA API the server serves, the DRA device fields it keeps (their feature gates are off by
default before 1.36 and on from 1.36 or 1.37, and a server drops the fields of a gate that is off), and the
checks' verdicts on what each server really holds."""

from __future__ import annotations

import copy
import json

import pytest

from tests.integration.conftest import MATRIX, version_id
from tests.integration.test_check_live import run
from tests.sandbox.kube import request

V1 = "/apis/resource.k8s.io/v1"
DRIVER = "gpu.nvidia.com"  # an accelerator driver the checks recognise
POOL = "versions-node-0"

# resource.k8s.io versions served with the default --runtime-config (the betas are off by default)
DRA_SERVED = {"1.34": ["v1"], "1.35": ["v1"], "1.37": ["v1"]}
# Device fields a server keeps by default: device taints, partitionable devices (shared counters) and
# consumable capacity (devices allowing several allocations) are alpha, so off, before 1.36; on in 1.37.
KEPT = {"1.34": False, "1.35": False, "1.37": True}
# DeviceTaintRules: GA and served in resource.k8s.io/v1 from 1.37 (before, alpha or beta APIs that are off)
TAINT_RULES = {"1.34": False, "1.35": False, "1.37": True}


def minor(sandbox) -> str:
    return sandbox.kubernetes_version.rpartition(".")[0]


def gpu_slice(slice_count: int = 1, **device_fields) -> dict:
    """A slice of two GPUs of DRIVER in pool POOL, each with `device_fields`."""
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": f"{POOL}-gpus"},
        "spec": {
            "driver": DRIVER,
            "nodeName": POOL,
            "pool": {"name": POOL, "generation": 1, "resourceSliceCount": slice_count},
            "devices": [
                {
                    "name": f"gpu-{i}",
                    "attributes": {"productName": {"string": "NVIDIA H100 80GB HBM3"}},
                    **copy.deepcopy(device_fields),
                }
                for i in range(2)
            ],
        },
    }


def slices() -> list[dict]:
    """A pool of two slices: the shared counters, and two GPUs drawn from them that also allow several
    allocations and carry a NoSchedule taint."""
    counters = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": f"{POOL}-counters"},
        "spec": {
            "driver": DRIVER,
            "nodeName": POOL,
            "pool": {"name": POOL, "generation": 1, "resourceSliceCount": 2},
            "sharedCounters": [{"name": "gpu-0-counters", "counters": {"memory": {"value": "80Gi"}}}],
        },
    }
    gpus = gpu_slice(
        slice_count=2,
        capacity={"memory": {"value": "40Gi"}},
        consumesCounters=[{"counterSet": "gpu-0-counters", "counters": {"memory": {"value": "40Gi"}}}],
        allowMultipleAllocations=True,
        taints=[{"key": "example.com/maintenance", "value": "true", "effect": "NoSchedule"}],
    )
    return [counters, gpus]


def check(zipapp, sandbox) -> dict:
    # checklist 1.35: the last with dra_support, and gpu_sharing is a SHOULD in it
    proc = run(
        zipapp,
        "check",
        "-o",
        "json",
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "--context",
        "admin",
        "--conformance-version",
        "1.35",
    )
    assert proc.returncode in (0, 1, 3), proc.stderr
    return {r["id"]: r for r in json.loads(proc.stdout)["requirements"]}


def test_served_dra_versions(zipapp, matrix_sandbox):
    sandbox = matrix_sandbox
    sandbox.use_scenario("gpu-cluster")
    group = request(sandbox.admin_client(), "GET", "/apis/resource.k8s.io")
    served = [v["version"] for v in group["versions"]]
    assert served == DRA_SERVED[minor(sandbox)]
    dra = check(zipapp, sandbox)["dra_support"]
    assert dra["status"] == "PASS", dra
    assert dra["message"].startswith(f"resource.k8s.io {'/'.join(served)} served; ")
    assert any(e["fact"] == "served versions: " + ", ".join(served) for e in dra["evidence"]), dra["evidence"]
    names = {r["name"] for r in request(sandbox.admin_client(), "GET", V1)["resources"]}
    assert ("devicetaintrules" in names) is TAINT_RULES[minor(sandbox)], names


@pytest.mark.parametrize(
    "matrix_sandbox",
    [v for v in MATRIX if TAINT_RULES[v.rpartition(".")[0]]],
    ids=version_id,
    indirect=True,
)
def test_device_taint_rules_make_devices_unusable(zipapp, matrix_sandbox):
    """A DeviceTaintRule taints the devices it selects without touching the slices: with one keeping pods off
    every device of the driver, dra_support must not count them usable; without it, they are."""
    sandbox = matrix_sandbox
    sandbox.use_scenario("bare")
    rule = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "DeviceTaintRule",
        "metadata": {"name": "versions-drain"},
        "spec": {"deviceSelector": {"driver": DRIVER}, "taint": {"key": "example.com/drain", "effect": "NoSchedule"}},
    }
    sandbox.apply_objects([gpu_slice(), rule])
    try:
        dra = check(zipapp, sandbox)["dra_support"]
        assert dra["status"] == "WARN" and "every device is tainted" in dra["message"], dra
        assert any("2 tainted (unusable)" in e["fact"] for e in dra["evidence"]), dra["evidence"]
        request(sandbox.admin_client(), "DELETE", f"{V1}/devicetaintrules/versions-drain")
        dra = check(zipapp, sandbox)["dra_support"]
        assert "tainted" not in dra["message"], dra
        assert dra["status"] == "WARN" and "no running driver workload was found" in dra["message"], dra
    finally:
        sandbox.reset()


def test_dra_device_fields_follow_the_version(zipapp, matrix_sandbox):
    """Each server keeps the fields of the gates it has on, and the checks judge what it kept: on 1.37 every
    device is tainted (unusable) and drawn from shared counters; before 1.36 the same objects arrive without
    taints, counters or multiple allocations, so the devices are usable and no sharing is seen."""
    sandbox = matrix_sandbox
    sandbox.use_scenario("bare")
    sandbox.apply_objects(slices())
    try:
        live = request(sandbox.admin_client(), "GET", f"{V1}/resourceslices/{POOL}-gpus")
        device = live["spec"]["devices"][0]
        counters = request(sandbox.admin_client(), "GET", f"{V1}/resourceslices/{POOL}-counters")
        kept = KEPT[minor(sandbox)]
        for field in ("taints", "consumesCounters", "allowMultipleAllocations"):
            assert (field in device) is kept, (field, device)
        assert ("sharedCounters" in counters["spec"]) is kept, counters["spec"]

        got = check(zipapp, sandbox)
        dra, sharing = got["dra_support"], got["gpu_sharing"]
        facts = [e["fact"] for e in sharing["evidence"]]
        if kept:
            assert dra["status"] == "WARN" and "publishes no usable device (every device is tainted)" in dra["message"]
            assert any("2 partitions drawn from shared counters" in f for f in facts), facts
            assert any("2 devices allowing multiple allocations" in f for f in facts), facts
        else:
            assert dra["status"] == "WARN" and "no running driver workload was found" in dra["message"], dra
            assert "tainted" not in dra["message"]
            assert not any("shared counters" in f or "multiple allocations" in f for f in facts), facts
    finally:
        sandbox.reset()
