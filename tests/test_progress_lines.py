"""Where stderr is no terminal (a CI log), a copy prints a progress line every --stats
seconds while blobs copy; -q and --stats 0 print none. A real `scrape` held mid-copy at a
gate, so the test waits on its output, never on the clock."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from scraper_core import cli
from scraper_core.progress_lines import DEFAULT_INTERVAL
from tests.support.cli_process import start_scrape
from tests.support.copy_gate import CopyGate
from tests.support.trees import local_writer

MIB = 1024 * 1024
LINE = re.compile(r"progress: [\d.]+ \w?i?B of 4\.0 MiB \(\d+%\), [\d.]+ \w?i?B/s(, \d+ s left)?")
#: How long a run held at its gate is watched for a line that must not come: 50 intervals.
INTERVAL = 0.01
QUIET_WATCH = 50 * INTERVAL
DEADLINE = 60.0


def _held_copy(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], CopyGate]:
    local_writer(tmp_path / "data").image("app", "v1", layers=[os.urandom(4 * MIB - 1500)])
    args = ["--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "copy")]
    gate = CopyGate("read", after=MIB)
    process = start_scrape(
        *args,
        "-j",
        "1",
        *extra,
        "app:v1",
        gate=gate,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return process, gate


def _whole_lines(text: str) -> list[str]:
    return text.split("\n")[:-1]


def _stderr_until(process: subprocess.Popen[str], pattern: re.Pattern[str], timeout: float) -> str:
    """What the run wrote on stderr until a whole line matches ``pattern`` (or ``timeout``)."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    seen = ""
    deadline = time.monotonic() + timeout
    while not any(pattern.fullmatch(line) for line in _whole_lines(seen)):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096).decode()
        if not chunk:
            break
        seen += chunk
    return seen


def _finish(process: subprocess.Popen[str], gate: CopyGate) -> str:
    gate.release()
    _out, err = process.communicate(timeout=DEADLINE)
    gate.close()
    assert process.returncode == 0, err
    return err


def test_a_line_every_interval_while_blobs_copy(tmp_path: Path) -> None:
    process, gate = _held_copy(tmp_path, "--stats", str(INTERVAL))
    try:
        gate.wait_reached(process)
        seen = _stderr_until(process, LINE, DEADLINE)
    finally:
        err = _finish(process, gate)
    assert any(LINE.fullmatch(line) for line in _whole_lines(seen)), seen
    assert "1 of 1 image copied" in err


@pytest.mark.parametrize("extra", [["-q"], ["--stats", "0"]])
def test_none_when_quiet_or_off(tmp_path: Path, extra: list[str]) -> None:
    process, gate = _held_copy(tmp_path, "--stats", str(INTERVAL), *extra)
    try:
        gate.wait_reached(process)
        seen = _stderr_until(process, re.compile(r"progress:.*"), QUIET_WATCH)
    finally:
        err = _finish(process, gate)
    assert "progress:" not in seen + err


def test_help_shows_the_default_interval() -> None:
    assert cli.DEFAULT_STATS_INTERVAL == DEFAULT_INTERVAL
