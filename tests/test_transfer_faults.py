"""The copy engine under driver faults, with in-memory drivers: fast and exact.

A staged (kernel) copy that fails, a destination that fills up, and Ctrl-C in the middle of
a long staged copy: each must end as one line naming the driver and path, the other images
going on, or (interrupted) promptly, with running copies cancelled and queued ones dropped.
"""

from __future__ import annotations

import errno
import signal
import threading
import time
from collections.abc import Callable
from typing import ClassVar

import pytest

from scraper_core.checked import CheckedDriver
from scraper_core.contract import CancelOnExit, Capability
from scraper_core.errors import StorageError
from scraper_core.reference import parse_reference
from scraper_core.scrape import Scrape, ScrapeOptions
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.tree import SyntheticImage, TreeWriter
from scraper_core.transfer import KERNEL_COPY_MIN_SIZE, ImageResult
from tests.support.reliability import record

BIG = KERNEL_COPY_MIN_SIZE + 1000
#: How long a fake staged copy takes unless cancelled: far longer than any test may wait.
SLOW_COPY = 60.0


class FakeStagedCopy(CancelOnExit):
    """A kernel copy in the manner of the local driver's: runs "in the kernel" (here: waits)
    and publishes on commit. ``fail`` decides what wait/commit raise."""

    def __init__(self, driver: KernelCopyDriver, path: str, data: bytes) -> None:
        self.driver = driver
        self.path = path
        self.data = data
        self.cancelled = threading.Event()
        self.committed = False

    def wait(self) -> int:
        failure = self.driver.fail_wait
        if failure is not None:
            time.sleep(self.driver.fail_after)
            raise failure
        self.driver.on_wait(self)
        if self.cancelled.wait(self.driver.copy_seconds):
            raise StorageError(self.driver.name, self.path, "copy cancelled")
        return len(self.data)

    def commit(self) -> None:
        self.wait()
        failure = self.driver.fail_commit
        if failure is not None:
            raise failure
        self.driver.put_content(self.path, self.data)
        self.committed = True

    def cancel(self) -> None:
        self.cancelled.set()


class KernelCopyDriver(MemoryDriver):
    """A memory destination that copies big blobs with staged copies it can be made to fail."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.KERNEL_COPY})

    def __init__(self) -> None:
        super().__init__()
        self.copy_seconds = 0.0
        self.fail_wait: BaseException | None = None
        self.fail_commit: BaseException | None = None
        #: Seconds a failing copy runs before it fails.
        self.fail_after = 0.0
        #: Called as a waiter starts waiting for the copy (the core has read the source).
        self.on_wait: Callable[[FakeStagedCopy], None] = lambda staged: None
        self.started: list[FakeStagedCopy] = []
        self.writes: list[str] = []
        self._lock = threading.Lock()

    def start_copy(self, source: object, src_path: str, dst_path: str) -> FakeStagedCopy:
        assert isinstance(source, MemoryDriver)
        staged = FakeStagedCopy(self, dst_path, source.get_content(src_path))
        with self._lock:
            self.started.append(staged)
        return staged

    def put_content(self, path: str, data: bytes) -> None:
        with self._lock:
            self.writes.append(path)
        super().put_content(path, data)


def source_with(images: int, layer_sizes: tuple[int, ...]) -> tuple[CheckedDriver, list[str]]:
    driver = MemoryDriver()
    writer = TreeWriter(CheckedDriver(driver, read_only=False))
    built: list[SyntheticImage] = [
        writer.image(f"app{n}", "v1", layer_sizes=layer_sizes) for n in range(images)
    ]
    return CheckedDriver(driver.read_only_view(), read_only=True), [
        f"{image.name}:v1" for image in built
    ]


def run(
    source: CheckedDriver, dest: KernelCopyDriver, refs: list[str], jobs: int = 2
) -> tuple[Scrape, list[ImageResult]]:
    scrape = Scrape(source, CheckedDriver(dest, read_only=False), ScrapeOptions(jobs=jobs))
    planned = scrape.plan([parse_reference(ref) for ref in refs])
    return scrape, scrape.copy(planned)


def test_a_failing_staged_copy_fails_its_image_in_one_line() -> None:
    source, refs = source_with(1, (BIG,))
    small_source, small_refs = source_with(1, (1000,))
    dest = KernelCopyDriver()
    dest.fail_wait = OSError(errno.EIO, "Input/output error")
    _scrape, [result] = run(source, dest, refs)
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith("memory: /docker/registry/v2/blobs/sha256/")
    assert "Input/output error" in result.error
    # The destination is still usable: another image copies.
    dest.fail_wait = None
    _scrape, [other] = run(small_source, dest, small_refs)
    assert other.ok, other.error
    record("staged-copy-oserror")


@pytest.mark.parametrize("where", ["wait", "commit"])
def test_full_destination_stops_new_blobs(where: str) -> None:
    source, refs = source_with(4, (BIG, 1000))
    dest = KernelCopyDriver()
    full = OSError(errno.ENOSPC, "No space left on device")
    if where == "wait":
        dest.fail_wait = full
    else:
        dest.fail_commit = full
    scrape, results = run(source, dest, refs, jobs=1)
    assert scrape.unusable is not None
    assert scrape.unusable.reason == "No space left on device"
    assert all(
        r.error == "not copied: destination memory is unusable (No space left on device)"
        for r in results
    ), [r.error for r in results]
    # One job: the first big blob failed; nothing else was started or written after it.
    assert len(dest.started) == 1
    assert [path for path in dest.writes if path.endswith("/link")] == []
    record(
        f"destination-unusable-{where}",
        title=f"Destination full during a staged copy's {where}()",
        how="in-memory destination raising ENOSPC, 4 images queued on one job",
        outcome="one staged copy started; every image 'not copied'; cause kept once",
    )


def test_images_whose_blobs_are_in_place_still_get_their_links() -> None:
    driver = MemoryDriver()
    writer = TreeWriter(CheckedDriver(driver, read_only=False))
    writer.image("big", "v1", layer_sizes=(BIG,))
    writer.image("small", "v1", layer_sizes=(1000,))
    source = CheckedDriver(driver.read_only_view(), read_only=True)
    dest = KernelCopyDriver()
    dest.fail_wait = OSError(errno.ENOSPC, "No space left on device")
    dest.fail_after = 1.0  # by then the small image's blobs are in (the other job)
    scrape, [big, small] = run(source, dest, ["big:v1", "small:v1"], jobs=2)
    assert scrape.unusable is not None
    assert big.error == "not copied: destination memory is unusable (No space left on device)"
    # No blob started after the failure, but a few bytes of links still went in.
    assert small.ok, small.error
    assert "/docker/registry/v2/repositories/small/_manifests/tags/v1/current/link" in dest.writes


@pytest.mark.parametrize("thread", ["main", "worker"])
def test_interrupt_during_a_long_staged_copy_returns_promptly(thread: str) -> None:
    source, refs = source_with(3, (BIG, BIG))
    dest = KernelCopyDriver()
    dest.copy_seconds = SLOW_COPY
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    interrupted_at: list[float] = []

    def interrupt_once(staged: FakeStagedCopy) -> None:
        if not interrupted_at:
            interrupted_at.append(time.monotonic())
            # Ctrl-C as a terminal sends it, to the process: the kernel hands it to any
            # thread. Python runs the handler in the main thread, but a signal that lands on
            # another thread does not wake a main thread blocked in a wait.
            target = main if thread == "main" else threading.get_ident()
            signal.pthread_kill(target, signal.SIGINT)

    dest.on_wait = interrupt_once
    with pytest.raises(KeyboardInterrupt):
        run(source, dest, refs, jobs=2)
    elapsed = time.monotonic() - interrupted_at[0]
    time.sleep(0.3)  # a queued copy that were still to start would have started by now
    held = elapsed < 4.0  # INTERRUPT_GRACE (5 s) is what a copy left uncancelled costs
    record(
        f"interrupt-staged-copy-{thread}",
        title=f"Ctrl-C during a long kernel (staged) copy, signal on the {thread} thread",
        how=f"SIGINT to the {thread} thread while a 60 s staged copy runs, 6 big blobs queued",
        held=held,
        outcome=f"run returned {elapsed:.2f} s after the interrupt",
        figures={"seconds_to_stop": round(elapsed, 3)},
    )
    assert held, f"took {elapsed:.1f} s to stop"
    assert 1 <= len(dest.started) <= 2, "queued copies must not start after an interrupt"
    assert all(staged.cancelled.is_set() for staged in dest.started)
    assert not any(staged.committed for staged in dest.started)
    assert not any(len(stored.data) >= BIG for stored in dest.store.files.values())
