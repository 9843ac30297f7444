"""Progress output: a live bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.support.trees import big_images

SCRAPE = str(Path(sys.executable).parent / "scrape")


def run_on_terminal(args: list[str]) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (as a person would see it); return its text."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(), b"".join(chunks).decode(errors="replace")


def test_terminal_gets_a_progress_bar_and_logs_do_not(tmp_path: Path) -> None:
    source = tmp_path / "data"
    images = big_images(source, count=2, layer_mib=8)
    refs = [f"{image.name}:v1" for image in images]
    args = [SCRAPE, "--data-dir", str(source), "--output-dir", str(tmp_path / "tty"), *refs]
    code, screen = run_on_terminal(args)
    assert code == 0, screen
    assert "copying" in screen and "100%" in screen
    assert "MiB/s" in screen  # the rate
    assert "2 of 2 images copied" in screen

    args[4] = str(tmp_path / "log")
    piped = subprocess.run(args, capture_output=True, text=True, check=True)
    assert "copying" not in piped.stderr and "%" not in piped.stderr
    assert piped.stdout.count("blobs copied") == 2
