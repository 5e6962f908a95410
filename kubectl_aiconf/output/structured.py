"""`-o json` and `-o yaml`: the report as one document (shape documented in the README)."""

from __future__ import annotations

import json


def render(report, options) -> str:
    data = report.to_dict()
    if options.format == "json":
        return json.dumps(data, indent=2)
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
