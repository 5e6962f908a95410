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


# Google Managed Prometheus -----------------------------------------------------------------------------------
def gmp_target() -> sm.Target:
    return sm.choose_prometheus([], [], LABELS, gmp=True)


def test_managed_prometheus_gets_a_podmonitoring_when_no_prometheus_can_be_queried():
    t = gmp_target()
    assert t.how == "podmonitoring" and "Google Managed Prometheus" in t.note
    pod, service, monitoring = sm.manifests(NS, t, "busybox")
    assert monitoring["apiVersion"] == "monitoring.googleapis.com/v1" and monitoring["kind"] == "PodMonitoring"
    assert monitoring["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": sm.APP}
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == sm.APP
    assert monitoring["spec"]["endpoints"] == [{"port": "metrics", "path": sm.PATH, "interval": "5s"}]
    assert "annotations" not in pod["metadata"]
    # an operator's Prometheus that watches the namespace is still preferred: its query shows the series itself
    assert sm.choose_prometheus(load("prometheuses.yaml"), [], LABELS, gmp=True).how == "servicemonitor"


def test_podmonitoring_target_status_decides():
    healthy = sm.judge_podmonitoring(load("podmonitoring-healthy.yaml"), NS, 31, finished=False)
    assert healthy is not None and healthy.status is Status.PASS and "1 healthy target" in healthy.message
    assert sm.judge_podmonitoring(load("podmonitoring-unhealthy.yaml"), NS, 10, finished=False) is None
    down = sm.judge_podmonitoring(load("podmonitoring-unhealthy.yaml"), NS, 90, finished=True)
    assert down.status is Status.FAIL and "404 Not Found" in down.message
    not_yet = load("podmonitoring-unhealthy.yaml")
    target = not_yet["status"]["endpointStatuses"][0]["sampleGroups"][0]["sampleTargets"][0]
    target["health"] = "unknown"
    del target["lastError"]
    pending = sm.judge_podmonitoring(not_yet, NS, 90, finished=True)
    assert pending.status is Status.UNKNOWN and "not scraped yet" in pending.message
    silent = {"status": {"conditions": [{"type": "ConfigurationCreateSuccess", "status": "True"}]}}
    unknown = sm.judge_podmonitoring(silent, NS, 90, finished=True)
    assert unknown.status is Status.UNKNOWN and "no target status" in unknown.message


class Answers:
    def __init__(self, config=None, error=None):
        self.config, self.error = config, error

    def request(self, method, path):
        from kubectl_aiconf.view.live import ApiError

        assert path == sm.GMP_OPERATOR_CONFIG
        if self.error:
            raise ApiError(self.error, "forbidden")
        return self.config


def test_managed_prometheus_without_target_status_is_not_probed():
    with pytest.raises(PlanError, match="targetStatus"):
        sm.gmp_without_target_status(Answers({"features": {}}))
    sm.gmp_without_target_status(Answers({"features": {"targetStatus": {"enabled": True}}}))
    sm.gmp_without_target_status(Answers(error=403))  # cannot tell: the probe runs and says what it saw
    with pytest.raises(PlanError, match="targetStatus"):
        sm.gmp_without_target_status(Answers(error=404))  # no OperatorConfig: GMP's defaults


class GmpCluster:
    """A cluster with Google Managed Prometheus (target status on) and no Prometheus to query."""

    def __init__(self) -> None:
        self.conn = self

    def group_versions(self, group: str) -> list[str]:
        return ["v1"] if group == sm.GMP_GROUP else []

    def request(self, method: str, path: str) -> dict:
        if path == sm.GMP_OPERATOR_CONFIG:
            return {"features": {"targetStatus": {"enabled": True}}}
        return {"items": []}


def test_plan_on_managed_prometheus_creates_a_podmonitoring_and_may_read_it():
    from kubectl_aiconf.probe.plan import ProbeOptions

    part = sm.plan(GmpCluster(), ProbeOptions(namespace=NS))
    assert [o["kind"] for o in part.objects] == ["Pod", "Service", "PodMonitoring"]
    assert ("get", sm.GMP_GROUP, "podmonitorings", "", NS) in part.permissions
