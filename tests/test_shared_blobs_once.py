"""A blob shared by several images is written to the destination once, however it is copied.

The real CLI runs in-process on a local tree where four images share a layer and a config;
every write the core makes through CheckedDriver (the wrapper it never bypasses) is counted
per final blob path: put_content, writer commits, kernel copies committed, hardlinks and
server-side copies that succeeded, and moves onto a blob path. The shared blob's writes are
held back before it is written, so that copy threads racing for it all pass the
"already there?" check first, whatever the machine's load.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.testing.tree import SyntheticImage
from tests.support.cli import run_cli
from tests.support.reliability import record
from tests.support.source_guard import SourceGuard
from tests.support.trees import local_writer

IMAGES = 4
#: Over the kernel-copy threshold, so local -> local takes that path too.
SHARED_SIZE = 3 * 1024 * 1024


class WriteCounter:
    """Counts writes to blob data paths of writable CheckedDrivers, while installed."""

    def __init__(self, slow_path: str) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._slow_path = slow_path

    def _count(self, path: str) -> None:
        if path.startswith(layout.BLOBS_ROOT + "/"):
            with self._lock:
                self.counts[path] += 1

    def _hold(self, path: str) -> None:
        if path == self._slow_path:
            # Before the shared blob is written: every racer has checked it is absent.
            time.sleep(0.3)

    def _counted_on_commit(self, handle: Any, path: str) -> Any:
        """``handle`` (a writer or a staged copy), its write counted when it commits."""
        commit = handle.commit

        def counted_commit() -> None:
            commit()
            self._count(path)

        handle.commit = counted_commit
        return handle

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        counter = self
        originals = {
            name: getattr(CheckedDriver, name)
            for name in (
                "put_content",
                "writer",
                "start_copy",
                "link_blob",
                "server_side_copy",
                "move",
            )
        }

        def put_content(self: CheckedDriver, path: str, data: bytes) -> None:
            counter._hold(path)
            originals["put_content"](self, path, data)
            counter._count(path)

        def writer(self: CheckedDriver, path: str) -> Any:
            counter._hold(path)
            return counter._counted_on_commit(originals["writer"](self, path), path)

        def start_copy(self: CheckedDriver, source: CheckedDriver, path: str) -> Any:
            counter._hold(path)
            staged = originals["start_copy"](self, source, path)
            return None if staged is None else counter._counted_on_commit(staged, path)

        def fast(name: str) -> Any:
            def copy(self: CheckedDriver, source: CheckedDriver, path: str) -> bool:
                counter._hold(path)
                done: bool = originals[name](self, source, path)
                if done:
                    counter._count(path)
                return done

            return copy

        def move(self: CheckedDriver, source: str, dest: str) -> None:
            originals["move"](self, source, dest)
            counter._count(dest)

        monkeypatch.setattr(CheckedDriver, "put_content", put_content)
        monkeypatch.setattr(CheckedDriver, "writer", writer)
        monkeypatch.setattr(CheckedDriver, "start_copy", start_copy)
        monkeypatch.setattr(CheckedDriver, "link_blob", fast("link_blob"))
        monkeypatch.setattr(CheckedDriver, "server_side_copy", fast("server_side_copy"))
        monkeypatch.setattr(CheckedDriver, "move", move)


def shared_tree(root: Path) -> tuple[list[SyntheticImage], str]:
    writer = local_writer(root)
    shared = os.urandom(SHARED_SIZE)
    images = [
        writer.image(f"team/app{number}", "v1", layers=[shared, os.urandom(5000 + number)])
        for number in range(IMAGES)
    ]
    return images, layout.blob_data_path(images[0].layers[0])


# With -j 1 nothing races: it checks the "already there" path alone.
@pytest.mark.parametrize(
    "options", [[], ["--link"], ["-j", "1"], ["-j", "8"]], ids=["default", "link", "j1", "j8"]
)
def test_a_shared_blob_is_written_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source_unchanged: SourceGuard,
    options: list[str],
) -> None:
    source, output = tmp_path / "data", tmp_path / "copy"
    images, shared_path = shared_tree(source)
    source_unchanged.watch_local(source)
    counter = WriteCounter(shared_path)
    counter.install(monkeypatch)
    refs = [f"{image.name}:v1" for image in images]
    result = run_cli("--data-dir", str(source), "--output-dir", str(output), *options, *refs)
    assert result.exit_code == 0, result.output
    assert f"{IMAGES} of {IMAGES} images copied" in result.stderr
    every_blob = {layout.blob_data_path(d) for image in images for d in image.blobs}
    assert set(counter.counts) == every_blob
    writes = sum(counter.counts.values())
    written_twice = {path: n for path, n in counter.counts.items() if n != 1}
    assert written_twice == {}, "blobs written more than once"

    # A second run in the same output writes no blob at all.
    counter.counts.clear()
    rerun = run_cli("--data-dir", str(source), "--output-dir", str(output), *options, *refs)
    assert rerun.exit_code == 0, rerun.output
    assert counter.counts == {}
    record("shared-blob-once", figures={"blob writes": writes})
