"""Push: carry out image plans into an image destination (a running registry, see imagedest).

The plans are the copy's (:class:`~scraper_core.scrape.Scrape` made them: signatures and
referrer tags come with their images, ``--platform`` and every selection apply). Per image:

1. its blobs, in a pool of ``jobs`` threads, each ``(repository, blob)`` once a run: asked
   for first (present: not sent), else mounted from the repository this run put it in first,
   else put from a stream that verifies the source bytes while the destination reads them;
2. once they are all in: its manifests by digest, children before their index;
3. then its tag (not asked for first when its manifest was absent: no tag can name it).

So a failure leaves no tag or manifest naming what is not there, and an image failing (a
damaged source blob, a manifest the destination refuses) does not stop the others. A rerun
finds everything present and writes nothing. Results count blobs as a copy's do (manifests
included; a mount counts as a server-side copy).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, BinaryIO, TypeVar

from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import ScraperError
from scraper_core.imagedest import ImageDestination
from scraper_core.manifest import parse_manifest
from scraper_core.memo import Memo
from scraper_core.plan import BlobCopy, ImagePlan, declared_size_error
from scraper_core.scrape import PlannedItem
from scraper_core.transfer import (
    INTERRUPT_GRACE,
    BlobDone,
    BlobOutcome,
    BlobTally,
    ImageResult,
    NoEvents,
    TransferCancelledError,
    TransferEvents,
    finished,
    result_of,
    unexpected,
)
from scraper_core.verified_stream import open_verified

T = TypeVar("T")


@dataclass(frozen=True)
class _BlobKey:
    repository: str
    digest: Digest


@dataclass
class _ImageDone:
    """What one image's task found: each blob's outcome, then the first error if any."""

    outcomes: list[tuple[BlobCopy, BlobOutcome]] = field(default_factory=list)
    error: str | None = None


class Push:
    """Pushes many image plans into one image destination with ``jobs`` threads."""

    def __init__(
        self,
        source: CheckedDriver,
        dest: ImageDestination,
        *,
        jobs: int,
        events: TransferEvents | None = None,
        dry_run: bool = False,
    ) -> None:
        self.source = source
        self.dest = dest
        self.jobs = max(1, jobs)
        self.events: TransferEvents = events or NoEvents()
        #: Only ask (has_blob, has_manifest): a preview writes nothing.
        self.dry_run = dry_run
        self.tally = BlobTally()
        self.cancelled = threading.Event()
        #: Blob pushes running now: an interrupt waits (a bounded time) until none is. Counted
        #: by the workers themselves: a future the interrupt caught before it was recorded
        #: would escape a wait on the recorded futures.
        self._running = 0
        self._running_changed = threading.Condition()
        self._blobs: dict[_BlobKey, Future[BlobDone]] = {}
        #: The repository each blob went to first this run: later ones mount from it.
        self._first_home: dict[Digest, _BlobKey] = {}
        #: Manifests put or found by digest this run, and how: the tags of one image share
        #: them, so each is asked for once, not once per tag.
        self._manifests: Memo[_BlobKey, BlobOutcome] = Memo()
        #: Per image (its content, shared by its tags): the blobs that are not manifests.
        self._data_blobs: dict[int, list[BlobCopy]] = {}
        #: Each manifest's media type, parsed once however many tags put it.
        self._media_types: dict[Digest, str] = {}

    def run(self, planned: Sequence[PlannedItem]) -> list[ImageResult]:
        """A result per item, in order: failed plans as they are, plans carried out."""
        pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="push")
        results: list[ImageResult] = []
        try:
            plans = [item for item in planned if isinstance(item, ImagePlan)]
            # Every blob queued first, so the pool stays busy across images; a mount waits
            # only on a blob queued before it (running or done when the mount starts).
            for plan in plans:
                self._queue_blobs(pool, plan)
            # Then every image's manifests and tag, in the same pool: each starts once every
            # blob task has, so it waits only on work that runs (30,000 tags: HEADs at once).
            finishing = [pool.submit(self._counted, self._finish_image, plan) for plan in plans]
            done = iter(finishing)
            for item in planned:
                result = item if isinstance(item, ImageResult) else self._result(item, next(done))
                results.append(result)
                self.events.image_done(result)
        except BaseException:
            self.cancelled.set()
            pool.shutdown(wait=False, cancel_futures=True)
            # Bounded: each running upload stops at its next read of the source.
            with self._running_changed:
                self._running_changed.wait_for(lambda: self._running == 0, INTERRUPT_GRACE)
            raise
        pool.shutdown(wait=True)
        return results

    # Blobs -------------------------------------------------------------------------------------

    def _blobs_of(self, plan: ImagePlan) -> list[BlobCopy]:
        """The image's blobs but its manifests (put as manifests, after them); worked out once
        for every tag that shares the image."""
        found = self._data_blobs.get(id(plan.content))
        if found is None:
            manifests = set(plan.manifest_digests)
            found = [blob for blob in plan.blobs if blob.digest not in manifests]
            self._data_blobs[id(plan.content)] = found
        return found

    def _queue_blobs(self, pool: ThreadPoolExecutor, plan: ImagePlan) -> None:
        for blob in self._blobs_of(plan):
            key = _BlobKey(plan.reference.name, blob.digest)
            if key in self._blobs:
                continue
            home = self._first_home.setdefault(blob.digest, key)
            earlier = None if home == key else (home, self._blobs[home])
            self._blobs[key] = pool.submit(self._counted, self._push_blob, key, blob, earlier)

    def _check_go(self) -> None:
        if self.cancelled.is_set():
            raise TransferCancelledError("push interrupted")

    def _counted(self, task: Callable[..., T], *args: Any) -> T:
        """``task(*args)``, counted among the tasks running (see :attr:`_running`)."""
        with self._running_changed:
            self._running += 1
        try:
            return task(*args)
        finally:
            with self._running_changed:
                self._running -= 1
                self._running_changed.notify_all()

    def _push_blob(
        self, key: _BlobKey, blob: BlobCopy, earlier: tuple[_BlobKey, Future[BlobDone]] | None
    ) -> BlobDone:
        self._check_go()
        repository, digest = key.repository, str(key.digest)
        present = self.dest.has_blob(repository, digest)
        if present is not None:
            self.events.bytes_done(present)
            return BlobDone(BlobOutcome.PRESENT, present)
        if earlier is not None and not self.dry_run and self._mounted(key, earlier):
            self.events.bytes_done(blob.size)
            return BlobDone(BlobOutcome.SERVER_SIDE, blob.size)
        if not self.dry_run:
            self.dest.put_blob(repository, digest, blob.size, partial(self._open, blob))
        return BlobDone(BlobOutcome.COPIED, blob.size)

    def _mounted(self, key: _BlobKey, earlier: tuple[_BlobKey, Future[BlobDone]]) -> bool:
        home, future = earlier
        finished(future)
        if future.exception() is not None:
            return False  # not in the other repository: this one uploads it
        self._check_go()
        return self.dest.mount_blob(key.repository, str(key.digest), home.repository)

    def _open(self, blob: BlobCopy, offset: int) -> BinaryIO:
        return open_verified(self.source, blob.digest, blob.size, offset, self._read)

    def _read(self, length: int) -> None:
        self._check_go()
        self.events.bytes_done(length)

    # Images ------------------------------------------------------------------------------------

    def _result(self, plan: ImagePlan, finishing: Future[_ImageDone]) -> ImageResult:
        """The image's result, counted here, in request order: the one rule (BlobTally) then
        says the same whichever image's task finished first."""
        done = result_of(finishing)
        result = ImageResult(plan.reference, plan.digest, skipped=list(plan.skipped))
        for blob, outcome in done.outcomes:
            self.tally.count(result, blob, outcome)
        result.error = done.error
        return result

    def _finish_image(self, plan: ImagePlan) -> _ImageDone:
        """Once the image's blobs are in: its manifests, then its tag."""
        done = _ImageDone()
        try:
            done.error = self._wait_for_blobs(plan, done)
            if done.error is None:
                self._put_manifests(plan, done)
                self._put_tag(plan, done)
        except TransferCancelledError:
            raise
        except ScraperError as exc:
            done.error = str(exc)
        except Exception as exc:
            done.error = unexpected(exc)
        return done

    def _wait_for_blobs(self, plan: ImagePlan, done: _ImageDone) -> str | None:
        """Wait for the image's blobs; the first error, or None when all are in."""
        for blob in self._blobs_of(plan):
            try:
                pushed = result_of(self._blobs[_BlobKey(plan.reference.name, blob.digest)])
            except TransferCancelledError:
                raise
            except ScraperError as exc:
                return str(exc)
            except Exception as exc:
                return unexpected(exc)
            if pushed.size != blob.size:
                return declared_size_error(blob.digest, pushed.size, blob.size)
            done.outcomes.append((blob, pushed.outcome))
        return None

    def _put_manifests(self, plan: ImagePlan, done: _ImageDone) -> None:
        """By digest, every child before the index that names it (the planner lists a
        manifest before its children: the reverse puts each after all it names). Each is put
        once a run: an image sharing it waits for the first one's put."""
        name = plan.reference.name
        for digest in reversed(plan.manifest_digests):
            self._check_go()
            blob = plan.blob(digest)
            assert blob is not None and blob.content is not None, "planned with its bytes"
            put = partial(self._put_manifest, name, str(digest), blob.content, digest)
            try:
                outcome = self._manifests.get(_BlobKey(name, digest), put)
            except ScraperError as exc:
                raise _with_left_out(exc, plan, blob.content) from None
            done.outcomes.append((blob, outcome))

    def _put_manifest(
        self, name: str, reference: str, content: bytes, digest: Digest
    ) -> BlobOutcome:
        if self.dest.has_manifest(name, reference) == str(digest):
            return BlobOutcome.PRESENT
        self._send_manifest(name, reference, content, digest)
        return BlobOutcome.COPIED

    def _send_manifest(self, name: str, reference: str, content: bytes, digest: Digest) -> None:
        if not self.dry_run:
            media_type = self._media_types.get(digest)
            if media_type is None:
                media_type = parse_manifest(content, f"manifest {name}@{digest.short}").media_type
                self._media_types[digest] = media_type
            self.dest.put_manifest(name, reference, media_type, content)

    def _put_tag(self, plan: ImagePlan, done: _ImageDone) -> None:
        tag = plan.reference.tag
        if tag is None or plan.reference.digest is not None:
            return
        blob = plan.blob(plan.digest)
        assert blob is not None and blob.content is not None, "planned with its bytes"
        name, content = plan.reference.name, blob.content
        absent = any(
            put.digest == plan.digest and outcome is BlobOutcome.COPIED
            for put, outcome in done.outcomes
        )
        if absent:
            # The manifest was not there by digest when the run began, so no tag named it:
            # asking for the tag would be a request answered "not found" for sure.
            self._send_manifest(name, tag, content, plan.digest)
        else:
            self._put_manifest(name, tag, content, plan.digest)


def _with_left_out(exc: ScraperError, plan: ImagePlan, content: bytes) -> ScraperError:
    """``exc`` from putting an index some of whose manifests the plan left out (``--platform``,
    a platform-subset shipment), said with that cause: a registry that checks an index's
    manifests (distribution does) refuses it, though the chosen ones were pushed by digest."""
    named = parse_manifest(content, f"index of {plan.reference}").children
    pushed = set(plan.manifest_digests)
    left_out = [child for child in named if child.digest not in pushed]
    if not left_out:
        return exc
    return ScraperError(
        f"{exc}; the index names {len(left_out)} manifests left out (by --platform or by the "
        "shipment), which this destination requires: its chosen manifests were pushed by "
        "digest, the index and its tag were not"
    )
