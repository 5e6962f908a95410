"""The probes' side of the command line: option checks, `check --probe [--dry-run]`, `cleanup`."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from kubectl_aiconf.probe import DEFAULT_IMAGE, DEFAULT_TIMEOUT, MECHANISMS
from kubectl_aiconf.probe.plan import ProbeOptions
from kubectl_aiconf.probe.registry import ProbeInfo, select
from kubectl_aiconf.result import CheckResult, Status


def parse_timeout(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m)?", (text or "").strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"invalid --probe-timeout {text!r}: use a duration such as 90s or 2m")
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)


@dataclass
class Selection:
    """What `--probe`/`--probes` asked for."""

    probes: list[ProbeInfo]
    options: ProbeOptions
    named: bool  # the user named the probes (else: the default set)


def options(
    enabled: bool,
    probes: str | None,
    mechanism: str,
    image: str,
    node: str | None,
    timeout: str,
    keep: bool,
    dry_run: bool,
    snapshot: str | None,
    allow_scale_up: bool = False,
) -> Selection | None:
    """The selection from the flags, or None without --probe/--probes. Raises ValueError on bad combinations."""
    if not enabled and probes is None:
        flags = (
            ("--probe-mechanism", mechanism != "auto"),
            ("--probe-image", image != DEFAULT_IMAGE),
            ("--probe-node", bool(node)),
            ("--probe-timeout", parse_timeout(timeout) != DEFAULT_TIMEOUT),
            ("--keep", keep),
            ("--dry-run", dry_run),
            ("--allow-scale-up", allow_scale_up),
        )
        given = [flag for flag, on in flags if on]
        if given:
            raise ValueError(f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} with --probe")
        return None
    if probes is not None and not probes.strip():
        raise ValueError("--probes needs probe ids, e.g. --probes workload_sandboxing,dra_support")
    selected = select(probes)
    if snapshot:
        raise ValueError("--probe runs pods in a live cluster; it cannot be combined with --snapshot")
    if mechanism not in MECHANISMS:
        raise ValueError(f"invalid --probe-mechanism {mechanism!r}: use {', '.join(MECHANISMS)}")
    if not image.strip():
        raise ValueError("--probe-image must name an image")
    opts = ProbeOptions(
        mechanism=mechanism,
        image=image.strip(),
        node=node or None,
        timeout=parse_timeout(timeout),
        allow_scale_up=allow_scale_up,
    )
    return Selection(selected, opts, probes is not None)


def for_checklist(selection: Selection, requirement_ids: set[str]) -> list[ProbeInfo]:
    """The selected probes whose requirement the checklist has. Raises ValueError for a named probe it has not;
    the default set just leaves such probes out."""
    outside = [p.id for p in selection.probes if p.id not in requirement_ids]
    if outside and selection.named:
        raise ValueError(f"the checklist of this run has no requirement {', '.join(outside)}")
    return [p for p in selection.probes if p.id in requirement_ids]


def dry_run(view, probes: list[ProbeInfo], opts: ProbeOptions, output: str, stream=None) -> str:
    """What `check --probe --dry-run` prints: every probe's manifests (-o yaml/json) or a summary. Creates
    nothing; missing permissions are reported on stderr."""
    from kubectl_aiconf.probe import suite

    stream = stream or sys.stderr
    planned = suite.plan_all(view, probes, opts)
    if output in ("yaml", "json"):  # the summary says it itself
        for pid, why in planned.cannot.items():
            stream.write(f"warning: probe {pid} cannot run: {why}\n")
    conn = getattr(view, "conn", None)
    if conn is not None and planned.parts:
        shared, own = suite.preflight(conn, planned)
        for line in shared + [f"{pid}: {m}" for pid, missing in own.items() for m in missing]:
            stream.write(f"warning: missing permission, the probes would stop before creating anything: {line}\n")
    return suite.render(planned, probes, output)


@dataclass
class ProbeRun:
    """The results of a probe run, as overrides of the passive results, and its records for the evidence."""

    overrides: dict[str, CheckResult]
    records: list = field(default_factory=list)


def run(view, probes: list[ProbeInfo], opts: ProbeOptions, keep: bool, stream=None) -> ProbeRun:
    """Run the probes; each one's result replaces its requirement's passive result (combine)."""
    from kubectl_aiconf.probe import suite

    modules = [p.load() for p in probes]
    view.load(tuple(dict.fromkeys(r for m in modules for r in m.READS)))
    # Read before the probes create anything: their own pods are not the cluster's.
    passive = {p.id: _passive(view, p.id) for p in probes}
    records = suite.run_suite(view, view.conn, probes, opts, keep=keep, stream=stream)
    return ProbeRun({r.probe.id: combine(r.result, passive[r.probe.id]) for r in records}, records)


def _passive(view, requirement: str) -> CheckResult:
    from kubectl_aiconf.catalogue import BY_ID
    from kubectl_aiconf.checks import check_for

    check = check_for(requirement, BY_ID[requirement].category)
    view.load(check.reads)
    return check.run(view)


def combine(probed: CheckResult, passive: CheckResult) -> CheckResult:
    """A probe that passed or failed decides. One that could not decide does not hide what the passive check
    found: a passive FAIL or WARN stands, with the probe's reason added."""
    if probed.status in (Status.PASS, Status.FAIL) or passive.status not in (Status.FAIL, Status.WARN):
        return CheckResult(probed.status, probed.message, list(probed.evidence) + list(passive.evidence), probed.reason)
    return CheckResult(
        passive.status,
        f"{passive.message} ({probed.message})",
        list(passive.evidence) + list(probed.evidence),
        passive.reason,
    )


def evidence_links(records: list) -> dict[str, tuple[str, ...]]:
    """The probe files each requirement's evidence list in PRODUCT.yaml names: those of the probes that decided
    (PASS or FAIL). Not for the requirements CNCF's validator ties to an upstream test (auto-tested): it would
    look for that test in junit.xml, and these files hold this tool's probes, not that suite's run."""
    from kubectl_aiconf.probe.evidence import FILES
    from kubectl_aiconf.submission.artifacts import AUTO_TESTED

    return {
        r.probe.id: FILES
        for r in records
        if r.result.status in (Status.PASS, Status.FAIL) and r.probe.id not in AUTO_TESTED
    }


def cleanup(conn, dry_run: bool = False, out=None, err=None) -> int:
    """`kubectl aiconf cleanup`: 0 when nothing is left, 1 when a namespace is still terminating, was left
    alone because a probe run may still be using it, or the namespaces cannot be listed or deleted."""
    from kubectl_aiconf.probe import cleanup as cleanup_module
    from kubectl_aiconf.probe.suite import Progress
    from kubectl_aiconf.view.live import ApiError

    out, err = out or sys.stdout, err or sys.stderr
    progress = Progress(err)
    try:
        removed, still, in_use = cleanup_module.cleanup_leftovers(conn, progress, dry_run=dry_run)
    except ApiError as exc:
        err.write(f"error: cannot clean up probe namespaces: {exc}\n")
        return 1
    if not (removed or still or in_use):
        out.write("no probe namespaces left behind\n")
        return 0
    verb = "would delete" if dry_run else "deleted"
    for name in removed:
        out.write(f"{verb} namespace {name}\n")
    for name in still:
        out.write(f"namespace {name} is still terminating\n")
    for name in in_use:
        out.write(f"left namespace {name} alone: a probe run may still be using it; run cleanup again later\n")
    return 1 if still or in_use else 0
