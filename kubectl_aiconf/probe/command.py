"""The probe's side of the command line: option checks, `check --probe [--dry-run]`, `cleanup`."""

from __future__ import annotations

import re
import sys

from kubectl_aiconf.probe import DEFAULT_IMAGE, DEFAULT_TIMEOUT, MECHANISMS, REQUIREMENT_ID
from kubectl_aiconf.probe.plan import PLAN_READS, PlanError, ProbeOptions, build_plan, render_plan
from kubectl_aiconf.result import CheckResult, Status


def parse_timeout(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m)?", (text or "").strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"invalid --probe-timeout {text!r}: use a duration such as 90s or 2m")
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)


def options(
    enabled: bool,
    mechanism: str,
    image: str,
    node: str | None,
    timeout: str,
    keep: bool,
    dry_run: bool,
    snapshot: str | None,
) -> ProbeOptions | None:
    """ProbeOptions from the flags, or None without --probe. Raises ValueError on bad combinations."""
    if not enabled:
        flags = (
            ("--probe-mechanism", mechanism != "auto"),
            ("--probe-image", image != DEFAULT_IMAGE),
            ("--probe-node", bool(node)),
            ("--probe-timeout", parse_timeout(timeout) != DEFAULT_TIMEOUT),
            ("--keep", keep),
            ("--dry-run", dry_run),
        )
        given = [flag for flag, on in flags if on]
        if given:
            raise ValueError(f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} with --probe")
        return None
    if snapshot:
        raise ValueError("--probe runs pods in a live cluster; it cannot be combined with --snapshot")
    if mechanism not in MECHANISMS:
        raise ValueError(f"invalid --probe-mechanism {mechanism!r}: use {', '.join(MECHANISMS)}")
    if not image.strip():
        raise ValueError("--probe-image must name an image")
    return ProbeOptions(mechanism=mechanism, image=image.strip(), node=node or None, timeout=parse_timeout(timeout))


def dry_run(view, opts: ProbeOptions, output: str, stream=None) -> str:
    """What `check --probe --dry-run` prints: the manifests (-o yaml/json) or a summary. Creates nothing;
    missing permissions are reported on stderr."""
    stream = stream or sys.stderr
    view.load(PLAN_READS)
    try:
        plan = build_plan(view, opts)
    except PlanError as exc:
        raise ValueError(f"the probe cannot run: {exc}") from None
    conn = getattr(view, "conn", None)
    if conn is not None:
        from kubectl_aiconf.probe.run import missing_permissions

        missing = missing_permissions(conn, plan)
        if missing:
            stream.write(
                "warning: the probe would stop before creating anything, missing permissions: "
                + "; ".join(missing)
                + "\n"
            )
    return render_plan(plan, output)


def overrides(view, opts: ProbeOptions, keep: bool, stream=None) -> dict[str, CheckResult]:
    """Run the probe; its result replaces the passive secure_accelerator_access result."""
    from kubectl_aiconf.probe.run import run_probe

    view.load(PLAN_READS)
    passive = _passive(view)  # read before the probe creates anything: its own pods are not the cluster's
    probed = run_probe(view, view.conn, opts, keep=keep, stream=stream)
    return {REQUIREMENT_ID: combine(probed, passive)}


def _passive(view) -> CheckResult:
    from kubectl_aiconf.catalogue import BY_ID
    from kubectl_aiconf.checks import check_for

    check = check_for(REQUIREMENT_ID, BY_ID[REQUIREMENT_ID].category)
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


def cleanup(conn, dry_run: bool = False, out=None, err=None) -> int:
    """`kubectl aiconf cleanup`: 0 when nothing is left, 1 when a namespace is still terminating, was left
    alone because a probe run may still be using it, or the namespaces cannot be listed or deleted."""
    from kubectl_aiconf.probe import cleanup as cleanup_module
    from kubectl_aiconf.probe.run import Progress
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
