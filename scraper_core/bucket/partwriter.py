"""A :class:`~scraper_core.contract.FileWriter` for stores that take an object in parts.

For plugin authors of bucket drivers: S3 multipart uploads, Azure staged blocks and GCS
resumable uploads all publish the object only when the last call succeeds, which is exactly
the atomic writer the core needs. :class:`PartWriter` holds what they share: at most one part
buffered (memory stays bounded whatever the blob size), content smaller than a part sent whole
on commit, the part limit, and the writer's states (a write or commit after commit or cancel
is an error; a commit that raised leaves only cancel; cancel is idempotent). A driver supplies
four calls to its SDK.

Where the store takes parts in any order (S3 parts, Azure blocks), a writer may send up to
``parallel_parts`` at once while the next one fills: the upload of one part overlaps reading
the next, and memory stays at ``parallel_parts + 1`` parts. Parts are then sent from worker
threads: ``_begin`` runs first, once, in the writer's own thread, and ``_send_part`` must
record what it learns by part number, not by arrival.
"""

from __future__ import annotations

import enum
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import ClassVar

from scraper_core.contract import CancelOnExit
from scraper_core.errors import StorageError


class WriterState(enum.Enum):
    OPEN = "open"
    COMMITTED = "committed"
    #: A commit raised: its outcome is unknown, so only cancel is left.
    FAILED = "failed commit"
    CANCELLED = "cancelled"


class PartWriter(CancelOnExit):
    """Buffers ``part_size`` bytes, sends full parts as they fill, publishes on commit."""

    #: The store's limit on parts per object; None: no limit.
    max_parts: ClassVar[int | None] = None
    #: The driver option that sets the part size (named when the limit is reached).
    part_size_option: ClassVar[str] = "part_size"

    def __init__(self, driver: str, path: str, part_size: int, *, parallel_parts: int = 1) -> None:
        self.driver = driver
        self.path = path
        self.part_size = part_size
        #: Parts in flight at once (1: each part is sent before write returns).
        self.parallel_parts = max(1, parallel_parts)
        self.parts_sent = 0
        self._buffer = bytearray()
        self._size = 0
        self._state = WriterState.OPEN
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: deque[Future[None]] = deque()

    # What a store implements.

    def _begin(self) -> None:
        """Start the upload (before the first part, in the writer's thread). Default: none."""

    def _send_part(self, part: bytes, number: int) -> None:
        """Store part ``number`` (from 1), unpublished: in order from the writer's thread when
        ``parallel_parts`` is 1, else from worker threads in any order."""
        raise NotImplementedError

    def _complete(self) -> None:
        """Publish the object from the parts sent."""
        raise NotImplementedError

    def _put_whole(self, data: bytes) -> None:
        """Publish the object in one call (it fits in one part)."""
        raise NotImplementedError

    def _abort(self) -> None:
        """Free what the parts sent so far hold. Called by every cancel that finds the object
        unpublished, even one where a first part failed half way. Default: nothing to free."""

    # The FileWriter contract.

    @property
    def size(self) -> int:
        return self._size

    @property
    def state(self) -> WriterState:
        return self._state

    def _require_open(self, action: str) -> None:
        if self._state is not WriterState.OPEN:
            raise StorageError(self.driver, self.path, f"{action} after {self._state.value}")

    def write(self, data: bytes) -> int:
        self._require_open("write")
        self._buffer += data
        self._size += len(data)
        while len(self._buffer) >= self.part_size:
            part = bytes(self._buffer[: self.part_size])
            del self._buffer[: self.part_size]
            self._send(part)
        return len(data)

    def _send(self, part: bytes) -> None:
        number = self.parts_sent + 1
        if self.max_parts is not None and number > self.max_parts:
            raise StorageError(
                self.driver,
                self.path,
                f"more than {self.max_parts} parts: raise option {self.part_size_option}",
            )
        if number == 1:
            self._begin()
        if self.parallel_parts <= 1:
            self._send_part(part, number)
        else:
            while len(self._in_flight) >= self.parallel_parts:
                # The oldest part first: its failure is raised here, in the writer's thread.
                self._in_flight.popleft().result()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.parallel_parts, "part-upload")
            self._in_flight.append(self._pool.submit(self._send_part, part, number))
        self.parts_sent = number

    def _drain(self) -> None:
        """Wait for every part in flight; the first failure is raised."""
        while self._in_flight:
            self._in_flight.popleft().result()

    def _stop_sending(self) -> None:
        """Let parts in flight finish (they cannot be recalled), ignoring their outcome."""
        in_flight, self._in_flight = self._in_flight, deque()
        wait(in_flight)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def commit(self) -> None:
        self._require_open("commit")
        try:
            if self.parts_sent == 0:
                self._put_whole(bytes(self._buffer))
            else:
                if self._buffer:
                    self._send(bytes(self._buffer))
                self._drain()
                self._complete()
        except BaseException:
            self._state = WriterState.FAILED
            self._stop_sending()
            raise
        self._state = WriterState.COMMITTED
        self._buffer = bytearray()
        self._stop_sending()

    def cancel(self) -> None:
        if self._state in (WriterState.COMMITTED, WriterState.CANCELLED):
            return
        self._state = WriterState.CANCELLED
        self._buffer = bytearray()
        # A part still uploading would land after the abort and be stored all the same.
        self._stop_sending()
        self._abort()
