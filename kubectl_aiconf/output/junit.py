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
* A result under an unexpired waiver (--waivers) that would fail is <skipped> instead, its text beginning with
  the waiver and keeping the status ("waived until ... : FAIL (not-met): ..."), like the exit code that it no
  longer fails. An expired waiver changes nothing but the text. Every waived testcase has a property waiver.
* Several clusters: one <testsuite> per cluster, named with its context; a cluster that could not be checked
  is a suite with one testcase "cluster" in <error>.
Evidence is listed in the failure text, or else in <system-out>.

Do not save this file as junit.xml next to a PRODUCT.yaml: newer CNCF validators read files with that
name as results of the upstream conformance suite.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kubectl_aiconf import __version__
from kubectl_aiconf.output import RenderOptions
from kubectl_aiconf.result import ClusterError, Report, RequirementResult, Status

# Characters XML 1.0 cannot carry at all, even escaped; they are replaced so the document stays well-formed.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def outcome(result: RequirementResult) -> str:
    """'passed', 'failure' or 'skipped' for one requirement result."""
    if result.waived and _verdict(result) == "failure":
        return "skipped"
    return _verdict(result)


def _verdict(result: RequirementResult) -> str:
    if result.status is Status.PASS:
        return "passed"
    if result.status is Status.FAIL:
        return "failure"
    if result.status is Status.WARN:
        return "failure" if result.level == "MUST" else "passed"
    return "skipped"  # UNKNOWN, N/A


def _headline(result: RequirementResult) -> str:
    waiver = f"{result.waiver.describe()}: " if result.waiver is not None else ""
    return f"{waiver}{result.status.value} ({result.reason.value}): {result.message}"


def _body(result: RequirementResult) -> str:
    lines = [_headline(result)]
    if result.evidence:
        lines.append("Evidence:")
        lines += [f"  - {e}" for e in result.evidence]
    return "\n".join(lines)


def _element(parent, tag, text=None, **attrs):
    import xml.etree.ElementTree as ET

    el = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _clean(text)
    return el


def _counts(tests: int, failures: int, errors: int, skipped: int) -> dict[str, str]:
    return {"tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": str(skipped)}


def _suite(root, report: Report, name: str) -> dict[str, str]:
    """Add the testsuite of one report; returns its counts."""
    element = _element
    cases = [(r, outcome(r)) for r in report.results]
    counts = _counts(
        len(cases), sum(1 for _, o in cases if o == "failure"), 0, sum(1 for _, o in cases if o == "skipped")
    )
    suite = element(root, "testsuite", name=name, **counts)
    props = element(suite, "properties")
    for prop, value in (
        ("conformanceVersion", report.conformance_version),
        ("kubernetesVersion", report.kubernetes_version or ""),
        ("context", report.context or ""),
        ("source", report.source),
        ("tool", f"kubectl-aiconf {__version__}"),
    ):
        element(props, "property", name=prop, value=value)

    for result, result_outcome in cases:
        case = element(suite, "testcase", classname=result.category, name=result.id)
        case_props = element(case, "properties")
        element(case_props, "property", name="level", value=result.level)
        element(case_props, "property", name="status", value=result.status.value)
        element(case_props, "property", name="reason", value=result.reason.value)
        if result.waiver is not None:
            element(case_props, "property", name="waiver", value=result.waiver.describe())
        if result_outcome == "failure":
            element(case, "failure", _body(result), message=result.message, type=result.status.value)
        elif result_outcome == "skipped":
            element(case, "skipped", message=_headline(result))
        if result_outcome != "failure" and (result.evidence or result.status is Status.WARN):
            element(case, "system-out", _body(result))
    if report.warnings:
        element(suite, "system-err", "\n".join(f"warning: {w}" for w in report.warnings))
    return counts


def _document(root) -> str:
    import xml.etree.ElementTree as ET

    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def render(report: Report, options: RenderOptions) -> str:
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", {"name": "kubectl-aiconf"})
    root.attrib.update(_suite(root, report, f"Kubernetes AI Conformance v{report.conformance_version}"))
    return _document(root)


def render_fleet(reports: Sequence[Report | ClusterError], options: RenderOptions) -> str:
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", {"name": "kubectl-aiconf"})
    totals = [0, 0, 0, 0]
    for report in reports:
        if isinstance(report, ClusterError):
            counts = _counts(1, 0, 1, 0)
            suite = _element(root, "testsuite", name=f"Kubernetes AI Conformance ({report.context})", **counts)
            props = _element(suite, "properties")
            _element(props, "property", name="context", value=report.context)
            case = _element(suite, "testcase", classname="cluster", name="cluster")
            _element(case, "error", report.error, message=report.error, type="ClusterError")
        else:
            name = f"Kubernetes AI Conformance v{report.conformance_version} ({report.context or 'snapshot'})"
            counts = _suite(root, report, name)
        for n, key in enumerate(("tests", "failures", "errors", "skipped")):
            totals[n] += int(counts[key])
    root.attrib.update(_counts(*totals))
    return _document(root)
