"""A source blob as a stream that checks itself: the push engine hands these to destinations.

The bytes are hashed as they are read; the read that completes the blob (or overruns or cuts it
short) raises instead of returning when they are not ``size`` bytes of the digest. So a
destination that reads to the end before it commits never commits a bad blob, whatever it does
itself. A stream opened at an offset (a destination resuming an upload) hashes the bytes before
the offset again from the source first: nothing it has not read is trusted.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO, cast

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import DigestMismatchError, ShortReadError

#: Bytes asked of the source at once, whatever a destination asks for.
READ_SIZE = 1024 * 1024


class VerifiedStream(io.RawIOBase):
    """``size`` bytes of blob ``digest`` from ``source``, from ``offset`` on. ``on_read`` hears
    the length of each piece handed on, and may raise (an interrupt) to stop the stream."""

    def __init__(
        self,
        source: CheckedDriver,
        digest: Digest,
        size: int,
        offset: int,
        on_read: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__()
        self._on_read = on_read
        if not 0 <= offset <= size:
            raise ValueError(f"offset {offset} outside blob {digest} of {size} bytes")
        self._digest = digest
        self._size = size
        self._hasher = digest.hasher()
        self._reader = source.reader(layout.blob_data_path(digest))
        self._position = 0
        self._checked = False
        try:
            while self._position < offset:
                self._take(min(READ_SIZE, offset - self._position))
        except BaseException:
            self._reader.close()
            raise

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), READ_SIZE)
        if self._position == self._size:
            self._check_end()
            return 0
        data = self._take(min(wanted, self._size - self._position))
        if self._on_read is not None:
            self._on_read(len(data))
        buffer[: len(data)] = data
        return len(data)

    def _take(self, length: int) -> bytes:
        data = self._reader.read(length)
        if not data:
            raise ShortReadError(
                f"blob {self._digest}: the source holds {self._position} bytes, not {self._size}"
            )
        self._position += len(data)
        self._hasher.update(data)
        if self._position == self._size:
            self._check_end()
        return data

    def _check_end(self) -> None:
        """At ``size`` bytes: the digest must match, and nothing may follow."""
        if self._checked:
            return
        actual = Digest(self._digest.algorithm, self._hasher.hexdigest())
        if actual != self._digest:
            raise DigestMismatchError(
                f"blob {self._digest} is corrupt in the source: its content hashes to {actual}"
            )
        if self._reader.read(1):
            raise DigestMismatchError(
                f"blob {self._digest} is longer than the {self._size} bytes its manifest says"
            )
        self._checked = True

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


def open_verified(
    source: CheckedDriver,
    digest: Digest,
    size: int,
    offset: int,
    on_read: Callable[[int], None] | None = None,
) -> BinaryIO:
    """A :class:`VerifiedStream`, typed as the stream destinations take."""
    return cast(BinaryIO, VerifiedStream(source, digest, size, offset, on_read))
