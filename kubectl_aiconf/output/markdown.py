"""`-o markdown`: a report for people, laid out like the PRODUCT.md pages CNCF generates from PRODUCT.yaml.

Sections: Platform Information, Compliance Summary, Requirements at a Glance, Detailed Requirements.
The CNCF status of each requirement is the one `-o product-yaml` would write; next to it the report keeps
the tool's own status (PASS/WARN/FAIL/N/A/UNKNOWN), its message and every evidence item (object + fact).
`options.extra["metadata"]` (see product_yaml.load_metadata) fills in the platform information.
"""

from __future__ import annotations

import re

from kubectl_aiconf import __version__
from kubectl_aiconf.catalogue import CATEGORIES, DRAFT_VERSIONS
from kubectl_aiconf.output.product_yaml import cncf_status, one_line
from kubectl_aiconf.result import Status

STATUS_ICONS = {"Implemented": "✅", "Partially Implemented": "🟡", "Not Implemented": "❌", "N/A": "⚪", "": "⬜"}
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


def text(value) -> str:
    """Inline text safe in a paragraph, a quote, a list item or a table cell (one line, specials escaped)."""
    return _SPECIAL.sub(r"\\\1", one_line(value))


def code(value) -> str:
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
    return not value or (value.startswith("[") and value.endswith("]"))


def _platform(report, metadata: dict) -> list[str]:
    meta = {k: v for k, v in metadata.items() if not _placeholder(v)}
    rows = []
    for label, key in (("Vendor", "vendorName"), ("Platform", "platformName"),
                       ("Platform Version", "platformVersion")):
        if key in meta:
            rows.append((label, text(meta[key])))
    rows.append(("Kubernetes Version", text(meta.get("kubernetesVersion") or report.kubernetes_version
                                            or "unknown")))
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


def _summary(report) -> list[str]:
    counts = {s: 0 for s in ("Implemented", "Partially Implemented", "Not Implemented", "N/A")}
    for r in report.results:
        if cncf_status(r):
            counts[cncf_status(r)] += 1
    lines = ["## Compliance Summary", "", "| Status | Count |", "|---|---|"]
    for status, n in counts.items():
        if n or status == "Implemented":
            lines.append(f"| {STATUS_ICONS[status]} {status} | {n} |")
    lines.append(f"| **Total** | **{sum(counts.values())}** |")
    undetermined = sum(1 for r in report.results if not cncf_status(r))
    if undetermined:
        lines += ["", f"{STATUS_ICONS['']} {undetermined} requirement(s) could not be determined and are "
                  "not counted."]
    tool = report.summary()
    lines += ["", "Check results: " + ", ".join(f"{n} {s}" for s, n in tool.items() if n) + "."]
    return lines


def _ordered(report) -> list[tuple[str, list]]:
    groups = [(c, [r for r in report.results if r.category == c]) for c in CATEGORIES]
    others = sorted({r.category for r in report.results} - set(CATEGORIES))
    groups += [(c, [r for r in report.results if r.category == c]) for c in others]
    return [(c, rs) for c, rs in groups if rs]


def _glance(report) -> list[str]:
    lines = ["### Requirements at a Glance", "",
             "| Category | Requirement | Level | Status | Check |", "|---|---|---|---|---|"]
    for category, results in _ordered(report):
        for r in results:
            status = cncf_status(r)
            lines.append(f"| {text(CATEGORIES.get(category, category))} | {text(title(r.id))} | {text(r.level)} "
                         f"| {STATUS_ICONS[status]} {status or 'Not determined'} | {r.status.value} |")
    return lines


def _detail(r) -> list[str]:
    status = cncf_status(r)
    level = f"{LEVEL_ICONS.get(r.level, '')} {text(r.level)}".strip()
    lines = [f"#### {STATUS_ICONS[status]} {text(title(r.id))}", "",
             f"**Level:** {level} | **Status:** {status or 'Not determined'} | "
             f"**Check:** {r.status.value} | **ID:** {code(r.id)}"]
    if r.description:
        lines += ["", f"> {text(r.description)}"]
    if r.message:
        lines += ["", f"**Finding:** {text(r.message)}"]
    if r.evidence:
        lines += ["", "**Evidence:**", ""]
        lines += [f"- {text(e.kind)} {code(e.name)}: {text(e.fact)}" for e in r.evidence]
    else:
        lines += ["", "**Evidence:** none recorded."]
    if r.status is Status.UNKNOWN:
        lines += ["", "**Notes:** the tool could not tell; check this requirement by hand."]
    return lines


def render(report, options) -> str:
    metadata = options.extra.get("metadata") or {}
    name = metadata.get("platformName", "")
    heading = text(name) if not _placeholder(name) else "Kubernetes Cluster"
    lines = [f"# {heading} — AI Conformance Report", ""]
    lines += _platform(report, metadata)
    lines += ["", "---", ""] + _summary(report) + [""] + _glance(report)
    lines += ["", "---", "", "## Detailed Requirements"]
    for category, results in _ordered(report):
        lines += ["", f"### {CATEGORY_ICONS.get(category, '📋')} {text(CATEGORIES.get(category, category))}"]
        for r in results:
            lines += [""] + _detail(r)
    if report.warnings:
        lines += ["", "---", "", "## Warnings", ""] + [f"- {text(w)}" for w in report.warnings]
    source = "a live cluster" if report.source == "live" else "a snapshot"
    lines += ["", "---", "", f"*Generated by kubectl-aiconf {__version__} from {source}*"]
    return "\n".join(lines)
