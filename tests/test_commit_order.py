"""Commits in plan order for a destination that needs it (issue 18, item 4: an archive's bytes
are its commit order), with in-memory drivers.

Blobs are still copied in parallel (``jobs=8``) and made to finish their reads out of order;
the destination must still see every blob in plan order, then every link image by image, and
two large blobs must never hold a shared spool out of turn (a deadlock). Ctrl-C while blobs
wait for their turn stops the run promptly.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import BinaryIO, ClassVar

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.errors import StorageError
from scraper_core.plan import ImagePlan
from scraper_core.reference import parse_reference
from scraper_core.scrape import Scrape, ScrapeOptions
from scraper_core.testing.memory import MemoryDriver, MemoryFileWriter, MemoryStore
from scraper_core.testing.tree import TreeWriter
from scraper_core.transfer import BlobCopier, ImageResult, blob_jobs

#: Longest any gate in these tests waits before it gives up (and the test then fails).
GIVE_UP = 10.0
#: Bytes a writer of :class:`OrderedDest` holds before it needs the one spool.
IN_MEMORY = 4096


class OrderedDest(MemoryDriver):
    """Records every commit (writer commits go through put_content); needs them in order.

    Like the tar driver, a writer past :data:`IN_MEMORY` bytes takes the one spool, until it
    commits or cancels; one waiting for it too long fails (a deadlock is a failure here)."""

    commits_in_order: ClassVar[bool] = True
    stages_in_memory_up_to: ClassVar[int] = IN_MEMORY

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[str] = []
        self.spool = threading.Lock()
        #: Set when a writer first takes the spool.
        self.spooling = threading.Event()

    def put_content(self, path: str, data: bytes) -> None:
        self.commits.append(path)
        super().put_content(path, data)

    def writer(self, path: str) -> MemoryFileWriter:
        return SpoolingWriter(self, path)


class SpoolingWriter(MemoryFileWriter):
    def __init__(self, driver: OrderedDest, path: str) -> None:
        super().__init__(driver, path)
        self._dest = driver
        self._spooled = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if not self._spooled and self.size + len(data) > IN_MEMORY:
            if not self._dest.spool.acquire(timeout=GIVE_UP / 2):
                raise StorageError(self._dest.name, self._path, "spool held by another writer")
            self._spooled = True
            self._dest.spooling.set()
        return super().write(data)

    def _release(self) -> None:
        if self._spooled:
            self._spooled = False
            self._dest.spool.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def cancel(self) -> None:
        super().cancel()
        self._release()


class ReverseFinishes:
    """Holds every blob stream at its end and lets the held ones go newest first: reads then
    finish in the reverse of the order they started (within each batch of running copies)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._held: list[threading.Event] = []
        #: Blob paths in the order their reads finished.
        self.finished: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._release_newest_first, daemon=True)

    def __enter__(self) -> ReverseFinishes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        self._thread.join(GIVE_UP)

    def at_end(self, path: str) -> None:
        """Called by a reader at the end of its blob: wait to be let go."""
        go = threading.Event()
        with self._lock:
            self._held.append(go)
            self._lock.notify_all()
        assert go.wait(GIVE_UP), f"{path} was never let go"
        with self._lock:
            self.finished.append(path)

    def _release_newest_first(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                # A batch: the streams that reached their end while none came for a moment
                # (the moment only shapes how mixed the order gets; the checks hold anyway).
                count = -1
                while (count != len(self._held) or not self._held) and not self._stop.is_set():
                    count = len(self._held)
                    self._lock.wait(0.05)
                batch, self._held = self._held, []
            for go in reversed(batch):
                go.set()


class HeldSource(MemoryDriver):
    """A read-only source whose blob streams end when :class:`ReverseFinishes` lets them."""

    def __init__(self, store: MemoryStore, gate: ReverseFinishes) -> None:
        super().__init__(store, read_only=True)
        self._gate = gate

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        stream = super().reader(path, offset)
        read = stream.read
        gate = self._gate

        def held_at_end(size: int = -1) -> bytes:
            data = read(size)
            if not data:
                gate.at_end(path)
            return data

        stream.read = held_at_end  # type: ignore[method-assign]
        return stream


def registry(images: int, layer_sizes: tuple[int, ...]) -> tuple[MemoryStore, list[str]]:
    driver = MemoryDriver()
    writer = TreeWriter(CheckedDriver(driver, read_only=False))
    shared = b"a layer every image has" * 10
    refs = []
    for number in range(images):
        layers = [shared, *(bytes([number, n]) * (size // 2) for n, size in enumerate(layer_sizes))]
        writer.image(f"app{number}", "v1", layers=layers)
        refs.append(f"app{number}:v1")
    return driver.store, refs


def expected_commits(plans: list[ImagePlan]) -> list[str]:
    """Blobs in plan order, then each image's layer and revision links, then its tags."""
    paths = [layout.blob_data_path(job.digest) for job in blob_jobs(plans)]
    links: set[str] = set()
    for plan in plans:
        for link in plan.links:
            if link.path not in links:
                links.add(link.path)
                paths.append(link.path)
        paths.extend(link.path for link in plan.tag_links)
    return paths


def copy(
    store: MemoryStore, refs: list[str], dest: OrderedDest, gate: ReverseFinishes
) -> tuple[list[ImagePlan], list[ImageResult]]:
    source = CheckedDriver(HeldSource(store, gate), read_only=True)
    scrape = Scrape(source, CheckedDriver(dest, read_only=False), ScrapeOptions(jobs=8))
    planned = scrape.plan([parse_reference(ref) for ref in refs])
    plans = [item for item in planned if isinstance(item, ImagePlan)]
    return plans, scrape.copy(planned)


@pytest.mark.parametrize("attempt", range(4))
def test_blobs_finishing_out_of_order_are_committed_in_plan_order(attempt: int) -> None:
    store, refs = registry(4, (600, 800, 1000, 1200))
    dest = OrderedDest()

    with ReverseFinishes() as gate:
        plans, results = copy(store, refs, dest, gate)

    assert [result.error for result in results] == [None] * len(refs)
    assert dest.commits == expected_commits(plans)
    # The order was really put to the test: reads finished out of plan order.
    planned_order = [path for path in expected_commits(plans) if path in gate.finished]
    assert gate.finished != planned_order


def test_large_blobs_take_the_spool_only_in_turn() -> None:
    store, refs = registry(3, (3 * IN_MEMORY, 5 * IN_MEMORY))
    dest = OrderedDest()

    with ReverseFinishes() as gate:
        plans, results = copy(store, refs, dest, gate)

    assert [result.error for result in results] == [None] * len(refs)
    assert dest.commits == expected_commits(plans)


def test_ctrl_c_while_blobs_wait_for_their_turn_stops_promptly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first streamed blob hangs; the others have read everything and wait for their
    turn when SIGINT comes: the run stops at once, and nothing more is committed."""
    store, refs = registry(2, (600, 800))
    dest = OrderedDest()
    main = threading.get_ident()
    assert main == threading.main_thread().ident
    others_done = threading.Event()
    interrupted = threading.Event()
    sent_at: list[float] = []
    interrupt = BlobCopier.interrupt

    def noted(copier: BlobCopier) -> None:
        interrupt(copier)
        interrupted.set()

    monkeypatch.setattr(BlobCopier, "interrupt", noted)

    class Recorder(ReverseFinishes):
        def at_end(self, path: str) -> None:
            with self._lock:
                self.finished.append(path)
                if len(self.finished) == 3:
                    others_done.set()

    stuck_path: list[str] = []

    class StuckFirst(HeldSource):
        """The first blob streamed hangs until the run is interrupted."""

        def reader(self, path: str, offset: int = 0) -> BinaryIO:
            stream = super().reader(path, offset)
            if path in stuck_path:
                read = stream.read

                def stuck(size: int = -1) -> bytes:
                    if not sent_at:
                        assert others_done.wait(GIVE_UP)
                        sent_at.append(time.monotonic())
                        signal.pthread_kill(main, signal.SIGINT)
                    assert interrupted.wait(GIVE_UP)
                    return read(size)

                stream.read = stuck  # type: ignore[method-assign]
            return stream

    source = CheckedDriver(StuckFirst(store, Recorder()), read_only=True)
    scrape = Scrape(source, CheckedDriver(dest, read_only=False), ScrapeOptions(jobs=8))
    planned = scrape.plan([parse_reference(ref) for ref in refs])
    jobs = blob_jobs([item for item in planned if isinstance(item, ImagePlan)])
    # In plan order: the first manifest (its bytes read while planning), then its config.
    assert jobs[0].content is not None and jobs[1].content is None
    stuck_path.append(layout.blob_data_path(jobs[1].digest))
    # What this test depends on: Ctrl-C raises KeyboardInterrupt, however pytest was started.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            scrape.copy(planned)
        elapsed = time.monotonic() - sent_at[0]
    finally:
        signal.signal(signal.SIGINT, previous)
    # INTERRUPT_GRACE (5 s) is what a copy that does not stop costs; waiting ones stop at once.
    assert elapsed < 3.0, f"took {elapsed:.1f} s to stop"
    first = layout.blob_data_path(jobs[0].digest)
    assert dest.commits == [first], "nothing may be committed after the interrupt"
