"""A real ``scrape`` whose copy stops at a gate until the test lets it go.

An interrupt test that sends its signal "soon after copying started" races the copy: on a
fast machine the run may finish first. With a gate the run cannot end before the test acted::

    with CopyGate("read", after=MIB) as gate:
        process = start_scrape(*args, gate=gate, stderr=subprocess.PIPE)
        _out, err = signal_at_gate(process, gate, signal.SIGINT)

``signal_at_gate`` waits until the copy is stopped at the gate, sends the signal, waits until
the child has taken it, and only then lets the copy go on.

The gate is two pipes handed to the child (tests/support/gated_scrape.py says what it gates);
every wait here has a deadline, and a child that ends early is reported at once.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal, Self

from tests.support.gated_scrape import GATE_ENV

GATED_SCRAPE = Path(__file__).with_name("gated_scrape.py")
#: Seconds a run may take to reach its gate, or to take a signal: generous, for a busy machine.
REACH_TIMEOUT = 120.0

Point = Literal["read", "kernel-copy"]


class CopyGate:
    """Stops the child's copy once ``after`` bytes went through ``point``; see the module."""

    def __init__(self, point: Point, after: int) -> None:
        self.point = point
        self.after = after
        self._reached_read, self._reached_write = os.pipe()
        self._release_read, self._release_write = os.pipe()
        self._open = {self._reached_read, self._reached_write, self._release_read}
        self.reached = False

    def command(self, args: list[str]) -> list[str]:
        # -P: the script's folder (tests/support) must not shadow installed modules.
        return [sys.executable, "-P", str(GATED_SCRAPE), *args]

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        spec = f"{self.point}:{self.after}:{self._reached_write}:{self._release_read}"
        return {**base, GATE_ENV: spec}

    @property
    def child_fds(self) -> tuple[int, int]:
        return (self._reached_write, self._release_read)

    def started(self) -> None:
        """The child holds its ends now: closing ours lets a child that dies show as EOF."""
        for fd in self.child_fds:
            self._close(fd)

    def wait_reached(self, process: subprocess.Popen[str], timeout: float = REACH_TIMEOUT) -> None:
        """Until the child's copy is stopped at the gate; fails if it ends or times out first."""
        if self.reached:
            return
        ready, _, _ = select.select([self._reached_read], [], [], timeout)
        if not ready:
            raise AssertionError(f"scrape did not reach the {self.point} gate in {timeout:g} s")
        if os.read(self._reached_read, 1) == b"":
            process.wait(timeout)
            raise AssertionError(
                f"scrape ended (exit {process.returncode}) before it reached the {self.point} "
                f"gate after {self.after} bytes"
            )
        self.reached = True

    def release(self) -> None:
        # A child already gone (killed) has nothing to release: its end is closed.
        with contextlib.suppress(BrokenPipeError):
            os.write(self._release_write, b"!")

    def close(self) -> None:
        for fd in list(self._open):
            self._close(fd)
        # Last: a child still at the gate goes on, never stuck waiting for a finished test.
        if self._release_write >= 0:
            os.close(self._release_write)
            self._release_write = -1

    def _close(self, fd: int) -> None:
        # Each end closed once: a number closed twice may be another file's by then.
        if fd in self._open:
            self._open.remove(fd)
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def signal_pending(pid: int, signum: int) -> bool:
    """Whether ``signum`` sent to process ``pid`` waits to be taken by one of its threads."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    if fields.get("State", "").startswith(("Z", "X")):
        return False
    return bool(int(fields["ShdPnd"], 16) & (1 << (signum - 1)))


def wait_delivered(
    process: subprocess.Popen[str], signum: int, timeout: float = REACH_TIMEOUT
) -> None:
    """Until a thread of ``process`` has taken ``signum`` (its handler ran: for Python, the
    flag that makes the main thread raise is set), so that what the test does next cannot
    overtake it."""
    deadline = time.monotonic() + timeout
    while signal_pending(process.pid, signum):
        if time.monotonic() > deadline:
            raise AssertionError(f"signal {signum} still pending after {timeout:g} s")
        time.sleep(0.001)


def signal_at_gate(
    process: subprocess.Popen[str], gate: CopyGate, signum: int, timeout: float = REACH_TIMEOUT
) -> tuple[str | None, str | None]:
    """Send ``signum`` while the copy waits at ``gate``, let it go once the signal has landed,
    and return the run's ``communicate()``; the run is killed if anything fails on the way."""
    try:
        gate.wait_reached(process)
        process.send_signal(signum)
        wait_delivered(process, signum)
        gate.release()
        return process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
