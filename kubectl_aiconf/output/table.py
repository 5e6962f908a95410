"""The default human output: one table per category, evidence under each requirement.

Several clusters: a matrix of statuses (requirements x clusters, MUST rows first), then each cluster's problems
(every result that is not PASS or N/A, with its message) or the one line saying why it could not be checked."""

from __future__ import annotations

from collections.abc import Sequence

from kubectl_aiconf.catalogue import CATEGORIES
from kubectl_aiconf.output import RenderOptions, by_category, fleet_rows, problems, status_counts
from kubectl_aiconf.result import ClusterError, Report, RequirementResult, Status

_COLORS = {
    Status.PASS: "\033[32m",
    Status.WARN: "\033[33m",
    Status.FAIL: "\033[31m",
    Status.UNKNOWN: "\033[35m",
    Status.NA: "\033[2m",
}
_RESET = "\033[0m"
_BOLD = "\033[1m"
EVIDENCE_SHOWN = 3  # per requirement in the default table; -o wide shows all


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def status_text(r: RequirementResult) -> str:
    """'FAIL', 'FAIL (waived)' or 'FAIL (waiver expired)': a waiver never hides the status."""
    if r.waiver is None:
        return r.status.value
    return f"{r.status.value} ({'waiver expired' if r.waiver.expired else 'waived'})"


def _row(r: RequirementResult, options: RenderOptions) -> list[str]:
    status = _paint(status_text(r), _COLORS[r.status], options.color)
    # The reason code is for scripts and wide terminals; the default table keeps its four columns, where the
    # message already says why in words.
    reason = [r.reason.value] if options.wide else []
    return [r.id, r.level, status, *reason, r.message]


def render(report: Report, options: RenderOptions) -> str:
    from tabulate import tabulate

    color = options.color
    where = f"context {report.context}" if report.context else "snapshot"
    lines = [
        _paint(f"Kubernetes AI Conformance {report.conformance_version}", _BOLD, color)
        + f"  ({where}, Kubernetes {report.kubernetes_version or 'version unknown'})"
    ]
    headers = ["REQUIREMENT", "LEVEL", "STATUS"] + (["REASON"] if options.wide else []) + ["MESSAGE"]
    for category, rows in by_category(report):
        table = tabulate(
            [_row(r, options) for r in rows], headers=headers, tablefmt="plain", disable_numparse=True
        ).splitlines()
        lines += ["", _paint(CATEGORIES.get(category, category).upper(), _BOLD, color), "  " + table[0]]
        for row, line in zip(rows, table[1:]):
            lines.append("  " + line)
            if row.waiver is not None:
                lines.append(f"      {row.waiver.describe()}")
            shown = row.evidence if options.wide else row.evidence[:EVIDENCE_SHOWN]
            lines += [f"      - {e}" for e in shown]
            if len(row.evidence) > len(shown):
                lines.append(f"      - ... {len(row.evidence) - len(shown)} more (-o wide shows all)")
    lines += ["", f"Summary: {status_counts(report)}"]
    return "\n".join(lines)


def _cluster_line(report: Report | ClusterError) -> str:
    if isinstance(report, ClusterError):
        return f"{report.context}: not checked: {report.error}"
    kubernetes = report.kubernetes_version or "version unknown"
    return f"{report.context}: Kubernetes {kubernetes}, checklist {report.conformance_version}: {status_counts(report)}"


def render_fleet(reports: Sequence[Report | ClusterError], options: RenderOptions) -> str:
    from tabulate import tabulate

    color = options.color
    lines = [_paint(f"Kubernetes AI Conformance: {len(reports)} clusters", _BOLD, color), ""]
    lines += [f"  {_cluster_line(r)}" for r in reports]
    headers = ["REQUIREMENT", "LEVEL"] + [r.context or "snapshot" for r in reports]
    rows = []
    for rid, level, cells in fleet_rows(reports):
        row: list[str] = [rid, level]
        for n, report in enumerate(reports):
            if isinstance(report, ClusterError):
                row.append("ERROR")
            elif n in cells:
                row.append(_paint(status_text(cells[n]), _COLORS[cells[n].status], color))
            else:
                row.append("-")  # not in this cluster's checklist
        rows.append(row)
    if not rows:
        rows = [["(no cluster could be checked)", "", *("ERROR" for _ in reports)]]
    table = tabulate(rows, headers=headers, tablefmt="plain", disable_numparse=True)
    lines += [""] + ["  " + line for line in table.splitlines()]
    for report in reports:
        lines += ["", _paint(f"{(report.context or 'snapshot').upper()}", _BOLD, color)]
        if isinstance(report, ClusterError):
            lines.append(f"  not checked: {report.error}")
            continue
        found = problems(report)
        if not found:
            lines.append("  every requirement is PASS or N/A")
            continue
        table = tabulate(
            [_row(r, options) for r in found],
            headers=["REQUIREMENT", "LEVEL", "STATUS"] + (["REASON"] if options.wide else []) + ["MESSAGE"],
            tablefmt="plain",
            disable_numparse=True,
        ).splitlines()
        lines.append("  " + table[0])
        for problem, line in zip(found, table[1:]):
            lines.append("  " + line)
            if problem.waiver is not None:
                lines.append(f"      {problem.waiver.describe()}")
            if options.wide:
                lines += [f"      - {e}" for e in problem.evidence]
    return "\n".join(lines)
