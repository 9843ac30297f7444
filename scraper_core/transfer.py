"""Transfer: carry out image plans from a source driver to a destination driver.

Blobs are copied in parallel and verified while they stream: the bytes are hashed on the way
through and the destination writer commits only if size and digest match, so a corrupt blob
never reaches its final path. A blob shared by several images is copied once. An image's links
are written only after all its blobs are in place, and its tag links last, so an interrupted
run never leaves a tag that points at missing content. One image failing does not stop others.

Two things stop a run early. An interrupt (Ctrl-C) drops queued copies and cancels running ones
without waiting on anything unbounded. A destination that takes no more writes (full, over
quota, read-only) stops new blobs from starting: every image not yet done fails with one short
notice, and the cause is kept once, in :attr:`BlobCopier.unusable`, for the caller to report.
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from scraper_core import layout
from scraper_core.digest import Digest, link_content
from scraper_core.driver import CheckedDriver, CheckedStagedCopy
from scraper_core.errors import (
    DestinationUnusableError,
    DigestMismatchError,
    ImageNotFoundError,
    InvalidPathError,
    PathNotFoundError,
    ReadOnlyError,
    ScraperError,
    ShortReadError,
    StorageError,
)
from scraper_core.plan import BlobCopy, ImagePlan, LinkWrite
from scraper_core.reference import Reference

#: Read size while streaming: large enough for throughput, small enough to bound memory
#: (at most ``jobs`` chunks are held at once).
CHUNK_SIZE = 1024 * 1024
DEFAULT_JOBS = 8
#: Blobs smaller than this are read, hashed and written by the copying thread itself: a kernel
#: copy runs in a thread of its own, which costs more than it saves on a few kilobytes.
KERNEL_COPY_MIN_SIZE = 1024 * 1024
#: Tries per blob stream; drivers retry single requests, this covers a body broken mid-way.
STREAM_ATTEMPTS = 3
RETRY_DELAY = 0.1
_PERMANENT_ERRORS = (PathNotFoundError, ReadOnlyError, InvalidPathError, DestinationUnusableError)
#: On an interrupt, how long running copies get to notice their cancel before the run gives
#: up waiting for them (each stops at its next chunk; a hung backend is not waited for).
INTERRUPT_GRACE = 5.0
#: How often the main thread wakes while it waits for workers. A signal that lands just
#: before it blocks (or on another thread) interrupts nothing; Python runs the Ctrl-C handler
#: only when the main thread runs again, so it must never block for long.
POLL_INTERVAL = 0.2

T = TypeVar("T")
A = TypeVar("A")


def result_of(future: Future[T]) -> T:
    """``future.result()``, waiting in short steps so that Ctrl-C is seen promptly."""
    while not future.done():
        wait_futures([future], timeout=POLL_INTERVAL)
    return future.result()


def map_promptly(
    pool: ThreadPoolExecutor, function: Callable[[A], T], items: Iterable[A]
) -> list[T]:
    """``list(pool.map(function, items))``, interruptible by Ctrl-C at any moment."""
    futures = [pool.submit(function, item) for item in items]
    try:
        return [result_of(future) for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def unexpected(exc: Exception) -> str:
    """One line for an exception no check foresaw (a bug, or a driver breaking its contract)."""
    text = " ".join(str(exc).split()) or "no detail"
    return f"unexpected error: {type(exc).__name__}: {text}"


class TransferCancelledError(ScraperError):
    """The run was interrupted; in-flight blobs were discarded."""


class NotCopiedError(ScraperError):
    """A blob was not started (or was stopped) because the destination became unusable."""


class BlobOutcome(enum.Enum):
    #: Streamed and verified against its digest.
    COPIED = "copied"
    #: Hardlinked (``--link``): content addressing is trusted, no byte is read.
    LINKED = "linked"
    #: Copied inside the backend: content addressing is trusted, no byte passes through us.
    SERVER_SIDE = "copied server-side"
    #: At the destination with the right size: kept without reading it.
    PRESENT = "present"
    #: At the destination with the right size, re-hashed (``--recheck``) and sound.
    RECHECKED = "present, re-checked"
    #: At the destination with the right size but damaged (``--recheck``): replaced by a
    #: fresh, verified copy.
    REPLACED = "replaced (damaged at the destination)"


#: Outcomes of blobs that were already at the destination and kept.
KEPT = frozenset({BlobOutcome.PRESENT, BlobOutcome.RECHECKED})


@dataclass
class ImageResult:
    """What happened to one requested reference."""

    reference: Reference
    digest: Digest | None = None
    error: str | None = None
    blobs_copied: int = 0
    bytes_copied: int = 0
    blobs_present: int = 0
    skipped: list[str] = field(default_factory=list)
    #: Present blobs re-hashed and found sound (``--recheck``); counted in blobs_present.
    blobs_rechecked: int = 0
    #: Present blobs found damaged and copied again (``--recheck``); counted in blobs_copied.
    blobs_replaced: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class BlobTally:
    """The one rule for counting a run's blobs: a blob shared by several images is copied
    once, so it counts once, as copied (or present) for the first image counted that holds
    it, and as present for every later one. Previews, copies and progress totals all count
    through here, in the order the images were requested."""

    def __init__(self) -> None:
        self._counted: set[Digest] = set()
        self._lock = threading.Lock()

    @staticmethod
    def unique_bytes(plans: Iterable[ImagePlan]) -> int:
        """The bytes the blobs of ``plans`` hold, each distinct blob once."""
        return sum({blob.digest: blob.size for plan in plans for blob in plan.blobs}.values())

    def counted(self, digest: Digest) -> bool:
        """Whether an earlier image already counted ``digest``."""
        with self._lock:
            return digest in self._counted

    def count(self, result: ImageResult, blob: BlobCopy, outcome: BlobOutcome) -> None:
        """Add ``blob``'s ``outcome`` to ``result``: to this image if it is the first to
        count the blob, else as a blob already present."""
        with self._lock:
            first = blob.digest not in self._counted
            self._counted.add(blob.digest)
        if outcome in KEPT or not first:
            result.blobs_present += 1
            if outcome is BlobOutcome.RECHECKED and first:
                result.blobs_rechecked += 1
            return
        result.blobs_copied += 1
        result.bytes_copied += blob.size
        if outcome is BlobOutcome.REPLACED:
            result.blobs_replaced += 1


class TransferEvents(Protocol):
    """What a progress display hears about. Blob and byte events come from worker threads."""

    def bytes_done(self, size: int) -> None:
        """Bytes of blobs dealt with: streamed, linked, copied server-side or found present."""
        ...

    def blob_done(self, blob: BlobCopy, outcome: BlobOutcome) -> None: ...

    def image_done(self, result: ImageResult) -> None: ...


class NoEvents:
    """Hears nothing: for callers that need no progress."""

    def bytes_done(self, size: int) -> None:
        pass

    def blob_done(self, blob: BlobCopy, outcome: BlobOutcome) -> None:
        pass

    def image_done(self, result: ImageResult) -> None:
        pass


class BlobCopier:
    """Copies blobs once each, however many images share them, verifying every byte."""

    def __init__(
        self,
        source: CheckedDriver,
        dest: CheckedDriver,
        events: TransferEvents | None = None,
        *,
        link: bool = False,
        recheck: bool = False,
    ) -> None:
        self.source = source
        self.dest = dest
        self.events: TransferEvents = events or NoEvents()
        self.link = link
        #: Re-hash blobs already present (``--recheck``) instead of trusting their size.
        self.recheck = recheck
        #: Streams restarted after a transient failure (reported by fault tests).
        self.retries = 0
        self._retry_lock = threading.Lock()
        #: Set on interrupt: streams stop at the next chunk and discard their temp files.
        self.cancelled = threading.Event()
        #: The first sign that the destination takes no more writes; then no blob starts.
        self.unusable: DestinationUnusableError | None = None
        self._unusable_lock = threading.Lock()
        #: Kernel copies running now, so an interrupt can cancel them from outside.
        self._staged: set[CheckedStagedCopy] = set()
        self._staged_lock = threading.Lock()

    def is_present(self, blob: BlobCopy) -> bool:
        """A blob already at the destination with the right size is not copied again."""
        try:
            return self.dest.stat(layout.blob_data_path(blob.digest)).size == blob.size
        except PathNotFoundError:
            return False

    def mark_unusable(self, error: DestinationUnusableError) -> None:
        """Remember the destination is unusable (the first cause wins); stop new blobs."""
        with self._unusable_lock:
            if self.unusable is None:
                self.unusable = error

    def check_go(self) -> None:
        """Raise if no more work may start or go on: interrupted, or destination unusable."""
        if self.cancelled.is_set():
            raise TransferCancelledError("copy interrupted")
        unusable = self.unusable
        if unusable is not None:
            raise NotCopiedError(unusable.notice())

    def interrupt(self) -> None:
        """Stop everything: nothing new starts, streams stop at their next chunk, and running
        kernel copies are cancelled. Never blocks: each cancel runs in a thread of its own, so
        a driver slow to cancel cannot hold up the caller."""
        self.cancelled.set()
        with self._staged_lock:
            running = list(self._staged)
        for staged in running:
            threading.Thread(
                target=self._cancel_quietly, args=(staged,), name="cancel-copy", daemon=True
            ).start()

    @staticmethod
    def _cancel_quietly(staged: CheckedStagedCopy) -> None:
        # The run is being interrupted: a cancel that fails has nobody left to tell.
        with contextlib.suppress(ScraperError):
            staged.cancel()

    def copy(self, blob: BlobCopy) -> BlobOutcome:
        self.check_go()
        try:
            outcome = self._copy(blob)
        except DestinationUnusableError as exc:
            self.mark_unusable(exc)
            raise
        except PathNotFoundError:
            # Plans of copies take sizes from manifests, so a blob missing from the source
            # shows only now; it is the image's problem, named as a preview names it.
            if self._missing_at_source(blob):
                raise ImageNotFoundError(f"blob missing from source: {blob.digest}") from None
            raise
        self.events.blob_done(blob, outcome)
        return outcome

    def _missing_at_source(self, blob: BlobCopy) -> bool:
        try:
            return not self.source.exists(layout.blob_data_path(blob.digest))
        except ScraperError:
            return False

    def _copy(self, blob: BlobCopy) -> BlobOutcome:
        path = layout.blob_data_path(blob.digest)
        if self.is_present(blob):
            if not self.recheck:
                self.events.bytes_done(blob.size)
                return BlobOutcome.PRESENT
            if self._sound_at_destination(path, blob):
                self.events.bytes_done(blob.size)
                return BlobOutcome.RECHECKED
            # Damaged in place: a fresh copy verified while it streams replaces it atomically
            # (never a hardlink or a server-side copy, which would trust the bytes unread).
            if blob.content is not None:
                self.dest.put_content(path, blob.content)
                self.events.bytes_done(blob.size)
            else:
                self._stream(path, blob)
            return BlobOutcome.REPLACED
        if self.link and self.dest.link_blob(self.source, path):
            outcome = BlobOutcome.LINKED
        elif blob.content is not None:
            # Manifests were read and verified while planning.
            self.dest.put_content(path, blob.content)
            outcome = BlobOutcome.COPIED
        elif self.dest.server_side_copy(self.source, path):
            # Content addressing is trusted (no byte passes through here); a wrong size is
            # still caught, and the copy removed, so a truncated source blob never ships.
            copied_size = self.dest.stat(path).size
            if copied_size != blob.size:
                self.dest.delete(path)
                raise DigestMismatchError(
                    f"blob {blob.digest}: server-side copy has {copied_size} bytes, "
                    f"expected {blob.size}"
                )
            outcome = BlobOutcome.SERVER_SIDE
        else:
            self._stream(path, blob)
            return BlobOutcome.COPIED
        self.events.bytes_done(blob.size)
        return outcome

    def _sound_at_destination(self, path: str, blob: BlobCopy) -> bool:
        """Whether the blob at the destination hashes to its digest (read in chunks, never
        past its expected size); False when it does not or has vanished meanwhile."""
        hasher = blob.digest.hasher()
        size = 0
        try:
            with self.dest.reader(path) as reader:
                while chunk := reader.read(min(CHUNK_SIZE, blob.size + 1 - size)):
                    self.check_go()
                    size += len(chunk)
                    if size > blob.size:
                        return False
                    hasher.update(chunk)
        except PathNotFoundError:
            return False
        return size == blob.size and hasher.hexdigest() == blob.digest.hex

    def _stream(self, path: str, blob: BlobCopy) -> None:
        """Stream with retries: a reset or truncated body mid-blob is retried from the start."""
        for attempt in range(1, STREAM_ATTEMPTS + 1):
            try:
                self._stream_once(path, blob)
                return
            except (StorageError, ShortReadError) as exc:
                permanent = isinstance(exc, _PERMANENT_ERRORS)
                if permanent or attempt == STREAM_ATTEMPTS:
                    raise
                self.check_go()
                with self._retry_lock:
                    self.retries += 1
                time.sleep(RETRY_DELAY * 2**attempt)

    def _stream_once(self, path: str, blob: BlobCopy) -> None:
        staged = None
        if blob.size >= KERNEL_COPY_MIN_SIZE:
            staged = self.dest.start_copy(self.source, path)
        if staged is not None:
            self._hash_beside(path, blob, staged)
            return
        hasher = blob.digest.hasher()
        size = 0
        with self.source.reader(path) as reader, self.dest.writer(path) as writer:
            while chunk := reader.read(CHUNK_SIZE):
                self.check_go()
                size += len(chunk)
                if size > blob.size:
                    raise _longer_than_said(blob)
                hasher.update(chunk)
                writer.write(chunk)
                self.events.bytes_done(len(chunk))
            if size != blob.size:
                raise ShortReadError(f"blob {blob.digest}: read {size} bytes, expected {blob.size}")
            actual = Digest(blob.digest.algorithm, hasher.hexdigest())
            if actual != blob.digest:
                raise DigestMismatchError(
                    f"blob {blob.digest} is corrupt in the source: its content hashes to {actual}"
                )
            writer.commit()

    def _hash_beside(self, path: str, blob: BlobCopy, staged: CheckedStagedCopy) -> None:
        """Hash the source while the kernel copies it; commit only if both agree."""
        with self._staged_lock:
            self._staged.add(staged)
        try:
            self._hash_beside_tracked(path, blob, staged)
        finally:
            with self._staged_lock:
                self._staged.discard(staged)

    def _hash_beside_tracked(self, path: str, blob: BlobCopy, staged: CheckedStagedCopy) -> None:
        hasher = blob.digest.hasher()
        size = 0
        with staged, self.source.reader(path) as reader:
            # An interrupt that came before the copy was tracked would not have cancelled it.
            self.check_go()
            while chunk := reader.read(CHUNK_SIZE):
                self.check_go()
                size += len(chunk)
                if size > blob.size:
                    # Leaving the block cancels the kernel copy: no longer file is read on.
                    raise _longer_than_said(blob)
                hasher.update(chunk)
                self.events.bytes_done(len(chunk))
            # An interrupt meanwhile cancels the copy, which ends this wait.
            copied = staged.wait()
            self.check_go()
            if size != blob.size or copied != blob.size:
                raise ShortReadError(
                    f"blob {blob.digest}: read {size} and copied {copied} bytes, "
                    f"expected {blob.size}"
                )
            actual = Digest(blob.digest.algorithm, hasher.hexdigest())
            if actual != blob.digest:
                raise DigestMismatchError(
                    f"blob {blob.digest} is corrupt in the source: its content hashes to {actual}"
                )
            staged.commit()


def _longer_than_said(blob: BlobCopy) -> DigestMismatchError:
    # Not a ShortReadError: a blob longer than its manifest says is no broken connection, and
    # reading it again would find it as long.
    return DigestMismatchError(
        f"blob {blob.digest} is longer than the {blob.size} bytes its manifest says"
    )


class Transfer:
    """Runs many image plans against one destination with a pool of ``jobs`` threads."""

    def __init__(
        self,
        source: CheckedDriver,
        dest: CheckedDriver,
        *,
        jobs: int,
        events: TransferEvents | None = None,
        link: bool = False,
        recheck: bool = False,
    ) -> None:
        self.copier = BlobCopier(source, dest, events, link=link, recheck=recheck)
        self.dest = dest
        self.jobs = max(1, jobs)
        self._blob_futures: dict[Digest, Future[BlobOutcome]] = {}
        self._lock = threading.Lock()
        self.tally = BlobTally()
        #: Revision and layer links written or found right this run. The images of many tags
        #: share them (30,000 tags on 4 manifests name the same dozen links), so each is
        #: checked at the destination once per run, not once per tag. Bounded by the distinct
        #: content copied. Tag links are never remembered: each tag's are checked.
        self._links_done: set[LinkWrite] = set()

    @property
    def unusable(self) -> DestinationUnusableError | None:
        """Why the destination stopped taking writes during :meth:`run`, if it did."""
        return self.copier.unusable

    def _submit_blob(self, pool: ThreadPoolExecutor, blob: BlobCopy) -> Future[BlobOutcome]:
        """The blob's copy, queued once however many images share it."""
        with self._lock:
            future = self._blob_futures.get(blob.digest)
            if future is None:
                future = pool.submit(self.copier.copy, blob)
                self._blob_futures[blob.digest] = future
            return future

    def write_link(self, link: LinkWrite) -> bool:
        """Write a link unless it already holds exactly these bytes; True if written."""
        content = link_content(link.digest)
        try:
            # Bounded: a destination holding a huge file there is read no further than a link.
            if self.dest.read_head(link.path, len(content) + 1) == content:
                return False
        except PathNotFoundError:
            pass
        # Links are still tried once the destination is unusable: an image whose blobs are all
        # in place needs only a few bytes more (a full disk may still take them; a read-only
        # one fails them, and the image says so).
        if self.copier.cancelled.is_set():
            raise TransferCancelledError("copy interrupted")
        try:
            self.dest.put_content(link.path, content)
        except DestinationUnusableError as exc:
            self.copier.mark_unusable(exc)
            raise
        return True

    def run(self, plans: Sequence[ImagePlan]) -> list[ImageResult]:
        results: list[ImageResult] = []
        pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="scrape")
        try:
            # Every blob of every image is queued first so the pool stays busy across images.
            blob_futures = [
                [(blob, self._submit_blob(pool, blob)) for blob in plan.blobs] for plan in plans
            ]
            for plan, futures in zip(plans, blob_futures, strict=True):
                result = self._finish_image(pool, plan, futures)
                results.append(result)
                self._announce_unusable()
                self.copier.events.image_done(result)
        except BaseException:
            # Ctrl-C: drop queued copies, cancel running ones, wait a bounded time for them
            # to clean up, then re-raise.
            self._stop(pool)
            raise
        pool.shutdown(wait=True)
        return results

    def _announce_unusable(self) -> None:
        """Tell the events (once they implement ``destination_unusable(error)``) why images
        are failing, before the first image says it was not copied."""
        unusable = self.unusable
        announce = getattr(self.copier.events, "destination_unusable", None)
        if unusable is not None and callable(announce):
            announce(unusable)

    def _stop(self, pool: ThreadPoolExecutor) -> None:
        self.copier.interrupt()
        pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pending = [future for future in self._blob_futures.values() if not future.done()]
        # Running copies stop at their next chunk (their cancel makes kernel copies return);
        # one that does not within the grace period is left behind rather than waited for.
        wait_futures(pending, timeout=INTERRUPT_GRACE)

    def _finish_image(
        self,
        pool: ThreadPoolExecutor,
        plan: ImagePlan,
        futures: list[tuple[BlobCopy, Future[BlobOutcome]]],
    ) -> ImageResult:
        result = ImageResult(plan.reference, plan.digest, skipped=list(plan.skipped))
        errors: list[str] = []
        for blob, future in futures:
            try:
                outcome = result_of(future)
            except (DestinationUnusableError, NotCopiedError):
                # Said once for the whole run by the caller, not once per blob.
                errors.append(self._unusable_notice())
                continue
            except ScraperError as exc:
                errors.append(str(exc))
                continue
            except Exception as exc:
                errors.append(unexpected(exc))
                continue
            self.tally.count(result, blob, outcome)
        if errors:
            # The first error names the blob; more would only repeat the image's failure.
            result.error = errors[0]
            return result
        try:
            self._write_shared_links(pool, plan.links)
            for link in plan.tag_links:
                self.write_link(link)
        except (DestinationUnusableError, NotCopiedError):
            result.error = self._unusable_notice()
        except ScraperError as exc:
            result.error = str(exc)
        except Exception as exc:
            result.error = unexpected(exc)
        return result

    def _write_shared_links(self, pool: ThreadPoolExecutor, links: Sequence[LinkWrite]) -> None:
        """Write an image's revision and layer links, skipping those already written or found
        right earlier in this run (another tag of the same image, or an image sharing layers)."""
        with self._lock:
            todo = [link for link in links if link not in self._links_done]
        if not todo:
            return
        map_promptly(pool, self.write_link, todo)
        # Only once every link of the image is in place: a failure leaves them to be checked
        # again by the next image that needs them.
        with self._lock:
            self._links_done.update(todo)

    def _unusable_notice(self) -> str:
        unusable = self.unusable
        assert unusable is not None, "marked before any copy fails for it"
        return unusable.notice()
