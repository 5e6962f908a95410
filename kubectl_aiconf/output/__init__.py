"""Output formats, each a small module with `render(report, options) -> str`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

# -o value -> module in this package
FORMATS = {
    "table": "table",
    "wide": "table",
    "json": "structured",
    "yaml": "structured",
    "markdown": "markdown",
    "junit": "junit",
    "product-yaml": "product_yaml",
}


@dataclass
class RenderOptions:
    format: str = "table"
    color: bool = False
    extra: dict = field(default_factory=dict)  # format-specific settings (e.g. PRODUCT.yaml metadata)

    @property
    def wide(self) -> bool:
        return self.format == "wide"


def render(report, options: RenderOptions) -> str:
    module = importlib.import_module(f"{__name__}.{FORMATS[options.format]}")
    return module.render(report, options)
