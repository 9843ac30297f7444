"""Blobs copied while planning goes on (issue 22, item 3), with in-memory drivers.

An image's blobs start as soon as its plan is made; links wait for the copy, which sees every
plan: blobs before the links naming them, tags last, and the rules that need the whole plan
(``--have``, sizes declared by later images, the progress total, the refusal to move tags
back) see it as before. Each wait here is on an event, bounded, so a broken pipeline fails
its test rather than hanging it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import BinaryIO

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import DestinationUnusableError
from scraper_core.plan import BlobCopy
from scraper_core.reference import Reference, parse_reference
from scraper_core.run import CopyRequest, CopyRun, SourceRequest, StorageRequest
from scraper_core.scrape import PlannedItem, Scrape, ScrapeOptions
from scraper_core.testing.memory import MemoryDriver, MemoryStore
from scraper_core.testing.tree import SyntheticImage, TreeWriter, image_manifest
from scraper_core.transfer import BlobOutcome, ImageResult

#: How long a test waits for something the pipeline must bring about (never reached when it
#: works: each wait ends on an event).
WAIT = 10.0
#: What a copy plans with (sizes from the manifests), on two threads.
COPY = ScrapeOptions(jobs=2, stat_blobs=False)


class RecordingDest(MemoryDriver):
    """Records every path written, in order; sets :attr:`blob_written` at the first blob."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []
        self.blob_written = threading.Event()
        self._lock = threading.Lock()

    def put_content(self, path: str, data: bytes) -> None:
        super().put_content(path, data)
        with self._lock:
            self.written.append(path)
        if is_blob(path):
            self.blob_written.set()


def is_blob(path: str) -> bool:
    return path.startswith(layout.blob_data_path(Digest.of(b"")).split("/sha256/")[0])


class HeldSource(MemoryDriver):
    """A source whose tag ``held`` resolves only once ``release`` is set (or after
    :data:`WAIT`): :attr:`released_in_time` says which."""

    def __init__(self, store: MemoryStore, held: str, release: threading.Event) -> None:
        super().__init__(store, read_only=True)
        self.held_path = held
        self.release = release
        self.released_in_time: bool | None = None

    def get_content(self, path: str) -> bytes:
        self._hold(path)
        return super().get_content(path)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        self._hold(path)
        return super().reader(path, offset)

    def _hold(self, path: str) -> None:
        if path == self.held_path and self.released_in_time is None:
            self.released_in_time = self.release.wait(WAIT)


@dataclass
class Recorder:
    """Events as a report hears them; ``before_copy`` is what was heard before copy()."""

    bytes: int = 0
    blobs: list[tuple[BlobCopy, BlobOutcome]] = field(default_factory=list)
    images: list[ImageResult] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bytes_done(self, size: int) -> None:
        with self.lock:
            self.bytes += size

    def blob_done(self, blob: BlobCopy, outcome: BlobOutcome) -> None:
        with self.lock:
            self.blobs.append((blob, outcome))

    def image_done(self, result: ImageResult) -> None:
        self.images.append(result)


def registry(count: int) -> tuple[TreeWriter, list[SyntheticImage]]:
    writer = TreeWriter(MemoryDriver())
    images = [writer.image("team/app", f"v{n}", layer_sizes=(700 + n, 900)) for n in range(count)]
    return writer, images


def store_of(writer: TreeWriter) -> MemoryStore:
    driver = writer.driver.driver
    assert isinstance(driver, MemoryDriver)
    return driver.store


def references(images: Sequence[SyntheticImage]) -> list[Reference]:
    return [parse_reference(f"{image.name}:{image.tags[0]}") for image in images]


def early_scrape(
    source: MemoryDriver, dest: MemoryDriver, events: Recorder, options: ScrapeOptions = COPY
) -> Scrape:
    scrape = Scrape(
        CheckedDriver(source, read_only=True), CheckedDriver(dest, read_only=False), options
    )
    scrape.copy_early(events)
    return scrape


def copied(scrape: Scrape, planned: list[PlannedItem], events: Recorder) -> dict[str, str | None]:
    return {str(result.reference): result.error for result in scrape.copy(planned, events)}


@dataclass
class HeldPlan:
    """Images planned from a source whose last tag resolves only once a blob has reached the
    destination, with copies begun while planning."""

    images: list[SyntheticImage]
    dest: RecordingDest
    source: HeldSource
    events: Recorder
    scrape: Scrape
    planned: list[PlannedItem]


def plan_held(count: int) -> HeldPlan:
    writer, images = registry(count)
    dest = RecordingDest()
    held = layout.tag_current_link_path("team/app", images[-1].tags[0])
    source = HeldSource(store_of(writer), held, dest.blob_written)
    events = Recorder()
    scrape = early_scrape(source, dest, events)
    return HeldPlan(images, dest, source, events, scrape, scrape.plan(references(images)))


def test_blobs_start_while_later_images_are_planned_and_links_wait() -> None:
    run = plan_held(6)

    assert run.source.released_in_time is True, "no blob was copied while planning went on"
    assert run.dest.written, "the blobs planned first are copied before planning ends"
    assert all(map(is_blob, run.dest.written)), "links wait for copy()"
    results = copied(run.scrape, run.planned, run.events)
    assert results == {f"team/app:v{n}": None for n in range(6)}
    assert_commit_order(run.dest.written, run.images)


def assert_commit_order(written: list[str], images: Sequence[SyntheticImage]) -> None:
    """Each image's blobs before its layer and revision links, those before its tag links."""
    place = {path: index for index, path in enumerate(written)}
    for image in images:
        blobs = [layout.blob_data_path(digest) for digest in image.blobs]
        links = [layout.layer_link_path(image.name, digest) for digest in image.layers]
        links.append(layout.layer_link_path(image.name, image.config))
        links.append(layout.revision_link_path(image.name, image.manifest))
        tag = image.tags[0]
        tags = [
            layout.tag_index_link_path(image.name, tag, image.manifest),
            layout.tag_current_link_path(image.name, tag),
        ]
        assert max(place[path] for path in blobs) < min(place[path] for path in links)
        assert max(place[path] for path in links) < min(place[path] for path in tags)


def test_what_the_far_side_has_is_not_copied_early() -> None:
    writer, images = registry(3)
    had = images[0].layers[0]
    size = len(store_of(writer).files[layout.blob_data_path(had)].data)
    dest = RecordingDest()
    events = Recorder()
    scrape = early_scrape(
        MemoryDriver(store_of(writer), read_only=True),
        dest,
        events,
        replace(COPY, have={had: size}),
    )

    planned = scrape.plan(references(images))
    results = copied(scrape, planned, events)

    assert set(results.values()) == {None}
    assert scrape.relied_on == {had: size}
    assert layout.blob_data_path(had) not in dest.written


def test_events_are_held_until_the_copy_shows_its_progress() -> None:
    run = plan_held(4)
    source, events, scrape, planned, dest = (
        run.source,
        run.events,
        run.scrape,
        run.planned,
        run.dest,
    )
    assert source.released_in_time is True
    heard_while_planning = (events.bytes, len(events.blobs))
    copied(scrape, planned, events)

    assert heard_while_planning == (0, 0)
    total = sum(len(source.store.files[path].data) for path in set(dest.written))
    links = [path for path in set(dest.written) if not is_blob(path)]
    link_bytes = sum(len(source.store.files[path].data) for path in links)
    assert events.bytes == total - link_bytes
    assert len(events.blobs) == 4 * 4  # each image: two layers, a config, a manifest


def test_a_size_declared_by_a_later_image_still_counts() -> None:
    """The first image planned declares its layer one byte too long; the second declares it
    right. The early copy of the layer knew one declaration only: it fails, and the copy,
    which sees both, copies the blob for the sound image."""
    writer = TreeWriter(MemoryDriver())
    layer = os.urandom(500)
    digest = writer.blob(layer)
    bad = image_of(writer, "team/bad", digest, len(layer) + 1)
    good = image_of(writer, "team/good", digest, len(layer))
    dest = RecordingDest()
    events = Recorder()
    # One planning thread: the bad image is planned, and its blobs started, first.
    scrape = early_scrape(
        MemoryDriver(store_of(writer), read_only=True), dest, events, replace(COPY, jobs=1)
    )

    results = copied(scrape, scrape.plan(references([bad, good])), events)

    assert results == {
        "team/bad:1": f"blob {digest} is {len(layer)} bytes, its manifest says {len(layer) + 1}",
        "team/good:1": None,
    }
    assert CheckedDriver(dest, read_only=True).stat(layout.blob_data_path(digest)).size == 500


def image_of(writer: TreeWriter, name: str, layer: Digest, declared: int) -> SyntheticImage:
    config = b'{"architecture": "amd64", "os": "linux"}'
    config_digest = writer.blob(config)
    for digest in (config_digest, layer):
        writer.link(layout.layer_link_path(name, digest), digest)
    manifest = writer.manifest(
        name, image_manifest((config_digest, len(config)), [(layer, declared)])
    )
    writer.tag(name, "1", manifest)
    return SyntheticImage(name, manifest, config_digest, [layer], ["1"])


def test_a_run_that_could_be_refused_plans_everything_before_it_copies() -> None:
    """Moving a tag back is refused before any write, on the destination's receipts: a
    destination holding one is copied to only after planning, as before."""
    run = CopyRun(
        CopyRequest(SourceRequest("memory", "src"), StorageRequest("memory", "dest"), ["a:1"])
    )
    run.plan_source = CheckedDriver(MemoryDriver(), read_only=True)
    dest = MemoryDriver()
    run.dest = CheckedDriver(dest, read_only=False)
    assert run._copies_while_planning()

    dest.put_content(f"{layout.RECEIPTS_ROOT}/20260101T000000Z-00000000.json", b"{}")
    assert not run._copies_while_planning()
    run.request = CopyRequest(
        run.request.source, run.request.destination, ["a:1"], allow_older=True
    )
    assert run._copies_while_planning()


def test_a_dry_run_or_a_filesystem_source_copies_after_planning() -> None:
    request = CopyRequest(SourceRequest("memory", "src"), StorageRequest("memory", "dest"), ["a"])
    dry = CopyRun(CopyRequest(request.source, request.destination, ["a:1"], dry_run=True))
    for run in (dry, CopyRun(request)):
        run.plan_source = CheckedDriver(MemoryDriver(), read_only=True)
        run.dest = CheckedDriver(MemoryDriver(), read_only=False)
    assert not dry._copies_while_planning()
    filesystem = CopyRun(request)
    filesystem.dest = CheckedDriver(MemoryDriver(), read_only=False)
    source = MemoryDriver()
    source.latency_bound = False  # type: ignore[attr-defined]
    filesystem.plan_source = CheckedDriver(source, read_only=True)
    assert not filesystem._copies_while_planning()


def test_stopping_early_copies_leaves_no_copy_running() -> None:
    writer, images = registry(4)
    dest = RecordingDest()
    events = Recorder()
    scrape = early_scrape(MemoryDriver(store_of(writer), read_only=True), dest, events)
    scrape.plan(references(images))

    scrape.stop_copies()

    running = [thread for thread in threading.enumerate() if thread.name.startswith("scrape")]
    for thread in running:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in running)


class InterruptedSource(HeldSource):
    """Ctrl-C lands while the ``held`` tag is planned, once copies are under way."""

    def _hold(self, path: str) -> None:
        super()._hold(path)
        if path == self.held_path:
            raise KeyboardInterrupt


class RunRecorder(Recorder):
    def entry_failed(self, entry: str, message: str) -> None:
        raise AssertionError(f"{entry}: {message}")

    def warning(self, message: str) -> None:
        raise AssertionError(message)

    def destination_unusable(self, error: DestinationUnusableError) -> None:
        raise AssertionError(str(error))

    def progress(self, total_bytes: int) -> AbstractContextManager[None]:
        return nullcontext()

    def finish_progress(self) -> None:
        pass


def test_an_interrupt_while_planning_stops_the_copies_begun() -> None:
    writer, images = registry(6)
    dest = RecordingDest()
    held = layout.tag_current_link_path("team/app", images[-1].tags[0])
    source = InterruptedSource(store_of(writer), held, dest.blob_written)
    refs = [str(reference) for reference in references(images)]
    run = CopyRun(CopyRequest(SourceRequest("memory", "src"), StorageRequest("memory", "d"), refs))
    run.source = run.plan_source = CheckedDriver(source, read_only=True)
    run.dest = CheckedDriver(dest, read_only=False)
    run.options = COPY
    assert run._copies_while_planning()
    before = set(threading.enumerate())

    with pytest.raises(KeyboardInterrupt):
        run.execute(RunRecorder())

    assert source.released_in_time is True, "no copy was under way when the interrupt came"
    copiers = [thread for thread in set(threading.enumerate()) - before]
    for thread in copiers:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in copiers)
    assert all(map(is_blob, dest.written)), "no link is written by an interrupted run"
