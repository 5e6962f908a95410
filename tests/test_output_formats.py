"""Every output format on hand-built reports: layout, reason codes, purity; PRODUCT.yaml against `validate`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from kubectl_aiconf.catalogue import CATEGORIES, VERSIONS, requirements_for
from kubectl_aiconf.output import (
    FORMATS,
    OutputError,
    RenderOptions,
    product_yaml,
    render,
)
from kubectl_aiconf.output.markdown import title
from kubectl_aiconf.output.product_yaml import REPORT_FILES, evidence_documents
from kubectl_aiconf.result import Evidence, Reason, Report, RequirementResult, Status
from kubectl_aiconf.submission import vocabulary

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "output"

# One status per requirement of checklist 1.35, covering every status at both levels.
MIXED_135 = {
    "dra_support": Status.PASS,
    "driver_runtime_management": Status.WARN,
    "gpu_sharing": Status.UNKNOWN,
    "virtualized_accelerator": Status.NA,
    "ai_inference": Status.FAIL,
    "gang_scheduling": Status.PASS,
    "cluster_autoscaling": Status.NA,
    "pod_autoscaling": Status.WARN,
    "accelerator_metrics": Status.UNKNOWN,
    "ai_service_metrics": Status.PASS,
    "secure_accelerator_access": Status.PASS,
    "robust_controller": Status.FAIL,
}
# A plausible reason for each status; the two UNKNOWNs differ so that tests can tell them apart.
REASONS = {
    Status.PASS: Reason.HEALTHY,
    Status.WARN: Reason.CRDS_ONLY,
    Status.FAIL: Reason.NOT_INSTALLED,
    Status.NA: Reason.NO_ACCELERATORS,
    Status.UNKNOWN: Reason.NEEDS_PROBE,
}
REASON_OVERRIDES = {"gpu_sharing": Reason.FORBIDDEN}

COMPLETE_METADATA = {
    "kubernetesVersion": "v1.35",
    "platformName": "Example Kubernetes Engine",
    "platformVersion": "1.10",
    "vendorName": "Example Corp",
    "websiteUrl": "https://example.com/engine",
    "repoUrl": "https://github.com/example/engine",
    "documentationUrl": "https://docs.example.com/engine",
    "productLogoUrl": "https://example.com/logo.svg",
    "description": "A managed Kubernetes service for AI workloads.",
    "contactEmailAddress": "conformance@example.com",
    "k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/tree/master/v1.35/example-engine",
}


def make_report(
    version: str = "1.35", statuses: dict[str, Status] | None = None, warnings: list[str] | None = None
) -> Report:
    results = []
    for req in requirements_for(version):
        status = (statuses or {}).get(req.id, Status.PASS)
        evidence = [
            Evidence("Deployment", f"{req.id}-ns/controller", "2/2 replicas ready"),
            Evidence("CustomResourceDefinition", f"{req.id}.example.io", "Established"),
            Evidence("ConfigMap", "kube-system/odd-values", 'a | b <c> & "d" *e* _f_ `g`'),
            Evidence("Node", "gpu-node-1", "nvidia.com/gpu: 8"),
        ]
        reason = REASON_OVERRIDES.get(req.id, REASONS[status])
        results.append(
            RequirementResult(
                req.id,
                req.category,
                req.level(version),
                req.description,
                status,
                f"{req.id} is {status.value.lower()} <because> & so on",
                evidence,
                reason,
            )
        )
    return Report(version, f"v{version}.2", "kind-test", "live", results, warnings or [])


def opts(fmt: str, **options) -> RenderOptions:
    return RenderOptions(fmt, **options)


def product(report: Report, **options) -> dict:
    return yaml.safe_load(render(report, opts("product-yaml", **options)))


def items(doc: dict) -> dict[str, dict]:
    return {item["id"]: item for reqs in doc["spec"].values() for item in reqs}


# markdown ----------------------------------------------------------------------------------------------
def test_markdown_layout_and_counts():
    report = make_report(statuses=MIXED_135, warnings=["checklist picked by hand"])
    md = render(report, opts("markdown", metadata=COMPLETE_METADATA))
    lines = md.splitlines()
    assert lines[0] == "# Example Kubernetes Engine — AI Conformance Report"
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Platform Information", "## Compliance Summary", "## Detailed Requirements", "## Warnings"]
    assert md.index("### Requirements at a Glance") < md.index("## Detailed Requirements")
    assert "| **Vendor** | Example Corp |" in lines
    assert "| **Platform Version** | 1.10 |" in lines
    assert "| **Website** | [https://example.com/engine](https://example.com/engine) |" in lines
    assert "| **Documentation** | [Link](https://docs.example.com/engine) |" in lines
    assert "> A managed Kubernetes service for AI workloads." in lines
    # CNCF counts: 4 PASS, 2 WARN, 2 FAIL, 2 N/A; the 2 UNKNOWN are not counted in the total
    assert "| ✅ Implemented | 4 |" in lines
    assert "| 🟡 Partially Implemented | 2 |" in lines
    assert "| ❌ Not Implemented | 2 |" in lines
    assert "| ⚪ N/A | 2 |" in lines
    assert "| **Total** | **10** |" in lines
    assert "⬜ 2 requirements not determined (not counted)." in lines
    assert "Check results: 4 PASS, 2 WARN, 2 FAIL, 2 N/A, 2 UNKNOWN." in lines
    assert lines[-1].startswith("*Generated by kubectl-aiconf")


def test_markdown_glance_table_one_row_per_requirement_in_category_order():
    report = make_report(statuses=MIXED_135)
    lines = render(report, opts("markdown")).splitlines()
    start = lines.index("| Category | Requirement | Level | Status | Check |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    assert [r[1] for r in rows] == [title(r.id) for r in report.results]
    assert all(len(r) == 5 for r in rows)
    assert rows[0] == ["Accelerators", "DRA Support", "MUST", "✅ Implemented", "PASS (`healthy`)"]
    assert rows[2] == ["Accelerators", "GPU Sharing", "SHOULD", "⬜ Not determined", "UNKNOWN (`forbidden`)"]
    assert rows[4] == ["Networking", "AI Inference", "MUST", "❌ Not Implemented", "FAIL (`not-installed`)"]
    categories = [r[0] for r in rows]
    order = list(CATEGORIES.values())
    assert categories == sorted(categories, key=order.index)


def test_markdown_details_carry_message_evidence_and_escape_markup():
    report = make_report(statuses=MIXED_135)
    md = render(report, opts("markdown"))
    assert "### 📅 Scheduling & Orchestration" in md
    assert "#### 🟡 Pod Autoscaling" in md
    assert "**Level:** 🔴 MUST | **Status:** Partially Implemented | **Check:** WARN (`crds-only`)" in md
    assert "**Level:** 🟡 SHOULD | **Status:** Not determined | **Check:** UNKNOWN (`forbidden`)" in md
    assert "- Deployment `gang_scheduling-ns/controller`: 2/2 replicas ready" in md
    assert "- Node `gpu-node-1`: nvidia.com/gpu: 8" in md
    # every evidence item of every requirement is shown (4 each)
    assert md.count("- ConfigMap `kube-system/odd-values`:") == len(report.results)
    assert r'a \| b \<c\> & "d" \*e\* \_f\_ \`g\`' in md
    assert r"**Finding:** pod\_autoscaling is warn \<because\> & so on" in md
    assert md.count("📅 Scheduling & Orchestration") == 1
    assert "## Warnings" not in md


def test_markdown_without_metadata_uses_what_the_report_knows():
    report = make_report(statuses=MIXED_135)
    md = render(report, opts("markdown", metadata={"platformName": "[Platform Name]"}))
    assert md.splitlines()[0] == "# Kubernetes Cluster — AI Conformance Report"
    assert "[Platform Name]" not in md
    assert "| **Kubernetes Version** | v1.35.2 |" in md
    assert "| **Checked** | context `kind-test` |" in md
    assert "**Vendor**" not in md


def test_title_upper_cases_acronyms():
    assert title("dra_support") == "DRA Support"
    assert title("ai_service_metrics") == "AI Service Metrics"
    assert title("gpu_sharing") == "GPU Sharing"
    assert title("robust_controller") == "Robust Controller"


# junit -------------------------------------------------------------------------------------------------
def parse_junit(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))


def test_junit_outcomes_and_counts():
    report = make_report(statuses=MIXED_135, warnings=["a warning"])
    root = parse_junit(render(report, opts("junit")))
    suite = root.find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == [r.id for r in report.results]
    assert cases["gang_scheduling"].get("classname") == "schedulingOrchestration"

    def outcome(case):
        kids = {child.tag for child in case}
        return "failure" if "failure" in kids else "skipped" if "skipped" in kids else "passed"

    got = {rid: outcome(c) for rid, c in cases.items()}
    assert got == {
        "dra_support": "passed",
        "driver_runtime_management": "passed",  # SHOULD at WARN passes
        "gpu_sharing": "skipped",
        "virtualized_accelerator": "skipped",
        "ai_inference": "failure",
        "gang_scheduling": "passed",
        "cluster_autoscaling": "skipped",
        "pod_autoscaling": "failure",  # MUST at WARN fails
        "accelerator_metrics": "skipped",
        "ai_service_metrics": "passed",
        "secure_accelerator_access": "passed",
        "robust_controller": "failure",
    }
    for element in (root, suite):
        assert element.get("tests") == "12"
        assert element.get("failures") == "3"
        assert element.get("skipped") == "4"
        assert element.get("errors") == "0"
    assert cases["pod_autoscaling"].find("failure").get("type") == "WARN"
    assert cases["ai_inference"].find("failure").get("type") == "FAIL"
    assert "WARN (crds-only): driver_runtime_management is warn" in cases["driver_runtime_management"].findtext(
        "system-out"
    )
    assert (
        cases["gpu_sharing"].find("skipped").get("message")
        == "UNKNOWN (forbidden): gpu_sharing is unknown <because> & so on"
    )
    assert suite.findtext("system-err") == "warning: a warning"
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["conformanceVersion"] == "1.35" and props["context"] == "kind-test"


def test_junit_failure_text_has_message_and_evidence_escaped():
    report = make_report(statuses=MIXED_135)
    report.results[4].evidence.append(Evidence("Pod", "ns/bad\x01name", "control \x0b chars ]]> end"))
    text = render(report, opts("junit"))
    root = parse_junit(text)
    failure = root.find(".//testcase[@name='ai_inference']/failure")
    assert failure.get("message") == "ai_inference is fail <because> & so on"
    body = failure.text
    assert body.startswith("FAIL (not-installed): ai_inference is fail <because> & so on\nEvidence:\n")
    assert '  - ConfigMap kube-system/odd-values: a | b <c> & "d" *e* _f_ `g`' in body
    assert "  - Pod ns/bad\ufffdname: control \ufffd chars ]]> end" in body
    assert "\x01" not in text and "\x0b" not in text


def test_junit_all_pass():
    root = parse_junit(render(make_report("1.33"), opts("junit")))
    assert root.get("tests") == str(len(requirements_for("1.33")))
    assert root.get("failures") == "0" and root.get("skipped") == "0"


# product-yaml ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
def test_product_yaml_has_every_requirement_in_catalogue_order(version):
    doc = product(make_report(version))
    assert list(doc) == ["metadata", "spec"]
    assert list(doc["spec"]) == list(CATEGORIES)
    expected = [(r.category, r.id, r.level(version), r.description) for r in requirements_for(version)]
    got = [(c, i["id"], i["level"], i["description"]) for c, reqs in doc["spec"].items() for i in reqs]
    assert got == expected
    assert ("dra_support" in items(doc)) == (version in ("1.33", "1.34", "1.35"))
    for item in items(doc).values():
        assert list(item) == ["id", "description", "level", "status", "evidence", "notes"]
        assert item["evidence"] == []  # no --evidence-dir
    meta = doc["metadata"]
    assert meta["kubernetesVersion"] == f"v{version}"
    assert meta["k8sConformanceUrl"].startswith("[") and meta["k8sConformanceUrl"].endswith("]")
    for key in (
        "platformName",
        "platformVersion",
        "vendorName",
        "websiteUrl",
        "documentationUrl",
        "productLogoUrl",
        "description",
        "contactEmailAddress",
    ):
        assert re.fullmatch(r"\[[^\]]+\]", meta[key]), key
    assert meta["repoUrl"] == ""


def test_product_yaml_status_mapping_and_notes():
    doc = items(product(make_report(statuses=MIXED_135)))
    expected = {
        Status.PASS: "Implemented",
        Status.WARN: "Partially Implemented",
        Status.FAIL: "Not Implemented",
        Status.NA: "N/A",
        Status.UNKNOWN: "",
    }
    for rid, status in MIXED_135.items():
        assert doc[rid]["status"] == expected[status], rid
        assert doc[rid]["notes"].strip(), rid
        reason = REASON_OVERRIDES.get(rid, REASONS[status])
        assert "kubectl-aiconf " in doc[rid]["notes"] and f": {status.value}, {reason.value})" in doc[rid]["notes"]
    notes = doc["cluster_autoscaling"]["notes"]
    assert notes.startswith("cluster_autoscaling is n/a <because> & so on. Seen: Deployment ")
    assert "; and 1 more." in notes  # three evidence items quoted, the fourth counted
    assert doc["gpu_sharing"]["notes"].startswith("kubectl-aiconf could not determine this: gpu_sharing is")


def test_product_yaml_quotes_values_so_they_stay_strings():
    meta = dict(COMPLETE_METADATA, platformVersion="1.10", description="yes")
    text = render(make_report(), opts("product-yaml", metadata=meta))
    assert 'platformVersion: "1.10"' in text
    assert 'description: "yes"' in text
    doc = yaml.safe_load(text)
    assert doc["metadata"]["platformVersion"] == "1.10"
    assert doc["metadata"]["description"] == "yes"
    assert doc["metadata"] == COMPLETE_METADATA | {"platformVersion": "1.10", "description": "yes"}


def test_product_yaml_always_has_k8s_conformance_url_and_no_dra_in_136():
    for version in ("1.33", "1.36", "1.37"):
        doc = product(make_report(version), metadata=COMPLETE_METADATA)
        assert doc["metadata"]["k8sConformanceUrl"] == COMPLETE_METADATA["k8sConformanceUrl"]
    assert "dra_support" not in items(product(make_report("1.36")))
    assert "dra_support" not in items(product(make_report("1.37")))


def test_product_yaml_header_lists_what_to_review():
    text = render(make_report(statuses=MIXED_135), opts("product-yaml"))
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header[0].startswith("# Kubernetes AI Conformance checklist v1.35")
    joined = "\n".join(header)
    assert "placeholders: platformName" in joined
    assert "ai_inference, cluster_autoscaling, pod_autoscaling, accelerator_metrics, robust_controller" in joined
    assert "could not tell: gpu_sharing, accelerator_metrics" in joined


def test_product_yaml_lists_the_evidence_files_it_is_given():
    doc = items(product(make_report(statuses=MIXED_135), evidence_files=REPORT_FILES, metadata=COMPLETE_METADATA))
    assert not {"junit.xml", "results.json", "e2e.log"} & set(REPORT_FILES)  # names newer validators parse
    for rid, status in MIXED_135.items():
        if status is Status.UNKNOWN:
            assert doc[rid]["evidence"] == [], rid  # unanswered: no evidence, or CNCF rejects a blank SHOULD
        else:
            assert doc[rid]["evidence"] == ["aiconf-report.md", "aiconf-report.json"], rid


def test_evidence_documents_are_the_markdown_and_json_reports():
    report = make_report(statuses=MIXED_135)
    options = opts("product-yaml", metadata={"platformName": "Example Kubernetes Engine"}, evidence_files=REPORT_FILES)
    documents = evidence_documents(report, options)
    assert list(documents) == list(REPORT_FILES)
    assert json.loads(documents["aiconf-report.json"]) == report.to_dict()
    md = documents["aiconf-report.md"]
    assert md.startswith("# Example Kubernetes Engine — AI Conformance Report")
    assert md == render(report, opts("markdown", metadata=product_yaml.metadata_for(report, options))) + "\n"


def test_product_yaml_fills_an_official_template(tmp_path):
    template = product_yaml.load_template(str(TESTDATA / "template-1.35.yaml"))
    report = make_report(statuses=MIXED_135)
    text = render(report, opts("product-yaml", template=template, metadata=COMPLETE_METADATA))
    doc = yaml.safe_load(text)
    assert list(doc["spec"]) == list(CATEGORIES)
    got = items(doc)
    assert list(got) == [i["id"] for reqs in template["spec"].values() for i in reqs]
    for rid, item in got.items():
        assert item["description"] == f"TEMPLATE TEXT {rid}" or rid == "future_requirement"
    assert got["pod_autoscaling"]["status"] == "Partially Implemented"
    assert got["future_requirement"] == {
        "id": "future_requirement",
        "level": "SHOULD",
        "status": "",
        "evidence": [],
        "description": "TEMPLATE TEXT future_requirement (an id this tool has no check for)",
        "notes": "Not checked by kubectl-aiconf in this run.",
    }
    assert doc["metadata"] == COMPLETE_METADATA
    assert "did not check: future_requirement" in text


def test_product_yaml_keeps_answers_a_filled_template_already_has(tmp_path):
    template = product_yaml.load_template(str(TESTDATA / "template-1.35.yaml"))
    template["metadata"]["platformName"] = "From Template"
    template["metadata"]["vendor_name"] = "Template Vendor"
    reqs = {i["id"]: i for items_ in template["spec"].values() for i in items_}
    reqs["gpu_sharing"].update(status="Implemented", evidence=["https://example.com/mig"], notes="MIG, by hand")
    reqs["dra_support"].update(evidence=["https://example.com/dra"])
    reqs["future_requirement"].update(status="N/A", notes="not offered")
    reqs["gang_scheduling"].update(evidence="N/A")  # a scalar "N/A" is read as no evidence
    report = make_report(statuses=MIXED_135)
    options = opts(
        "product-yaml", template=template, evidence_files=REPORT_FILES, metadata={"platformName": "From Metadata"}
    )
    doc = yaml.safe_load(render(report, options))
    got = items(doc)
    # gpu_sharing is UNKNOWN in this run and future_requirement has no check: the template's answers stay
    assert got["gpu_sharing"] | {"description": None} == {
        "id": "gpu_sharing",
        "description": None,
        "level": "SHOULD",
        "status": "Implemented",
        "evidence": ["https://example.com/mig"],
        "notes": "MIG, by hand",
    }
    assert (got["future_requirement"]["status"], got["future_requirement"]["notes"]) == ("N/A", "not offered")
    # what the run did determine replaces the template's answer; its evidence entries stay first
    assert got["dra_support"]["status"] == "Implemented"
    assert got["dra_support"]["evidence"] == ["https://example.com/dra", "aiconf-report.md", "aiconf-report.json"]
    assert got["accelerator_metrics"]["status"] == "" and got["accelerator_metrics"]["evidence"] == []
    assert doc["metadata"]["platformName"] == "From Metadata"  # --metadata wins
    assert doc["metadata"]["vendorName"] == "Template Vendor"  # then the template's own values
    assert doc["metadata"]["websiteUrl"] == "[Website URL]"  # template placeholders are not "values"
    assert got["gang_scheduling"]["evidence"] == ["aiconf-report.md", "aiconf-report.json"]
    report_md = evidence_documents(report, options)["aiconf-report.md"]
    assert "| **Vendor** | Template Vendor |" in report_md  # the report carries the metadata PRODUCT.yaml has


def test_product_yaml_template_for_another_version_is_refused():
    template = product_yaml.load_template(str(TESTDATA / "template-1.35.yaml"))
    with pytest.raises(OutputError, match="template is for checklist 1.35.*1.36"):
        render(make_report("1.36"), opts("product-yaml", template=template))


@pytest.mark.parametrize(
    "content, message",
    [
        ("just text", "no `spec` mapping"),
        ("spec:\n  accelerators: {id: x}\n", "spec.accelerators must be a list"),
        ("spec: [unclosed\n", "not valid YAML"),
    ],
)
def test_load_template_errors(tmp_path, content, message):
    path = tmp_path / "t.yaml"
    path.write_text(content)
    with pytest.raises(product_yaml.OutputError, match=re.escape(message)):
        product_yaml.load_template(str(path))


def test_load_metadata_reads_text_aliases_and_product_files(tmp_path):
    flat = tmp_path / "meta.yaml"
    flat.write_text(
        "platformName: Example\nplatform_version: 1.10\nvendor_name: Example Corp\n"
        "k8s_conformance_url: https://github.com/cncf/k8s-conformance/tree/master/v1.35/x\n"
    )
    assert product_yaml.load_metadata(str(flat)) == {
        "platformName": "Example",
        "platformVersion": "1.10",
        "vendorName": "Example Corp",
        "k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/tree/master/v1.35/x",
    }
    wrapped = tmp_path / "PRODUCT.yaml"
    wrapped.write_text("metadata:\n  platformName: Wrapped\nspec:\n  accelerators: []\n")
    assert product_yaml.load_metadata(str(wrapped)) == {"platformName": "Wrapped"}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert product_yaml.load_metadata(str(empty)) == {}


@pytest.mark.parametrize(
    "content, message",
    [
        ("platfromName: typo\n", "unknown field 'platfromName'"),
        ("platformName: [a, b]\n", "platformName must be a single value"),
        ("platformName: a\nplatform_name: b\n", "platformName is given twice"),
        ("- a\n- b\n", "must hold a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_load_metadata_errors(tmp_path, content, message):
    path = tmp_path / "meta.yaml"
    path.write_text(content)
    with pytest.raises(product_yaml.OutputError, match=re.escape(message)):
        product_yaml.load_metadata(str(path))
    with pytest.raises(product_yaml.OutputError, match="cannot read metadata file"):
        product_yaml.load_metadata(str(tmp_path / "missing.yaml"))


def _validate(path: Path, rules: str, capsys) -> tuple[int, str]:
    from kubectl_aiconf.submission.validate import run_validate

    code = run_validate([str(path)], offline=True, rules=rules, output="text")
    return code, capsys.readouterr().out


@pytest.mark.parametrize("rules", ["v1", "v2"])
def test_passing_product_yaml_validates_offline(monkeypatch, tmp_path, capsys, rules):
    """What `check -o product-yaml --evidence-dir` saves, committed as a vendor would, passes CNCF's rules."""
    meta = tmp_path / "meta.yaml"
    meta.write_text(yaml.safe_dump(COMPLETE_METADATA), encoding="utf-8")
    product_dir = tmp_path / "v1.35" / "example-engine"
    result, _ = invoke(
        monkeypatch,
        "--conformance-version",
        "1.35",
        "-o",
        "product-yaml",
        "--metadata",
        str(meta),
        "--evidence-dir",
        str(product_dir),
        statuses={},
    )
    assert result.exit_code == 0, result.output
    path = product_dir / "PRODUCT.yaml"
    path.write_text(result.stdout, encoding="utf-8")
    code, out = _validate(path, rules, capsys)
    assert code == 0, out


def test_unfinished_product_yaml_does_not_validate(tmp_path, capsys):
    product_dir = tmp_path / "v1.35" / "example-engine"
    product_dir.mkdir(parents=True)
    path = product_dir / "PRODUCT.yaml"
    path.write_text(render(make_report(statuses=MIXED_135), opts("product-yaml")) + "\n", encoding="utf-8")
    code, out = _validate(path, "v1", capsys)
    assert code == 1
    assert "placeholder" in out.lower()


# all formats -------------------------------------------------------------------------------------------
def every_format_options() -> list[RenderOptions]:
    """Each -o value, with every option it reads set, so that no code path is left out."""
    template = product_yaml.load_template(str(TESTDATA / "template-1.35.yaml"))
    rich = {
        "markdown": {"metadata": COMPLETE_METADATA},
        "product-yaml": {"metadata": COMPLETE_METADATA, "template": template, "evidence_files": REPORT_FILES},
        "table": {"color": True},
    }
    return [opts(fmt, **rich.get(fmt, {})) for fmt in FORMATS]


@pytest.mark.parametrize("options", every_format_options(), ids=list(FORMATS))
def test_renderers_are_pure(options, monkeypatch, tmp_path):
    """Same input, same text; the report and options are left as they were; nothing is written anywhere."""
    import builtins
    import copy
    import io
    import os

    from kubectl_aiconf.output import renderer

    report = make_report(statuses=MIXED_135, warnings=["a warning"])
    render_fn = renderer(options.format)  # import the module before writes are forbidden
    report_before, options_before = copy.deepcopy(report), copy.deepcopy(options)

    real_open = builtins.open

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            raise AssertionError(f"{options.format} renderer opened {file} for writing")
        return real_open(file, mode, *args, **kwargs)

    def no_write(*args, **kwargs):
        raise AssertionError(f"{options.format} renderer touched the file system: {args}")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(builtins, "open", read_only_open)
    monkeypatch.setattr(io, "open", read_only_open)  # what pathlib writes through
    for name in ("makedirs", "mkdir", "replace", "rename", "remove", "unlink"):
        monkeypatch.setattr(os, name, no_write)
    first = render_fn(report, options)
    second = render(report, options)
    monkeypatch.undo()
    assert first == second
    assert report == report_before and options == options_before
    assert list(tmp_path.iterdir()) == []


def test_every_format_module_exposes_a_renderer():
    import inspect

    from kubectl_aiconf.output import renderer

    for fmt in FORMATS:
        assert list(inspect.signature(renderer(fmt)).parameters) == ["report", "options"], fmt


def test_reason_codes_appear_in_json_yaml_junit_and_markdown():
    report = make_report(statuses=MIXED_135)
    expected = {r.id: r.reason.value for r in report.results}
    assert expected["gpu_sharing"] == "forbidden" and expected["accelerator_metrics"] == "needs-probe"

    for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
        doc = load(render(report, opts(fmt)))
        assert {r["id"]: r["reason"] for r in doc["requirements"]} == expected, fmt

    root = parse_junit(render(report, opts("junit")))
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.find("properties")}
        assert props["reason"] == expected[case.get("name")]
    skipped = root.find(".//testcase[@name='accelerator_metrics']/skipped")
    assert skipped.get("message").startswith("UNKNOWN (needs-probe): ")

    md = render(report, opts("markdown"))
    for rid, reason in expected.items():
        section = md.split(f"{title(rid)}\n", 1)[1]  # from the requirement's heading on
        assert f"(`{reason}`)" in section.split("####", 1)[0], rid


def test_wide_table_has_a_reason_column_and_the_default_table_keeps_its_shape():
    report = make_report(statuses=MIXED_135)
    default = render(report, opts("table"))
    wide = render(report, opts("wide"))
    assert "REASON" not in default and "needs-probe" not in default
    header = next(line for line in wide.splitlines() if "REQUIREMENT" in line)
    assert header.split() == ["REQUIREMENT", "LEVEL", "STATUS", "REASON", "MESSAGE"]
    gpu = next(line for line in wide.splitlines() if line.strip().startswith("gpu_sharing "))
    assert gpu.split()[:4] == ["gpu_sharing", "SHOULD", "UNKNOWN", "forbidden"]


def test_product_yaml_speaks_the_vocabulary_validate_checks():
    """The statuses and metadata fields written are the ones `validate` knows, from the one module."""
    doc = product(make_report(statuses=MIXED_135))
    assert tuple(doc["metadata"]) == vocabulary.METADATA_NAMES
    for item in items(doc).values():
        assert tuple(item) == vocabulary.REQUIREMENT_FIELDS
        assert item["status"] in vocabulary.STATUSES + (vocabulary.UNANSWERED,)
    should_not_met = make_report(statuses={"gpu_sharing": Status.WARN}).results[2]
    should_not_met.should_not_met = True
    assert vocabulary.status_of(should_not_met) == vocabulary.NOT_IMPLEMENTED


def test_markdown_does_not_import_product_yaml():
    """The two modules used to import each other; markdown now needs only the vocabulary."""
    code = (
        "import sys\nimport kubectl_aiconf.output.markdown\n"
        "print('kubectl_aiconf.output.product_yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_formats_import_only_stdlib_and_yaml():
    code = (
        "import sys\n"
        "from kubectl_aiconf.output import RenderOptions, render\n"
        "from kubectl_aiconf.result import Report\n"
        "r = Report('1.35', 'v1.35.0', None, 'snapshot', [])\n"
        "for f in ('markdown', 'junit', 'product-yaml'):\n"
        "    render(r, RenderOptions(f))\n"
        "heavy = [m for m in ('kubernetes', 'typer', 'click', 'tabulate', 'urllib3', 'requests')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


# command line ------------------------------------------------------------------------------------------
SCENARIO = Path(__file__).resolve().parent.parent / "testdata" / "scenarios" / "gpu-cluster"


def invoke(monkeypatch, *args, statuses=MIXED_135):
    """`kubectl aiconf check --snapshot ... <args>` in-process, with hand-built results instead of the checks."""
    from typer.testing import CliRunner

    from kubectl_aiconf import cli, runner

    seen = {}

    def fake_run_checks(view, version, overrides=None):
        seen["version"] = version
        return make_report(version, statuses).results

    monkeypatch.setattr(runner, "run_checks", fake_run_checks)
    result = CliRunner().invoke(cli.app, ["check", "--snapshot", str(SCENARIO), *args])
    return result, seen


def test_cli_product_yaml_with_metadata_and_evidence_dir(monkeypatch, tmp_path):
    meta = tmp_path / "meta.yaml"
    meta.write_text("".join(f"{k}: {v}\n" for k, v in COMPLETE_METADATA.items()))  # unquoted values
    product_dir = tmp_path / "v1.35" / "example-engine"
    result, _ = invoke(
        monkeypatch,
        "--conformance-version",
        "1.35",
        "-o",
        "product-yaml",
        "--metadata",
        str(meta),
        "--evidence-dir",
        str(product_dir),
    )
    assert result.exit_code == 1, result.output  # a MUST failed, whatever the format
    doc = yaml.safe_load(result.stdout)
    assert doc["metadata"] == COMPLETE_METADATA  # platformVersion 1.10 unquoted in the file stays "1.10"
    assert items(doc)["dra_support"]["evidence"] == ["aiconf-report.md", "aiconf-report.json"]
    assert sorted(p.name for p in product_dir.iterdir()) == ["aiconf-report.json", "aiconf-report.md"]


def test_cli_evidence_dir_not_writable_is_a_usage_error(monkeypatch, tmp_path):
    from kubectl_aiconf.cli import UsageError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    result, _ = invoke(
        monkeypatch, "--conformance-version", "1.35", "-o", "product-yaml", "--evidence-dir", str(blocker / "sub")
    )
    assert isinstance(result.exception, UsageError)
    assert "cannot write evidence files" in str(result.exception)
    assert result.stdout == ""  # no draft that points at evidence files that are not there


def test_cli_renders_before_saving_evidence(monkeypatch, tmp_path):
    """A draft the renderer refuses (template for another version) leaves no evidence files behind."""
    product_dir = tmp_path / "v1.36" / "example"
    result, _ = invoke(
        monkeypatch,
        "--conformance-version",
        "1.36",
        "-o",
        "product-yaml",
        "--evidence-dir",
        str(product_dir),
        "--template",
        str(TESTDATA / "template-1.35.yaml"),
    )
    assert result.exception is not None and "template is for checklist 1.35" in str(result.exception)
    assert not product_dir.exists()


def test_cli_template_sets_the_checklist_version(monkeypatch, tmp_path):
    result, seen = invoke(
        monkeypatch, "-o", "product-yaml", "--template", str(TESTDATA / "template-1.35.yaml"), statuses={}
    )
    assert seen["version"] == "1.35"
    assert result.exit_code == 0, result.output
    assert items(yaml.safe_load(result.stdout))["gang_scheduling"]["description"] == "TEMPLATE TEXT gang_scheduling"


def test_cli_markdown_with_metadata(monkeypatch, tmp_path):
    meta = tmp_path / "meta.yaml"
    meta.write_text("platformName: Example Engine\n")
    result, _ = invoke(monkeypatch, "--conformance-version", "1.36", "-o", "markdown", "--metadata", str(meta))
    assert result.stdout.startswith("# Example Engine — AI Conformance Report\n")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["-o", "table", "--template", "t.yaml"], "--template only applies to -o product-yaml"),
        (["-o", "json", "--evidence-dir", "d"], "--evidence-dir applies to -o product-yaml, or to any -o with --probe"),
        (["-o", "junit", "--metadata", "m.yaml"], "--metadata only applies to -o product-yaml and -o markdown"),
        (["-o", "product-yaml", "--metadata", "does-not-exist.yaml"], "cannot read metadata file"),
        (["-o", "product-yaml", "--template", "does-not-exist.yaml"], "cannot read template"),
    ],
)
def test_cli_output_option_errors_before_connecting(tmp_path, args, fragment):
    import os

    env = {**os.environ, "NO_COLOR": "1", "KUBECONFIG": str(tmp_path / "no-kubeconfig")}
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", "check", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr


def test_cli_template_for_another_version_is_a_usage_error(monkeypatch):
    from kubectl_aiconf.cli import UsageError

    result, _ = invoke(
        monkeypatch,
        "--conformance-version",
        "1.36",
        "-o",
        "product-yaml",
        "--template",
        str(TESTDATA / "template-1.35.yaml"),
    )
    assert isinstance(result.exception, UsageError)
    assert "template is for checklist 1.35" in str(result.exception)
