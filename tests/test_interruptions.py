"""Interruptions and concurrency: the real `scrape` process, killed, interrupted, doubled.

A killed run may leave work undone but never a wrong file at a final path; a rerun completes
the copy and leaves no temporary files. Ctrl-C stops cleanly with exit status 130.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scraper_core.testing.tree import SyntheticImage
from tests.support.reliability import measuring
from tests.support.source_guard import SourceGuard
from tests.support.trees import V2, assert_tree_verifies, local_writer, temp_files

# The real scrape process on large trees: end to end (make test-local), not a unit test.
pytestmark = pytest.mark.e2e

SCRAPE = str(Path(sys.executable).parent / "scrape")


def big_source(root: Path, images: int = 4, layer_mib: int = 24) -> list[SyntheticImage]:
    writer = local_writer(root)
    shared = os.urandom(3 * 1024 * 1024)
    return [
        writer.image(
            f"big/app{number}",
            "v1",
            layers=[shared, *(os.urandom(layer_mib * 1024 * 1024) for _ in range(2))],
        )
        for number in range(images)
    ]


def command(source: Path, output: Path, *images: str, jobs: int = 2) -> list[str]:
    return [
        SCRAPE,
        "--data-dir",
        str(source),
        "--output-dir",
        str(output),
        "-j",
        str(jobs),
        *images,
    ]


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.5, 0.8])
def test_sigkill_then_rerun_completes(
    tmp_path: Path, delay: float, source_unchanged: SourceGuard
) -> None:
    with measuring(
        "sigkill-rerun",
        title="SIGKILL mid-copy, then rerun",
        how="kill at 0.05, 0.15, 0.3, 0.5 and 0.8 s into a 150 MiB scrape "
        "(`tests/test_interruptions.py`)",
        outcome="no wrong file at a final path before the rerun; after it, all blobs verify and no "
        "temporary file remains",
    ):
        source, output = tmp_path / "data", tmp_path / "copy"
        images = big_source(source, images=3)
        source_unchanged.watch_local(source)
        refs = [f"{image.name}:v1" for image in images]
        process = subprocess.Popen(command(source, output, *refs), stderr=subprocess.PIPE)
        time.sleep(delay)
        process.kill()
        process.wait()
        if output.exists():
            assert_tree_verifies(output)
        rerun = subprocess.run(command(source, output, *refs), capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        assert_tree_verifies(output)
        assert temp_files(output) == []
        for image in images:
            for digest in image.blobs:
                assert (
                    output / V2 / "blobs/sha256" / digest.hex[:2] / digest.hex / "data"
                ).exists()


def test_sigint_stops_cleanly_with_130(tmp_path: Path, source_unchanged: SourceGuard) -> None:
    with measuring(
        "sigint",
        title="SIGINT mid-copy",
        how="Ctrl-C during a 390 MiB scrape (`tests/test_interruptions.py`)",
        outcome="exit 130, one line, staging removed, the source untouched",
    ):
        source, output = tmp_path / "data", tmp_path / "copy"
        images = big_source(source, images=4, layer_mib=48)
        source_unchanged.watch_local(source)
        refs = [f"{image.name}:v1" for image in images]
        process = subprocess.Popen(
            command(source, output, *refs, jobs=1), stderr=subprocess.PIPE, text=True
        )
        # Wait until copying has started (the staging directory exists), then interrupt.
        deadline = time.monotonic() + 20
        while not (output / ".scrape-tmp").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert err.strip().splitlines()[-1].startswith("interrupted:")
        assert "Traceback" not in err
        assert_tree_verifies(output)
        assert temp_files(output) == []


def test_two_scrapes_into_one_output_at_once(tmp_path: Path, source_unchanged: SourceGuard) -> None:
    with measuring(
        "two-scrapes-one-output",
        title="two scrapes into one output at once",
        how="overlapping image sets, two processes (`tests/test_interruptions.py`)",
        outcome="both exit 0, the tree verifies, no temporary file",
    ):
        source, output = tmp_path / "data", tmp_path / "copy"
        images = big_source(source, images=4, layer_mib=8)
        source_unchanged.watch_local(source)
        first = [f"{image.name}:v1" for image in images[:3]]
        second = [f"{image.name}:v1" for image in images[1:]]
        processes = [
            subprocess.Popen(command(source, output, *refs), stderr=subprocess.PIPE, text=True)
            for refs in (first, second)
        ]
        for process in processes:
            _out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        assert_tree_verifies(output)
        assert temp_files(output) == []
        wanted = {digest.hex for image in images for digest in image.blobs}
        assert {blob.parent.name for blob in (output / V2 / "blobs").rglob("data")} == wanted
