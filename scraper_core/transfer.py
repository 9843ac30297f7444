"""Transfer: carry out image plans from a source driver to a destination driver.

Blobs are copied in parallel and verified while they stream: the bytes are hashed on the way
through and the destination writer commits only if size and digest match, so a corrupt blob
never reaches its final path. A blob shared by several images is copied once. An image's links
are written only after all its blobs are in place, and its tag links last, so an interrupted
run never leaves a tag that points at missing content. One image failing does not stop others.

Each image is judged on its own manifests. A blob is copied once, checked against its digest
and read no further than the largest size any image declares; each image then compares what
its manifests declare with the size the bytes have, so one image's wrong declaration fails it
alone, whatever order the images came in.

A destination that commits in order (an archive, see :mod:`scraper_core.commit_order`) still
gets its blobs copied in parallel, but committed in plan order, then every link from one
thread, image by image.

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
from scraper_core.checked import CheckedDriver, CheckedStagedCopy
from scraper_core.commit_order import CommitOrder, Turn, no_turn
from scraper_core.contract import Capability
from scraper_core.digest import Digest, link_content
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
from scraper_core.plan import BlobCopy, ImagePlan, LinkWrite, declared_size_error
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
    finished(future)
    return future.result()


def finished(future: Future[T]) -> None:
    """Wait, in short steps so that Ctrl-C is seen promptly, until ``future`` is done."""
    while not future.done():
        wait_futures([future], timeout=POLL_INTERVAL)


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


class WrongSizeError(DigestMismatchError):
    """The blob's bytes match its digest at a size no manifest of the run declares: each
    image that needs it fails, stating the true size against its own declaration."""

    def __init__(self, digest: Digest, true_size: int, declared: str) -> None:
        super().__init__(declared_size_error(digest, true_size, declared))
        self.true_size = true_size


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


@dataclass(frozen=True)
class BlobJob:
    """One blob as a run copies it: once, for every image that needs it.

    Images may declare different sizes for one blob (one of them wrong): the copy checks the
    bytes against the digest alone, never reads past the largest size declared, and tells the
    true size, against which each image then checks what its own manifests say."""

    digest: Digest
    #: Every size the chosen manifests declare (or the source's, where it was stat'ed).
    sizes: frozenset[int]
    #: The bytes, already read and verified while planning (manifests).
    content: bytes | None = None

    @classmethod
    def of(cls, blob: BlobCopy) -> BlobJob:
        return cls(blob.digest, frozenset({blob.size}), blob.content)

    @property
    def limit(self) -> int:
        """No stream of it grows past this many bytes."""
        return max(self.sizes)

    @property
    def expected(self) -> str:
        """The sizes declared, as a message states them."""
        return " or ".join(str(size) for size in sorted(self.sizes))


def blob_jobs(plans: Iterable[ImagePlan]) -> list[BlobJob]:
    """One job per distinct blob of ``plans``, in the order the blobs first appear."""
    sizes: dict[Digest, set[int]] = {}
    contents: dict[Digest, bytes] = {}
    seen: set[int] = set()
    for plan in plans:
        # The tags of one image share its content: 30,000 tags on 4 manifests are read 4 times.
        if id(plan.content) in seen:
            continue
        seen.add(id(plan.content))
        for blob in plan.blobs:
            sizes.setdefault(blob.digest, set()).add(blob.size)
            if blob.content is not None:
                contents.setdefault(blob.digest, blob.content)
    return [BlobJob(digest, frozenset(of), contents.get(digest)) for digest, of in sizes.items()]


@dataclass(frozen=True)
class BlobDone:
    """How a blob got to the destination, and its true size (its bytes match its digest)."""

    outcome: BlobOutcome
    size: int


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
    #: Blobs found at the destination before this run and kept for their size alone;
    #: counted in blobs_present (which also counts blobs an earlier image of the run brought).
    blobs_trusted: int = 0

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
            if outcome is BlobOutcome.PRESENT and first:
                result.blobs_trusted += 1
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
        return self.present_size(BlobJob.of(blob)) is not None

    def present_size(self, job: BlobJob) -> int | None:
        """The size of the blob at the destination if it is one of those declared (then it
        is kept without reading it); None: absent, or of a size no image expects."""
        try:
            size = self.dest.stat(layout.blob_data_path(job.digest)).size
        except PathNotFoundError:
            return None
        return size if size in job.sizes else None

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
        """Copy one blob of the size ``blob`` says (see :meth:`copy_job`)."""
        return self.copy_job(BlobJob.of(blob)).outcome

    def copy_job(self, job: BlobJob, turn: Turn | None = None) -> BlobDone:
        """Bring ``job``'s blob to the destination, verified against its digest, and say
        its true size (one of those declared, else it fails). ``turn``: when this blob may
        write, for a destination that commits in order."""
        self.check_go()
        try:
            done = self._copy(job, turn or no_turn())
        except DestinationUnusableError as exc:
            self.mark_unusable(exc)
            raise
        except PathNotFoundError:
            # Plans of copies take sizes from manifests, so a blob missing from the source
            # shows only now; it is the image's problem, named as a preview names it.
            if self._missing_at_source(job.digest):
                raise ImageNotFoundError(f"blob missing from source: {job.digest}") from None
            raise
        self.events.blob_done(BlobCopy(job.digest, done.size, job.content), done.outcome)
        return done

    def _missing_at_source(self, digest: Digest) -> bool:
        try:
            return not self.source.exists(layout.blob_data_path(digest))
        except ScraperError:
            return False

    def _can(self, capability: Capability) -> bool:
        return capability in self.dest.capabilities

    def _copy(self, job: BlobJob, turn: Turn) -> BlobDone:
        path = layout.blob_data_path(job.digest)
        present = self.present_size(job)
        if present is not None:
            if not self.recheck:
                self.events.bytes_done(present)
                return BlobDone(BlobOutcome.PRESENT, present)
            if self._sound_at_destination(path, job.digest, present):
                self.events.bytes_done(present)
                return BlobDone(BlobOutcome.RECHECKED, present)
            # Damaged in place: a fresh copy verified while it streams replaces it atomically
            # (never a hardlink or a server-side copy, which would trust the bytes unread).
            if job.content is not None:
                turn.wait()
                self.dest.put_content(path, job.content)
                self.events.bytes_done(len(job.content))
                return BlobDone(BlobOutcome.REPLACED, len(job.content))
            return BlobDone(BlobOutcome.REPLACED, self._stream(path, job, turn))
        if self.link and self._can(Capability.HARDLINK):
            turn.wait()
        if self.link and self.dest.link_blob(self.source, path):
            # Content addressing is trusted: the size is the file's, for images to check.
            outcome, size = BlobOutcome.LINKED, self.dest.stat(path).size
        elif job.content is not None:
            # Manifests were read and verified while planning.
            turn.wait()
            self.dest.put_content(path, job.content)
            outcome, size = BlobOutcome.COPIED, len(job.content)
        elif self._server_side_copy(path, job, turn):
            outcome, size = BlobOutcome.SERVER_SIDE, self._server_side_size(path, job)
        else:
            return BlobDone(BlobOutcome.COPIED, self._stream(path, job, turn))
        self.events.bytes_done(size)
        return BlobDone(outcome, size)

    def _server_side_copy(self, path: str, job: BlobJob, turn: Turn) -> bool:
        if self._can(Capability.SERVER_SIDE_COPY):
            turn.wait()
        return self.dest.server_side_copy(self.source, path)

    def _server_side_size(self, path: str, job: BlobJob) -> int:
        """Content addressing is trusted (no byte passes through here); a size no image
        declares is still caught, and the copy removed, so a truncated blob never ships."""
        copied_size = self.dest.stat(path).size
        if copied_size not in job.sizes:
            self.dest.delete(path)
            raise DigestMismatchError(
                f"blob {job.digest}: server-side copy has {copied_size} bytes, "
                f"expected {job.expected}"
            )
        return copied_size

    def _sound_at_destination(self, path: str, digest: Digest, expected: int) -> bool:
        """Whether the blob at the destination hashes to its digest (read in chunks, never
        past its expected size); False when it does not or has vanished meanwhile."""
        hasher = digest.hasher()
        size = 0
        try:
            with self.dest.reader(path) as reader:
                while chunk := reader.read(min(CHUNK_SIZE, expected + 1 - size)):
                    self.check_go()
                    size += len(chunk)
                    if size > expected:
                        return False
                    hasher.update(chunk)
        except PathNotFoundError:
            return False
        return size == expected and hasher.hexdigest() == digest.hex

    def _stream(self, path: str, job: BlobJob, turn: Turn) -> int:
        """Stream with retries: a reset or truncated body mid-blob is retried from the start.
        Returns the blob's size."""
        for attempt in range(1, STREAM_ATTEMPTS + 1):
            try:
                return self._stream_once(path, job, turn)
            except (StorageError, ShortReadError) as exc:
                permanent = isinstance(exc, _PERMANENT_ERRORS)
                if permanent or attempt == STREAM_ATTEMPTS:
                    raise
                self.check_go()
                with self._retry_lock:
                    self.retries += 1
                time.sleep(RETRY_DELAY * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _stream_once(self, path: str, job: BlobJob, turn: Turn) -> int:
        if job.limit > self.dest.stages_in_memory_up_to:
            # Its writer may need what writers share (an archive's one spool file): taken
            # only in turn, or two large blobs could each wait for the other's.
            turn.wait()
        staged = None
        if job.limit >= KERNEL_COPY_MIN_SIZE:
            staged = self.dest.start_copy(self.source, path)
        if staged is not None:
            return self._hash_beside(path, job, staged, turn)
        hasher = job.digest.hasher()
        size = 0
        with self.source.reader(path) as reader, self.dest.writer(path) as writer:
            # Never a byte past the largest size declared, whatever the source holds.
            while chunk := reader.read(min(CHUNK_SIZE, job.limit + 1 - size)):
                self.check_go()
                size += len(chunk)
                if size > job.limit:
                    raise self._longer_than_said(path, job)
                hasher.update(chunk)
                writer.write(chunk)
                self.events.bytes_done(len(chunk))
            self._check_whole(job, size, hasher.hexdigest())
            turn.wait()
            writer.commit()
        return size

    def _check_whole(self, job: BlobJob, size: int, hexdigest: str) -> None:
        """Raise unless ``size`` bytes hashing to ``hexdigest`` are the blob at a declared
        size. The digest is the judge: bytes that match it are the blob, whatever was
        declared; bytes that do not, at a size nobody declared, may be a body cut short."""
        actual = Digest(job.digest.algorithm, hexdigest)
        if actual == job.digest:
            if size not in job.sizes:
                raise WrongSizeError(job.digest, size, job.expected)
            return
        if size not in job.sizes:
            raise ShortReadError(f"blob {job.digest}: read {size} bytes, expected {job.expected}")
        raise DigestMismatchError(
            f"blob {job.digest} is corrupt in the source: its content hashes to {actual}"
        )

    def _hash_beside(self, path: str, job: BlobJob, staged: CheckedStagedCopy, turn: Turn) -> int:
        """Hash the source while the kernel copies it; commit only if both agree."""
        with self._staged_lock:
            self._staged.add(staged)
        try:
            return self._hash_beside_tracked(path, job, staged, turn)
        finally:
            with self._staged_lock:
                self._staged.discard(staged)

    def _hash_beside_tracked(
        self, path: str, job: BlobJob, staged: CheckedStagedCopy, turn: Turn
    ) -> int:
        hasher = job.digest.hasher()
        size = 0
        with staged, self.source.reader(path) as reader:
            # An interrupt that came before the copy was tracked would not have cancelled it.
            self.check_go()
            while chunk := reader.read(min(CHUNK_SIZE, job.limit + 1 - size)):
                self.check_go()
                size += len(chunk)
                if size > job.limit:
                    # Leaving the block cancels the kernel copy: no longer file is read on.
                    raise self._longer_than_said(path, job)
                hasher.update(chunk)
                self.events.bytes_done(len(chunk))
            # An interrupt meanwhile cancels the copy, which ends this wait.
            copied = staged.wait()
            self.check_go()
            if copied != size:
                raise ShortReadError(
                    f"blob {job.digest}: read {size} and copied {copied} bytes, "
                    f"expected {job.expected}"
                )
            self._check_whole(job, size, hasher.hexdigest())
            turn.wait()
            staged.commit()
        return size

    def _longer_than_said(self, path: str, job: BlobJob) -> DigestMismatchError:
        """The blob is longer than any manifest says: its true size, where a stat tells it.
        Not a ShortReadError: no broken connection, and reading again would find it as long."""
        try:
            true_size = self.source.stat(path).size
        except ScraperError:
            true_size = 0
        if true_size > job.limit:
            return WrongSizeError(job.digest, true_size, job.expected)
        return DigestMismatchError(
            f"blob {job.digest} is longer than the {job.expected} bytes its manifest says"
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
        self._blob_futures: dict[Digest, Future[BlobDone]] = {}
        #: Jobs :meth:`start` began before :meth:`run` knew every plan, and their pool.
        self._early: dict[Digest, BlobJob] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.tally = BlobTally()
        #: Revision and layer links written or found right this run. The images of many tags
        #: share them (30,000 tags on 4 manifests name the same dozen links), so each is
        #: checked at the destination once per run, not once per tag. Bounded by the distinct
        #: content copied. Tag links are never remembered: each tag's are checked.
        self._links_done: set[LinkWrite] = set()
        #: Whether this run wrote anything at the destination (a blob or a link): a run that
        #: wrote nothing leaves no receipt behind (a rerun leaves a tree as it was).
        self.changed = False

    @property
    def unusable(self) -> DestinationUnusableError | None:
        """Why the destination stopped taking writes during :meth:`run`, if it did."""
        return self.copier.unusable

    def _copy_in_turn(self, job: BlobJob, turn: Turn) -> BlobDone:
        try:
            return self.copier.copy_job(job, turn)
        finally:
            # Committed, failed, found present or cancelled: the next blob's turn.
            turn.end()

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
        # Before the write: a write that fails half-way may have changed the destination.
        self.changed = True
        try:
            self.dest.put_content(link.path, content)
        except DestinationUnusableError as exc:
            self.copier.mark_unusable(exc)
            raise
        return True

    def _started_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="scrape")
            return self._pool

    def start(self, plans: Iterable[ImagePlan]) -> None:
        """Begin copying the blobs of ``plans`` while later plans are still being made
        (:meth:`run` is then given every plan, these included). Safe because blobs are
        content-addressed and only :meth:`run` writes links; not for a destination that
        commits in order, whose order is the whole run's."""
        if self.dest.commits_in_order:
            raise ValueError("a destination that commits in order is copied by run() alone")
        pool = self._started_pool()
        for job in blob_jobs(plans):
            with self._lock:
                if job.digest in self._blob_futures:
                    continue
                self._early[job.digest] = job
                self._blob_futures[job.digest] = pool.submit(self._copy_in_turn, job, no_turn())

    def _submit(self, pool: ThreadPoolExecutor, job: BlobJob, turn: Turn) -> None:
        with self._lock:
            early = self._early.get(job.digest)
            if early is None:
                self._blob_futures[job.digest] = pool.submit(self._copy_in_turn, job, turn)
            elif not job.sizes <= early.sizes:
                # A later image declares another size: the early copy, read no further than
                # the sizes known then, stands unless it failed on its size or content.
                future = self._blob_futures[job.digest]
                self._blob_futures[job.digest] = pool.submit(self._settle, future, job)

    def _settle(self, early: Future[BlobDone], job: BlobJob) -> BlobDone:
        # Submitted after ``early``: the pool started that one already, so this wait is on a
        # running copy, never on a queued one.
        finished(early)
        if early.cancelled():
            raise TransferCancelledError("copy interrupted")
        if isinstance(early.exception(), DigestMismatchError | ShortReadError):
            return self._copy_in_turn(job, no_turn())
        return early.result()

    def run(self, plans: Sequence[ImagePlan]) -> list[ImageResult]:
        results: list[ImageResult] = []
        pool = self._started_pool()
        # A destination that commits in order gets blobs in plan order, then every link.
        order = CommitOrder() if self.dest.commits_in_order else None
        try:
            # Every blob of every image is queued first so the pool stays busy across images;
            # the pool starts them in this order, so a blob waiting for its turn waits only
            # on blobs already running. Blobs :meth:`start` began are not queued again.
            for place, job in enumerate(blob_jobs(plans)):
                self._submit(pool, job, Turn(order, place, self.copier.check_go))
            if order is not None:
                for future in self._blob_futures.values():
                    finished(future)
            for plan in plans:
                result = self._finish_image(pool, plan, in_order=order is not None)
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

    def stop(self) -> None:
        """Stop the copies :meth:`start` began (the run failed or was interrupted before
        :meth:`run`): as an interrupt does, waiting a bounded time."""
        with self._lock:
            pool = self._pool
        # Once is enough: an interrupt in run() stopped them already.
        if pool is not None and not self.copier.cancelled.is_set():
            self._stop(pool)

    def _stop(self, pool: ThreadPoolExecutor) -> None:
        self.copier.interrupt()
        pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pending = [future for future in self._blob_futures.values() if not future.done()]
        # Running copies stop at their next chunk (their cancel makes kernel copies return);
        # one that does not within the grace period is left behind rather than waited for.
        wait_futures(pending, timeout=INTERRUPT_GRACE)

    def _finish_image(
        self, pool: ThreadPoolExecutor, plan: ImagePlan, *, in_order: bool
    ) -> ImageResult:
        """``in_order``: links are written by this thread alone, in plan order."""
        result = ImageResult(plan.reference, plan.digest, skipped=list(plan.skipped))
        errors: list[str] = []
        for blob in plan.blobs:
            try:
                done = result_of(self._blob_futures[blob.digest])
            except (DestinationUnusableError, NotCopiedError):
                # Said once for the whole run by the caller, not once per blob.
                errors.append(self._unusable_notice())
                continue
            except WrongSizeError as exc:
                errors.append(declared_size_error(blob.digest, exc.true_size, blob.size))
                continue
            except ScraperError as exc:
                errors.append(str(exc))
                continue
            except Exception as exc:
                errors.append(unexpected(exc))
                continue
            if done.size != blob.size:
                # Another image declared the size the blob has; this one's manifest is wrong.
                errors.append(declared_size_error(blob.digest, done.size, blob.size))
                continue
            if done.outcome not in KEPT:
                self.changed = True
            self.tally.count(result, blob, done.outcome)
        if errors:
            # The first error names the blob; more would only repeat the image's failure.
            result.error = errors[0]
            return result
        try:
            self._write_shared_links(pool, plan.links, in_order=in_order)
            for link in plan.tag_links:
                self.write_link(link)
        except (DestinationUnusableError, NotCopiedError):
            result.error = self._unusable_notice()
        except ScraperError as exc:
            result.error = str(exc)
        except Exception as exc:
            result.error = unexpected(exc)
        return result

    def _write_shared_links(
        self, pool: ThreadPoolExecutor, links: Sequence[LinkWrite], *, in_order: bool
    ) -> None:
        """Write an image's revision and layer links, skipping those already written or found
        right earlier in this run (another tag of the same image, or an image sharing layers).
        ``in_order``: one after the other, in plan order, by this thread."""
        with self._lock:
            todo = [link for link in links if link not in self._links_done]
        if not todo:
            return
        if in_order:
            for link in todo:
                self.write_link(link)
        else:
            map_promptly(pool, self.write_link, todo)
        # Only once every link of the image is in place: a failure leaves them to be checked
        # again by the next image that needs them.
        with self._lock:
            self._links_done.update(todo)

    def _unusable_notice(self) -> str:
        unusable = self.unusable
        assert unusable is not None, "marked before any copy fails for it"
        return unusable.notice()
