"""Blobs are queued largest first where no commit order binds them: a big blob started last
would end the run copying alone while the other workers wait. In-memory drivers."""

from __future__ import annotations

import threading

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.reference import parse_reference
from scraper_core.scrape import Scrape, ScrapeOptions
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.tree import TreeWriter
from scraper_core.transfer import NoEvents

SIZES = (10, 5000, 300, 20000, 700)
BLOBS = layout.blob_data_path(Digest.of(b"")).split("/sha256/")[0]


class BlobOrder(MemoryDriver):
    """Remembers the blobs written, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.blobs: list[int] = []
        self._lock = threading.Lock()

    def put_content(self, path: str, data: bytes) -> None:
        super().put_content(path, data)
        if path.startswith(BLOBS):
            with self._lock:
                self.blobs.append(len(data))


@pytest.mark.parametrize("early", [False, True], ids=["after-planning", "while-planning"])
def test_one_worker_copies_the_largest_blob_first(early: bool) -> None:
    writer = TreeWriter(MemoryDriver())
    image = writer.image("team/app", "v1", layer_sizes=SIZES)
    source = writer.driver.driver
    assert isinstance(source, MemoryDriver)
    dest = BlobOrder()
    scrape = Scrape(
        CheckedDriver(MemoryDriver(source.store, read_only=True), read_only=True),
        CheckedDriver(dest, read_only=False),
        ScrapeOptions(jobs=1, stat_blobs=False),
    )
    events = NoEvents()
    if early:
        scrape.copy_early(events)
    planned = scrape.plan([parse_reference(f"{image.name}:{image.tags[0]}")])
    assert [result.error for result in scrape.copy(planned, events)] == [None]
    assert dest.blobs == sorted(dest.blobs, reverse=True)
    assert max(SIZES) in dest.blobs
