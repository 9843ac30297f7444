"""The real ``scrape`` command as a subprocess: its own process, threads and exit code.

CliRunner runs the CLI inside the test process, where a hang blocks the test run and a crash
takes pytest with it; a subprocess with a timeout turns both into a plain test failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Generous: a loaded CI machine runs many of these at once.
DEFAULT_TIMEOUT = 60.0


def scrape_command() -> list[str]:
    """The installed console script beside this interpreter, else the module through it."""
    script = Path(sys.executable).with_name("scrape")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from scraper_core.cli import main; main()"]


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


def run_scrape(*args: str, timeout: float = DEFAULT_TIMEOUT) -> Completed:
    """``scrape ARGS...``; :class:`subprocess.TimeoutExpired` (the child killed) on a hang."""
    # Tracebacks must come from bugs only, never from the debug switch being on around us.
    env = {key: value for key, value in os.environ.items() if key != "REGISTRY_SCRAPER_DEBUG"}
    result = subprocess.run(
        [*scrape_command(), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    return Completed(
        tuple(args),
        result.returncode,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
    )
