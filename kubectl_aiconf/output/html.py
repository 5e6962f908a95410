"""`-o html`: one self-contained page to hand to someone who will not run a terminal.

The page is laid out from the JSON documents (`Report.to_dict()`; for several clusters, the list of them), so it
shows what `-o json` holds and nothing the JSON does not. It carries no scripts and loads nothing: the styles are
inline, with a print layout, so the file can be mailed, attached to a ticket or printed as it is. Everything that
came from the cluster or a user's file (contexts, messages, evidence, waiver reasons) is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from kubectl_aiconf import __version__
from kubectl_aiconf.catalogue import BY_ID, CATEGORIES, DRAFT_VERSIONS, REQUIREMENTS
from kubectl_aiconf.output import RenderOptions
from kubectl_aiconf.output.markdown import title
from kubectl_aiconf.result import Report
from kubectl_aiconf.text import one_line, plural

Doc = Mapping[str, Any]


class _Documented(Protocol):
    """A Report, or a cluster a multi-cluster run could not check: both turn into their JSON document."""

    def to_dict(self) -> dict: ...


STATUSES = ("PASS", "WARN", "FAIL", "N/A", "UNKNOWN")
_STATUS_CLASS = {"PASS": "pass", "WARN": "warn", "FAIL": "fail", "N/A": "na", "UNKNOWN": "unknown"}
_CATALOGUE_ORDER = {r.id: i for i, r in enumerate(REQUIREMENTS)}
# Clusters per matrix table: as many as fit across a printed A4 or Letter page; more clusters, more tables.
MATRIX_COLUMNS = 5

# Colour always comes with the status in words; the print rules keep the colours and let nothing run off the page.
CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 24px 32px 48px; color: var(--fg); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 24px 0 10px; }
h4 { font-size: 15px; margin: 0; }
.sub, .muted { color: var(--muted); }
code { font: 13px/1.3 ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; overflow-wrap: anywhere; }
a { color: inherit; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top;
  overflow-wrap: break-word; }
th .muted { font-weight: 400; font-size: 13px; }
th { background: var(--soft); font-weight: 600; }
thead { display: table-header-group; }
tr.group th { background: #eef1f4; text-transform: uppercase; letter-spacing: .04em; font-size: 12px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 12px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.st { display: inline-block; min-width: 4.6em; padding: 1px 6px; border: 1px solid; border-radius: 4px;
  font-size: 12px; font-weight: 700; text-align: center; white-space: nowrap; }
.st-pass { color: #116329; background: #dafbe1; border-color: #4ac26b; }
.st-warn { color: #7d4e00; background: #fff1c2; border-color: #d4a72c; }
.st-fail { color: #a40e26; background: #ffebe9; border-color: #ff8182; }
.st-na { color: #424a53; background: #eaeef2; border-color: #afb8c1; }
.st-unknown { color: #512a97; background: #f3ecff; border-color: #a888e0; }
.st-other, .st-unreachable { color: #424a53; background: #fff; border-color: #424a53; border-style: dashed; }
.tag { display: inline-block; padding: 0 5px; border: 1px solid var(--muted); border-radius: 4px;
  font-size: 11px; font-weight: 600; color: var(--muted); white-space: nowrap; }
.tag.expired { color: #a40e26; border-color: #a40e26; }
.verdict { margin: 12px 0; padding: 10px 14px; border: 1px solid var(--line); border-left-width: 6px;
  border-radius: 4px; }
.verdict.v-pass { border-left-color: #1a7f37; }
.verdict.v-fail { border-left-color: #cf222e; }
.verdict.v-unknown { border-left-color: #8250df; }
.verdict.v-unreachable { border-left-color: #424a53; }
.notes { margin: 12px 0; padding: 8px 14px; background: #fff8c5; border: 1px solid #d4a72c; border-radius: 4px; }
.notes h3 { margin: 0 0 4px; font-size: 15px; }
.notes ul { margin: 0; padding-left: 20px; }
.req { margin: 0 0 14px; padding: 10px 14px; border: 1px solid var(--line); border-left: 6px solid #afb8c1;
  border-radius: 4px; break-inside: avoid; page-break-inside: avoid; }
.req.r-pass { border-left-color: #4ac26b; }
.req.r-warn { border-left-color: #d4a72c; }
.req.r-fail { border-left-color: #ff8182; }
.req.r-unknown { border-left-color: #a888e0; }
.req header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 10px; }
.req p { margin: 6px 0; }
.req .desc { color: var(--muted); font-size: 14px; }
.waiver { margin: 8px 0; padding: 6px 10px; background: var(--soft); border: 1px dashed var(--muted);
  border-radius: 4px; }
.waiver.expired { border-color: #cf222e; background: #fff5f5; }
ul.evidence { margin: 6px 0 0; padding-left: 20px; }
ul.evidence li { margin: 2px 0; }
.kind { font-weight: 600; }
.count { white-space: nowrap; }
.matrix { table-layout: fixed; }
.matrix thead th:first-child { width: 19%; }
.matrix thead th:nth-child(2) { width: 12%; }
.matrix thead th { overflow-wrap: anywhere; }
.matrix td.cell { text-align: center; }
.matrix th, .matrix td { padding: 5px 4px; }
.matrix .st { min-width: 0; padding: 1px 4px; font-size: 11px; white-space: normal; }
.matrix .tag { white-space: normal; }
.matrix td.cell .lvl { display: block; font-size: 11px; color: var(--muted); }
.cluster { margin-top: 40px; }
footer { margin-top: 40px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted);
  font-size: 13px; }
@media print {
  @page { margin: 14mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .cluster { break-before: page; page-break-before: always; margin-top: 0; }
  a { text-decoration: none; }
}
"""


def _e(value: object) -> str:
    """Text from the report or the user, inert in HTML: one line, every markup character escaped."""
    return html.escape(one_line(value), quote=True)


def _anchor(*parts: object) -> str:
    """An element id that stays a plain token whatever the requirement id holds."""
    return "-".join(re.sub(r"[^A-Za-z0-9_-]", "_", str(p)) for p in parts)


def _doc(report: _Documented | Doc) -> Doc:
    return report if isinstance(report, Mapping) else report.to_dict()


def _status(value: object) -> str:
    text = str(value or "UNKNOWN")
    return f'<span class="st st-{_STATUS_CLASS.get(text, "other")}">{_e(text)}</span>'


def _waived(r: Doc) -> bool:
    """A waiver that still excuses the result (an expired one is shown but excuses nothing)."""
    waiver = r.get("waiver")
    return isinstance(waiver, Mapping) and not waiver.get("expired")


def _waiver_tag(r: Doc) -> str:
    waiver = r.get("waiver")
    if not isinstance(waiver, Mapping):
        return ""
    if waiver.get("expired"):
        return ' <span class="tag expired">waiver expired</span>'
    return ' <span class="tag">waived</span>'


def _waiver_text(waiver: Mapping[str, Any]) -> str:
    expires, by, reason, context = (waiver.get(k) for k in ("expires", "by", "reason", "context"))
    if waiver.get("expired"):
        text = f"Waiver expired on {_e(expires)}" if expires else "Waiver expired"
    else:
        text = f"Waived until {_e(expires)}" if expires else "Waived"
    if by:
        text += f" by {_e(by)}"
    if reason:
        text += f": {_e(reason)}"
    if context:
        text += f" (for context {_e(context)})"
    if waiver.get("expired"):
        text += ". It no longer excuses this result."
    return text


def _requirements(doc: Doc) -> list[Doc]:
    return [r for r in doc.get("requirements") or [] if isinstance(r, Mapping)]


def _counts(doc: Doc) -> dict[str, int]:
    summary = doc.get("summary")
    if isinstance(summary, Mapping):
        return {str(k): int(v) for k, v in summary.items()}
    counts = dict.fromkeys(STATUSES, 0)
    for r in _requirements(doc):
        counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
    return counts


def _counts_html(doc: Doc) -> str:
    waived: dict[str, int] = {}
    for r in _requirements(doc):
        if _waived(r):
            waived[str(r.get("status"))] = waived.get(str(r.get("status")), 0) + 1
    parts = []
    for status, n in _counts(doc).items():
        if n:
            extra = f" ({waived[status]} waived)" if waived.get(status) else ""
            parts.append(f'<span class="count">{n} {_status(status)}{extra}</span>')
    return ", ".join(parts) or "no requirements"


def _verdict(doc: Doc) -> tuple[str, str, str]:
    """(css class, label, sentence): what the check's exit code says about this cluster.

    The same rule as Report.exit_code, on the JSON document: only MUSTs count, and a waiver that has not expired
    excuses its result.
    """
    if doc.get("error"):
        return "unreachable", "NOT CHECKED", f"The cluster could not be checked: {_e(doc['error'])}"
    musts = [r for r in _requirements(doc) if r.get("level") == "MUST"]
    counted = [r for r in musts if not _waived(r)]
    waived = len(musts) - len(counted)
    note = f" ({plural(waived, 'MUST')} waived)" if waived else ""
    if any(r.get("status") == "FAIL" for r in counted):
        return "fail", "FAIL", f"A MUST requirement failed: the check exits 1{note}."
    if any(r.get("status") in ("WARN", "UNKNOWN") for r in counted):
        return (
            "unknown",
            "NOT CONFIRMED",
            "No MUST requirement failed, but not every one could be confirmed: the check exits 3 "
            f"(0 with --unconfirmed-ok){note}.",
        )
    return "pass", "PASS", f"Every MUST requirement passed or does not apply: the check exits 0{note}."


def _verdict_badge(cls: str, label: str) -> str:
    return f'<span class="st st-{_STATUS_CLASS.get(label, cls)}">{label}</span>'


def _verdict_html(doc: Doc) -> str:
    cls, label, sentence = _verdict(doc)
    return f'<p class="verdict v-{cls}">{_verdict_badge(cls, label)} {sentence}</p>'


def _cluster_name(doc: Doc) -> str:
    return str(doc.get("context") or ("snapshot" if doc.get("source") == "snapshot" else "unnamed cluster"))


def _checklist(doc: Doc) -> str:
    version = doc.get("conformanceVersion")
    if not version:
        return "unknown"
    return _e(version) + (" (draft)" if version in DRAFT_VERSIONS else "")


def _facts(doc: Doc) -> str:
    source = {"live": "a live cluster", "snapshot": "a snapshot"}.get(str(doc.get("source")), doc.get("source"))
    rows = [
        ("Cluster", f"context <code>{_e(doc['context'])}</code>" if doc.get("context") else "snapshot (no context)"),
        ("Kubernetes version", _e(doc.get("kubernetesVersion") or "unknown")),
        ("Checklist", f"Kubernetes AI Conformance {_checklist(doc)}"),
        ("Source", _e(source or "unknown")),
        ("Results", _counts_html(doc)),
    ]
    items = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return f'<dl class="facts">{items}</dl>'


def _warnings(doc: Doc, h: int) -> str:
    warnings = [w for w in doc.get("warnings") or [] if w]
    if not warnings:
        return ""
    items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
    return f'<section class="notes"><h{h}>Warnings</h{h}><ul>{items}</ul></section>'


def _by_category(requirements: Iterable[Doc]) -> list[tuple[str, list[Doc]]]:
    """The checklist's categories in their order, then any others by name; MUSTs first within each."""
    requirements = list(requirements)
    seen = {str(r.get("category")) for r in requirements}
    order = [c for c in CATEGORIES if c in seen] + sorted(seen - set(CATEGORIES))
    groups = []
    for category in order:
        rows = [r for r in requirements if str(r.get("category")) == category]
        groups.append((category, sorted(rows, key=lambda r: r.get("level") != "MUST")))
    return groups


def _category_name(category: str) -> str:
    return _e(CATEGORIES.get(category, category))


def _glance(doc: Doc, prefix: str) -> str:
    rows = []
    for category, requirements in _by_category(_requirements(doc)):
        rows.append(f'<tr class="group"><th colspan="4">{_category_name(category)}</th></tr>')
        for r in requirements:
            rows.append(
                f'<tr><td><a href="#{_anchor(prefix, r.get("id"))}">{_e(title(str(r.get("id"))))}</a></td>'
                f"<td>{_e(r.get('level'))}</td><td>{_status(r.get('status'))}{_waiver_tag(r)}</td>"
                f"<td><code>{_e(r.get('reason'))}</code></td></tr>"
            )
    head = "<thead><tr><th>Requirement</th><th>Level</th><th>Status</th><th>Reason</th></tr></thead>"
    return f'<table class="glance">{head}<tbody>{"".join(rows)}</tbody></table>'


def _evidence(r: Doc) -> str:
    items = [e for e in r.get("evidence") or [] if isinstance(e, Mapping)]
    if not items:
        return '<p class="muted">No evidence recorded.</p>'
    lines = "".join(
        f'<li><span class="kind">{_e(e.get("kind"))}</span> <code>{_e(e.get("name"))}</code>: {_e(e.get("fact"))}</li>'
        for e in items
    )
    return f'<ul class="evidence">{lines}</ul>'


def _requirement(r: Doc, prefix: str, h: int) -> str:
    rid = str(r.get("id"))
    status = str(r.get("status"))
    known = BY_ID.get(rid)
    parts = [
        f'<article class="req r-{_STATUS_CLASS.get(status, "other")}" id="{_anchor(prefix, rid)}">',
        f"<header>{_status(status)}{_waiver_tag(r)} <h{h}>{_e(title(rid))}</h{h}>"
        f'<span class="tag">{_e(r.get("level"))}</span> <code>{_e(rid)}</code> '
        f'<span class="muted">reason <code>{_e(r.get("reason"))}</code></span></header>',
    ]
    if known:
        parts.append(f'<p class="desc">{_e(known.description)}</p>')
    if r.get("message"):
        parts.append(f'<p class="msg">{_e(r["message"])}</p>')
    waiver = r.get("waiver")
    if isinstance(waiver, Mapping):
        expired = " expired" if waiver.get("expired") else ""
        parts.append(f'<p class="waiver{expired}">{_waiver_text(waiver)}</p>')
    if status == "UNKNOWN":
        parts.append('<p class="muted">The tool could not tell: check this requirement by hand.</p>')
    parts += [_evidence(r), "</article>"]
    return "".join(parts)


def _details(doc: Doc, prefix: str, h: int) -> str:
    sections = []
    for category, requirements in _by_category(_requirements(doc)):
        body = "".join(_requirement(r, prefix, h + 1) for r in requirements)
        sections.append(
            f'<section class="category" id="{_anchor(prefix, "category", category)}">'
            f"<h{h}>{_category_name(category)}</h{h}>{body}</section>"
        )
    return "".join(sections)


def _page(page_title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{page_title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
        f"<footer>Generated by kubectl-aiconf {_e(__version__)}. Statuses: PASS met, WARN partly met or a SHOULD "
        "not met, FAIL not met, N/A does not apply, UNKNOWN the tool could not tell.</footer>\n</body>\n</html>\n"
    )


def _subtitle(doc: Doc) -> str:
    """'context admin, Kubernetes v1.35.4, checklist 1.35': the line under the title, for when it is all one reads."""
    where = f"context {_e(doc['context'])}" if doc.get("context") else "snapshot"
    return f"{where}, Kubernetes {_e(doc.get('kubernetesVersion') or 'version unknown')}, checklist {_checklist(doc)}"


def render(report: Report, options: RenderOptions) -> str:
    return render_doc(report.to_dict(), options)


def render_doc(doc: Doc, options: RenderOptions) -> str:
    """One cluster's page from its JSON document (what `-o json` prints)."""
    name = _e(_cluster_name(doc))
    body = (
        f'<header><h1>Kubernetes AI Conformance report</h1><p class="sub">{_subtitle(doc)}</p></header>'
        f'<section id="summary"><h2>Summary</h2>{_facts(doc)}{_verdict_html(doc)}{_warnings(doc, 3)}</section>'
        f'<section id="glance"><h2>Requirements at a glance</h2>{_glance(doc, "r")}</section>'
        f'<section id="details"><h2>Requirements</h2>{_details(doc, "r", 3)}</section>'
    )
    return _page(f"AI Conformance report: {name}", body)


# several clusters ---------------------------------------------------------------------------------------------
def _matrix_rows(docs: Sequence[Doc]) -> list[str]:
    """Requirement ids of every cluster: MUST (in any cluster) first, then in category and checklist order."""
    levels: dict[str, set[str]] = {}
    categories: dict[str, str] = {}
    for doc in docs:
        for r in _requirements(doc):
            rid = str(r.get("id"))
            levels.setdefault(rid, set()).add(str(r.get("level")))
            categories.setdefault(rid, str(r.get("category")))
    category_order = {c: i for i, c in enumerate(CATEGORIES)}

    def key(rid: str) -> tuple[bool, int, str, int, str]:
        category = categories[rid]
        return (
            "MUST" not in levels[rid],
            category_order.get(category, len(category_order)),
            category,
            _CATALOGUE_ORDER.get(rid, len(_CATALOGUE_ORDER)),
            rid,
        )

    return sorted(levels, key=key)


def _matrix(docs: Sequence[Doc]) -> str:
    """Requirements x clusters, as one table per MATRIX_COLUMNS clusters so that each fits a printed page."""
    by_cluster = [{str(r.get("id")): r for r in _requirements(doc)} for doc in docs]
    requirement_ids = _matrix_rows(docs)
    tables = []
    for first in range(0, len(docs), MATRIX_COLUMNS):
        numbers = range(first + 1, min(first + MATRIX_COLUMNS, len(docs)) + 1)
        head = ["<th>Requirement</th><th>Level</th>"]
        for i in numbers:
            doc = docs[i - 1]
            if doc.get("error"):
                detail = "not reached"
            else:
                detail = f"Kubernetes {_e(doc.get('kubernetesVersion') or 'unknown')}, checklist {_checklist(doc)}"
            head.append(
                f'<th><a href="#{_anchor("c", i)}">{_e(_cluster_name(doc))}</a><br>'
                f'<span class="muted">{detail}</span></th>'
            )
        rows = []
        for rid in requirement_ids:
            levels = sorted({str(m[rid].get("level")) for m in by_cluster if rid in m}, key=lambda lv: lv != "MUST")
            first_with = 1 + next(n for n, m in enumerate(by_cluster) if rid in m)
            cells = [
                f'<th><a href="#{_anchor("c", first_with, rid)}">{_e(title(rid))}</a></th>'
                f"<td>{_e(' or '.join(levels))}</td>"
            ]
            for i in numbers:
                doc, r = docs[i - 1], by_cluster[i - 1].get(rid)
                if doc.get("error"):
                    cells.append('<td class="cell muted">not checked</td>')
                elif r is None:
                    cells.append(f'<td class="cell muted">not in {_checklist(doc)}</td>')
                else:
                    level = f' <span class="lvl">{_e(r.get("level"))}</span>' if len(levels) > 1 else ""
                    cells.append(
                        f'<td class="cell"><a href="#{_anchor("c", i, rid)}">{_status(r.get("status"))}</a>'
                        f"{_waiver_tag(r)}{level}</td>"
                    )
            rows.append(f"<tr>{''.join(cells)}</tr>")
        verdicts = ['<th colspan="2">Verdict</th>']
        verdicts += [f'<td class="cell">{_verdict_badge(*_verdict(docs[i - 1])[:2])}</td>' for i in numbers]
        tables.append(
            f'<table class="matrix"><thead><tr>{"".join(head)}</tr></thead>'
            f"<tbody>{''.join(rows)}<tr>{''.join(verdicts)}</tr></tbody></table>"
        )
    return "".join(tables)


def _fleet_summary(docs: Sequence[Doc]) -> str:
    rows = []
    for i, doc in enumerate(docs, 1):
        if doc.get("error"):
            checklist = results = "—"
        else:
            checklist, results = _checklist(doc), _counts_html(doc)
        cls, label, sentence = _verdict(doc)
        rows.append(
            f'<tr><th><a href="#{_anchor("c", i)}">{_e(_cluster_name(doc))}</a></th>'
            f"<td>{_e(doc.get('kubernetesVersion') or '—')}</td><td>{checklist}</td>"
            f"<td>{results}</td><td>{_verdict_badge(cls, label)} {sentence}</td></tr>"
        )
    head = (
        "<thead><tr><th>Cluster</th><th>Kubernetes</th><th>Checklist</th><th>Results</th><th>Verdict</th></tr></thead>"
    )
    return f'<table class="clusters">{head}<tbody>{"".join(rows)}</tbody></table>'


def _cluster(doc: Doc, i: int) -> str:
    name = _e(_cluster_name(doc))
    parts = [f'<section class="cluster" id="{_anchor("c", i)}"><h2>Cluster {name}</h2>']
    if doc.get("error"):
        parts.append(_verdict_html(doc))
    else:
        parts += [_facts(doc), _verdict_html(doc), _warnings(doc, 3), _details(doc, _anchor("c", i), 3)]
    parts.append("</section>")
    return "".join(parts)


def _fleet_verdict(verdicts: list[str]) -> str:
    """The run's exit code: the worst cluster's, failed MUST (1) over not checked (2) over not confirmed (3)."""
    worst = next((cls for cls in ("fail", "unreachable", "unknown") if cls in verdicts), "pass")
    n = plural(verdicts.count(worst), "cluster")
    sentence = {
        "fail": f"A MUST requirement failed in {n}: the check exits 1.",
        "unreachable": f"{n} could not be checked: the check exits 2.",
        "unknown": f"No MUST requirement failed, but not every one could be confirmed in {n}: the check exits 3 "
        "(0 with --unconfirmed-ok).",
        "pass": "Every MUST requirement passed or does not apply in every cluster: the check exits 0.",
    }[worst]
    label = {"fail": "FAIL", "unreachable": "NOT CHECKED", "unknown": "NOT CONFIRMED", "pass": "PASS"}[worst]
    return f'<p class="verdict v-{worst}">{_verdict_badge(worst, label)} {sentence}</p>'


def render_fleet(reports: Sequence[_Documented | Doc], options: RenderOptions) -> str:
    """Several clusters: a summary per cluster, the requirements x clusters matrix, then each cluster in full.

    `reports` are Reports and clusters that could not be checked, or their JSON documents (`-o json` of a
    multi-cluster run); a cluster that could not be checked has its `context`, an `error` line and no requirements.
    """
    docs = [_doc(r) for r in reports]
    verdicts = [_verdict(d)[0] for d in docs]
    tally = ", ".join(
        f"{verdicts.count(cls)} {word}"
        for cls, word in (
            ("pass", "met every MUST"),
            ("fail", "failed a MUST"),
            ("unknown", "not confirmed"),
            ("unreachable", "not reached"),
        )
        if verdicts.count(cls)
    )
    body = (
        f'<header><h1>Kubernetes AI Conformance report</h1><p class="sub">{plural(len(docs), "cluster")}: '
        f"{tally or 'none'}</p></header>"
        f'<section id="summary"><h2>Clusters</h2>{_fleet_verdict(verdicts)}{_fleet_summary(docs)}</section>'
        f'<section id="matrix"><h2>Requirements by cluster</h2>{_matrix(docs)}</section>'
        + "".join(_cluster(d, i) for i, d in enumerate(docs, 1))
    )
    return _page(f"AI Conformance report: {plural(len(docs), 'cluster')}", body)
