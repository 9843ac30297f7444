"""Streaming reads of one object: ranged GETs that resume after a dropped connection.

A large object is read as consecutive ranges: the first streams straight to the caller while
the next few are fetched in background threads into buffers of one range each, so memory per
reader stays at about ``concurrency`` ranges however large the object is. Every range checks
the object's total size (from ``Content-Range``), so an object replaced mid-read is an error
rather than a silent splice of two versions. ETags are never compared: the registry writes
blobs as multipart uploads, whose ETags are not content digests.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

from registry_scraper_s3.config import DRIVER_NAME
from registry_scraper_s3.errors import error_code, sdk_errors, to_storage_error
from scraper_core.errors import StorageError

#: Bytes moved per read call inside a background fetch; between calls it checks for close().
_FETCH_STEP = 1024 * 1024
_BUFFER_SIZE = 64 * 1024

#: A botocore client (generated at run time; boto3-stubs is not a dependency).
Client = Any
#: A botocore ``StreamingBody``.
Body = Any


class _EarlyEndError(Exception):
    """The connection ended before the range did; retried like a reset."""


class _ReadCancelledError(Exception):
    """The reader was closed while a background fetch ran."""


def _retryable() -> tuple[type[BaseException], ...]:
    # s3transfer's own list of errors worth a fresh GET (timeouts, resets, short bodies).
    from s3transfer.utils import S3_RETRYABLE_DOWNLOAD_ERRORS

    return (*S3_RETRYABLE_DOWNLOAD_ERRORS, _EarlyEndError)


def _total_size(response: dict[str, Any]) -> int:
    content_range = response.get("ContentRange")
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    # No Content-Range: the server ignored the Range header and sent the whole object.
    return int(response["ContentLength"])


class ObjectSource:
    """One object and how to GET ranges of it."""

    def __init__(self, client: Client, bucket: str, key: str, path: str, attempts: int) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.path = path
        self.attempts = attempts
        #: Total size, known after the first successful GET.
        self.size: int | None = None

    def changed(self) -> StorageError:
        return StorageError(DRIVER_NAME, self.path, "object changed while it was being read")

    def open(self, start: int, end: int | None) -> Body | None:
        """A body holding bytes ``[start, end)`` (``end=None``: to the end); None past the end."""
        byte_range = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=byte_range)
        except sdk_errors() as exc:
            if error_code(exc) == "InvalidRange":
                return None
            raise to_storage_error(self.path, exc) from exc
        size = _total_size(response)
        if self.size is None:
            self.size = size
        elif size != self.size:
            response["Body"].close()
            raise self.changed()
        body = response["Body"]
        if not response.get("ContentRange") and start:
            return self._skip(body, start)
        return body

    def _skip(self, body: Body, count: int) -> Body | None:
        """Discard ``count`` bytes of a body that starts at 0 despite the Range asked for."""
        try:
            while count > 0:
                chunk = body.read(min(count, _FETCH_STEP))
                if not chunk:
                    body.close()
                    return None
                count -= len(chunk)
        except sdk_errors() as exc:
            body.close()
            raise to_storage_error(self.path, exc) from exc
        return body


class RangeStream:
    """Bytes ``[start, end)`` of an object; a broken connection resumes where it stopped."""

    def __init__(self, source: ObjectSource, start: int, end: int, body: Body | None = None):
        self._source = source
        self.pos = start
        self.end = end
        self._body = body

    def readinto(self, view: memoryview) -> int:
        want = min(len(view), self.end - self.pos)
        if want <= 0:
            self.close()
            return 0
        failures = 0
        while True:
            try:
                count = self._read_some(view[:want])
            except _retryable() as exc:
                self.close()
                failures += 1
                if failures >= self._source.attempts:
                    raise to_storage_error(self._source.path, exc) from exc
                continue
            except sdk_errors() as exc:
                self.close()
                raise to_storage_error(self._source.path, exc) from exc
            self.pos += count
            return count

    def _read_some(self, view: memoryview) -> int:
        if self._body is None:
            self._body = self._source.open(self.pos, self.end)
            if self._body is None:
                raise self._source.changed()
        count: int = self._body.readinto(view)
        if count == 0:
            raise _EarlyEndError(f"stream ended at byte {self.pos} of {self.end}")
        return count

    def close(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


class _Buffered:
    """A range already fetched into memory."""

    def __init__(self, data: bytearray) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def readinto(self, view: memoryview) -> int:
        count = min(len(view), len(self._view) - self._pos)
        view[:count] = self._view[self._pos : self._pos + count]
        self._pos += count
        return count

    def close(self) -> None:
        self._view.release()


class ObjectStream(io.RawIOBase):
    """The object from an offset: a streaming head, then ranges fetched ahead in parallel."""

    def __init__(
        self,
        source: ObjectSource,
        head: RangeStream,
        ranges: list[tuple[int, int]],
        prefetch: int,
    ) -> None:
        super().__init__()
        self._source = source
        self._current: RangeStream | _Buffered | None = head
        self._ranges = deque(ranges)
        self._pending: deque[Future[bytearray]] = deque()
        self._stop = threading.Event()
        self._prefetch = prefetch
        self._pool: ThreadPoolExecutor | None = None
        if ranges:
            self._pool = ThreadPoolExecutor(max(1, prefetch), thread_name_prefix="s3-read")
            self._fill()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        while self._current is not None:
            count = self._current.readinto(view)
            if count:
                return count
            self._current.close()
            self._current = self._next_segment()
        return 0

    def readall(self) -> bytes:
        # io.RawIOBase.readall reads 8 KiB at a time; whole objects deserve bigger steps.
        data = bytearray()
        step = bytearray(_FETCH_STEP)
        while count := self.readinto(step):
            data += memoryview(step)[:count]
        return bytes(data)

    def _next_segment(self) -> _Buffered | None:
        if not self._pending:
            return None
        data = self._pending.popleft().result()
        self._fill()
        return _Buffered(data)

    def _fill(self) -> None:
        assert self._pool is not None
        while self._ranges and len(self._pending) < max(1, self._prefetch):
            start, end = self._ranges.popleft()
            self._pending.append(self._pool.submit(self._fetch, start, end))

    def _fetch(self, start: int, end: int) -> bytearray:
        data = bytearray(end - start)
        view = memoryview(data)
        stream = RangeStream(self._source, start, end)
        try:
            filled = 0
            while filled < len(data):
                if self._stop.is_set():
                    raise _ReadCancelledError
                filled += stream.readinto(view[filled : filled + _FETCH_STEP])
        finally:
            stream.close()
            view.release()
        return data

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            if self._current is not None:
                self._current.close()
                self._current = None
            for future in self._pending:
                future.cancel()
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
        super().close()


def open_object(
    source: ObjectSource, offset: int, *, range_size: int, concurrency: int
) -> BinaryIO:
    """Open ``source`` at ``offset``: one GET now (so a missing object fails here), more later.

    With ``concurrency`` 1 it is a single streaming GET to the end; otherwise the first GET
    covers ``range_size`` bytes and ``concurrency - 1`` further ranges are fetched ahead.
    """
    first_end = offset + range_size if concurrency > 1 else None
    body = source.open(offset, first_end)
    if body is None:
        return io.BytesIO(b"")
    assert source.size is not None
    head_end = source.size if first_end is None else min(first_end, source.size)
    head = RangeStream(source, offset, head_end, body)
    ranges = [
        (start, min(start + range_size, source.size))
        for start in range(head_end, source.size, range_size)
    ]
    stream = ObjectStream(source, head, ranges, concurrency - 1)
    return io.BufferedReader(stream, buffer_size=_BUFFER_SIZE)
