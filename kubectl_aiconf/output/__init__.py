"""Output formats: each a pure function `render(report, options) -> str` in a module of this package.

Pure means a renderer reads the report and the options and returns text: it writes no file, prints nothing and
changes neither argument, so the same input always gives the same output and any format can be rendered twice
(the PRODUCT.yaml evidence files are the markdown and json renderings of the same report). Whatever touches the
disk (reading --metadata or --template, saving evidence next to PRODUCT.yaml) is the command's job.

Modules are imported on first use so that `--help` does not pay for tabulate or yaml.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from kubectl_aiconf.result import ClusterError, Report, RequirementResult


@dataclass(frozen=True)
class RenderOptions:
    format: str = "table"
    color: bool = False  # table and wide: ANSI colours
    # PRODUCT.yaml metadata values by camelCase field name (--metadata): product-yaml and markdown.
    metadata: Mapping[str, str] = field(default_factory=dict)
    # A parsed checklist template or earlier PRODUCT.yaml (--template) to fill in: product-yaml.
    template: Mapping[str, Any] | None = None
    # Files the command saves next to PRODUCT.yaml; product-yaml lists them as evidence of every answer.
    evidence_files: tuple[str, ...] = ()
    # Files a probe run saved next to them (junit.xml, e2e.log), by the requirement whose evidence they are.
    probe_evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def wide(self) -> bool:
        return self.format == "wide"


class Renderer(Protocol):
    """What every format module's `render` is."""

    def __call__(self, report: Report, options: RenderOptions, /) -> str: ...


class OutputError(Exception):
    """Bad input for an output format (metadata, template): one line for the user."""


# -o value -> module in this package that holds its `render`
FORMATS: dict[str, str] = {
    "table": "table",
    "wide": "table",
    "json": "structured",
    "yaml": "structured",
    "markdown": "markdown",
    "junit": "junit",
    "product-yaml": "product_yaml",
    "html": "html",
}


def renderer(output_format: str) -> Renderer:
    module = importlib.import_module(f"{__name__}.{FORMATS[output_format]}")
    return cast(Renderer, module.render)


def render(report: Report, options: RenderOptions) -> str:
    return renderer(options.format)(report, options)


class FleetRenderer(Protocol):
    """What a format module's `render_fleet` is: several clusters (a `ClusterError` for one that could not be
    checked) in one output."""

    def __call__(self, reports: Sequence[Report | ClusterError], options: RenderOptions, /) -> str: ...


def fleet_renderer(output_format: str) -> FleetRenderer | None:
    """The format's `render_fleet`, or None when the format describes one cluster only."""
    module = importlib.import_module(f"{__name__}.{FORMATS[output_format]}")
    return cast("FleetRenderer | None", getattr(module, "render_fleet", None))


def render_fleet(reports: Sequence[Report | ClusterError], options: RenderOptions) -> str:
    fleet = fleet_renderer(options.format)
    if fleet is None:
        raise OutputError(f"-o {options.format} describes one cluster; use another format for several clusters")
    return fleet(reports, options)


# Small pieces more than one format lays out the same way.
def by_category(report: Report) -> list[tuple[str, list[RequirementResult]]]:
    """Results grouped by category: the checklist's categories in their order, then any others by name."""
    from kubectl_aiconf.catalogue import CATEGORIES

    known = list(CATEGORIES)
    others = sorted({r.category for r in report.results} - set(known))
    groups = [(c, [r for r in report.results if r.category == c]) for c in known + others]
    return [(c, results) for c, results in groups if results]


def fleet_rows(reports: Sequence[Report | ClusterError]) -> list[tuple[str, str, dict[int, RequirementResult]]]:
    """The rows of a requirements x clusters matrix: (id, level, {index of the cluster: its result}), MUST rows
    first, each group in checklist order. A requirement that is a MUST in any cluster's checklist is a MUST row
    (its level is e.g. 'MUST/SHOULD' when the checklists differ)."""
    cells: dict[str, dict[int, RequirementResult]] = {}
    for n, report in enumerate(reports):
        for r in getattr(report, "results", ()):
            cells.setdefault(r.id, {})[n] = r
    rows = []
    for rid, by_cluster in cells.items():
        levels = list(dict.fromkeys(r.level for r in by_cluster.values()))
        rows.append((rid, "/".join(sorted(levels)), by_cluster))
    return sorted(rows, key=lambda row: "MUST" not in row[1].split("/"))


def problems(report: Report) -> list[RequirementResult]:
    """The results that are not PASS or N/A: MUSTs first, then FAIL before UNKNOWN before WARN (the ranks `diff`
    uses), each group in checklist order."""
    from kubectl_aiconf.result import Status

    worst_first = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.WARN: 2}
    found = [r for r in report.results if r.status in worst_first]
    return sorted(found, key=lambda r: (r.level != "MUST", worst_first[r.status]))


def status_counts(report: Report) -> str:
    """'9 PASS, 3 UNKNOWN': the tool's own statuses that occur, in the order of Status."""
    return ", ".join(f"{n} {status}" for status, n in report.summary().items() if n)
