"""`-o markdown`: a report for people, laid out like the PRODUCT.md pages CNCF generates from PRODUCT.yaml.

Sections: Platform Information, Compliance Summary, Requirements at a Glance, Detailed Requirements.
The CNCF status of each requirement is the one `-o product-yaml` would write; next to it the report keeps
the tool's own status (PASS/WARN/FAIL/N/A/UNKNOWN) with its reason code, its message and every evidence item
(object + fact), and any waiver. `options.metadata` (see product_yaml.load_metadata) fills in the platform information.

Several clusters: a matrix of the tool's statuses (requirements x clusters, MUST rows first), then for each
cluster its problems (results that are not PASS or N/A) with their findings, or why it could not be checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from kubectl_aiconf import __version__
from kubectl_aiconf.catalogue import CATEGORIES, DRAFT_VERSIONS
from kubectl_aiconf.output import RenderOptions, by_category, fleet_rows, problems, status_counts
from kubectl_aiconf.result import ClusterError, Report, RequirementResult, Status
from kubectl_aiconf.submission.vocabulary import (
    IMPLEMENTED,
    NOT_APPLICABLE,
    NOT_IMPLEMENTED,
    PARTIALLY_IMPLEMENTED,
    UNANSWERED,
    is_placeholder,
    status_of,
)
from kubectl_aiconf.text import one_line, plural

# CNCF statuses in the order of CNCF's PRODUCT.md summary, with the icons it uses.
STATUS_ICONS = {
    IMPLEMENTED: "✅",
    PARTIALLY_IMPLEMENTED: "🟡",
    NOT_IMPLEMENTED: "❌",
    NOT_APPLICABLE: "⚪",
    UNANSWERED: "⬜",
}
CATEGORY_ICONS = {
    "accelerators": "🚀",
    "networking": "🌐",
    "schedulingOrchestration": "📅",
    "observability": "📊",
    "security": "🔒",
    "operator": "⚙️",
}
LEVEL_ICONS = {"MUST": "🔴", "SHOULD": "🟡"}
_ACRONYMS = {"dra", "api", "gpu", "ai", "url", "crd"}
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#]|&(?=#?\w+;))")


def title(requirement_id: str) -> str:
    """dra_support -> 'DRA Support', ai_inference -> 'AI Inference'."""
    return " ".join(w.upper() if w in _ACRONYMS else w.capitalize() for w in requirement_id.split("_") if w)


def text(value: object) -> str:
    """Inline text safe in a paragraph, a quote, a list item or a table cell (one line, specials escaped)."""
    return _SPECIAL.sub(r"\\\1", one_line(value))


def code(value: object) -> str:
    """An inline code span that survives backticks in the value."""
    value = one_line(value)
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _link(url: str, label: str | None = None) -> str:
    if re.fullmatch(r"https?://[^\s()<>]+", url):
        return f"[{text(label or url)}]({url})"
    return text(url)


def _placeholder(value: str) -> bool:
    return not value or is_placeholder(value)


def _check(r: RequirementResult) -> str:
    """The tool's own verdict with its reason code: 'UNKNOWN (`forbidden`)', and 'waived' when a waiver holds."""
    waiver = "" if r.waiver is None else (", waiver expired" if r.waiver.expired else ", waived")
    return f"{r.status.value} ({code(r.reason.value)}){waiver}"


def _platform(report: Report, metadata: Mapping[str, str]) -> list[str]:
    meta = {k: v for k, v in metadata.items() if not _placeholder(v)}
    rows = []
    for label, key in (("Vendor", "vendorName"), ("Platform", "platformName"), ("Platform Version", "platformVersion")):
        if key in meta:
            rows.append((label, text(meta[key])))
    rows.append(("Kubernetes Version", text(meta.get("kubernetesVersion") or report.kubernetes_version or "unknown")))
    if "websiteUrl" in meta:
        rows.append(("Website", _link(meta["websiteUrl"])))
    if "documentationUrl" in meta:
        rows.append(("Documentation", _link(meta["documentationUrl"], "Link")))
    draft = " (draft)" if report.conformance_version in DRAFT_VERSIONS else ""
    rows.append(("Checklist", f"v{text(report.conformance_version)}{draft}"))
    if report.kubernetes_version and meta.get("kubernetesVersion"):
        rows.append(("Cluster Version", text(report.kubernetes_version)))
    rows.append(("Checked", f"context {code(report.context)}" if report.context else "snapshot"))
    lines = ["## Platform Information", "", "| | |", "|---|---|"]
    lines += [f"| **{label}** | {value} |" for label, value in rows]
    if "description" in meta:
        lines += ["", f"> {text(meta['description'])}"]
    return lines


def _summary(report: Report) -> list[str]:
    answered = [status_of(r) for r in report.results if status_of(r) != UNANSWERED]
    counts = {s: answered.count(s) for s in STATUS_ICONS if s != UNANSWERED}
    lines = ["## Compliance Summary", "", "| Status | Count |", "|---|---|"]
    for status, n in counts.items():
        if n or status == IMPLEMENTED:
            lines.append(f"| {STATUS_ICONS[status]} {status} | {n} |")
    lines.append(f"| **Total** | **{sum(counts.values())}** |")
    undetermined = len(report.results) - len(answered)
    if undetermined:
        unanswered = f"{STATUS_ICONS[UNANSWERED]} {plural(undetermined, 'requirement')}"
        lines += ["", f"{unanswered} not determined (not counted)."]
    lines += ["", f"Check results: {status_counts(report)}."]
    return lines


def _glance(report: Report) -> list[str]:
    lines = [
        "### Requirements at a Glance",
        "",
        "| Category | Requirement | Level | Status | Check |",
        "|---|---|---|---|---|",
    ]
    for category, results in by_category(report):
        for r in results:
            status = status_of(r)
            lines.append(
                f"| {text(CATEGORIES.get(category, category))} | {text(title(r.id))} | {text(r.level)} "
                f"| {STATUS_ICONS[status]} {status or 'Not determined'} | {_check(r)} |"
            )
    return lines


def _detail(r: RequirementResult) -> list[str]:
    status = status_of(r)
    level = f"{LEVEL_ICONS.get(r.level, '')} {text(r.level)}".strip()
    lines = [
        f"#### {STATUS_ICONS[status]} {text(title(r.id))}",
        "",
        (
            f"**Level:** {level} | **Status:** {status or 'Not determined'} | "
            f"**Check:** {_check(r)} | **ID:** {code(r.id)}"
        ),
    ]
    if r.description:
        lines += ["", f"> {text(r.description)}"]
    if r.message:
        lines += ["", f"**Finding:** {text(r.message)}"]
    if r.waiver is not None:
        lines += ["", f"**Waiver:** {text(r.waiver.describe())}"]
    if r.evidence:
        lines += ["", "**Evidence:**", ""]
        lines += [f"- {text(e.kind)} {code(e.name)}: {text(e.fact)}" for e in r.evidence]
    else:
        lines += ["", "**Evidence:** none recorded."]
    if r.status is Status.UNKNOWN:
        lines += ["", "**Notes:** the tool could not tell; check this requirement by hand."]
    return lines


def render(report: Report, options: RenderOptions) -> str:
    metadata = options.metadata
    name = metadata.get("platformName", "")
    heading = text(name) if not _placeholder(name) else "Kubernetes Cluster"
    lines = [f"# {heading} — AI Conformance Report", ""]
    lines += _platform(report, metadata)
    lines += ["", "---", ""] + _summary(report) + [""] + _glance(report)
    lines += ["", "---", "", "## Detailed Requirements"]
    for category, results in by_category(report):
        lines += ["", f"### {CATEGORY_ICONS.get(category, '📋')} {text(CATEGORIES.get(category, category))}"]
        for r in results:
            lines += [""] + _detail(r)
    if report.warnings:
        lines += ["", "---", "", "## Warnings", ""] + [f"- {text(w)}" for w in report.warnings]
    source = "a live cluster" if report.source == "live" else "a snapshot"
    lines += ["", "---", "", f"*Generated by kubectl-aiconf {__version__} from {source}*"]
    return "\n".join(lines)


def _matrix(reports: Sequence[Report | ClusterError], rows) -> list[str]:
    lines = ["| Requirement | Level | " + " | ".join(code(r.context or "snapshot") for r in reports) + " |"]
    lines.append("|---|---|" + "---|" * len(reports))
    for rid, level, cells in rows:
        statuses = [
            "error" if isinstance(r, ClusterError) else (_check(cells[n]) if n in cells else "–")
            for n, r in enumerate(reports)
        ]
        lines.append(f"| {text(title(rid))} | {text(level)} | " + " | ".join(statuses) + " |")
    return lines


def render_fleet(reports: Sequence[Report | ClusterError], options: RenderOptions) -> str:
    lines = [f"# AI Conformance Report: {len(reports)} clusters", "", "## Clusters", ""]
    lines += ["| Context | Kubernetes | Checklist | Results |", "|---|---|---|---|"]
    for r in reports:
        if isinstance(r, ClusterError):
            lines.append(f"| {code(r.context)} | | | not checked: {text(r.error)} |")
        else:
            lines.append(
                f"| {code(r.context or 'snapshot')} | {text(r.kubernetes_version or 'unknown')} "
                f"| v{text(r.conformance_version)} | {text(status_counts(r))} |"
            )
    rows = fleet_rows(reports)
    if rows:
        lines += ["", "## Requirements", ""]
        lines += _matrix(reports, rows)
    for r in reports:
        lines += ["", f"## {code(r.context or 'snapshot')}", ""]
        if isinstance(r, ClusterError):
            lines.append(f"Not checked: {text(r.error)}")
            continue
        found = problems(r)
        if not found:
            lines.append("Every requirement is PASS or N/A.")
        for x in found:
            waiver = f" {text(x.waiver.describe())}." if x.waiver is not None else ""
            lines.append(f"- **{text(title(x.id))}** ({text(x.level)}, {_check(x)}): {text(x.message)}{waiver}")
        lines += [f"- warning: {text(w)}" for w in r.warnings]
    lines += ["", "---", "", f"*Generated by kubectl-aiconf {__version__}*"]
    return "\n".join(lines)
