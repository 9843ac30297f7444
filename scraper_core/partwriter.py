"""A :class:`~scraper_core.driver.FileWriter` for stores that take an object in parts.

For plugin authors of bucket drivers: S3 multipart uploads, Azure staged blocks and GCS
resumable uploads all publish the object only when the last call succeeds, which is exactly
the atomic writer the core needs. :class:`PartWriter` holds what they share: at most one part
buffered (memory stays bounded whatever the blob size), content smaller than a part sent whole
on commit, the part limit, and the writer's states (a write or commit after commit or cancel
is an error; a commit that raised leaves only cancel; cancel is idempotent). A driver supplies
four calls to its SDK.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from scraper_core.driver import CancelOnExit
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

    def __init__(self, driver: str, path: str, part_size: int) -> None:
        self.driver = driver
        self.path = path
        self.part_size = part_size
        self.parts_sent = 0
        self._buffer = bytearray()
        self._size = 0
        self._state = WriterState.OPEN

    # What a store implements.

    def _send_part(self, part: bytes, number: int) -> None:
        """Store part ``number`` (from 1), unpublished; parts are sent in order."""
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
        self._send_part(part, number)
        self.parts_sent = number

    def commit(self) -> None:
        self._require_open("commit")
        try:
            if self.parts_sent == 0:
                self._put_whole(bytes(self._buffer))
            else:
                if self._buffer:
                    self._send(bytes(self._buffer))
                self._complete()
        except BaseException:
            self._state = WriterState.FAILED
            raise
        self._state = WriterState.COMMITTED
        self._buffer = bytearray()

    def cancel(self) -> None:
        if self._state in (WriterState.COMMITTED, WriterState.CANCELLED):
            return
        self._state = WriterState.CANCELLED
        self._buffer = bytearray()
        self._abort()
