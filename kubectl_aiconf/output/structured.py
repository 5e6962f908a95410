"""`-o json` and `-o yaml`: the report as one document (shape documented in the README), reason codes included."""

from __future__ import annotations

import json

from kubectl_aiconf.output import RenderOptions
from kubectl_aiconf.result import Report


def render(report: Report, options: RenderOptions) -> str:
    data = report.to_dict()
    if options.format == "json":
        return json.dumps(data, indent=2)
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
