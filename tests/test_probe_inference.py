"""ai_inference probe: parent choice, manifests and verdicts on recorded HTTPRoute statuses (testdata/probes).

The sandbox has no Gateway controller: this decision is tested on recorded statuses only, and the data-path
request on the client pod's log lines.
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
    assert [o["kind"] for o in objects] == ["Pod", "Service", "HTTPRoute"]
    backend, service = objects[0], objects[1]
    assert backend["metadata"]["labels"]["app.kubernetes.io/name"] == inf.SERVICE
    assert inf.token(NS) in backend["spec"]["containers"][0]["command"][2]
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": inf.BACKEND_PORT}]
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
    assert (parent().protocol, parent().port) == ("HTTP", 80)


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


# the data path ------------------------------------------------------------------------------------------------
def accepted() -> inf.CheckResult:
    result = inf.judge(load("route-accepted.yaml"), parent(), 2, finished=False)
    assert result is not None
    return result


def client_run(*lines: str, state: str = "done") -> inf.pods.PodRun:
    return inf.pods.PodRun(inf.CLIENT, state, "" if state == "done" else "timed out", logs={"probe": "\n".join(lines)})


def test_client_asks_the_gateway_address_for_the_route_host():
    gateway = {"status": {"addresses": [{"type": "IPAddress", "value": "10.96.4.7"}]}}
    assert inf.gateway_address(gateway) == "10.96.4.7" and inf.gateway_address({"status": {}}) == ""
    pod = inf.client_pod(NS, parent(), "10.96.4.7", "busybox", 60)
    script = pod["spec"]["containers"][0]["command"][2]
    assert f"Host: {NS}.models.example.com" in script and "'http://10.96.4.7:80/aiconf-probe'" in script
    assert inf.token(NS) in script and pod["metadata"]["namespace"] == NS
    assert inf.client_url("fd00::7", parent()) == "http://[fd00::7]:80/aiconf-probe"


def test_the_token_back_through_the_gateway_passes():
    result = inf.judge_data_path(accepted(), client_run("AICONF attempt=", "AICONF reached=yes"), "10.96.4.7", parent())
    assert result.status is Status.PASS and "reached the probe backend" in result.message
    assert any(e.kind == "Data path" and "answered" in e.fact for e in result.evidence)


def test_the_gateway_answering_with_an_error_is_no_proof_either_way():
    said = "AICONF attempt=wget: server returned error: HTTP/1.1 404 Not Found"
    result = inf.judge_data_path(accepted(), client_run(said, said, "AICONF reached=no"), "10.96.4.7", parent())
    assert result.status is Status.UNKNOWN and "404 Not Found" in result.message and "2 tries" in result.message


def test_a_data_path_that_could_not_be_shown_leaves_the_route_pass_and_says_why():
    silent = inf.judge_data_path(accepted(), client_run("AICONF attempt=", "AICONF reached=no"), "10.96.4.7", parent())
    assert silent.status is Status.PASS and "could not be reached from a pod" in silent.message
    stuck = inf.judge_data_path(accepted(), client_run(state="timeout"), "10.96.4.7", parent())
    assert stuck.status is Status.PASS and "the client pod did not run" in stuck.message
    none = inf.judge_data_path(accepted(), None, "", parent(), "the Gateway reports no address")
    assert none.status is Status.PASS and "the data path was not shown: the Gateway reports no address" in none.message
    assert any(e.kind == "Data path" and e.fact.startswith("not shown") for e in none.evidence)


def test_attempts_fill_the_time_left_within_bounds():
    assert inf.attempts_for(0) == 2 and inf.attempts_for(50) == 10 and inf.attempts_for(600) == inf.MAX_ATTEMPTS
    script = inf.client_pod(NS, parent(), "10.96.4.7", "busybox", 60)["spec"]["containers"][0]["command"][2]
    assert "while [ $i -lt 10 ]" in script
