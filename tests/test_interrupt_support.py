"""What the interrupt tests stand on: the run's own signal handling, children started with
SIGINT at its default whatever the run inherited, and a gate that reports a run ending early.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.support.cli_process import default_signals, start_scrape
from tests.support.copy_gate import CopyGate

# The child says how it would take Ctrl-C, and whether SIGINT is blocked in it.
REPORT_SIGINT = (
    "import signal; "
    "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
    "signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"
)


def test_the_run_takes_sigint_as_keyboardinterrupt() -> None:
    # Set by conftest.py at start, even when the run was started with SIGINT ignored.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


@pytest.fixture
def sigint_ignored_and_blocked() -> Iterator[None]:
    """This process as a background job would be: SIGINT ignored, and blocked too."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, previous)


def test_children_get_sigint_at_its_default(sigint_ignored_and_blocked: None) -> None:
    inherited = subprocess.run(
        [sys.executable, "-c", REPORT_SIGINT], capture_output=True, text=True, timeout=60
    )
    assert inherited.stdout.split() == ["False", "True"], "the fixture changed nothing"
    child = subprocess.run(
        [sys.executable, "-c", REPORT_SIGINT],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=default_signals,
    )
    assert child.stdout.split() == ["True", "False"], child.stderr


def test_a_run_that_ends_before_its_gate_is_reported_at_once() -> None:
    with CopyGate("read", after=1) as gate:
        process = start_scrape("--version", gate=gate, stdout=subprocess.PIPE)
        started = time.monotonic()
        with pytest.raises(AssertionError, match=r"ended \(exit 0\) before it reached"):
            gate.wait_reached(process, timeout=60)
        assert time.monotonic() - started < 30, "waited for the deadline, not the exit"
