"""Removing what the probe created: its namespace (everything else lives inside it), now or later.

Every probe object is in one namespace labelled for the plugin, so deleting that namespace and waiting until
the API server has forgotten it is the whole cleanup. `kubectl aiconf cleanup` finds namespaces left by
runs that could not clean up (killed with SIGKILL, lost connection) by that label.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from kubectl_aiconf.probe import NAMESPACE_GONE_TIMEOUT
from kubectl_aiconf.probe.plan import NAMESPACE_PREFIX, PROBE_SELECTOR
from kubectl_aiconf.view.live import ApiError, Connection

# Set by a run on its namespace: until then the run that created it may still be using it.
ACTIVE_UNTIL = "kubectl-aiconf/active-until"
POLL_SECONDS = 0.5

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def request_namespace_deletion(conn: Connection, name: str) -> bool:
    """Ask for the namespace to be deleted; False when it does not exist (any more)."""
    try:
        conn.request(
            "DELETE",
            f"/api/v1/namespaces/{name}",
            body={"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"},
        )
        return True
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise


def wait_namespace_gone(conn: Connection, name: str, timeout: float = NAMESPACE_GONE_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.request("GET", f"/api/v1/namespaces/{name}")
        except ApiError as exc:
            if exc.status == 404:
                return True
            raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def delete_namespace(conn: Connection, name: str, progress: Progress = _quiet, timeout: float | None = None) -> bool:
    """Delete the namespace and wait until it is gone. Returns False when it is still terminating at the end.

    The DELETE itself is shielded from Ctrl-C/SIGTERM (it takes milliseconds, and skipping it would leave the
    probe behind); a second interrupt while waiting for the namespace to go away stops only the waiting.
    """
    timeout = NAMESPACE_GONE_TIMEOUT if timeout is None else timeout
    started = time.monotonic()
    try:
        with deferred_signals():
            existed = request_namespace_deletion(conn, name)
        if not existed:
            progress(f"namespace {name} is gone")
            return True
        progress(f"deleting namespace {name}; waiting until it is gone")
        gone = wait_namespace_gone(conn, name, timeout)
    except KeyboardInterrupt:
        progress(
            f"stopped waiting; namespace {name} is being deleted by the cluster "
            "(`kubectl aiconf cleanup` removes it if it stays)"
        )
        raise
    if gone:
        progress(f"namespace {name} is gone ({time.monotonic() - started:.1f}s)")
    else:
        progress(
            f"namespace {name} is still terminating after {timeout:.0f}s; `kubectl aiconf cleanup` removes it later"
        )
    return gone


def leftover_namespaces(conn: Connection) -> list[dict]:
    """Probe namespaces of earlier runs: labelled for the plugin's probe and named like one."""
    listing = conn.request("GET", "/api/v1/namespaces", query=[("labelSelector", PROBE_SELECTOR)])
    return [
        ns
        for ns in listing.get("items") or []
        if ((ns.get("metadata") or {}).get("name") or "").startswith(NAMESPACE_PREFIX)
    ]


def active_until(namespace: dict, now: datetime | None = None) -> datetime | None:
    """When a probe run may still be using `namespace` (None when it is no longer, or was kept)."""
    value = ((namespace.get("metadata") or {}).get("annotations") or {}).get(ACTIVE_UNTIL)
    try:
        until = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return until if until and until > (now or datetime.now(timezone.utc)) else None


def cleanup_leftovers(
    conn: Connection, progress: Progress = _quiet, dry_run: bool = False, timeout: float = NAMESPACE_GONE_TIMEOUT
) -> tuple[list[str], list[str], list[str]]:
    """Delete every leftover probe namespace, except those a run may still be using.

    Returns (names removed, names still terminating, names left alone because a run may be using them).
    """
    found, in_use = [], []
    for ns in leftover_namespaces(conn):
        until = active_until(ns)
        if until:
            name = ns["metadata"]["name"]
            in_use.append(name)
            progress(
                f"leaving namespace {name} alone: a probe run may be using it until {until.strftime('%H:%M:%S')} UTC"
            )
        else:
            found.append(ns)
    names = [ns["metadata"]["name"] for ns in found]
    if dry_run or not names:
        return names, [], in_use
    for ns in found:
        meta = ns["metadata"]
        phase = (ns.get("status") or {}).get("phase") or "Active"
        progress(f"deleting namespace {meta['name']} (created {meta.get('creationTimestamp', '?')}, {phase})")
        with deferred_signals():
            request_namespace_deletion(conn, meta["name"])
    deadline = time.monotonic() + timeout
    still = []
    for name in names:
        if not wait_namespace_gone(conn, name, max(0.0, deadline - time.monotonic())):
            still.append(name)
    return [n for n in names if n not in still], still, in_use


# signals ----------------------------------------------------------------------------------------------------
# Hang-up on POSIX; Ctrl-Break on Windows, which has no SIGHUP.
_PLATFORM_STOPS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGBREAK") if hasattr(signal, name))


def _catchable(signals: tuple[signal.Signals, ...]) -> list[signal.Signals]:
    """The signals this process may handle: only in the main thread (handlers cannot be installed elsewhere),
    and not those the parent set to be ignored (`nohup` ignores SIGHUP; a non-interactive shell starts
    background jobs with SIGINT ignored) - the parent's choice stands."""
    if threading.current_thread() is not threading.main_thread():
        return []
    return [sig for sig in signals if signal.getsignal(sig) is not signal.SIG_IGN]


class interrupts_as_keyboard_interrupt:
    """While active, SIGTERM and SIGHUP (Ctrl-Break on Windows) raise KeyboardInterrupt like Ctrl-C, so one
    `finally` cleans up for all of them."""

    SIGNALS = (signal.SIGTERM, *_PLATFORM_STOPS)

    def __enter__(self):
        self.old = {sig: signal.signal(sig, self._raise) for sig in _catchable(self.SIGNALS)}
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def __exit__(self, *exc):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        return False


class deferred_signals:
    """Hold Ctrl-C/SIGTERM/SIGHUP during a short critical call and deliver them (as KeyboardInterrupt)
    right after it."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, *_PLATFORM_STOPS)

    def __enter__(self):
        self.caught = []
        self.old = {
            sig: signal.signal(sig, lambda signum, frame: self.caught.append(signum))
            for sig in _catchable(self.SIGNALS)
        }
        return self

    def __exit__(self, exc_type, exc, tb):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        if self.caught and exc_type is None:
            raise KeyboardInterrupt(f"signal {self.caught[0]}")
        return False
