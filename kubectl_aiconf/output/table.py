"""The default human output: one table per category, evidence under each requirement."""

from __future__ import annotations

from kubectl_aiconf.catalogue import CATEGORIES
from kubectl_aiconf.output import RenderOptions, by_category, status_counts
from kubectl_aiconf.result import Report, RequirementResult, Status

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


def _row(r: RequirementResult, options: RenderOptions) -> list[str]:
    status = _paint(r.status.value, _COLORS[r.status], options.color)
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
            shown = row.evidence if options.wide else row.evidence[:EVIDENCE_SHOWN]
            lines += [f"      - {e}" for e in shown]
            if len(row.evidence) > len(shown):
                lines.append(f"      - ... {len(row.evidence) - len(shown)} more (-o wide shows all)")
    lines += ["", f"Summary: {status_counts(report)}"]
    return "\n".join(lines)
