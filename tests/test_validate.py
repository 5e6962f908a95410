"""kubectl aiconf validate: CNCF's PRODUCT.yaml rules, offline.

* every rule against our own fixtures (testdata/validate, written by its generate.py);
* the 34 real v1.33/v1.34 submissions in ../shared get the verdicts, and the reasons, that
  CNCF's validator gives them;
* exit codes, usage errors, JSON output;
* the Go-YAML emulation on its own.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

from conftest import SHARED  # noqa: E402
from kubectl_aiconf.submission import UsageError, goyaml
from kubectl_aiconf.submission.validate import (
    check_file,
    resolve_evidence_v2,
    run_validate,
    validate_paths,
    version_from_path,
)
from kubectl_aiconf.submission.vocabulary import snake_case

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "testdata", "validate")
SUBMISSIONS = str(SHARED / "reference" / "submissions")
CHECKLISTS = str(SHARED / "reference" / "checklists")


def outcome(path: str, rules: str, cwd: str) -> tuple[bool, set]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = validate_paths([path], offline=True, rules=rules)[0]
    finally:
        os.chdir(old)
    return result.valid, {(p.severity, p.rule, p.subject) for p in result.problems}


# ----------------------------------------------------------------------------------------------
# Our fixtures: (severity, rule, subject) of every problem, per rule set.

E, W, N = "error", "warning", "notice"
DECODE_STOPS = (N, "yaml-decode-stops", "yaml")
DRAFT = (W, "draft-checklist", "path")


def same(*problems):
    return {"v1": set(problems), "v2": set(problems)}


FIXTURE_EXPECTATIONS: dict[str, dict[str, set]] = {
    # passing fixtures
    "v1.33/pass-minimal": same(),
    "v1.34/pass-complete": same(),
    "v1.34/pass-snake-case": same(),
    "v1.34/pass-lenient": same(),
    "v1.34/pass-yaml-styles": same(),
    "v1.35/pass-should-statuses": same(),
    "v1.36/pass": same(),
    "v1.34/logo-not-svg": same((W, "logo-format", "metadata.productLogoUrl")),
    # path and version
    "no-version/example": same((E, "version-from-path", "path")),
    "v1.32/unknown-version": same((E, "unknown-version", "path")),
    # YAML the Go decoder rejects
    "v1.34/yaml-syntax": same((E, "yaml-syntax", "yaml"), DECODE_STOPS),
    "v1.34/evidence-scalar": same((E, "yaml-decode", "cluster_autoscaling"), DECODE_STOPS),
    "v1.34/evidence-mapping": same((E, "yaml-decode", "ai_inference"), DECODE_STOPS),
    "v1.34/evidence-entry-mapping": same((E, "yaml-decode", "robust_controller"), DECODE_STOPS),
    "v1.34/status-list": same((E, "yaml-decode", "gang_scheduling"), DECODE_STOPS),
    "v1.34/category-mapping": same((E, "yaml-decode", "spec.networking"), DECODE_STOPS),
    "v1.34/duplicate-key": same((E, "yaml-decode", "pod_autoscaling"), DECODE_STOPS),
    "v1.34/not-a-mapping": same((E, "yaml-decode", "yaml"), DECODE_STOPS),
    "v1.34/metadata-not-mapping": same((E, "yaml-decode", "metadata"), DECODE_STOPS),
    "v1.34/extra-item-bad-yaml": same((E, "yaml-decode", "extra_item"), DECODE_STOPS),
    # metadata
    "v1.34/metadata-not-string": same(
        *(
            (E, "metadata-not-string", f"metadata.{f}")
            for f in ("platformName", "platformVersion", "description", "contactEmailAddress")
        )
    ),
    "v1.34/metadata-missing": same(
        *(
            (E, "metadata-missing", f"metadata.{f}")
            for f in ("productLogoUrl", "contactEmailAddress", "k8sConformanceUrl")
        )
    ),
    "v1.34/metadata-null": same(
        (E, "metadata-missing", "metadata.vendorName"), (E, "metadata-missing", "metadata.websiteUrl")
    ),
    "v1.34/metadata-empty": same((E, "metadata-empty", "metadata.platformName")),
    "v1.34/metadata-placeholder": same(
        (E, "metadata-placeholder", "metadata.platformName"), (E, "metadata-placeholder", "metadata.repoUrl")
    ),
    "v1.34/metadata-section-missing": same((E, "metadata-section-missing", "metadata")),
    "v1.34/k8s-conformance-url": same((E, "k8s-conformance-url", "metadata.k8sConformanceUrl")),
    # spec
    "v1.34/spec-section-missing": same((E, "spec-section-missing", "spec")),
    "v1.34/category-missing": same((E, "category-missing", "spec.observability")),
    "v1.34/requirement-missing": same(
        (E, "requirement-missing", "gang_scheduling"), (E, "requirement-missing", "pod_autoscaling")
    ),
    "v1.35/should-missing": same(
        *(
            (E, "requirement-missing", r)
            for r in ("driver_runtime_management", "gpu_sharing", "virtualized_accelerator")
        )
    ),
    "v1.34/status-invalid": same(
        (E, "status-invalid", "ai_inference"),
        (E, "must-not-implemented", "ai_inference"),
        (E, "status-invalid", "robust_controller"),
        (E, "must-not-implemented", "robust_controller"),
    ),
    "v1.33/should-evidence-no-status": same((E, "status-invalid", "dra_support")),
    "v1.34/level-from-checklist": same(
        (E, "status-invalid", "dra_support"), (E, "must-not-implemented", "dra_support")
    ),
    "v1.34/must-not-implemented": same(
        (E, "must-not-implemented", "ai_inference"), (E, "must-not-implemented", "accelerator_metrics")
    ),
    "v1.34/cluster-autoscaling-na": {
        "v1": {(E, "must-not-implemented", "cluster_autoscaling")},
        "v2": {(W, "must-na-conditional", "cluster_autoscaling")},
    },
    "v1.34/cluster-autoscaling-not-implemented": same((E, "must-not-implemented", "cluster_autoscaling")),
    "v1.35/na-without-notes": same((E, "na-without-notes", "gpu_sharing")),
    "v1.35/na-blank-notes": {"v1": set(), "v2": {(E, "na-without-notes", "gpu_sharing")}},
    # local evidence
    "v1.34/evidence-file-missing": same((E, "evidence-file-missing", "gang_scheduling")),
    "v1.34/evidence-fragment": {"v1": {(E, "evidence-file-missing", "gang_scheduling")}, "v2": set()},
    "v1.34/evidence-file-url": {"v1": {(E, "evidence-file-missing", "gang_scheduling")}, "v2": set()},
    "v1.34/evidence-prose": same((E, "evidence-file-missing", "gang_scheduling")),
    # v2: evidence paths and test artifacts
    "v1.36/v2-junit-pass": {"v1": {(E, "evidence-file-missing", "cluster_autoscaling")}, "v2": set()},
    "v1.36/v2-own-prefix": {"v1": {(E, "evidence-file-missing", "gang_scheduling")}, "v2": set()},
    "v1.36/v2-other-product": {
        "v1": {(E, "evidence-file-missing", "gang_scheduling")},
        "v2": {(E, "evidence-path-invalid", "gang_scheduling")},
    },
    "v1.36/v2-evidence-escape": {"v1": set(), "v2": {(E, "evidence-path-invalid", "gang_scheduling")}},
    "v1.36/v2-junit-fail": {
        "v1": set(),
        "v2": {(E, "artifact-failing-tests", "gang_scheduling"), (E, "artifact-test-failed", "gang_scheduling")},
    },
    "v1.36/v2-junit-skipped": {"v1": set(), "v2": {(E, "artifact-test-skipped", "secure_accelerator_access")}},
    "v1.36/v2-skipped-na": {
        "v1": {(E, "must-not-implemented", "cluster_autoscaling")},
        "v2": {(W, "must-na-conditional", "cluster_autoscaling")},
    },
    "v1.36/v2-test-missing": {
        "v1": {(E, "evidence-file-missing", "robust_controller")},
        "v2": {(E, "artifact-test-missing", "robust_controller")},
    },
    "v1.36/v2-results-json": same(),
    "v1.36/v2-results-json-build-failure": {
        "v1": set(),
        "v2": {(E, "artifact-failing-tests", "robust_controller")},
    },
    "v1.36/v2-e2e-log": same(),
    "v1.36/v2-e2e-log-no-results": {"v1": set(), "v2": {(E, "artifact-invalid", "secure_accelerator_access")}},
    "v1.36/v2-junit-invalid": {"v1": set(), "v2": {(E, "artifact-invalid", "gang_scheduling")}},
    "v1.37/v2-hybrid-no-artifacts": {
        "v1": set(),
        "v2": {
            (W, "artifact-recommended", r)
            for r in ("gang_scheduling", "cluster_autoscaling", "secure_accelerator_access")
        },
    },
    "v1.37/v2-hybrid-artifacts": {
        "v1": {
            (E, "evidence-file-missing", r)
            for r in ("gang_scheduling", "cluster_autoscaling", "secure_accelerator_access")
        },
        "v2": set(),
    },
}


def test_fixtures_are_up_to_date():
    gen = os.path.join(FIXTURES, "generate.py")
    proc = subprocess.run([sys.executable, gen, "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_offline_fixture_has_an_expectation():
    found = {
        os.path.relpath(os.path.dirname(p), FIXTURES)
        for p in glob.glob(os.path.join(FIXTURES, "**", "PRODUCT.yaml"), recursive=True)
        if not os.path.relpath(p, FIXTURES).startswith("online")
    }
    assert found == set(FIXTURE_EXPECTATIONS)


@pytest.mark.parametrize("rules", ["v1", "v2"])
@pytest.mark.parametrize("fixture", sorted(FIXTURE_EXPECTATIONS))
def test_fixture(fixture, rules):
    expected = FIXTURE_EXPECTATIONS[fixture][rules]
    valid, problems = outcome(f"{fixture}/PRODUCT.yaml", rules, FIXTURES)
    assert problems == expected
    assert valid == (not any(sev == E for sev, _, _ in expected))


def test_a_draft_checklist_is_named_as_such(monkeypatch):
    """No checklist is a draft today (1.37 became final); the next one will be, and validating against it warns."""
    from kubectl_aiconf import catalogue

    _, problems = outcome("v1.37/v2-hybrid-no-artifacts/PRODUCT.yaml", "v1", FIXTURES)
    assert DRAFT not in problems
    monkeypatch.setattr(catalogue, "DRAFT_VERSIONS", frozenset({"1.37"}))
    _, problems = outcome("v1.37/v2-hybrid-no-artifacts/PRODUCT.yaml", "v1", FIXTURES)
    assert DRAFT in problems


def test_every_rule_has_a_failing_and_a_passing_fixture():
    """Each error rule fires on some fixture; and each fixture that breaks one rule has a passing
    counterpart because the pass-* fixtures raise no problem at all."""
    rules_seen = {
        rule for exp in FIXTURE_EXPECTATIONS.values() for probs in exp.values() for sev, rule, _ in probs if sev == E
    }
    assert rules_seen >= {
        "version-from-path",
        "unknown-version",
        "yaml-syntax",
        "yaml-decode",
        "metadata-section-missing",
        "metadata-missing",
        "metadata-not-string",
        "metadata-empty",
        "metadata-placeholder",
        "k8s-conformance-url",
        "spec-section-missing",
        "category-missing",
        "requirement-missing",
        "status-invalid",
        "must-not-implemented",
        "na-without-notes",
        "evidence-file-missing",
        "evidence-path-invalid",
        "artifact-invalid",
        "artifact-failing-tests",
        "artifact-test-missing",
        "artifact-test-failed",
        "artifact-test-skipped",
    }
    passing = [f for f, exp in FIXTURE_EXPECTATIONS.items() if not exp["v1"] and not exp["v2"]]
    assert len(passing) >= 7


def test_messages_name_the_problem(capsys):
    old = os.getcwd()
    os.chdir(FIXTURES)
    try:
        rc = run_validate(
            [
                "v1.34/metadata-not-string/PRODUCT.yaml",
                "v1.34/evidence-scalar/PRODUCT.yaml",
                "v1.34/evidence-fragment/PRODUCT.yaml",
                "v1.34/requirement-missing/PRODUCT.yaml",
                "v1.34/cluster-autoscaling-na/PRODUCT.yaml",
            ],
            True,
            "v1",
            "text",
        )
    finally:
        os.chdir(old)
    out = capsys.readouterr().out
    assert rc == 1
    assert (
        "v1.34/metadata-not-string/PRODUCT.yaml:5: error: metadata.platformVersion: must be a "
        "string, but the unquoted value 1.0 reads as a number; quote it: "
        'platformVersion: "1.0"'
    ) in out
    assert "reads as a date" in out and "reads as a boolean" in out
    assert (
        "v1.34/evidence-scalar/PRODUCT.yaml:43: error: cluster_autoscaling: evidence must be "
        "a YAML list of strings, not the scalar 'N/A'"
    ) in out
    assert "cannot unmarshal !!str `N/A` into []string" in out
    assert "takes a #fragment as part of the file name" in out
    assert "it is listed under spec.networking, but belongs under spec.schedulingOrchestration" in out
    assert "--rules v2" in out
    assert "5 files checked with the v1 CNCF rules: 0 valid, 5 invalid (offline" in out


# ----------------------------------------------------------------------------------------------
# The 34 real submissions (v1.33 and v1.34), offline, with CNCF's current rules.

MISSING_K8S_URL = (E, "metadata-missing", "metadata.k8sConformanceUrl")
MISSING_CONTACT = (E, "metadata-missing", "metadata.contactEmailAddress")
TALOS_DECODE = {(E, "yaml-decode", r) for r in ("cluster_autoscaling", "accelerator_metrics", "ai_service_metrics")} | {
    DECODE_STOPS
}

# The errors CNCF's validator reports for each submission (research note §4.2). The valid ones
# only carry the logo warning where their logo is not an SVG.
LOGO = (W, "logo-format", "metadata.productLogoUrl")
SUBMISSION_ERRORS: dict[str, set] = {
    "v1.33/alauda": {LOGO},
    "v1.33/chinaunicom-csk": {MISSING_K8S_URL, LOGO},
    "v1.33/cks": {MISSING_K8S_URL},
    "v1.33/daocloud": {MISSING_K8S_URL, (E, "must-not-implemented", "cluster_autoscaling")},
    "v1.33/gardener": {MISSING_K8S_URL},
    "v1.33/giantswarm": {MISSING_K8S_URL, MISSING_CONTACT, (E, "evidence-file-missing", "secure_accelerator_access")},
    "v1.33/jdcloud": {MISSING_K8S_URL, MISSING_CONTACT, (E, "status-invalid", "dra_support")},
    "v1.33/jdos": set(),
    "v1.33/openshift": {MISSING_K8S_URL, MISSING_CONTACT},
    "v1.33/palette": {MISSING_K8S_URL, MISSING_CONTACT},
    "v1.33/rke2": {MISSING_K8S_URL},
    "v1.33/talos": TALOS_DECODE,
    "v1.34/OKE": {MISSING_K8S_URL, MISSING_CONTACT},
    "v1.34/Taichu": set(),
    "v1.34/ack": {MISSING_K8S_URL},
    "v1.34/aks": {MISSING_K8S_URL},
    "v1.34/baidu_cce": {MISSING_K8S_URL},
    "v1.34/bks": set(),
    "v1.34/cce": {LOGO},
    "v1.34/cks": {MISSING_K8S_URL},
    "v1.34/daocloud": set(),
    "v1.34/eks": {MISSING_K8S_URL, MISSING_CONTACT, LOGO},
    "v1.34/gardener": {MISSING_K8S_URL},
    "v1.34/giantswarm": set(),
    "v1.34/gke": {MISSING_K8S_URL, MISSING_CONTACT},
    "v1.34/kubermatic": {MISSING_K8S_URL},
    "v1.34/lke": {MISSING_K8S_URL, LOGO},
    "v1.34/openshift": set(),
    "v1.34/ovh": {
        MISSING_K8S_URL,
        (E, "metadata-not-string", "metadata.platformVersion"),
        (E, "evidence-file-missing", "dra_support"),
        (E, "evidence-file-missing", "gang_scheduling"),
        (E, "evidence-file-missing", "pod_autoscaling"),
        (E, "evidence-file-missing", "secure_accelerator_access"),
    },
    "v1.34/palette": set(),
    "v1.34/rke2": set(),
    "v1.34/talos": TALOS_DECODE,
    "v1.34/vcluster-private-nodes": set(),
    "v1.34/vks": {MISSING_K8S_URL, LOGO},
}

# Where the v2 rules differ: N/A is allowed for cluster_autoscaling, #fragments are stripped,
# and the Ginkgo e2e.log that DaoCloud references has no `--- PASS:` lines, so v2 cannot read it.
SUBMISSION_ERRORS_V2 = dict(SUBMISSION_ERRORS)
SUBMISSION_ERRORS_V2["v1.33/daocloud"] = {
    MISSING_K8S_URL,
    (W, "must-na-conditional", "cluster_autoscaling"),
    (E, "artifact-invalid", "ai_inference"),
}
SUBMISSION_ERRORS_V2["v1.34/daocloud"] = {(E, "artifact-invalid", "dra_support")}
SUBMISSION_ERRORS_V2["v1.34/ovh"] = {
    MISSING_K8S_URL,
    (E, "metadata-not-string", "metadata.platformVersion"),
    (E, "evidence-file-missing", "dra_support"),
}

needs_submissions = pytest.mark.usefixtures("reference_submissions")


@needs_submissions
def test_submission_list_is_complete():
    found = {
        os.path.relpath(os.path.dirname(p), SUBMISSIONS)
        for p in glob.glob(os.path.join(SUBMISSIONS, "v*", "*", "PRODUCT.yaml"))
    }
    assert found == set(SUBMISSION_ERRORS)


@needs_submissions
@pytest.mark.parametrize("submission", sorted(SUBMISSION_ERRORS))
def test_real_submission_current_rules(submission):
    valid, problems = outcome(f"{submission}/PRODUCT.yaml", "v1", SUBMISSIONS)
    assert problems == SUBMISSION_ERRORS[submission]
    assert valid == (not any(p[0] == E for p in SUBMISSION_ERRORS[submission]))


@needs_submissions
@pytest.mark.parametrize("submission", sorted(SUBMISSION_ERRORS_V2))
def test_real_submission_v2_rules(submission):
    valid, problems = outcome(f"{submission}/PRODUCT.yaml", "v2", SUBMISSIONS)
    assert problems == SUBMISSION_ERRORS_V2[submission]
    assert valid == (not any(p[0] == E for p in SUBMISSION_ERRORS_V2[submission]))


@needs_submissions
def test_real_submissions_counts_match_the_research_note(monkeypatch, capsys):
    """§4.2: 24 of the 60 merged submissions fail the static rules, all but one (v1.35/cks) of
    them in v1.33/v1.34 — so 23 of these 34."""
    monkeypatch.chdir(SUBMISSIONS)
    paths = sorted(glob.glob("v1.3*/*/PRODUCT.yaml"))
    assert len(paths) == 34
    results = validate_paths(paths, offline=True, rules="v1")
    assert sum(not r.valid for r in results) == 23
    missing_url = [
        r.path
        for r in results
        if any(p.rule == "metadata-missing" and p.subject == "metadata.k8sConformanceUrl" for p in r.problems)
    ]
    # talos (both versions) lacks it too, but its decode error stops the validator first
    assert len(missing_url) == 21
    assert run_validate(paths, True, "v1", "text") == 1
    assert (
        capsys.readouterr()
        .out.rstrip()
        .endswith(
            "34 files checked with the v1 CNCF rules: 11 valid, 23 invalid "
            "(offline: URLs and CNCF membership not checked)"
        )
    )


@needs_submissions
def test_talos_would_also_fail_the_rules_behind_the_decode_error(tmp_path):
    """After fixing the decode error, talos still fails (MUST items N/A, prose in evidence,
    missing metadata): the notice tells the user to run again."""
    src = os.path.join(SUBMISSIONS, "v1.34", "talos")
    dst = tmp_path / "v1.34" / "talos"
    dst.mkdir(parents=True)
    with open(os.path.join(src, "PRODUCT.yaml"), encoding="utf-8") as f:
        text = f.read().replace('evidence: "N/A"', "evidence: []")
    (dst / "PRODUCT.yaml").write_text(text, encoding="utf-8")
    result = validate_paths([str(dst / "PRODUCT.yaml")], True, "v1")[0]
    rules = {(p.rule, p.subject) for p in result.errors}
    assert ("must-not-implemented", "accelerator_metrics") in rules
    assert ("evidence-file-missing", "secure_accelerator_access") in rules
    assert ("metadata-missing", "metadata.contactEmailAddress") in rules


@needs_submissions
def test_catalogue_matches_the_reference_checklists():
    import yaml

    from kubectl_aiconf import catalogue

    for path in sorted(glob.glob(os.path.join(CHECKLISTS, "AIConformance-*.yaml"))):
        version = os.path.basename(path)[len("AIConformance-") : -len(".yaml")]
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        want = [(cat, item["id"], item["level"]) for cat, items in doc["spec"].items() for item in items]
        have = [(r.category, r.id, r.level(version)) for r in catalogue.requirements_for(version)]
        assert sorted(have) == sorted(want), version


# ----------------------------------------------------------------------------------------------
# Exit codes, usage errors and JSON.


def test_exit_codes_and_json(capsys, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    assert run_validate(["v1.34/pass-complete/PRODUCT.yaml"], True, "v1", "text") == 0
    out = capsys.readouterr().out
    assert "v1.34/pass-complete/PRODUCT.yaml: valid" in out

    rc = run_validate(["v1.34/pass-complete/PRODUCT.yaml", "v1.34/metadata-missing/PRODUCT.yaml"], True, "v1", "json")
    assert rc == 1
    problems = json.loads(capsys.readouterr().out)
    assert isinstance(problems, list) and len(problems) == 3
    assert {p["subject"] for p in problems} == {
        "metadata.productLogoUrl",
        "metadata.contactEmailAddress",
        "metadata.k8sConformanceUrl",
    }
    p = problems[0]
    assert set(p) == {"file", "line", "severity", "rule", "subject", "message"}
    assert p["file"] == "v1.34/metadata-missing/PRODUCT.yaml" and p["severity"] == "error"
    assert isinstance(p["line"], int)


def test_warnings_do_not_fail(monkeypatch, capsys):
    monkeypatch.chdir(FIXTURES)
    assert run_validate(["v1.34/cluster-autoscaling-na/PRODUCT.yaml"], True, "v2", "text") == 0
    out = capsys.readouterr().out
    assert "warning: cluster_autoscaling:" in out and "PRODUCT.yaml: valid" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (([], True, "v1", "text"), "no PRODUCT.yaml"),
        ((["v1.34/pass-complete/PRODUCT.yaml"], True, "v3", "text"), "unknown rule set 'v3'"),
        ((["v1.34/pass-complete/PRODUCT.yaml"], True, "v1", "yaml"), "unknown output format"),
        ((["v1.34/nope/PRODUCT.yaml"], True, "v1", "text"), "cannot read v1.34/nope/PRODUCT.yaml"),
        ((["v1.34/pass-complete"], True, "v1", "text"), "cannot read v1.34/pass-complete"),
    ],
)
def test_usage_errors(args, message, monkeypatch, capsys):
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(UsageError) as exc:
        run_validate(*args)
    assert message in str(exc.value)
    assert capsys.readouterr().out == ""


def test_unreadable_file_is_a_usage_error_even_among_good_ones(monkeypatch, capsys):
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(UsageError):
        run_validate(["v1.34/pass-complete/PRODUCT.yaml", "missing.yaml"], True, "v1", "text")
    assert capsys.readouterr().out == ""


def test_version_from_path():
    assert version_from_path("v1.34/gke/PRODUCT.yaml") == "1.34"
    assert version_from_path("./v1.35/x/PRODUCT.yaml") == "1.35"
    assert version_from_path("/repo/v1.33/x/PRODUCT.yaml") == "1.33"
    assert version_from_path("v1.34/v1.35/PRODUCT.yaml") == "1.34"  # leftmost, as CNCF
    assert version_from_path("v1.34-gke/PRODUCT.yaml") is None
    assert version_from_path("xv1.34/gke/PRODUCT.yaml") is None


def test_version_from_the_directory_when_run_inside_it(monkeypatch):
    monkeypatch.chdir(os.path.join(FIXTURES, "v1.34", "pass-complete"))
    result = validate_paths(["PRODUCT.yaml"], True, "v1")[0]
    assert result.version == "1.34" and result.valid  # evidence resolved against "."


def test_snake_case_aliases():
    assert [
        snake_case(f)
        for f in ("kubernetesVersion", "productLogoUrl", "contactEmailAddress", "k8sConformanceUrl", "description")
    ] == ["kubernetes_version", "product_logo_url", "contact_email_address", "k8s_conformance_url", "description"]


def test_resolve_evidence_v2():
    d = "v1.36/k0s"
    assert resolve_evidence_v2(d, "file://junit.xml#TestGangScheduling") == (
        "v1.36/k0s/junit.xml",
        "TestGangScheduling",
    )
    assert resolve_evidence_v2(d, " /results/junit.xml ") == ("v1.36/k0s/results/junit.xml", "")
    assert resolve_evidence_v2(d, "file://v1.36/k0s/e2e.log") == ("v1.36/k0s/e2e.log", "")
    for bad, why in (
        ("file://v1.36/talos/junit.xml", "another product"),
        ("../talos/junit.xml", "outside"),
        (".", "outside"),
        ("a/..", "outside"),
        ("#TestX", "empty"),
        ("file://", "empty"),
    ):
        with pytest.raises(ValueError, match=why):
            resolve_evidence_v2(d, bad)


# ----------------------------------------------------------------------------------------------
# The Go-YAML emulation.


@pytest.mark.parametrize(
    "text, tag",
    [
        ("1.0", "!!float"),
        ("1.34.0", "!!str"),
        ("v1.33", "!!str"),
        ("4.20", "!!float"),
        ("yes", "!!str"),
        ("on", "!!str"),
        ("true", "!!bool"),
        ("False", "!!bool"),
        ("tRUE", "!!str"),
        ("2025-10-01", "!!timestamp"),
        ("2025-13-01", "!!str"),
        ("2025-1-2", "!!timestamp"),
        ("2025-10-01T10:00:00Z", "!!timestamp"),
        ("2025-10-01 10:00:00", "!!timestamp"),
        ("0x1F", "!!int"),
        ("0o17", "!!int"),
        ("017", "!!int"),
        ("09", "!!float"),
        ("1_000", "!!int"),
        ("1e3", "!!float"),
        (".5", "!!float"),
        (".", "!!str"),
        ("+1", "!!int"),
        ("-", "!!str"),
        ("1e400", "!!str"),
        ("9223372036854775808", "!!int"),
        ("18446744073709551616", "!!float"),
        ("~", "!!null"),
        ("", "!!null"),
        ("Null", "!!null"),
        ("nULL", "!!str"),
        (".inf", "!!float"),
        ("-.Inf", "!!float"),
        ("0b101", "!!int"),
        ("v5.0", "!!str"),
        ("1.33.0", "!!str"),
        ("1.34.0-gke.1662000", "!!str"),
    ],
)
def test_go_scalar_resolution(text, tag):
    assert goyaml.resolve("", text)[0] == tag


def test_go_explicit_tag_mismatch_is_fatal():
    with pytest.raises(goyaml.GoFail, match="cannot decode !!str `abc` as a !!int"):
        goyaml.resolve("!!int", "abc")
    assert goyaml.resolve("!!float", "1") == ("!!float", 1.0)


def decode(text: str) -> goyaml.Decoded:
    return goyaml.decode(text.encode())


def test_decode_strings_fields_take_the_raw_text():
    d = decode(
        "spec:\n  operator:\n    - id: robust_controller\n      status: 1.0\n"
        '      notes: ~\n      evidence: ["", ~, 5, a]\n'
    )
    item = d.spec["operator"][0]
    assert (item.status, item.notes, item.evidence) == ("1.0", "", ["", "5", "a"])
    assert not d.failed


def test_decode_metadata_keeps_types():
    d = decode(
        "metadata:\n  a: 1.0\n  b: '1.0'\n  c: !!str 1.0\n  d: yes\n  e: ~\n  f: [x]\n"
        "  g: 2025-10-01\n  h: |\n    text\n"
    )
    kinds = {k: v.go_type for k, v in d.metadata.items()}
    assert kinds == {
        "a": "float64",
        "b": "string",
        "c": "string",
        "d": "string",
        "e": "null",
        "f": "list",
        "g": "time.Time",
        "h": "string",
    }
    assert d.metadata["h"].value == "text\n"


@pytest.mark.parametrize(
    "text, fragment",
    [
        (
            "spec:\n  operator:\n    - id: x\n      evidence: N/A\n",
            "line 4: cannot unmarshal !!str `N/A` into []string",
        ),
        ("spec:\n  operator:\n    - id: x\n      evidence: 3\n", "line 4: cannot unmarshal !!int `3` into []string"),
        (
            "spec:\n  operator:\n    - id: x\n      evidence: see the documentation page\n",
            "cannot unmarshal !!str `see the...` into []string",
        ),
        ("spec:\n  operator:\n    - id: x\n      status: {a: b}\n", "line 4: cannot unmarshal !!map into string"),
        ("spec:\n  operator: robust\n", "line 2: cannot unmarshal !!str `robust` into []main.Requirement"),
        (
            "spec:\n  operator:\n    - just a string\n",
            "line 3: cannot unmarshal !!str `just a ...` into main.Requirement",
        ),
        ("metadata: [a]\n", "line 1: cannot unmarshal !!seq into map[string]interface {}"),
        ("spec: 5\n", "line 1: cannot unmarshal !!int `5` into map[string][]main.Requirement"),
        ("- a\n", "line 1: cannot unmarshal !!seq into main.ConformanceDoc"),
        ("hello\n", "line 1: cannot unmarshal !!str `hello` into main.ConformanceDoc"),
        ("metadata:\n  a: 1\n  a: 2\n", 'line 3: mapping key "a" already defined at line 2'),
        ("spec: {}\nspec: {}\n", 'line 2: mapping key "spec" already defined at line 1'),
        (
            "spec:\n  operator:\n    - id: x\n      unknown: 1\n      unknown: 2\n",
            'line 5: mapping key "unknown" already defined at line 4',
        ),
    ],
)
def test_decode_errors_like_go(text, fragment):
    d = decode(text)
    assert d.failed
    assert any(fragment in i.detail for i in d.issues), [i.detail for i in d.issues]


def test_decode_collects_all_type_errors():
    d = decode("spec:\n  a:\n    - id: x\n      evidence: N/A\n  b:\n    - id: y\n      evidence: N/A\n")
    assert len(d.issues) == 2
    assert [i.where[1].id for i in d.issues] == ["x", "y"]


def test_decode_quirks_that_go_accepts():
    assert not decode("").failed and decode("").metadata is None and decode("").spec is None
    assert not decode("~\n").failed
    d = decode("metadata: {a: b}\n---\n- this second document is never read\n")
    assert not d.failed and d.metadata["a"].value == "b"
    d = decode("extra: {a: 1, a: 2}\nspec:\n  operator:\n    - ~\n    - id: x\n      other: [1, 1]\n")
    assert not d.failed  # unknown keys are never decoded; null entries are dropped
    assert [i.id for i in d.spec["operator"]] == ["x"]
    d = decode("spec:\n  operator:\n")
    assert d.spec == {"operator": None}


def test_decode_merge_keys_and_aliases():
    d = decode(
        "base: &b\n  status: Implemented\n  notes: shared\n"
        "spec:\n  operator:\n    - <<: *b\n      id: x\n      notes: own\n"
    )
    item = d.spec["operator"][0]
    assert (item.id, item.status, item.notes) == ("x", "Implemented", "own")
    d = decode("a: &a [b, *a]\n")  # a recursive alias in an ignored key is never decoded
    assert not d.failed


def test_yaml_syntax_error_has_a_line():
    d = decode("metadata:\n  a: 'unclosed\nspec: {}\n")
    assert d.failed and d.issues[0].kind == "syntax"


def test_check_file_stops_at_decode_errors():
    res = check_file("v1.34/x/PRODUCT.yaml", b"metadata: {}\nspec:\n  operator: x\n", "v1")
    assert [p.rule for p in res.problems] == ["yaml-decode", "yaml-decode-stops"]
