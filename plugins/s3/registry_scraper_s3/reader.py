"""Streaming reads of one object: ranged GETs that resume after a dropped connection.

A large object is read as consecutive ranges: the first streams straight to the caller while
the next few may be fetched in background threads, so a reader holds at most ``concurrency``
ranges however large the object is. Read-ahead also draws on a budget shared by every reader
of one driver (:class:`ReadAhead`): with many blobs copied at once, their streams already keep
enough connections busy, and ranges buffered for each would only multiply memory and GETs. A
reader that finds the budget spent streams the rest of the object itself in one GET (a GET per
range cost SeaweedFS a quarter more CPU: 1.48 s against 1.19 s for four 256 MiB blobs read at
once). Should the budget free up meanwhile (the crowd of blobs thinned out), the ranges it has
not entered yet go to read-ahead again, and its own GET stops where the first of them starts.

Bytes pass through as the ``bytes`` objects the HTTP client returns (no zero-filled buffer,
no copy into one): a caller reading ``_FETCH_STEP`` at a time gets them unchanged. Every range
checks the object's total size (from ``Content-Range``), so an object replaced mid-read is an
error rather than a silent splice of two versions. ETags are never compared: the registry
writes blobs as multipart uploads, whose ETags are not content digests.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO, cast

from registry_scraper_s3.config import DRIVER_NAME
from registry_scraper_s3.errors import error_code, sdk_errors, to_storage_error
from scraper_core.errors import StorageError

#: Bytes asked of the HTTP client per call: the core's chunk size, so its reads of that size
#: get the client's own ``bytes`` back without a copy; between calls a fetch checks close().
_FETCH_STEP = 1024 * 1024

#: A botocore client (generated at run time; boto3-stubs is not a dependency), or anything
#: with its ``get_object`` (registry_scraper_s3.native.NativeGets).
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

    from registry_scraper_s3.native import NativeStreamError

    return (*S3_RETRYABLE_DOWNLOAD_ERRORS, _EarlyEndError, NativeStreamError)


def _total_size(response: dict[str, Any]) -> int:
    content_range = response.get("ContentRange")
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    # No Content-Range: the server ignored the Range header and sent the whole object.
    return int(response["ContentLength"])


class ReadAhead:
    """How many ranges all readers of one driver may hold fetched ahead of their callers.

    With ``connections`` set, a range is fetched ahead only while open readers and ranges
    in flight number fewer than that: several blobs streaming at once already keep that many
    connections busy, and more GETs would only cost CPU (on a small machine, the server's).
    """

    def __init__(self, ranges: int, connections: int | None = None) -> None:
        self.limit = max(0, ranges)
        self.connections = connections
        self._free = self.limit
        self._readers = 0
        self._lock = threading.Lock()

    def opened(self) -> None:
        with self._lock:
            self._readers += 1

    def closed(self) -> None:
        with self._lock:
            self._readers = max(0, self._readers - 1)

    @property
    def in_use(self) -> int:
        with self._lock:
            return self.limit - self._free

    def take(self) -> bool:
        """Reserve one range, never waiting: a reader that gets none streams instead."""
        with self._lock:
            if self._free <= 0:
                return False
            busy = self._readers + self.limit - self._free
            if self.connections is not None and busy >= self.connections:
                return False
            self._free -= 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._free = min(self.limit, self._free + 1)


class ObjectSource:
    """One object and how to GET ranges of it.

    ``first_client``, if given, sends the first GET (for a small object, the only one) and
    ``client`` the rest: the native client costs a third of botocore's CPU a request, but
    more than botocore a byte once a large object streams (bench/NOTES.md, issue 22).
    """

    def __init__(
        self,
        client: Client,
        bucket: str,
        key: str,
        path: str,
        attempts: int,
        *,
        first_client: Client | None = None,
    ) -> None:
        self.client = client
        self.first_client = first_client if first_client is not None else client
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
            client = self.first_client if self.size is None else self.client
            response = client.get_object(Bucket=self.bucket, Key=self.key, Range=byte_range)
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

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (fewer only at the end of the range); ``b""`` at the end."""
        want = min(size, self.end - self.pos)
        if want <= 0:
            self.close()
            return b""
        failures = 0
        while True:
            try:
                data = self._read_some(want)
            except _retryable() as exc:
                self.close()
                failures += 1
                if failures >= self._source.attempts:
                    raise to_storage_error(self._source.path, exc) from exc
                continue
            except sdk_errors() as exc:
                self.close()
                raise to_storage_error(self._source.path, exc) from exc
            self.pos += len(data)
            return data

    def _read_some(self, size: int) -> bytes:
        if self._body is None:
            self._body = self._source.open(self.pos, self.end)
            if self._body is None:
                raise self._source.changed()
        data: bytes = self._body.read(size)
        if not data:
            raise _EarlyEndError(f"stream ended at byte {self.pos} of {self.end}")
        return data

    def close(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


class _Fetched:
    """A range already fetched, as the chunks the client returned; its budget slot is held
    until the caller has read it all (or closes the stream)."""

    def __init__(self, chunks: list[bytes], budget: ReadAhead) -> None:
        self._chunks = deque(chunks)
        self._budget: ReadAhead | None = budget

    def read(self, size: int) -> bytes:
        if not self._chunks:
            self.close()
            return b""
        chunk = self._chunks[0]
        if len(chunk) <= size:
            self._chunks.popleft()
            return chunk
        self._chunks[0] = chunk[size:]
        return chunk[:size]

    def close(self) -> None:
        self._chunks.clear()
        if self._budget is not None:
            self._budget.give_back()
            self._budget = None


class ObjectStream(io.BufferedIOBase):
    """The object from an offset: a streaming head, then ranges fetched ahead or streamed."""

    def __init__(
        self,
        source: ObjectSource,
        head: RangeStream,
        ranges: list[tuple[int, int]],
        prefetch: int,
        budget: ReadAhead,
    ) -> None:
        super().__init__()
        self._source = source
        self._current: RangeStream | _Fetched | None = head
        self._ranges = deque(ranges)
        self._pending: deque[Future[list[bytes]]] = deque()
        self._stop = threading.Event()
        self._prefetch = prefetch
        self._budget = budget
        self._pool: ThreadPoolExecutor | None = None
        budget.opened()
        self._fill()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read of a closed stream")
        whole = size is None or size < 0
        want = 0 if size is None or whole else size
        pieces: list[bytes] = []
        got = 0
        while self._current is not None and (whole or got < want):
            piece = self._current.read(_FETCH_STEP if whole else want - got)
            if piece:
                pieces.append(piece)
                got += len(piece)
                self._reclaim()
                continue
            self._current.close()
            self._current = self._next_segment()
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def _next_segment(self) -> RangeStream | _Fetched | None:
        if self._pending:
            try:
                chunks = self._pending.popleft().result()
            except BaseException:
                self._budget.give_back()
                raise
            self._fill()
            return _Fetched(chunks, self._budget)
        if not self._ranges:
            return None
        # No range is waiting in memory (the budget was spent): stream the rest here, in one
        # GET. The ranges after the first stay listed, for read-ahead to take back (_reclaim).
        start = self._ranges.popleft()[0]
        end = self._ranges[-1][1] if self._ranges else self._source.size
        assert end is not None  # known since the first GET
        return RangeStream(self._source, start, end)

    def _reclaim(self) -> None:
        """Fetch ahead again if the budget allows: ranges this reader's own GET has not
        entered yet are fetched, and that GET then stops where the first of them starts."""
        if not self._ranges:
            return
        current = self._current
        if isinstance(current, RangeStream):
            while self._ranges and self._ranges[0][0] < current.pos:
                self._ranges.popleft()
        self._fill()

    def _fill(self) -> None:
        while self._ranges and len(self._pending) < self._prefetch and self._budget.take():
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._prefetch, thread_name_prefix="s3-read")
            start, end = self._ranges.popleft()
            if isinstance(self._current, RangeStream) and self._current.end > start:
                self._current.end = start
            self._pending.append(self._pool.submit(self._fetch, start, end))

    def _fetch(self, start: int, end: int) -> list[bytes]:
        stream = RangeStream(self._source, start, end)
        chunks: list[bytes] = []
        try:
            while True:
                if self._stop.is_set():
                    raise _ReadCancelledError
                chunk = stream.read(_FETCH_STEP)
                if not chunk:
                    return chunks
                chunks.append(chunk)
        finally:
            stream.close()

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            if self._current is not None:
                self._current.close()
                self._current = None
            for future in self._pending:
                future.cancel()
                # A fetch still running stops at its next chunk; its slot is free from now.
                self._budget.give_back()
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._budget.closed()
        super().close()


def open_object(
    source: ObjectSource,
    offset: int,
    *,
    range_size: int,
    concurrency: int,
    budget: ReadAhead | None = None,
    head_size: int | None = None,
) -> BinaryIO:
    """Open ``source`` at ``offset``: one GET now (so a missing object fails here), more later.

    With ``concurrency`` 1 it is a single streaming GET to the end; otherwise the first GET
    covers ``head_size`` bytes (default ``range_size``), further ranges ``range_size`` each,
    and up to ``concurrency - 1`` of them are fetched ahead, as far as ``budget`` (by default:
    those ranges, for this reader alone) allows.
    """
    first_size = range_size if head_size is None else min(head_size, range_size)
    first_end = offset + first_size if concurrency > 1 else None
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
    prefetch = concurrency - 1
    if budget is None:
        budget = ReadAhead(prefetch)
    # A BufferedIOBase, as io.BufferedReader is; typeshed only declares the latter a BinaryIO.
    return cast(BinaryIO, ObjectStream(source, head, ranges, prefetch, budget))
