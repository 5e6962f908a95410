"""Running the selected probes of one `check --probe` run: plan every probe, check every permission they need
before anything is created, create one namespace for all of them, run them side by side under one time limit,
and delete the namespace whatever happens.

A probe module (registry.PROBES) provides `READS` and `plan(view, options) -> Part`; `options.namespace` is
the run's namespace, already chosen. Its `Part.execute(ctx)` creates its objects in that namespace, waits at
most until `ctx.deadline`, and returns the requirement's CheckResult: PASS or FAIL with what it observed,
UNKNOWN saying why it could not decide. Raising PlanError from `plan` (component not found, nothing free to
probe) makes the result UNKNOWN without creating anything; an ApiError or ConnectError from `execute` makes it
UNKNOWN ("probe aborted").
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TextIO

from kubectl_aiconf.probe import cleanup
from kubectl_aiconf.probe.plan import PlanError, ProbeOptions, namespace_manifest, new_namespace_name
from kubectl_aiconf.probe.registry import ProbeInfo
from kubectl_aiconf.result import CheckResult, Reason, Status
from kubectl_aiconf.view import ClusterView, LoadError
from kubectl_aiconf.view.live import ApiError, ConnectError, Connection

Permission = tuple[str, str, str, str, str]  # verb, group, resource, subresource, namespace ("" = cluster scope)
ACTIVE_MARGIN = 120.0  # seconds after the probe timeout during which a run may still be cleaning up
SERVICE_ACCOUNT_WAIT = 20.0
NAMESPACE_PERMISSIONS: tuple[Permission, ...] = (
    ("create", "", "namespaces", "", ""),
    ("get", "", "namespaces", "", ""),
    ("delete", "", "namespaces", "", ""),
)


class Stopped(Exception):
    """The run was interrupted: a probe's wait ends at once."""


@dataclass
class Context:
    """What a probe's `execute` gets: the connection, the run's namespace, its deadline and progress line."""

    conn: Connection
    namespace: str
    deadline: float  # time.monotonic() value
    timeout: float
    progress: Callable[[str], None]
    stop: threading.Event = field(default_factory=threading.Event)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def sleep(self, seconds: float) -> None:
        """Sleep, ending early (raising Stopped) when the run is interrupted."""
        if self.stop.wait(max(0.0, seconds)):
            raise Stopped()

    def create(self, collection: str, body: dict) -> dict:
        """POST `body` to `collection`, waiting for a brand-new namespace's default ServiceAccount."""
        give_up = time.monotonic() + SERVICE_ACCOUNT_WAIT
        while True:
            try:
                return self.conn.request("POST", collection, body=body)
            except ApiError as exc:
                if "serviceaccount" in str(exc).lower() and time.monotonic() < give_up:
                    self.sleep(0.5)
                    continue
                raise


@dataclass
class Part:
    """One probe's plan: what it creates (in the probe namespace, in order), the permissions that needs, a
    summary for --dry-run, and how to run it."""

    objects: list[dict]
    permissions: list[Permission]
    execute: Callable[[Context], CheckResult]
    summary: list[str] = field(default_factory=list)
    # Holds accelerators while it runs: such parts run one after another (each planned on the devices free
    # before the run), the others beside them.
    holds_devices: bool = False


@dataclass
class Record:
    """What one probe did, for the progress, the result and the evidence files (junit.xml, e2e.log)."""

    probe: ProbeInfo
    result: CheckResult
    started: datetime
    namespace: str = ""
    seconds: float = 0.0
    ran: bool = False  # False: could not run at all (plan error, permissions), nothing of it was created
    log: list[tuple[datetime, str]] = field(default_factory=list)


class Progress:
    """`probe [  2.1s] message` lines on stderr; each probe's lines are also kept for e2e.log."""

    def __init__(self, stream: TextIO | None = None) -> None:
        import sys

        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.lock = threading.Lock()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: str) -> None:
        with self.lock:
            self.stream.write(f"probe [{self.elapsed:5.1f}s] {message}\n")
            self.stream.flush()

    def for_probe(self, record: Record, prefix: bool) -> Callable[[str], None]:
        def say(message: str) -> None:
            record.log.append((datetime.now(timezone.utc), message))
            self(f"{record.probe.id}: {message}" if prefix else message)

        return say


def unknown(message: str, reason: Reason = Reason.PROBE_INCONCLUSIVE) -> CheckResult:
    return CheckResult(Status.UNKNOWN, message, reason=reason)


def describe_permission(verb: str, group: str, resource: str, subresource: str, namespace: str) -> str:
    what = resource + (f"/{subresource}" if subresource else "") + (f".{group}" if group else "")
    where = "in the probe namespace" if namespace else "(cluster scope)"
    return f"{verb} {what} {where}"


def missing_permissions(conn: Connection, perms: list[Permission]) -> dict[Permission, str]:
    """Every permission that SelfSubjectAccessReview denies (or cannot confirm), with how to say so."""

    def review(perm: Permission) -> str | None:
        verb, group, resource, subresource, namespace = perm
        attrs = {"verb": verb, "group": group, "resource": resource}
        if subresource:
            attrs["subresource"] = subresource
        if namespace:
            attrs["namespace"] = namespace
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        }
        try:
            answer = conn.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body)
        except ApiError as exc:
            return f"{describe_permission(*perm)} (cannot check: {exc})"
        return None if (answer.get("status") or {}).get("allowed") else describe_permission(*perm)

    perms = list(dict.fromkeys(perms))
    if not perms:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(perms))) as pool:
        answers = list(pool.map(review, perms))
    return {perm: why for perm, why in zip(perms, answers) if why}


# planning -----------------------------------------------------------------------------------------------------
@dataclass
class Planned:
    namespace: str
    options: ProbeOptions
    parts: dict[str, Part]  # probe id -> its plan, for the probes that can run
    cannot: dict[str, str]  # probe id -> why it cannot run (PlanError)


def plan_all(view: ClusterView, probes: list[ProbeInfo], options: ProbeOptions) -> Planned:
    modules = {p.id: p.load() for p in probes}
    view.load(tuple(dict.fromkeys(r for m in modules.values() for r in m.READS)))
    options = replace(options, namespace=options.namespace or new_namespace_name())
    parts: dict[str, Part] = {}
    cannot: dict[str, str] = {}
    for probe in probes:
        try:
            parts[probe.id] = modules[probe.id].plan(view, options)
        except PlanError as exc:
            cannot[probe.id] = str(exc)
        except Exception as exc:  # noqa: BLE001 - one probe's bug must not stop the others
            cannot[probe.id] = f"its plan failed: {type(exc).__name__}: {exc}"
    return Planned(options.namespace or "", options, parts, cannot)


def render(planned: Planned, probes: list[ProbeInfo], output: str) -> str:
    """What --dry-run prints: every manifest (-o yaml: multi-document, -o json: a v1 List) or a summary."""
    manifests = [namespace_manifest(planned.namespace)] + [o for part in planned.parts.values() for o in part.objects]
    if output == "yaml":
        import yaml

        return yaml.safe_dump_all(manifests, sort_keys=False).rstrip()
    if output == "json":
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}, indent=2)
    lines = [f"namespace {planned.namespace} (Pod Security restricted; shared by every probe, deleted afterwards)"]
    for probe in probes:
        lines.append(f"probe {probe.id}: creates {probe.creates}")
        if probe.id in planned.cannot:
            lines.append(f"  cannot run: {planned.cannot[probe.id]}")
            continue
        lines += [f"  {line}" for line in planned.parts[probe.id].summary]
    lines.append(
        f"image {planned.options.image}; timeout {planned.options.timeout:g}s; nothing was created "
        "(use -o yaml for the manifests)"
    )
    return "\n".join(lines)


def preflight(conn: Connection, planned: Planned) -> tuple[list[str], dict[str, list[str]]]:
    """(namespace permissions missing, probe id -> its own permissions missing), all checked before anything
    is created."""
    perms = list(NAMESPACE_PERMISSIONS) + [p for part in planned.parts.values() for p in part.permissions]
    missing = missing_permissions(conn, perms)
    shared = [missing[p] for p in NAMESPACE_PERMISSIONS if p in missing]
    own = {
        pid: list(dict.fromkeys(missing[p] for p in part.permissions if p in missing))
        for pid, part in planned.parts.items()
    }
    return shared, {pid: m for pid, m in own.items() if m}


# running ------------------------------------------------------------------------------------------------------
def run_suite(
    view: ClusterView,
    conn: Connection,
    probes: list[ProbeInfo],
    options: ProbeOptions,
    keep: bool = False,
    stream: TextIO | None = None,
) -> list[Record]:
    """Plan, preflight, run and clean up; one Record per probe, in the order given.

    Interrupts (Ctrl-C, SIGTERM, SIGHUP) stop every probe, clean up, then propagate as KeyboardInterrupt.
    """
    progress = Progress(stream)
    now = datetime.now(timezone.utc)
    records = {p.id: Record(p, unknown("probe did not run"), now) for p in probes}
    prefix = len(probes) > 1
    says = {p.id: progress.for_probe(records[p.id], prefix) for p in probes}
    for probe in probes:
        says[probe.id](f"creates {probe.creates}")
    planned = plan_all(view, probes, options)
    for record in records.values():
        record.namespace = planned.namespace
    for pid, why in planned.cannot.items():
        says[pid](f"cannot run: {why}")
        records[pid].result = unknown(f"probe cannot run: {why}")
    if not planned.parts:
        return list(records.values())
    try:
        shared, own = preflight(conn, planned)
    except ConnectError as exc:
        for pid in planned.parts:
            records[pid].result = unknown(f"probe cannot run: {exc}")
        return list(records.values())
    if shared:
        progress("missing permissions, nothing created: " + "; ".join(shared))
        for pid in planned.parts:
            records[pid].result = unknown(
                "probe cannot run, missing permissions (nothing was created): " + "; ".join(shared + own.get(pid, []))
            )
        return list(records.values())
    for pid, missing in own.items():
        says[pid]("missing permissions, not run: " + "; ".join(missing))
        records[pid].result = unknown(
            "probe cannot run, missing permissions (nothing of it was created): " + "; ".join(missing)
        )
    runnable = {pid: part for pid, part in planned.parts.items() if pid not in own}
    if not runnable:
        return list(records.values())

    namespace = planned.namespace
    created = False
    note = ""
    stop = threading.Event()
    with cleanup.interrupts_as_keyboard_interrupt():
        pool = ThreadPoolExecutor(max_workers=len(runnable))
        try:
            manifest = namespace_manifest(namespace)
            if not keep:
                # `kubectl aiconf cleanup` leaves the namespace of a run that may still be going on alone.
                until = datetime.now(timezone.utc) + timedelta(seconds=options.timeout + ACTIVE_MARGIN)
                manifest["metadata"]["annotations"] = {cleanup.ACTIVE_UNTIL: until.strftime("%Y-%m-%dT%H:%M:%SZ")}
            created = True  # first: an interrupt while the request is in flight must still lead to a DELETE
            try:
                conn.request("POST", "/api/v1/namespaces", body=manifest)
            except ApiError as exc:
                if exc.status == 409:  # not ours: never delete it
                    created = False
                raise
            progress(f"created namespace {namespace} (Pod Security: restricted)")
            deadline = time.monotonic() + options.timeout
            chains = [[pid] for pid, part in runnable.items() if not part.holds_devices]
            chains.append([pid for pid, part in runnable.items() if part.holds_devices])
            contexts = {pid: Context(conn, namespace, deadline, options.timeout, says[pid], stop) for pid in runnable}
            pending = {
                pool.submit(_execute_chain, [(runnable[pid], contexts[pid], records[pid]) for pid in chain])
                for chain in chains
                if chain
            }
            while pending:  # short waits, so that the main thread sees Ctrl-C and signals at once
                _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:
            stop.set()
            progress("interrupted; cleaning up")
            raise
        except (ApiError, ConnectError) as exc:
            progress(f"failed: {exc}")
            for pid in runnable:
                records[pid].result = unknown(f"probe aborted: {exc}")
        finally:
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            if created:
                note = _remove_namespace(conn, namespace, keep, progress)
    if note:
        for pid in runnable:
            r = records[pid].result
            records[pid].result = CheckResult(r.status, f"{r.message} ({note})", r.evidence, r.reason)
    return list(records.values())


def _execute_chain(chain: list[tuple[Part, Context, Record]]) -> None:
    for part, ctx, record in chain:
        if ctx.stop.is_set():
            return
        _execute(part, ctx, record)


def _execute(part: Part, ctx: Context, record: Record) -> None:
    record.started = datetime.now(timezone.utc)
    record.ran = True
    started = time.monotonic()
    try:
        record.result = part.execute(ctx)
    except Stopped:
        record.result = unknown("probe interrupted")
    except (ApiError, ConnectError) as exc:
        ctx.progress(f"failed: {exc}")
        record.result = unknown(f"probe aborted: {exc}")
    except Exception as exc:  # noqa: BLE001 - one probe's bug must not leave the others' namespace behind
        ctx.progress(f"failed: {type(exc).__name__}: {exc}")
        record.result = unknown(f"probe failed to run: {type(exc).__name__}: {exc}")
    record.seconds = time.monotonic() - started
    ctx.progress(f"done in {record.seconds:.1f}s: {record.result.status}")


def _remove_namespace(conn: Connection, namespace: str, keep: bool, progress: Callable[[str], None]) -> str:
    """Delete the run's namespace (unless --keep); a note for the results when it did not go away."""
    if keep:
        progress(
            f"keeping namespace {namespace} (--keep); remove it with "
            f"`kubectl delete namespace {namespace}` or `kubectl aiconf cleanup`"
        )
        return ""
    try:
        if not cleanup.delete_namespace(conn, namespace, progress):
            return f"namespace {namespace} was still terminating at the end"
    except (ApiError, ConnectError, LoadError) as exc:
        progress(f"could not delete namespace {namespace}: {exc}; run `kubectl aiconf cleanup`")
        return f"namespace {namespace} could not be deleted: {exc}"
    return ""
