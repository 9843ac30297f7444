"""The real ``scrape`` command as a subprocess: its own process, threads and exit code.

CliRunner runs the CLI inside the test process, where a hang blocks the test run and a crash
takes pytest with it; a subprocess with a timeout turns both into a plain test failure.

Every ``scrape`` started here gets SIGINT at its default, unblocked, whatever the test run
inherited: an ignored SIGINT survives exec, and Python then installs no KeyboardInterrupt
handler (as in a script's background job, ``bash -c 'make test &'``, or under nohup).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.copy_gate import CopyGate

#: Generous: a loaded CI machine runs many of these at once.
DEFAULT_TIMEOUT = 60.0


def scrape_command() -> list[str]:
    """The installed console script beside this interpreter, else the module through it."""
    script = Path(sys.executable).with_name("scrape")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from scraper_core.cli import main; main()"]


def python_output(code: str) -> str:
    """What ``code`` prints run by this interpreter in a fresh process (its imports are its
    own); a failure or a run over DEFAULT_TIMEOUT raises."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=DEFAULT_TIMEOUT,
    )
    return done.stdout


@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    def describe(self) -> str:
        return (
            f"scrape {' '.join(self.args)} exited {self.returncode}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


def default_signals() -> None:
    """In the child, before exec: SIGINT at its default and unblocked (``preexec_fn``)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def scrape_environment() -> dict[str, str]:
    # Tracebacks must come from bugs only, never from the debug switch being on around us.
    return {key: value for key, value in os.environ.items() if key != "REGISTRY_SCRAPER_DEBUG"}


def start_scrape(
    *args: str, gate: CopyGate | None = None, prefix: Sequence[str] = (), **popen: Any
) -> subprocess.Popen[str]:
    """``scrape ARGS...`` started (text mode, stdin closed), its copy stopping at ``gate``
    if one is given, run by ``prefix`` if one is given (``unshare ...``); ``popen`` goes to
    :class:`subprocess.Popen` (stdout, stderr...)."""
    command, env = [*scrape_command(), *args], scrape_environment()
    fds: tuple[int, ...] = ()
    if gate is not None:
        command, env, fds = gate.command(list(args)), gate.environment(env), gate.child_fds
    process = subprocess.Popen(
        [*prefix, *command],
        stdin=subprocess.DEVNULL,
        env=env,
        pass_fds=fds,
        preexec_fn=default_signals,
        text=True,
        **popen,
    )
    if gate is not None:
        gate.started()
    return process


def run_scrape(*args: str, timeout: float = DEFAULT_TIMEOUT) -> Completed:
    """``scrape ARGS...``; :class:`subprocess.TimeoutExpired` (the child killed) on a hang."""
    result = subprocess.run(
        [*scrape_command(), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=scrape_environment(),
        preexec_fn=default_signals,
        timeout=timeout,
        check=False,
    )
    return Completed(
        tuple(args),
        result.returncode,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
    )
