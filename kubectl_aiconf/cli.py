"""Command line: `kubectl aiconf ...`. Heavy modules (the Kubernetes client) are imported inside commands."""

from __future__ import annotations

import sys

import typer

from kubectl_aiconf import __version__

app = typer.Typer(
    name="kubectl aiconf",
    help="Check a Kubernetes cluster against the CNCF Kubernetes AI Conformance checklist.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    """Check a Kubernetes cluster against the CNCF Kubernetes AI Conformance checklist."""


@app.command()
def version() -> None:
    """Print the plugin version and the checklist versions it knows."""
    from kubectl_aiconf.catalogue import DRAFT_VERSIONS, VERSIONS

    known = ", ".join(v + (" (draft)" if v in DRAFT_VERSIONS else "") for v in VERSIONS)
    typer.echo(f"kubectl-aiconf {__version__}")
    typer.echo(f"checklists: {known}")


def main() -> None:
    app(prog_name="kubectl aiconf")


if __name__ == "__main__":
    sys.exit(main())
