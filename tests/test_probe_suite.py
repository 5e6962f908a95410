"""The probe suite: the registry and its selection on the command line, one namespace and one permission check
for all the selected probes before anything is created, probes that could not run kept apart from those that
did, and the evidence files (junit.xml, e2e.log) that CNCF's validator reads. The API server is a scripted
stand-in (test_probe_run.ScriptedApi)."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from test_probe_plan import FakeView, node
from test_probe_run import ScriptedApi, allowed, gone

from kubectl_aiconf.cli import _probe_argv
from kubectl_aiconf.probe import DEFAULT_IMAGE, command, evidence, registry, suite
from kubectl_aiconf.probe.plan import PlanError, ProbeOptions
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.submission import artifacts

NS = "aiconf-probe-suite"


# selection ------------------------------------------------------------------------------------------------------
def test_probe_alone_selects_every_safe_probe_and_ids_select_some():
    assert [p.id for p in registry.select(None)] == [p.id for p in registry.PROBES if p.safe]
    assert [p.id for p in registry.select("workload_sandboxing, dra_support,workload_sandboxing")] == [
        "workload_sandboxing",
        "dra_support",
    ]
    with pytest.raises(ValueError, match=r"unknown probe gang; known probes: secure_accelerator_access, "):
        registry.select("gang,dra_support")


def test_every_probe_of_the_registry_loads_and_says_what_it_creates():
    for probe in registry.PROBES:
        module = probe.load()
        assert isinstance(module.READS, tuple) and callable(module.plan), probe.id
        assert probe.creates and "\n" not in probe.creates


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["check", "--probe"], ["check", "--probe"]),
        (["check", "--probe", "-o", "json"], ["check", "--probe", "-o", "json"]),
        (
            ["check", "--probe", "dra_support,workload_sandboxing"],
            ["check", "--probes", "dra_support,workload_sandboxing"],
        ),
        (["check", "--probe=dra_support"], ["check", "--probes=dra_support"]),
        (["check", "-o", "json", "--probe"], ["check", "-o", "json", "--probe"]),
        (["validate", "--probe", "x"], ["validate", "--probe", "x"]),  # only check has the option
    ],
)
def test_probe_with_ids_is_probes(argv, expected):
    assert _probe_argv(argv) == expected


def test_a_named_probe_outside_the_checklist_is_a_usage_error_but_the_default_set_leaves_it_out():
    named = command.options(True, "workload_sandboxing", "auto", "img", None, "90s", False, False, None)
    with pytest.raises(ValueError, match="the checklist of this run has no requirement workload_sandboxing"):
        command.for_checklist(named, {"dra_support"})
    default = command.options(True, None, "auto", "img", None, "90s", False, False, None)
    assert [p.id for p in command.for_checklist(default, {"dra_support", "secure_accelerator_access"})] == [
        "secure_accelerator_access",
        "dra_support",
    ]
    with pytest.raises(ValueError, match="--probes needs probe ids"):
        command.options(False, " ", "auto", "img", None, "90s", False, False, None)


def test_allow_scale_up_reaches_the_probes_and_only_applies_with_probe():
    chosen = command.options(
        True, "cluster_autoscaling", "auto", "img", None, "90s", False, False, None, allow_scale_up=True
    )
    assert (
        chosen is not None
        and chosen.options.allow_scale_up
        and [p.id for p in chosen.probes] == ["cluster_autoscaling"]
    )
    default = command.options(True, None, "auto", "img", None, "90s", False, False, None)
    assert default is not None and not default.options.allow_scale_up
    with pytest.raises(ValueError, match="--allow-scale-up only applies with --probe"):
        command.options(False, None, "auto", DEFAULT_IMAGE, None, "90s", False, False, None, allow_scale_up=True)


# the suite ------------------------------------------------------------------------------------------------------
class Probe:
    """A registry entry whose module is this object: READS, plan()."""

    READS = ()

    def __init__(self, pid, objects=(), perms=(), result=None, error=None, holds_devices=False, log=None):
        self.info = registry.ProbeInfo(pid, f"a pod for {pid}", "unused")
        self.objects, self.perms, self.result, self.error = list(objects), list(perms), result, error
        self.holds_devices, self.log = holds_devices, log if log is not None else []

    def load(self):
        return self

    def plan(self, view, options):
        if self.error:
            raise PlanError(self.error)
        assert options.namespace == NS

        def execute(ctx):
            self.log.append(("start", self.info.id))
            ctx.progress("working")
            for obj in self.objects:
                ctx.create(f"/api/v1/namespaces/{ctx.namespace}/pods", obj)
            self.log.append(("end", self.info.id))
            return self.result

        perms = [(*p, options.namespace) for p in self.perms]
        return suite.Part(self.objects, perms, execute, [f"pod of {self.info.id}"], self.holds_devices)


def entries(*probes):
    for p in probes:
        p.info = registry.ProbeInfo(p.info.id, p.info.creates, "unused")
        object.__setattr__(p.info, "load", p.load)
    return [p.info for p in probes]


def deny(*denied):
    def review(path, body):
        attrs = body["spec"]["resourceAttributes"]
        return {"status": {"allowed": (attrs["verb"], attrs["resource"]) not in denied}}

    return review


def api(review=allowed):
    return ScriptedApi(
        {
            ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"): review,
            ("POST", "/api/v1/namespaces"): {},
            ("POST", f"/api/v1/namespaces/{NS}/pods"): {},
            ("DELETE", f"/api/v1/namespaces/{NS}"): {},
            ("GET", f"/api/v1/namespaces/{NS}"): gone,
        }
    )


PASSED = CheckResult(Status.PASS, "probe passed: seen", [Evidence("Pod", "p", "ran")], Reason.PROBE_PASSED)
FAILED = CheckResult(
    Status.FAIL, "probe failed: not <isolated> & broken", [Evidence("Pod", "q", "leak")], Reason.PROBE_FAILED
)
POD = {"kind": "Pod", "metadata": {"name": "p"}}


def run(probes, conn, **kw):
    view = FakeView([node("cpu-0")])
    return suite.run_suite(
        view, conn, entries(*probes), ProbeOptions(namespace=NS, timeout=5), stream=io.StringIO(), **kw
    )


def test_one_namespace_one_preflight_for_every_probe_then_each_decides():
    a = Probe("dra_support", [POD], [("create", "", "pods", "")], PASSED)
    b = Probe("workload_sandboxing", [POD], [("create", "", "pods", "")], FAILED)
    c = Probe("driver_runtime_management", error="no free accelerator to give the pod")
    conn = api()
    records = run([a, b, c], conn)
    assert [(r.probe.id, r.result.status, r.ran) for r in records] == [
        ("dra_support", Status.PASS, True),
        ("workload_sandboxing", Status.FAIL, True),
        ("driver_runtime_management", Status.UNKNOWN, False),
    ]
    assert records[2].result.message == "probe cannot run: no free accelerator to give the pod"
    creates = [i for i, call in enumerate(conn.calls) if call[0] == "POST" and "selfsubject" not in call[1]]
    reviews = [i for i, call in enumerate(conn.calls) if "selfsubject" in call[1]]
    assert max(reviews) < min(creates)  # every permission checked before anything was created
    assert conn.calls.count(("POST", "/api/v1/namespaces")) == 1
    assert conn.calls[-2:] == [("DELETE", f"/api/v1/namespaces/{NS}"), ("GET", f"/api/v1/namespaces/{NS}")]
    assert all(r.namespace == NS for r in records)
    assert [m for _, m in records[0].log] == ["creates a pod for dra_support", "working", "done in 0.0s: PASS"]


def test_missing_namespace_rights_create_nothing_and_missing_probe_rights_skip_only_that_probe():
    a = Probe("dra_support", [POD], [("create", "resource.k8s.io", "resourceclaims", "")], PASSED)
    b = Probe("workload_sandboxing", [POD], [("create", "", "pods", "")], PASSED)
    conn = api(deny(("create", "namespaces")))
    records = run([a, b], conn)
    assert {r.result.status for r in records} == {Status.UNKNOWN}
    assert "missing permissions (nothing was created): create namespaces (cluster scope)" in records[0].result.message
    assert all(call[0] != "POST" or "selfsubject" in call[1] for call in conn.calls)

    conn = api(deny(("create", "resourceclaims")))
    records = run([a, b], conn)
    assert records[0].result.status is Status.UNKNOWN and not records[0].ran
    assert "create resourceclaims.resource.k8s.io in the probe namespace" in records[0].result.message
    assert records[1].result.status is Status.PASS


def test_probes_that_hold_accelerators_run_one_after_another():
    log: list = []
    probes = [
        Probe("secure_accelerator_access", [], [], PASSED, holds_devices=True, log=log),
        Probe("dra_support", [], [], PASSED, holds_devices=True, log=log),
    ]
    run(probes, api())
    assert log == [
        ("start", "secure_accelerator_access"),
        ("end", "secure_accelerator_access"),
        ("start", "dra_support"),
        ("end", "dra_support"),
    ]


def test_a_probe_that_raises_is_unknown_and_the_namespace_still_goes():
    class Broken(Probe):
        def plan(self, view, options):
            part = super().plan(view, options)

            def boom(ctx):
                raise KeyError("status")

            part.execute = boom
            return part

    conn = api()
    [record] = run([Broken("dra_support", [POD], [])], conn)
    assert record.result.status is Status.UNKNOWN and "probe failed to run: KeyError" in record.result.message
    assert ("DELETE", f"/api/v1/namespaces/{NS}") in conn.calls


def test_dry_run_shows_every_probes_manifests_in_one_namespace():
    a = Probe("dra_support", [{"kind": "ResourceClaim", "metadata": {"name": "c"}}, POD], [], PASSED)
    b = Probe("workload_sandboxing", error="no sandbox RuntimeClass (gVisor, Kata, ...) to run a pod under")
    view = FakeView([node("cpu-0")])
    probes = entries(a, b)
    planned = suite.plan_all(view, probes, ProbeOptions(namespace=NS))
    import yaml

    docs = list(yaml.safe_load_all(suite.render(planned, probes, "yaml")))
    assert [d["kind"] for d in docs] == ["Namespace", "ResourceClaim", "Pod"]
    text = suite.render(planned, probes, "table")
    assert "probe dra_support: creates a pod for dra_support\n  pod of dra_support" in text
    assert (
        "probe workload_sandboxing: creates a pod for workload_sandboxing\n  cannot run: no sandbox RuntimeClass"
        in text
    )


# evidence -------------------------------------------------------------------------------------------------------
def record(pid, result, ran=True):
    info = registry.BY_ID[pid]
    started = datetime(2026, 12, 2, 21, 0, 0, 123000, tzinfo=timezone.utc)
    r = suite.Record(info, result, started, NS, 1.5, ran)
    r.log.append((started, f"creates {info.creates}"))
    return r


def test_junit_and_e2e_log_are_what_cncfs_validator_reads():
    records = [
        record("dra_support", PASSED),
        record("workload_sandboxing", FAILED),
        record(
            "driver_runtime_management",
            CheckResult(Status.UNKNOWN, "probe could not compare", [], Reason.PROBE_INCONCLUSIVE),
        ),
    ]
    expected = {
        "aiconf-probe/dra_support": artifacts.PASS,
        "aiconf-probe/workload_sandboxing": artifacts.FAIL,
        "aiconf-probe/driver_runtime_management": artifacts.SKIP,
    }
    xml = evidence.junit(records)
    assert artifacts.parse_junit(xml.encode()).tests == expected
    assert 'message="probe failed: not &lt;isolated&gt; &amp; broken"' in xml
    assert '<skipped message="probe could not compare"/>' in xml
    log = evidence.e2e_log(records)
    assert artifacts.parse_e2e_log(log.encode()).tests == expected
    assert "=== RUN   aiconf-probe/dra_support\n    2026-12-02T21:00:00.123Z creates " in log
    assert "--- PASS: aiconf-probe/dra_support (1.50s)" in log
    assert not any(name.startswith("Test") for name in expected)  # never an upstream test's name


def test_product_yaml_links_probe_files_only_for_decided_requirements_no_upstream_test_ties():
    records = [
        record("secure_accelerator_access", PASSED),  # the v2 validator would look for TestSecureAcceleratorAccess
        record("dra_support", PASSED),
        record("workload_sandboxing", FAILED),
        record("driver_runtime_management", CheckResult(Status.UNKNOWN, "?", [], Reason.PROBE_INCONCLUSIVE)),
    ]
    assert command.evidence_links(records) == {
        "dra_support": ("junit.xml", "e2e.log"),
        "workload_sandboxing": ("junit.xml", "e2e.log"),
    }


def test_a_probe_that_could_not_decide_keeps_the_passive_failure():
    probed = CheckResult(Status.UNKNOWN, "probe cannot run: forbidden", [], Reason.PROBE_INCONCLUSIVE)
    passive = CheckResult(
        Status.FAIL, "no sandbox runtime", [Evidence("RuntimeClass", "x", "runc")], Reason.NOT_INSTALLED
    )
    merged = command.combine(probed, passive)
    assert (merged.status, merged.reason) == (Status.FAIL, Reason.NOT_INSTALLED)
    assert merged.message == "no sandbox runtime (probe cannot run: forbidden)"
