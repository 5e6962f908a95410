"""ai_inference probe: parent choice, manifests and verdicts on recorded HTTPRoute statuses (testdata/probes).

The sandbox has no Gateway controller: this decision is tested on recorded statuses only.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from kubectl_aiconf.probe import inference as inf
from kubectl_aiconf.probe.plan import PlanError
from kubectl_aiconf.result import Reason, Status

DATA = Path(__file__).resolve().parents[1] / "testdata" / "probes" / "ai_inference"
NS = "aiconf-probe-x"
LABELS = {"kubernetes.io/metadata.name": NS}


def load(name: str):
    return yaml.safe_load((DATA / name).read_text())


def parent() -> inf.Parent:
    cluster = load("gateways.yaml")
    return inf.choose_parent(cluster["gateways"], cluster["classes"], NS, LABELS)


def test_attaches_to_the_gateway_whose_http_listener_admits_other_namespaces():
    p = parent()
    assert (p.namespace, p.gateway, p.listener, p.create_gateway) == ("infra", "inference", "web", False)
    assert p.hostname == f"{NS}.models.example.com"  # inside the listener's wildcard


def test_probe_gateway_when_no_gateway_admits_the_route():
    cluster = load("gateways.yaml")
    p = inf.choose_parent(cluster["gateways"][:1], cluster["classes"], NS, LABELS)
    assert p.create_gateway and p.gateway_class == "eg" and p.namespace == NS
    assert p.hostname == f"{NS}.aiconf-probe.invalid"
    assert "admits no HTTPRoute from the probe namespace" in p.note
    with pytest.raises(PlanError, match="no GatewayClass is Accepted"):
        inf.choose_parent(cluster["gateways"][:1], [], NS, LABELS)


def test_selector_listeners_follow_the_namespace_labels():
    cluster = load("gateways.yaml")
    gw = copy.deepcopy(cluster["gateways"][0])
    gw["spec"]["listeners"][0]["allowedRoutes"] = {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "x"}}}
    }
    assert inf.choose_parent([gw], cluster["classes"], NS, LABELS).create_gateway
    assert not inf.choose_parent([gw], cluster["classes"], NS, {**LABELS, "team": "x"}).create_gateway


def test_manifests_route_only_a_host_of_the_probe():
    objects = inf.manifests(NS, parent())
    assert [o["kind"] for o in objects] == ["Service", "HTTPRoute"]
    route = objects[-1]["spec"]
    assert route["hostnames"] == [f"{NS}.models.example.com"]
    assert route["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "inference",
            "namespace": "infra",
            "sectionName": "web",
        }
    ]
    assert route["rules"][0]["backendRefs"] == [{"name": inf.SERVICE, "port": 80}]
    cluster = load("gateways.yaml")
    own = inf.manifests(NS, inf.choose_parent([], cluster["classes"], NS, LABELS))
    assert own[0]["kind"] == "Gateway" and own[0]["spec"]["gatewayClassName"] == "eg"


def test_accepted_with_resolved_refs_passes():
    result = inf.judge(load("route-accepted.yaml"), parent(), 2, finished=False)
    assert result.status is Status.PASS and result.reason is Reason.PROBE_PASSED
    assert "gateway.envoyproxy.io/gatewayclass-controller" in result.message


def test_unresolved_backend_fails():
    result = inf.judge(load("route-unresolved.yaml"), parent(), 2, finished=False)
    assert result.status is Status.FAIL and "BackendNotFound" in result.message


def test_refused_for_a_reason_of_the_controller_fails_for_a_reason_of_the_plan_is_unknown():
    assert inf.judge(load("route-not-allowed.yaml"), parent(), 2, False).status is Status.UNKNOWN
    route = load("route-not-allowed.yaml")
    route["status"]["parents"][0]["conditions"][0]["reason"] = "UnsupportedValue"
    assert inf.judge(route, parent(), 2, False).status is Status.FAIL


def test_no_status_from_the_controller_is_unknown_at_the_end():
    route = load("route-accepted.yaml")
    route["status"] = {}
    assert inf.judge(route, parent(), 2, finished=False) is None  # waits on
    result = inf.judge(route, parent(), 30, finished=True)
    assert result.status is Status.UNKNOWN and "within 30s" in result.message
    other = load("route-accepted.yaml")
    other["status"]["parents"][0]["parentRef"]["name"] = "someone-else"
    assert inf.judge(other, parent(), 30, finished=True).status is Status.UNKNOWN
