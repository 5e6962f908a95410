"""The probe run's handling of API answers that the sandbox cannot easily stage: a pod the kubelet rejects
before any container starts, an aborted run whose namespace then lingers, a connection that drops for a
moment. The API server is a scripted stand-in answering by (method, path)."""

from __future__ import annotations

import io

import pytest
from test_probe_plan import FakeView, node

from kubectl_aiconf.probe import cleanup, run
from kubectl_aiconf.probe.plan import ProbeOptions, build_plan
from kubectl_aiconf.result import Status
from kubectl_aiconf.view.live import ApiError, ConnectError

NS = "aiconf-probe-run"


class ScriptedApi:
    """Answers requests from handlers keyed by (method, path prefix); records every call."""

    def __init__(self, handlers: dict[tuple[str, str], object]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, str]] = []

    def request(self, method, path, query=None, body=None, accept=None, text=False):
        self.calls.append((method, path))
        for (m, prefix), handler in sorted(self.handlers.items(), key=lambda kv: -len(kv[0][1])):
            if m == method and path.startswith(prefix):
                return handler(path, body) if callable(handler) else handler
        raise AssertionError(f"unexpected request {method} {path}")


def allowed(path, body):
    return {"status": {"allowed": True}}


def gone(path, body):
    raise ApiError(404, "not found")


def one_gpu_plan():
    # One free GPU: a single positive pod, a multi pod in wave 2 and the negative pod.
    return build_plan(FakeView([node("gpu-0", gpus=1)]), ProbeOptions(namespace=NS, timeout=30))


def failed_pod(name, reason, message):
    return {
        "metadata": {"name": name},
        "spec": {"nodeName": "gpu-0"},
        "status": {"phase": "Failed", "reason": reason, "message": message},
    }


def test_pod_rejected_before_its_containers_started_keeps_the_kubelets_reason(monkeypatch):
    monkeypatch.setattr(run, "POLL_SECONDS", 0)
    plan = one_gpu_plan()
    pods = {
        "items": [
            failed_pod(p.name, "UnexpectedAdmissionError", "Allocate failed due to no healthy devices")
            for p in plan.pods
        ]
    }

    def no_log(path, body):
        raise ApiError(400, 'container "probe" in pod is waiting to start: ContainerCreating')

    api = ScriptedApi(
        {
            ("GET", f"/api/v1/namespaces/{NS}/pods/"): no_log,
            ("GET", f"/api/v1/namespaces/{NS}/pods"): pods,
            ("POST", f"/api/v1/namespaces/{NS}/pods"): {},
        }
    )
    execution = run.Execution(api, plan, lambda message: None)
    execution._wait(plan.pods, deadline=float("inf"))
    single = execution.outcomes["dp-single"]
    assert single.state == "failed"
    assert "UnexpectedAdmissionError: Allocate failed due to no healthy devices" in single.detail


def test_aborted_run_says_why_even_when_its_namespace_lingers(monkeypatch):
    monkeypatch.setattr(cleanup, "NAMESPACE_GONE_TIMEOUT", 0.0)
    monkeypatch.setattr(cleanup, "POLL_SECONDS", 0)
    plan_view = FakeView([node("gpu-0", gpus=1)])

    def webhook_denies(path, body):
        raise ApiError(403, 'admission webhook "policy.example.com" denied the request: images must be signed')

    api = ScriptedApi(
        {
            ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"): allowed,
            ("POST", "/api/v1/namespaces"): {},
            ("POST", f"/api/v1/namespaces/{NS}/pods"): webhook_denies,
            ("DELETE", f"/api/v1/namespaces/{NS}"): {},
            ("GET", f"/api/v1/namespaces/{NS}"): {"status": {"phase": "Terminating"}},  # never goes away
        }
    )
    stderr = io.StringIO()
    result = run.run_probe(plan_view, api, ProbeOptions(namespace=NS), stream=stderr)
    assert result.status == Status.UNKNOWN
    assert 'probe aborted: admission webhook "policy.example.com" denied the request' in result.message
    assert f"namespace {NS} was still terminating at the end" in result.message
    assert ("DELETE", f"/api/v1/namespaces/{NS}") in api.calls


@pytest.mark.parametrize(
    "drops, survives", [(run.POLL_FAILURES_TOLERATED, True), (run.POLL_FAILURES_TOLERATED + 1, False)]
)
def test_waiting_rides_out_a_short_connection_loss(monkeypatch, drops, survives):
    monkeypatch.setattr(run, "POLL_SECONDS", 0)
    plan = one_gpu_plan()
    succeeded = {
        "items": [
            {"metadata": {"name": p.name}, "spec": {"nodeName": "gpu-0"}, "status": {"phase": "Succeeded"}}
            for p in plan.pods
        ]
    }
    answers = iter([ConnectError("cannot talk to https://api: read timed out")] * drops + [succeeded])

    def flaky(path, body):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    api = ScriptedApi(
        {
            ("GET", f"/api/v1/namespaces/{NS}/pods/"): "AICONF count=0\nAICONF done\n",
            ("GET", f"/api/v1/namespaces/{NS}/pods"): flaky,
        }
    )
    execution = run.Execution(api, plan, lambda message: None)
    if survives:
        execution._wait(plan.pods, deadline=float("inf"))
        assert {o.state for o in execution.outcomes.values()} == {"done"}
    else:
        with pytest.raises(ConnectError):
            execution._wait(plan.pods, deadline=float("inf"))
