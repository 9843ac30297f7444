"""Interruptions and concurrency: the real `scrape` process, killed, interrupted, doubled.

A killed run may leave work undone but never a wrong file at a final path; a rerun completes
the copy and leaves no temporary files. Ctrl-C stops cleanly with exit status 130.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.cli_process import run_scrape, start_scrape
from tests.support.copy_gate import CopyGate, signal_at_gate
from tests.support.reliability import measuring
from tests.support.source_guard import SourceGuard
from tests.support.trees import V2, assert_tree_verifies, big_images, temp_files

# The real scrape process on large trees: end to end (make test-local), not a unit test.
pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


def arguments(source: Path, output: Path, *images: str, jobs: int = 2) -> list[str]:
    return [
        "--data-dir",
        str(source),
        "--output-dir",
        str(output),
        "-j",
        str(jobs),
        *images,
    ]


@pytest.mark.parametrize("read_mib", [1, 12, 25, 38, 48])
def test_sigkill_then_rerun_completes(
    tmp_path: Path, read_mib: int, source_unchanged: SourceGuard
) -> None:
    with measuring("sigkill-rerun"):
        source, output = tmp_path / "data", tmp_path / "copy"
        images = big_images(source, count=3, layer_mib=8)
        source_unchanged.watch_local(source)
        refs = [f"{image.name}:v1" for image in images]
        # Held mid-copy until killed: the run cannot finish first, however fast the machine.
        with CopyGate("read", after=read_mib * MIB) as gate:
            process = start_scrape(*arguments(source, output, *refs), gate=gate)
            signal_at_gate(process, gate, signal.SIGKILL)
        assert process.returncode == -signal.SIGKILL
        if output.exists():
            assert_tree_verifies(output)
        rerun = run_scrape(*arguments(source, output, *refs), timeout=600)
        assert rerun.returncode == 0, rerun.describe()
        assert_tree_verifies(output)
        assert temp_files(output) == []
        for image in images:
            for digest in image.blobs:
                assert (
                    output / V2 / "blobs/sha256" / digest.hex[:2] / digest.hex / "data"
                ).exists()


def test_sigint_stops_cleanly_with_130(tmp_path: Path, source_unchanged: SourceGuard) -> None:
    with measuring("sigint"):
        source, output = tmp_path / "data", tmp_path / "copy"
        images = big_images(source, count=4, layer_mib=8)
        source_unchanged.watch_local(source)
        refs = [f"{image.name}:v1" for image in images]
        # Held in its first blob until the interrupt has landed: it cannot finish first.
        with CopyGate("read", after=MIB) as gate:
            process = start_scrape(
                *arguments(source, output, *refs, jobs=1), gate=gate, stderr=subprocess.PIPE
            )
            _out, err = signal_at_gate(process, gate, signal.SIGINT)
        assert process.returncode == 130, err
        assert err.strip().splitlines()[-1].startswith("interrupted:")
        assert "Traceback" not in err
        assert_tree_verifies(output)
        assert temp_files(output) == []


def test_two_scrapes_into_one_output_at_once(tmp_path: Path, source_unchanged: SourceGuard) -> None:
    with measuring("two-scrapes-one-output"):
        source, output = tmp_path / "data", tmp_path / "copy"
        images = big_images(source, count=4, layer_mib=8)
        source_unchanged.watch_local(source)
        first = [f"{image.name}:v1" for image in images[:3]]
        second = [f"{image.name}:v1" for image in images[1:]]
        processes = [
            start_scrape(*arguments(source, output, *refs), stderr=subprocess.PIPE)
            for refs in (first, second)
        ]
        for process in processes:
            _out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        assert_tree_verifies(output)
        assert temp_files(output) == []
        wanted = {digest.hex for image in images for digest in image.blobs}
        assert {blob.parent.name for blob in (output / V2 / "blobs").rglob("data")} == wanted
