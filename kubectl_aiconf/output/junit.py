"""`-o junit`: JUnit XML for CI dashboards, one testcase per requirement.

* classname = category key (e.g. schedulingOrchestration), name = requirement id.
* Each testcase has the properties level, status and reason (the stable reason code, e.g. needs-probe), and
  the reason also leads its failure or skip text ("UNKNOWN (forbidden): ..."), because most CI dashboards show
  that text and never the properties.
* PASS passes; FAIL is a <failure type="FAIL"> whose text holds the message and the evidence.
* UNKNOWN and N/A are <skipped> with the message as the reason: the tool either could not tell or the
  requirement does not apply, and neither is a verdict on the platform.
* WARN depends on the level. A MUST at WARN is a <failure type="WARN">: CNCF only accepts "Implemented"
  for a MUST, so partial evidence blocks a submission and a CI job should turn red on it. A SHOULD at WARN
  (which includes a SHOULD that is not met) passes, with the warning in <system-out>, because SHOULDs
  never block a submission.
Evidence is listed in the failure text, or else in <system-out>.

Do not save this file as junit.xml next to a PRODUCT.yaml: newer CNCF validators read files with that
name as results of the upstream conformance suite.
"""

from __future__ import annotations

import re

from kubectl_aiconf import __version__
from kubectl_aiconf.output import RenderOptions
from kubectl_aiconf.result import Report, RequirementResult, Status

# Characters XML 1.0 cannot carry at all, even escaped; they are replaced so the document stays well-formed.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def outcome(result: RequirementResult) -> str:
    """'passed', 'failure' or 'skipped' for one requirement result."""
    if result.status is Status.PASS:
        return "passed"
    if result.status is Status.FAIL:
        return "failure"
    if result.status is Status.WARN:
        return "failure" if result.level == "MUST" else "passed"
    return "skipped"  # UNKNOWN, N/A


def _headline(result: RequirementResult) -> str:
    return f"{result.status.value} ({result.reason.value}): {result.message}"


def _body(result: RequirementResult) -> str:
    lines = [_headline(result)]
    if result.evidence:
        lines.append("Evidence:")
        lines += [f"  - {e}" for e in result.evidence]
    return "\n".join(lines)


def render(report: Report, options: RenderOptions) -> str:
    import xml.etree.ElementTree as ET

    def element(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
        if text is not None:
            el.text = _clean(text)
        return el

    cases = [(r, outcome(r)) for r in report.results]
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(1 for _, o in cases if o == "failure")),
        "errors": "0",
        "skipped": str(sum(1 for _, o in cases if o == "skipped")),
    }
    root = ET.Element("testsuites", {"name": "kubectl-aiconf", **counts})
    suite = element(root, "testsuite", name=f"Kubernetes AI Conformance v{report.conformance_version}", **counts)
    props = element(suite, "properties")
    for name, value in (
        ("conformanceVersion", report.conformance_version),
        ("kubernetesVersion", report.kubernetes_version or ""),
        ("context", report.context or ""),
        ("source", report.source),
        ("tool", f"kubectl-aiconf {__version__}"),
    ):
        element(props, "property", name=name, value=value)

    for result, result_outcome in cases:
        case = element(suite, "testcase", classname=result.category, name=result.id)
        case_props = element(case, "properties")
        element(case_props, "property", name="level", value=result.level)
        element(case_props, "property", name="status", value=result.status.value)
        element(case_props, "property", name="reason", value=result.reason.value)
        if result_outcome == "failure":
            element(case, "failure", _body(result), message=result.message, type=result.status.value)
        elif result_outcome == "skipped":
            element(case, "skipped", message=_headline(result))
        if result_outcome != "failure" and (result.evidence or result.status is Status.WARN):
            element(case, "system-out", _body(result))
    if report.warnings:
        element(suite, "system-err", "\n".join(f"warning: {w}" for w in report.warnings))

    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
