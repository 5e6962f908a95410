"""accelerator_metrics probe: target choice and verdicts on recorded exporter pages (testdata/probes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.probe import accelerator_metrics as am
from kubectl_aiconf.probe.kit import parse_prometheus
from kubectl_aiconf.result import Reason, Status

DATA = Path(__file__).resolve().parents[1] / "testdata" / "probes" / "accelerator_metrics"


def node(name: str, gpus: int, resource: str = "nvidia.com/gpu", labels: dict | None = None) -> dict:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "status": {
            "allocatable": {"cpu": "8", resource: str(gpus)},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def daemonset(
    name: str = "nvidia-dcgm-exporter", ns: str = "gpu-operator", image: str = "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3"
) -> dict:
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "e", "image": image}]},
            },
        },
    }


def pod(
    name: str, node_name: str, app: str = "nvidia-dcgm-exporter", ns: str = "gpu-operator", port: int = 9400
) -> dict:
    return {
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": "e", "ports": [{"name": "metrics", "containerPort": port}]}],
        },
        "status": {"phase": "Running"},
    }


def dcgm() -> acc.Exporter:
    return acc.NVIDIA.exporters[0]


def target(expected: int | None = 2, exporter: acc.Exporter | None = None) -> am.ScrapeTarget:
    return am.ScrapeTarget(
        "nvidia", exporter or dcgm(), "gpu-operator", "dcgm-abc", "gpu-node-1", 9400, expected, "nvidia.com/gpu=2"
    )


def scrape(fixture: str, expected: int | None = 2) -> am.Scrape:
    return am.Scrape(target(expected), text=(DATA / fixture).read_text())


def test_parser_reads_labels_values_and_rejects_garbage():
    samples, bad = parse_prometheus(
        '# HELP x y\nm{a="1",b="q\\"uote"} 3.5\nm_total 7 1700000000\nnot a sample line\nm{a="x"} NaN\n'
    )
    assert [(s.name, dict(s.labels), s.value) for s in samples[:2]] == [
        ("m", {"a": "1", "b": 'q"uote'}, 3.5),
        ("m_total", {}, 7.0),
    ]
    assert bad == ["not a sample line"]
    assert samples[2].value != samples[2].value  # NaN is a value, not garbage


def test_two_gpus_with_utilisation_and_memory_pass():
    result = am.judge([scrape("dcgm-2gpu.txt")], [])
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED
    assert "DCGM_FI_DEV_GPU_UTIL for 2 devices" in result.evidence[0].fact
    assert result.evidence[0].name == "/api/v1/namespaces/gpu-operator/pods/dcgm-abc:9400/proxy/metrics"


@pytest.mark.parametrize(
    "fixture, problem",
    [
        ("dcgm-no-memory.txt", "no memory metric"),
        ("dcgm-same-labels.txt", "only 1 distinct devices"),
    ],
)
def test_broken_exporter_pages_fail(fixture, problem):
    result = am.judge([scrape(fixture)], [])
    assert result.status is Status.FAIL and result.reason is Reason.PROBE_FAILED, result.message
    assert problem in result.message


def test_one_device_missing_from_the_memory_metric_is_named():
    result = am.judge([scrape("dcgm-one-device-missing.txt")], [])
    assert "DCGM_FI_DEV_FB_USED covers 1 devices, the node has 2" in result.message
    assert "utilisation and memory cover different devices" in result.message


def test_count_must_match_the_node():
    result = am.judge([scrape("dcgm-2gpu.txt", expected=4)], [])
    assert result.status is Status.FAIL and "the node has 4" in result.message


def test_unknown_device_count_or_unreadable_page_is_unknown():
    assert am.judge([scrape("dcgm-2gpu.txt", expected=None)], []).status is Status.UNKNOWN
    failed = am.judge([am.Scrape(target(), error="403 Forbidden: pods/proxy")], [])
    assert failed.status is Status.UNKNOWN and "403 Forbidden" in failed.message
    assert am.judge([], ["node n1: no running nvidia exporter pod to scrape"]).status is Status.UNKNOWN


def test_empty_page_fails():
    result = am.judge([am.Scrape(target(), text="# nothing\n")], [])
    assert result.status is Status.FAIL


def test_amd_exporter_uses_its_own_names_and_labels():
    amd = acc.AMD.exporters[0]
    t = am.ScrapeTarget("amd", amd, "kube-amd-gpu", "x", "amd-node-1", 5000, 1, "amd.com/gpu=1")
    result = am.judge([am.Scrape(t, text=(DATA / "amd-1gpu.txt").read_text())], [])
    assert result.status is Status.PASS, result.message
    assert "gpu_id=0" in result.evidence[0].fact


def test_targets_one_exporter_pod_per_accelerator_node():
    nodes = [node("gpu-node-1", 2), node("gpu-node-2", 1), node("cpu-node", 0), node("gpu-node-3", 8)]
    pods = [
        pod("dcgm-a", "gpu-node-1"),
        pod("dcgm-b", "gpu-node-2"),
        pod("dcgm-c", "cpu-node"),
        pod("other", "gpu-node-1", app="something-else"),
    ]
    exporters = am.find_exporters([daemonset(), daemonset("node-exporter", "monitoring", "prom/node-exporter")])
    assert [(v, ds["metadata"]["name"]) for v, _, ds in exporters] == [("nvidia", "nvidia-dcgm-exporter")]
    targets, notes = am.scrape_targets(exporters, pods, nodes)
    assert [(t.pod, t.node, t.port, t.expected) for t in targets] == [
        ("dcgm-a", "gpu-node-1", 9400, 2),
        ("dcgm-b", "gpu-node-2", 9400, 1),
    ]
    assert notes == ["node gpu-node-3: no running nvidia exporter pod to scrape"]
    kwok = node("gpu-node-9", 8, labels={"type": "kwok"})
    _, notes = am.scrape_targets(exporters, [pod("dcgm-k", "gpu-node-9")], [kwok])
    assert notes == ["not scraped: gpu-node-9 simulated (kwok), their devices do not exist"]


def test_device_count_label_wins_over_allocatable():
    n = node("xpu-node-1", 1, "gpu.intel.com/i915", labels={"gpu.intel.com/device.count": "4"})
    assert am.expected_devices("intel", n) == (4, "device count label")
    assert am.expected_devices("nvidia", node("x", 0)) == (None, "")
