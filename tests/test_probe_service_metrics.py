"""ai_service_metrics probe: Prometheus choice, manifests and verdicts on recorded Prometheus answers
(testdata/probes). The sandbox runs no Prometheus server: this probe is tested on recorded answers only."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from kubectl_aiconf.probe import service_metrics as sm
from kubectl_aiconf.probe.plan import PlanError
from kubectl_aiconf.result import Reason, Status

DATA = Path(__file__).resolve().parents[1] / "testdata" / "probes" / "ai_service_metrics"
NS = "aiconf-probe-x"
LABELS = {"kubernetes.io/metadata.name": NS}


def load(name: str):
    text = (DATA / name).read_text()
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


def target() -> sm.Target:
    return sm.choose_prometheus(load("prometheuses.yaml"), [], LABELS)


def test_servicemonitor_labelled_for_the_instance_that_watches_every_namespace():
    t = target()
    assert (t.how, t.service, t.monitor_labels) == (
        "servicemonitor",
        "monitoring/prometheus-operated:web",
        {"release": "kps"},
    )
    assert t.proxy == "/api/v1/namespaces/monitoring/services/prometheus-operated:web/proxy"
    monitor = sm.manifests(NS, t, "busybox")[-1]
    assert monitor["kind"] == "ServiceMonitor" and monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["endpoints"][0]["path"] == sm.PATH


def test_plain_prometheus_gets_annotations():
    services = [
        {
            "metadata": {"name": "prometheus-server", "namespace": "obs"},
            "spec": {"ports": [{"name": "http", "port": 80}]},
        }
    ]
    t = sm.choose_prometheus(load("prometheuses.yaml")[1:], services, LABELS)
    assert (t.how, t.service) == ("annotations", "obs/prometheus-server:http")
    assert "its own namespace only" in t.note
    pod, service = sm.manifests(NS, t, "busybox")
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == sm.PATH
    with pytest.raises(PlanError, match="its own namespace only"):
        sm.choose_prometheus(load("prometheuses.yaml")[1:], [], LABELS)


def test_selector_requirements_become_labels():
    assert sm._required_labels({"matchExpressions": [{"key": "team", "operator": "In", "values": ["ml"]}]}) == {
        "team": "ml"
    }
    assert sm._required_labels(None) is None
    assert sm._required_labels({}) == {}


def test_pod_serves_its_metric_as_text():
    script = sm.manifests(NS, target(), "busybox")[0]["spec"]["containers"][0]["command"][2]
    assert f'{sm.METRIC}{{probe="{NS}"}} 1' in script and "httpd -f -p 8080" in script
    assert unquote(sm.query_path(target(), NS)).endswith(f'query={sm.METRIC}{{probe="{NS}"}}')


def test_series_found_passes():
    result = sm.judge(load("query-found.json"), None, target(), NS, 25, finished=False)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED
    assert "ServiceMonitor" in result.message and "= 1" in result.evidence[-1].fact


def test_target_down_fails_at_the_end():
    assert sm.judge(load("query-empty.json"), load("targets-down.json"), target(), NS, 20, finished=False) is None
    result = sm.judge(load("query-empty.json"), load("targets-down.json"), target(), NS, 90, finished=True)
    assert result.status is Status.FAIL and "context deadline exceeded" in result.message


def test_not_discovered_or_not_queryable_is_unknown():
    result = sm.judge(load("query-empty.json"), {"data": {"activeTargets": []}}, target(), NS, 90, finished=True)
    assert result.status is Status.UNKNOWN and "has not discovered the probe pod" in result.message
    assert "could not be queried" in sm.judge(None, None, target(), NS, 90, finished=True).message


def test_prometheus_without_backends_is_unknown_at_once():
    said = '503 Service Unavailable: no endpoints available for service "prometheus-operated:web"'
    result = sm.judge(None, None, target(), NS, 1, finished=False, unreachable=said)
    assert result is not None and result.status is Status.UNKNOWN and "no endpoints available" in result.message
