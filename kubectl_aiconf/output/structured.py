"""`-o json` and `-o yaml`: the report as one document (shape documented in the README), reason codes included.

Several clusters: a list of the single-cluster documents, in the order the contexts were given; a cluster that
could not be checked is the document {"context": ..., "error": "one line"}."""

from __future__ import annotations

import json
from collections.abc import Sequence

from kubectl_aiconf.output import RenderOptions
from kubectl_aiconf.result import ClusterError, Report


def _dump(data: object, options: RenderOptions) -> str:
    if options.format == "json":
        return json.dumps(data, indent=2)
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")


def render(report: Report, options: RenderOptions) -> str:
    return _dump(report.to_dict(), options)


def render_fleet(reports: Sequence[Report | ClusterError], options: RenderOptions) -> str:
    return _dump([r.to_dict() for r in reports], options)
