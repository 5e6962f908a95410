"""How a probe run turns signals into its cleanup path, and when it must leave them alone.

Signals are sent to this very process (os.kill on our own pid): Python runs the handler before the next
bytecode, so the effect is observed right after the call.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from kubectl_aiconf.probe.cleanup import deferred_signals, interrupts_as_keyboard_interrupt

STOPS = [signal.SIGTERM] + [signal.SIGHUP] * hasattr(signal, "SIGHUP")


@pytest.fixture
def handlers():
    """Restore this process's handlers of the signals the tests touch, and start from a terminal's
    dispositions (pytest itself may have been started with SIGINT ignored, as a background job)."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, *STOPS)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in STOPS:
        signal.signal(sig, signal.SIG_DFL)
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def deliver(sig: int) -> None:
    os.kill(os.getpid(), sig)
    time.sleep(0.05)  # the handler runs in the main thread at the next bytecode boundary


@pytest.mark.parametrize("sig", STOPS)
def test_terminate_and_hangup_become_keyboard_interrupt(handlers, sig):
    signal.signal(sig, signal.SIG_DFL)
    with pytest.raises(KeyboardInterrupt):
        with interrupts_as_keyboard_interrupt():
            deliver(sig)
    assert signal.getsignal(sig) is signal.SIG_DFL  # restored on the way out


def test_hangup_ignored_by_the_parent_stays_ignored(handlers):
    """`nohup kubectl aiconf check --probe`: a closed terminal must not stop (and clean up) the run."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with interrupts_as_keyboard_interrupt():
        deliver(signal.SIGHUP)
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


def test_deferred_signal_is_delivered_after_the_critical_call(handlers):
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_signals():
            deliver(signal.SIGINT)
            finished.append(True)  # the interrupt waited for this
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_deferred_signals_leave_ignored_interrupts_ignored(handlers):
    """A background job of a non-interactive shell starts with SIGINT ignored; it must stay so."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with deferred_signals():
        deliver(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
