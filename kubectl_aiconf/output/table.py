"""The default human output: one table per category, evidence under each requirement."""

from __future__ import annotations

from kubectl_aiconf.catalogue import CATEGORIES
from kubectl_aiconf.result import Status

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


def render(report, options) -> str:
    from tabulate import tabulate

    color = options.color
    where = f"context {report.context}" if report.context else "snapshot"
    lines = [_paint(f"Kubernetes AI Conformance {report.conformance_version}", _BOLD, color)
             + f"  ({where}, Kubernetes {report.kubernetes_version or 'version unknown'})"]
    for category, title in CATEGORIES.items():
        rows = [r for r in report.results if r.category == category]
        if not rows:
            continue
        table = tabulate(
            [[r.id, r.level, _paint(r.status.value, _COLORS[r.status], color), r.message] for r in rows],
            headers=["REQUIREMENT", "LEVEL", "STATUS", "MESSAGE"], tablefmt="plain", disable_numparse=True,
        ).splitlines()
        lines += ["", _paint(title.upper(), _BOLD, color), "  " + table[0]]
        for row, line in zip(rows, table[1:]):
            lines.append("  " + line)
            shown = row.evidence if options.wide else row.evidence[:EVIDENCE_SHOWN]
            lines += [f"      - {e}" for e in shown]
            if len(row.evidence) > len(shown):
                lines.append(f"      - ... {len(row.evidence) - len(shown)} more (-o wide shows all)")
    summary = report.summary()
    counts = ", ".join(f"{n} {s}" for s, n in summary.items() if n)
    lines += ["", f"Summary: {counts}"]
    return "\n".join(lines)
