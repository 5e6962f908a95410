"""Command line: `kubectl aiconf ...`.

kubectl passes no flags to plugins, so the kubeconfig flags are parsed here. Heavy modules (the Kubernetes
client, output formats) are imported inside the commands so that `--help` and `version` start fast.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import re
import sys
import time
from typing import TYPE_CHECKING

import typer

from kubectl_aiconf import __version__
from kubectl_aiconf import install as _install  # constants only: keeps --help fast
from kubectl_aiconf import probe as _probe_limits  # constants only: keeps --help fast
from kubectl_aiconf.probe import DEFAULT_IMAGE as _PROBE_IMAGE
from kubectl_aiconf.probe.registry import PROBES as _PROBES

_PROBE_IDS = tuple(p.id + ("" if p.safe else " (opt-in)") for p in _PROBES)

if TYPE_CHECKING:  # imported by the commands that use them, so that --help starts fast
    from kubectl_aiconf.output import RenderOptions
    from kubectl_aiconf.result import Report
    from kubectl_aiconf.view.kubeconfig import ConnectOptions

app = typer.Typer(
    name="kubectl aiconf",
    help="Check a Kubernetes cluster against the CNCF Kubernetes AI Conformance checklist.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_USAGE = 2
_state = {"debug": False}


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit 2."""


# shared options --------------------------------------------------------------------------------------------
KubeconfigOpt = typer.Option(
    None,
    "--kubeconfig",
    help="Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
    show_default=False,
)
ContextOpt = typer.Option(None, "--context", help="The kubeconfig context to use.", show_default=False)
TimeoutOpt = typer.Option(
    "30s",
    "--request-timeout",
    help="Longest time for each API request, retries included, e.g. 10s, 1m; 0 waits forever.",
)
VersionOpt = typer.Option(
    None,
    "--conformance-version",
    help="Checklist version X.Y (default: the server's minor version).",
    show_default=False,
)
NoColorOpt = typer.Option(False, "--no-color", help="Never colour the output (NO_COLOR is honoured too).")
CheckContextOpt = typer.Option(
    None,
    "--context",
    help="The kubeconfig context to use; a comma-separated list checks several clusters at once.",
    show_default=False,
)


def _duration(text: str) -> float | None:
    """kubectl's --request-timeout: '30s', '1m', '1h', '500ms', a bare number of seconds; 0 means none."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        raise UsageError(f"invalid --request-timeout {text!r}: use a duration such as 30s, 2m or 0")
    value = float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    return value or None


def _use_color(no_color: bool, stream) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and stream.isatty() and os.environ.get("TERM") != "dumb"


def _progress(message: str) -> None:
    """A transient status line, only when stderr is a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{message}" if message else "\r\033[K")
        sys.stderr.flush()


def _checklist_version(requested: str | None, server_version: str | None, warnings: list[str]) -> str:
    from kubectl_aiconf.catalogue import DRAFT_VERSIONS, VERSIONS, UnknownVersion, checklist_for_server

    if requested:
        if requested not in VERSIONS:
            raise UsageError(str(UnknownVersion(requested)))
        if requested in DRAFT_VERSIONS:
            warnings.append(f"checklist {requested} is a draft; its requirements may still change")
        return requested
    if not server_version:
        raise UsageError(
            "the Kubernetes version is unknown (a snapshot without a /version document); use --conformance-version X.Y"
        )
    try:
        version, warning = checklist_for_server(server_version)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if warning:
        warnings.append(warning)
    return version


# kubectl's global connection flags: (parameter, type, option), added to a command by @_connects
_CONNECTION_FLAGS = (
    (
        "server",
        "str | None",
        typer.Option(
            None, "--server", "-s", help="The address and port of the Kubernetes API server.", show_default=False
        ),
    ),
    (
        "token",
        "str | None",
        typer.Option(
            None,
            "--token",
            help="Bearer token for the API server (replaces the user's credentials).",
            show_default=False,
        ),
    ),
    ("user", "str | None", typer.Option(None, "--user", help="The kubeconfig user to use.", show_default=False)),
    (
        "cluster",
        "str | None",
        typer.Option(None, "--cluster", help="The kubeconfig cluster to use.", show_default=False),
    ),
    (
        "certificate_authority",
        "str | None",
        typer.Option(
            None,
            "--certificate-authority",
            metavar="FILE",
            help="Certificate file of the certificate authority.",
            show_default=False,
        ),
    ),
    (
        "client_certificate",
        "str | None",
        typer.Option(
            None, "--client-certificate", metavar="FILE", help="Client certificate file for TLS.", show_default=False
        ),
    ),
    (
        "client_key",
        "str | None",
        typer.Option(None, "--client-key", metavar="FILE", help="Client key file for TLS.", show_default=False),
    ),
    (
        "insecure_skip_tls_verify",
        "bool",
        typer.Option(False, "--insecure-skip-tls-verify", help="Do not check the server's certificate (insecure)."),
    ),
    (
        "tls_server_name",
        "str | None",
        typer.Option(
            None, "--tls-server-name", help="Server name to check the server's certificate against.", show_default=False
        ),
    ),
    (
        "impersonate",
        "str | None",
        typer.Option(None, "--as", help="User to impersonate (a user or a service account).", show_default=False),
    ),
    (
        "impersonate_group",
        "list[str] | None",
        typer.Option(None, "--as-group", help="Group to impersonate; repeat for several.", show_default=False),
    ),
    ("impersonate_uid", "str | None", typer.Option(None, "--as-uid", help="UID to impersonate.", show_default=False)),
)


def _connects(command):
    """Give a command kubectl's global connection flags; it receives them as one `connection: ConnectOptions`.

    Declared once here rather than as a dozen parameters of every command that connects."""
    names = [name for name, _, _ in _CONNECTION_FLAGS]
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.name != "connection"]
    assert not {p.name for p in own} & set(names), "a command parameter shadows a connection flag"
    added = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=o, annotation=t) for n, t, o in _CONNECTION_FLAGS
    ]

    @functools.wraps(command)
    def wrapper(**kwargs):
        from kubectl_aiconf.view.kubeconfig import ConnectOptions

        flags = {name: kwargs.pop(name) for name in names}
        connection = ConnectOptions(
            **{k: v for k, v in flags.items() if k != "impersonate_group"},
            impersonate_groups=tuple(flags["impersonate_group"] or ()),
        )
        return command(**kwargs, connection=connection)

    del wrapper.__wrapped__  # typer reads the signature below, not the command's
    wrapper.__signature__ = signature.replace(parameters=[*own, *added])
    wrapper.__annotations__ = {
        **{k: v for k, v in command.__annotations__.items() if k != "connection"},
        **{n: t for n, t, _ in _CONNECTION_FLAGS},
    }
    return wrapper


def _open_view(snapshot: str | None, kubeconfig, context, request_timeout, conformance_version, connection=None):
    if snapshot:
        if kubeconfig or context:
            raise UsageError("--snapshot reads files only; it cannot be combined with --kubeconfig or --context")
        if connection is not None and connection.given():
            raise UsageError(f"--snapshot reads files only; it cannot be combined with {', '.join(connection.given())}")
        from kubectl_aiconf.view.snapshot import SnapshotView

        return SnapshotView(snapshot, conformance_version)
    from kubectl_aiconf.view.live import LiveView

    timeout = _duration(request_timeout)
    _progress("Connecting to the cluster...")
    try:
        return LiveView.connect(kubeconfig, context, timeout, options=connection)
    finally:
        _progress("")


# commands --------------------------------------------------------------------------------------------------
@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors.")) -> None:
    """Check a Kubernetes cluster against the CNCF Kubernetes AI Conformance checklist."""
    _state["debug"] = debug


@app.command()
@_connects
def check(
    output: str = typer.Option(
        "table", "-o", "--output", help="table, wide, json, yaml, markdown, junit, html or product-yaml."
    ),
    conformance_version: str | None = VersionOpt,
    snapshot: str | None = typer.Option(
        None,
        "--snapshot",
        help="Read a snapshot (file or directory of YAML/JSON objects) instead of a live cluster.",
        show_default=False,
    ),
    kubeconfig: str | None = KubeconfigOpt,
    context: str | None = CheckContextOpt,
    all_contexts: bool = typer.Option(
        False, "--all-contexts", help="Check every context of the kubeconfig, a few clusters at a time."
    ),
    waivers_file: str | None = typer.Option(
        None,
        "--waivers",
        metavar="FILE",
        show_default=False,
        help="YAML list of waivers (requirement, optional context, reason, expires, by): matching results are "
        "marked waived and, until they expire, do not fail the exit code.",
    ),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        metavar="FILE",
        show_default=False,
        help="An earlier JSON report: print what changed to stderr and exit 1 only if a MUST regressed.",
    ),
    request_timeout: str = TimeoutOpt,
    no_color: bool = NoColorOpt,
    unconfirmed_ok: bool = typer.Option(
        False,
        "--unconfirmed-ok",
        help="Exit 0 instead of 3 when no MUST failed but some could not be confirmed (for scheduled jobs).",
    ),
    metadata: str | None = typer.Option(
        None,
        "--metadata",
        metavar="FILE",
        show_default=False,
        help="YAML file with the PRODUCT.yaml metadata fields (platformName, "
        "vendorName, ...) for -o product-yaml and -o markdown.",
    ),
    evidence_dir: str | None = typer.Option(
        None,
        "--evidence-dir",
        metavar="DIR",
        show_default=False,
        help="-o product-yaml: the product directory where PRODUCT.yaml "
        "will be saved; aiconf-report.md and aiconf-report.json are "
        "written there and listed as evidence. With --probe (any -o): junit.xml and e2e.log of the probes "
        "are written there too.",
    ),
    template: str | None = typer.Option(
        None,
        "--template",
        metavar="FILE",
        show_default=False,
        help="-o product-yaml: fill this official checklist template (or "
        "an earlier PRODUCT.yaml) instead of the built-in one; its "
        "checklist version is used unless --conformance-version is given.",
    ),
    probe: bool = typer.Option(
        False,
        "--probe",
        help="Run every safe probe (short pods and claims in one temporary namespace, deleted afterwards); "
        "needs rights to create namespaces and pods. Each probe decides its requirement. "
        "`--probe ID[,ID...]` is --probes.",
    ),
    probes: str | None = typer.Option(
        None,
        "--probes",
        metavar="ID[,ID...]",
        show_default=False,
        help=f"Run these probes only (implies --probe): {', '.join(_PROBE_IDS)}.",
    ),
    probe_mechanism: str = typer.Option("auto", "--probe-mechanism", help="auto, device-plugin or dra."),
    probe_image: str = typer.Option(
        _PROBE_IMAGE,
        "--probe-image",
        help="Image with a POSIX shell for the probe pods (use a mirror in air-gapped clusters).",
    ),
    probe_node: str | None = typer.Option(
        None, "--probe-node", show_default=False, help="Probe this node (its taints are tolerated)."
    ),
    probe_timeout: str = typer.Option(
        "90s",
        "--probe-timeout",
        help="Longest wait for the probes, all running side by side. Inside it, waits end early where waiting "
        f"cannot help: a pod the scheduler calls unschedulable after {_probe_limits.UNSCHEDULABLE_GRACE:.0f}s, "
        f"no Kueue Workload for the gang after {_probe_limits.WORKLOAD_WAIT:.0f}s, no status from the AI "
        f"operator after {_probe_limits.RECONCILE_WAIT:.0f}s, no report on the route from the Gateway's "
        f"controller after {_probe_limits.ROUTE_WAIT:.0f}s. Deleting the namespace afterwards waits up to "
        f"{_probe_limits.NAMESPACE_GONE_TIMEOUT:.0f}s more.",
    ),
    allow_scale_up: bool = typer.Option(
        False,
        "--allow-scale-up",
        help="Let the opt-in cluster_autoscaling probe add a node (`--probe cluster_autoscaling --allow-scale-up`): "
        "one pending accelerator pod must get a new node within --probe-timeout; the pod and the node's "
        "NodeClaim are deleted afterwards.",
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the probe namespace for debugging."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="With --probe: print the probe plan (-o yaml: the manifests) and create nothing."
    ),
    connection: ConnectOptions | None = None,
) -> None:
    """Check the cluster, requirement by requirement (read-only unless --probe)."""
    from kubectl_aiconf.output import FORMATS, OutputError, render
    from kubectl_aiconf.result import Report
    from kubectl_aiconf.runner import run_checks

    if output not in FORMATS:
        raise UsageError(f"unknown output format {output!r}; use one of {', '.join(FORMATS)}")
    from kubectl_aiconf.probe import command as probe_command

    try:
        probe_options = probe_command.options(
            probe,
            probes,
            probe_mechanism,
            probe_image,
            probe_node,
            probe_timeout,
            keep,
            dry_run,
            snapshot,
            allow_scale_up=allow_scale_up,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    options = _render_options(output, no_color, metadata, evidence_dir, template, probing=bool(probe_options))
    if options.template is not None and not conformance_version:
        from kubectl_aiconf.output.product_yaml import template_version

        conformance_version = template_version(options.template)
    if conformance_version:
        _checklist_version(conformance_version, None, [])  # reject a bad version before connecting
    waivers, baseline_docs = _waivers_and_baseline(waivers_file, baseline)
    from kubectl_aiconf import fleet

    if fleet.is_fleet(context, all_contexts):
        if snapshot or probe_options:
            raise UsageError("several clusters are checked read-only and live: no --snapshot, no --probe")
        if metadata:
            raise UsageError("--metadata describes one platform; it cannot be combined with several contexts")
        # These name one server or one identity: given to every context they would check one cluster N times.
        single = [f for f in (connection.given() if connection else []) if f not in _FLEET_FLAGS]
        if single:
            raise UsageError(f"{', '.join(single)} cannot be combined with several contexts")
        try:
            contexts = fleet.contexts_for(kubeconfig, context, all_contexts)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if len(contexts) > 1 or all_contexts:
            _check_fleet(
                contexts,
                lambda name: _open_view(None, kubeconfig, name, request_timeout, conformance_version, connection),
                conformance_version,
                options,
                waivers,
                baseline_docs,
                unconfirmed_ok,
            )
        context = contexts[0]
    view = _open_view(snapshot, kubeconfig, context, request_timeout, conformance_version, connection)
    warnings: list[str] = []
    version = _checklist_version(conformance_version, view.kubernetes_version, warnings)
    overrides = None
    if probe_options:
        from kubectl_aiconf.catalogue import requirements_for

        try:
            selected = probe_command.for_checklist(probe_options, {r.id for r in requirements_for(version)})
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if dry_run:
            typer.echo(probe_command.dry_run(view, selected, probe_options.options, output))
            raise typer.Exit(0)
        probe_run = probe_command.run(view, selected, probe_options.options, keep)
        overrides = probe_run.overrides
        if evidence_dir:
            _save_probe_evidence(probe_run.records, evidence_dir)
            options = dataclasses.replace(options, probe_evidence=probe_command.evidence_links(probe_run.records))
    _progress("Reading the cluster...")
    started = time.perf_counter()
    try:
        results = run_checks(view, version, overrides)
    finally:
        _progress("")
    if _state["debug"]:
        typer.echo(f"debug: {view.stats()} in {time.perf_counter() - started:.2f}s", err=True)
        timed = sorted((x.timing for x in view.listings() if x.timing), key=lambda t: -t.seconds)
        for timing in timed[:5]:
            typer.echo(f"debug:   {timing}", err=True)
    report = Report(version, view.kubernetes_version, view.context, view.source, results, warnings)
    _apply_waivers(report, waivers)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    try:
        text = render(report, options)
    except OutputError as exc:
        raise UsageError(str(exc)) from None
    if evidence_dir and output == "product-yaml":  # after rendering: a failed draft leaves no report files
        _save_evidence(report, options, evidence_dir)
    typer.echo(text)
    if baseline_docs is not None:
        raise typer.Exit(_compare_baseline(baseline_docs, [report], fleet=False))
    raise typer.Exit(report.exit_code(unconfirmed_ok))


_FLEET_FLAGS = ("--as", "--as-group", "--as-uid", "--insecure-skip-tls-verify")  # the same meaning on every cluster


def _waivers_and_baseline(waivers_file: str | None, baseline: str | None):
    """The waivers and the baseline report(s), read before connecting so that mistakes show first."""
    from kubectl_aiconf.diff import DiffError
    from kubectl_aiconf.diff import load as load_report
    from kubectl_aiconf.waivers import WaiverError
    from kubectl_aiconf.waivers import load as load_waivers

    try:
        return (
            load_waivers(waivers_file) if waivers_file else [],
            load_report(baseline) if baseline else None,
        )
    except (WaiverError, DiffError) as exc:
        raise UsageError(str(exc)) from None


def _apply_waivers(report, waivers) -> None:
    if waivers:
        from kubectl_aiconf.waivers import apply

        apply(report, waivers)


def _compare_baseline(baseline_docs, reports, fleet: bool) -> int:
    """What changed since the baseline, on stderr (stdout keeps the report, the next run's baseline); the exit
    code says whether anything regressed."""
    from kubectl_aiconf.diff import of_reports, render_table

    changes = of_reports(baseline_docs, reports, fleet)
    typer.echo("\nSince the baseline:\n" + render_table(changes), err=True)
    return changes.exit_code()


def _check_fleet(contexts, connect, conformance_version, options, waivers, baseline_docs, unconfirmed_ok) -> None:
    """`check` of several clusters at once: each as a single run checks it; the worst exit code (fleet.py)."""
    from kubectl_aiconf import fleet
    from kubectl_aiconf.output import OutputError, fleet_renderer, render_fleet
    from kubectl_aiconf.result import Report
    from kubectl_aiconf.runner import run_checks
    from kubectl_aiconf.view import LoadError
    from kubectl_aiconf.view.kubeconfig import KubeconfigError

    if fleet_renderer(options.format) is None:
        from kubectl_aiconf.output import FORMATS

        usable = ", ".join(f for f in FORMATS if fleet_renderer(f) is not None)
        raise UsageError(f"-o {options.format} describes one cluster; for several use one of {usable}")

    def check_one(name: str) -> Report:
        view = connect(name)
        warnings: list[str] = []
        version = _checklist_version(conformance_version, view.kubernetes_version, warnings)
        report = Report(version, view.kubernetes_version, name, view.source, run_checks(view, version), warnings)
        _apply_waivers(report, waivers)
        return report

    _progress(f"Checking {len(contexts)} clusters...")
    try:
        reports = fleet.check_all(contexts, check_one, (UsageError, LoadError, KubeconfigError))
    finally:
        _progress("")
    for report in reports:
        for warning in getattr(report, "warnings", ()):
            typer.echo(f"warning: {report.context}: {warning}", err=True)
    try:
        text = render_fleet(reports, options)
    except OutputError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(text)
    if baseline_docs is not None:
        raise typer.Exit(_compare_baseline(baseline_docs, reports, fleet=True))
    raise typer.Exit(fleet.exit_code(reports, unconfirmed_ok))


def _render_options(
    output: str,
    no_color: bool,
    metadata: str | None,
    evidence_dir: str | None,
    template: str | None,
    probing: bool = False,
) -> RenderOptions:
    """The options of the output format; the files of --metadata and --template are read here, up front, so that
    mistakes show before connecting."""
    from kubectl_aiconf.output import OutputError, RenderOptions

    if template and output != "product-yaml":
        raise UsageError("--template only applies to -o product-yaml")
    if evidence_dir and output != "product-yaml" and not probing:
        raise UsageError("--evidence-dir applies to -o product-yaml, or to any -o with --probe")
    if metadata and output not in ("product-yaml", "markdown"):
        raise UsageError("--metadata only applies to -o product-yaml and -o markdown")
    color = output in ("table", "wide") and _use_color(no_color, sys.stdout)
    if not (metadata or template or (evidence_dir and output == "product-yaml")):
        return RenderOptions(output, color=color)
    from kubectl_aiconf.output.product_yaml import REPORT_FILES, load_metadata, load_template

    try:
        return RenderOptions(
            output,
            color=color,
            metadata=load_metadata(metadata) if metadata else {},
            template=load_template(template) if template else None,
            evidence_files=REPORT_FILES if evidence_dir and output == "product-yaml" else (),
        )
    except OutputError as exc:
        raise UsageError(str(exc)) from None


def _save_probe_evidence(records: list, directory: str) -> None:
    """junit.xml and e2e.log of the probe run, written as soon as the probes are done."""
    from kubectl_aiconf.probe import evidence

    try:
        names = evidence.write(directory, records)
    except OSError as exc:
        raise UsageError(f"cannot write evidence files to {directory}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {' and '.join(names)} to {directory}", err=True)


def _save_evidence(report: Report, options: RenderOptions, directory: str) -> None:
    """Save the tool's reports where PRODUCT.yaml goes: the renderer only lists them, writing files is ours."""
    from kubectl_aiconf.output.product_yaml import evidence_documents

    try:
        os.makedirs(directory, exist_ok=True)
        for name, content in evidence_documents(report, options).items():
            with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
                f.write(content)
    except OSError as exc:
        raise UsageError(f"cannot write evidence files to {directory}: {exc.strerror or exc}") from None


@app.command()
def diff(
    old: str = typer.Argument(..., help="The earlier JSON (or YAML) report of `check -o json`.", show_default=False),
    new: str = typer.Argument(..., help="The later report.", show_default=False),
    output: str = typer.Option("table", "-o", "--output", help="table, json or yaml."),
) -> None:
    """What changed between two reports (one cluster or several): exit 1 only if a MUST regressed."""
    from kubectl_aiconf.diff import DiffError, compare, load, render

    if output not in ("table", "json", "yaml"):
        raise UsageError(f"unknown output format {output!r}; use table, json or yaml")
    try:
        changes = compare(load(old), load(new))
    except DiffError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(render(changes, output))
    raise typer.Exit(changes.exit_code())


@app.command()
def requirements(
    conformance_version: str = typer.Option(
        None, "--conformance-version", help="Checklist version X.Y (default: the newest final checklist)."
    ),
    output: str = typer.Option("table", "-o", "--output", help="table, json or yaml."),
) -> None:
    """List the requirements of a checklist version."""
    from kubectl_aiconf.catalogue import CATEGORIES, NEWEST_FINAL, requirements_for

    conformance_version = conformance_version or NEWEST_FINAL
    _checklist_version(conformance_version, None, [])
    reqs = requirements_for(conformance_version)
    rows = [
        {"id": r.id, "category": r.category, "level": r.level(conformance_version), "description": r.description}
        for r in reqs
    ]
    if output == "json":
        import json

        typer.echo(json.dumps({"conformanceVersion": conformance_version, "requirements": rows}, indent=2))
    elif output == "yaml":
        import yaml

        typer.echo(
            yaml.safe_dump({"conformanceVersion": conformance_version, "requirements": rows}, sort_keys=False).rstrip()
        )
    elif output == "table":
        from tabulate import tabulate

        typer.echo(
            tabulate(
                [[r.id, CATEGORIES[r.category], r.level(conformance_version), r.description] for r in reqs],
                headers=["REQUIREMENT", "CATEGORY", "LEVEL", "DESCRIPTION"],
                tablefmt="plain",
                disable_numparse=True,
            )
        )
    else:
        raise UsageError(f"unknown output format {output!r}; use table, json or yaml")


@app.command()
@_connects
def snapshot(
    output_dir: str = typer.Option(..., "-o", "--output-dir", help="Directory to write the snapshot into."),
    conformance_version: str | None = VersionOpt,
    kubeconfig: str | None = KubeconfigOpt,
    context: str | None = ContextOpt,
    request_timeout: str = TimeoutOpt,
    connection: ConnectOptions | None = None,
) -> None:
    """Write what the checks read (never Secrets) so that `check --snapshot DIR` reproduces the result."""
    from kubectl_aiconf.runner import reads_for
    from kubectl_aiconf.text import plural
    from kubectl_aiconf.view import Outcome
    from kubectl_aiconf.view.snapshot import write_snapshot

    view = _open_view(None, kubeconfig, context, request_timeout, conformance_version, connection)
    version = _checklist_version(conformance_version, view.kubernetes_version, [])
    _progress("Reading the cluster...")
    try:
        view.load(reads_for(version))
    finally:
        _progress("")
    try:
        files = write_snapshot(view, output_dir)
    except OSError as exc:
        raise UsageError(f"cannot write the snapshot to {output_dir}: {exc.strerror or exc}") from None
    # The snapshot records unreadable listings (check --snapshot turns them into UNKNOWN), but a user or a
    # CI job must not have to open it to learn that: one line each on stderr.
    unreadable = _unreadable_listings(view)
    for line in unreadable:
        typer.echo(f"warning: {line}", err=True)
    typer.echo(
        f"wrote {len(files)} files to {output_dir}"
        + (
            f" ({plural(len(unreadable), 'listing')} could not be read: recorded as such, UNKNOWN to the "
            "checks that need them)"
            if unreadable
            else ""
        ),
        err=True,
    )
    # Forbidden lists are what this identity can see, the same on every run: the snapshot is faithful, exit 0.
    # A failed list (server error, timeout, broken connection) is an accident a retry may not repeat: exit 3.
    failed = any(listing.outcome is Outcome.ERROR for listing in view.listings())
    raise typer.Exit(EXIT_SNAPSHOT_INCOMPLETE if failed else 0)


EXIT_SNAPSHOT_INCOMPLETE = 3  # written, but a listing failed: take it again (like check's 3, "not confirmed")


def _unreadable_listings(view) -> list[str]:
    """One phrase per listing that was forbidden or failed, in a stable order, duplicates merged.

    One line each even when the server's message spans several (or carries escape sequences)."""
    from kubectl_aiconf.text import one_line

    phrases = [
        one_line(listing.why_unknown())
        for listing in sorted(view.listings(), key=lambda listing: listing.resource.key)
        if not listing.visible
    ]
    return list(dict.fromkeys(phrases))


@app.command()
def validate(
    files: list[str] = typer.Argument(
        ...,
        help="PRODUCT.yaml files (the version comes from a vX.Y/ directory in the path, as in the CNCF repository).",
        show_default=False,
    ),
    offline: bool = typer.Option(False, "--offline", help="Skip the URL and vendor-name checks that need the network."),
    rules: str = typer.Option(
        "v2",
        "--rules",
        help="v2 (CNCF's validator since September 2026: file:// evidence, test results read, N/A "
        "cluster_autoscaling) or v1 (the validator before, for earlier submissions).",
    ),
    output: str = typer.Option("text", "-o", "--output", help="text or json."),
) -> None:
    """Validate PRODUCT.yaml files with CNCF's rules before submitting them."""
    from kubectl_aiconf.submission import UsageError as ValidateUsageError
    from kubectl_aiconf.submission.validate import run_validate

    try:
        code = run_validate(files, offline, rules, output)
    except ValidateUsageError as exc:
        raise UsageError(str(exc)) from None
    raise typer.Exit(code)


@app.command()
@_connects
def cleanup(
    kubeconfig: str | None = KubeconfigOpt,
    context: str | None = ContextOpt,
    request_timeout: str = TimeoutOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be deleted."),
    connection: ConnectOptions | None = None,
) -> None:
    """Delete probe namespaces that earlier `check --probe` runs left behind (found by their label)."""
    from kubectl_aiconf.probe import command as probe_command

    view = _open_view(None, kubeconfig, context, request_timeout, None, connection)
    raise typer.Exit(probe_command.cleanup(view.conn, dry_run))


@app.command()
def install(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the manifests (required: install never changes the cluster itself)."
    ),
    output: str = typer.Option("yaml", "-o", "--output", help="yaml or json."),
    sonobuoy: bool = typer.Option(
        False, "--sonobuoy", help="Print a Sonobuoy plugin definition (JUnit results) instead of the CronJob."
    ),
    plugin_url: str | None = typer.Option(
        None,
        "--plugin-url",
        show_default=False,
        help="Where the pod downloads the plugin: the release's kubectl-aiconf.tar.gz (or the zipapp). Required.",
    ),
    plugin_sha256: str | None = typer.Option(
        None, "--plugin-sha256", show_default=False, help="The sha256 the download must have (the release's .sha256)."
    ),
    namespace: str = typer.Option(_install.DEFAULT_NAMESPACE, "-n", "--namespace", help="Namespace of the CronJob."),
    schedule: str = typer.Option(_install.DEFAULT_SCHEDULE, "--schedule", help="Cron schedule of the check."),
    image: str = typer.Option(_install.DEFAULT_IMAGE, "--image", help="Image with python3 >= 3.10 to run it in."),
) -> None:
    """Print the manifests that run the check in the cluster: a CronJob with a read-only service account,
    or a Sonobuoy plugin. Review them, then pipe them to `kubectl apply -f -`."""
    if not dry_run:
        raise UsageError(
            "install only prints the manifests, to review before applying them: "
            "kubectl aiconf install --dry-run -o yaml --plugin-url URL | kubectl apply -f -"
        )
    if not plugin_url:
        raise UsageError(
            "--plugin-url is required: the URL the pod downloads the plugin from, e.g. the release's "
            "kubectl-aiconf.tar.gz"
        )
    options = _install.InstallOptions(plugin_url, plugin_sha256, namespace, schedule, image)
    try:
        documents = [_install.sonobuoy_plugin(options)] if sonobuoy else _install.manifests(options)
        typer.echo(_install.render(documents, output))
    except _install.InstallError as exc:
        raise UsageError(str(exc)) from None


@app.command()
def version(output: str = typer.Option("text", "-o", "--output", help="text or json.")) -> None:
    """Print the plugin version and the checklist versions it knows."""
    from kubectl_aiconf.catalogue import DRAFT_VERSIONS, VERSIONS

    if output == "json":
        import json
        import platform

        typer.echo(
            json.dumps(
                {
                    "version": __version__,
                    "checklists": list(VERSIONS),
                    "draftChecklists": sorted(DRAFT_VERSIONS),
                    "python": platform.python_version(),
                }
            )
        )
        return
    known = ", ".join(v + (" (draft)" if v in DRAFT_VERSIONS else "") for v in VERSIONS)
    typer.echo(f"kubectl-aiconf {__version__}")
    typer.echo(f"checklists: {known}")


def _probe_argv(args: list[str]) -> list[str]:
    """`check --probe ID[,ID...]` as `--probes ID[,ID...]`: typer has no option with an optional value, and
    `check` takes no arguments, so a word right after --probe can only be the probes to run."""
    if "check" not in args:
        return args
    out: list[str] = []
    words = iter(args)
    for word in words:
        if word == "--":
            out += [word, *words]
        elif word.startswith("--probe="):
            out.append("--probes=" + word[len("--probe=") :])
        elif word == "--probe":
            following = next(words, None)
            if following is None:
                out.append(word)
            elif following.startswith("-"):
                out += [word, following]
            else:
                out += ["--probes", following]
        else:
            out.append(word)
    return out


def main() -> None:
    from kubectl_aiconf.view import LoadError, freeze_loaded_objects
    from kubectl_aiconf.view.kubeconfig import KubeconfigError

    freeze_loaded_objects()  # this process ends after its run (not so a test calling the app in-process)
    try:
        app(args=_probe_argv(sys.argv[1:]), prog_name="kubectl aiconf", standalone_mode=True)
    except (UsageError, LoadError, KubeconfigError) as exc:
        if _state["debug"]:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
