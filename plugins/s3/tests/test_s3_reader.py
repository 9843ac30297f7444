"""The ranged reader against a scripted client: resumes, size changes, servers ignoring Range.

Real servers never drop a connection on cue, so these failures are played by a fake client.
"""

from __future__ import annotations

import io
import random
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError

from registry_scraper_s3.reader import ObjectSource, ReadAhead, open_object
from scraper_core.errors import PathNotFoundError, StorageError

DATA = random.Random(7).randbytes(10_000)


class _Body(io.BytesIO):
    """A response body that fails with a reset after ``fail_after`` bytes."""

    def __init__(self, data: bytes, fail_after: int | None) -> None:
        super().__init__(data)
        self._fail_after = fail_after

    def readinto(self, buffer: Any) -> int:
        if self._fail_after is not None and self.tell() >= self._fail_after:
            raise ResponseStreamingError(error="connection reset")
        view = memoryview(buffer)
        if self._fail_after is not None:
            view = view[: self._fail_after - self.tell()]
        return super().readinto(view)

    def read(self, size: int | None = -1) -> bytes:
        # botocore's StreamingBody.read: what the reader calls; it breaks the same way.
        if self._fail_after is not None and self.tell() >= self._fail_after:
            raise ResponseStreamingError(error="connection reset")
        if self._fail_after is not None and (size is None or size < 0):
            size = self._fail_after - self.tell()
        elif self._fail_after is not None:
            assert size is not None
            size = min(size, self._fail_after - self.tell())
        return super().read(size)


class FakeClient:
    def __init__(
        self,
        data: bytes | None = DATA,
        *,
        failures: int = 0,
        honour_range: bool = True,
    ) -> None:
        self.data = data
        self.failures = failures
        self.honour_range = honour_range
        self.ranges: list[str] = []
        self._lock = threading.Lock()

    def get_object(self, *, Bucket: str, Key: str, Range: str) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            return self._get(Range)

    def _get(self, Range: str) -> dict[str, Any]:  # noqa: N803
        self.ranges.append(Range)
        if self.data is None:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": ""}}, "GetObject")
        size = len(self.data)
        first, _, last = Range.removeprefix("bytes=").partition("-")
        start, end = int(first), min(int(last) + 1 if last else size, size)
        if start >= size:
            raise ClientError({"Error": {"Code": "InvalidRange", "Message": ""}}, "GetObject")
        if not self.honour_range:
            return {"Body": _Body(self.data, None), "ContentLength": size}
        fail_after = None
        if self.failures:
            self.failures -= 1
            fail_after = (end - start) // 2
        return {
            "Body": _Body(self.data[start:end], fail_after),
            "ContentLength": end - start,
            "ContentRange": f"bytes {start}-{end - 1}/{size}",
        }


def _read(
    client: FakeClient,
    offset: int = 0,
    range_size: int = 1024,
    concurrency: int = 3,
    budget: ReadAhead | None = None,
) -> bytes:
    source = ObjectSource(client, "bucket", "key", "/key", attempts=3)
    with open_object(
        source, offset, range_size=range_size, concurrency=concurrency, budget=budget
    ) as stream:
        chunks = []
        while chunk := stream.read(777):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
@pytest.mark.parametrize("offset", [0, 1, 1023, 1024, 1025, 9999, 10_000, 20_000])
def test_ranges_reassemble(offset: int, concurrency: int) -> None:
    client = FakeClient()
    assert _read(client, offset, concurrency=concurrency) == DATA[offset:]


@pytest.mark.parametrize("offset", [0, 1, 1023, 1024, 1025, 9999, 10_000, 20_000])
def test_ranges_reassemble_without_read_ahead(offset: int) -> None:
    class _LongGetBreaks(FakeClient):
        broke = False

        def _get(self, Range: str) -> dict[str, Any]:  # noqa: N803
            first, _, last = Range.removeprefix("bytes=").partition("-")
            if not self.broke and int(last) - int(first) >= 1024:
                self.broke = True
                self.failures = 1  # the GET of the rest breaks midway, once
            return super()._get(Range)

    client = _LongGetBreaks()
    assert _read(client, offset, budget=ReadAhead(0)) == DATA[offset:]
    assert client.broke == (offset < len(DATA) - 1024)


def test_one_range_is_one_get() -> None:
    client = FakeClient()
    assert _read(client, 0, range_size=len(DATA)) == DATA
    assert client.ranges == [f"bytes=0-{len(DATA) - 1}"]


def test_sequential_mode_is_one_open_ended_get() -> None:
    client = FakeClient()
    assert _read(client, 5, concurrency=1) == DATA[5:]
    assert client.ranges == ["bytes=5-"]


def test_dropped_connections_resume_where_they_stopped() -> None:
    client = FakeClient(failures=4)
    assert _read(client, 100) == DATA[100:]
    # Each broken range was asked for again from the byte where it broke, not from its start.
    starts = [int(r.removeprefix("bytes=").split("-")[0]) for r in client.ranges]
    range_starts = {100, *range(1124, len(DATA), 1024)}
    assert len([start for start in starts if start not in range_starts]) == 4


def test_too_many_failures_is_a_storage_error() -> None:
    client = FakeClient(failures=100)
    with pytest.raises(StorageError, match="ResponseStreamingError"):
        _read(client, concurrency=1)


def test_server_ignoring_range_still_reads_from_offset() -> None:
    client = FakeClient(honour_range=False)
    assert _read(client, 1500) == DATA[1500:]


def test_missing_object_fails_on_open() -> None:
    source = ObjectSource(FakeClient(None), "bucket", "key", "/key", attempts=3)
    with pytest.raises(PathNotFoundError):
        open_object(source, 0, range_size=1024, concurrency=2)


def test_object_replaced_mid_read_is_an_error() -> None:
    client = FakeClient(failures=1)
    source = ObjectSource(client, "bucket", "key", "/key", attempts=3)
    with open_object(source, 0, range_size=1024, concurrency=1) as stream:
        assert stream.read(10) == DATA[:10]
        # The first GET breaks halfway; the GET that resumes it finds another object.
        client.data = DATA + b"more"
        with pytest.raises(StorageError, match="changed while it was being read"):
            stream.read()


def test_close_early_stops_prefetching() -> None:
    client = FakeClient()
    source = ObjectSource(client, "bucket", "key", "/key", attempts=3)
    stream = open_object(source, 0, range_size=100, concurrency=4)
    assert stream.read(10) == DATA[:10]
    stream.close()
    assert stream.closed
    # At most the head and the ranges in flight were asked for, not the whole object.
    assert len(client.ranges) <= 1 + 3 + 3


def test_read_ahead_is_shared_by_the_readers_of_one_budget() -> None:
    client = FakeClient()
    budget = ReadAhead(2)
    streams = [
        open_object(
            ObjectSource(client, "bucket", "key", "/key", attempts=3),
            0,
            range_size=1000,
            concurrency=4,
            budget=budget,
        )
        for _ in range(3)
    ]
    # The first reader took the whole budget; the others stream every range themselves.
    assert budget.in_use == 2
    for stream in streams:
        with stream:
            assert stream.read() == DATA
    assert budget.in_use == 0


def test_without_read_ahead_the_rest_is_one_get() -> None:
    client = FakeClient()
    source = ObjectSource(client, "bucket", "key", "/key", attempts=3)
    budget = ReadAhead(0)
    with open_object(source, 0, range_size=4000, concurrency=4, budget=budget) as stream:
        assert stream.read() == DATA
    assert client.ranges == ["bytes=0-3999", "bytes=4000-9999"]


def test_read_ahead_freed_midway_takes_the_ranges_not_yet_entered() -> None:
    client = FakeClient()
    budget = ReadAhead(2)
    assert budget.take() and budget.take()  # another reader holds the budget
    source = ObjectSource(client, "bucket", "key", "/key", attempts=3)
    with open_object(source, 0, range_size=1000, concurrency=3, budget=budget) as stream:
        assert stream.read(1500) == DATA[:1500]  # inside its own GET of the rest
        budget.give_back()
        budget.give_back()
        assert stream.read(500) == DATA[1500:2000]
        rest = b"".join(iter(lambda: stream.read(700), b""))
    assert rest == DATA[2000:]
    # Its own GET stopped at 2000, where the ranges fetched ahead begin.
    assert client.ranges[:2] == ["bytes=0-999", "bytes=1000-9999"]
    fetched = [f"bytes={start}-{start + 999}" for start in range(2000, 10_000, 1000)]
    assert sorted(client.ranges[2:]) == fetched
    assert budget.in_use == 0


def test_closing_early_gives_the_read_ahead_back() -> None:
    budget = ReadAhead(3)
    source = ObjectSource(FakeClient(), "bucket", "key", "/key", attempts=3)
    stream = open_object(source, 0, range_size=100, concurrency=4, budget=budget)
    assert stream.read(150) == DATA[:150]
    stream.close()
    assert budget.in_use == 0


def test_a_failed_range_gives_its_read_ahead_back() -> None:
    client = FakeClient(failures=100)
    budget = ReadAhead(3)
    source = ObjectSource(client, "bucket", "key", "/key", attempts=2)
    with (
        pytest.raises(StorageError),
        open_object(source, 0, range_size=1000, concurrency=4, budget=budget) as stream,
    ):
        stream.read()
    assert budget.in_use == 0


def test_whole_chunks_are_handed_over_without_a_copy() -> None:
    chunks: list[bytes] = []

    class _Recording(_Body):
        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            chunks.append(chunk)
            return chunk

    class _Client(FakeClient):
        def _get(self, Range: str) -> dict[str, Any]:  # noqa: N803
            response = super()._get(Range)
            response["Body"] = _Recording(response["Body"].getvalue(), None)
            return response

    source = ObjectSource(_Client(), "bucket", "key", "/key", attempts=3)
    with open_object(source, 0, range_size=len(DATA), concurrency=1) as stream:
        first = stream.read(len(DATA))
    assert first is chunks[0]


def test_read_ahead_only_while_few_connections_are_busy() -> None:
    budget = ReadAhead(3, connections=4)
    for _ in range(4):
        budget.opened()
    assert not budget.take()  # four readers already hold four connections
    budget.closed()
    budget.closed()
    assert budget.take() and budget.take()
    assert not budget.take()  # two readers and two ranges ahead
    budget.give_back()
    budget.give_back()
    budget.closed()
    budget.closed()

    def reader() -> Any:
        source = ObjectSource(FakeClient(), "bucket", "key", "/key", attempts=3)
        return open_object(source, 0, range_size=1000, concurrency=4, budget=budget)

    alone = reader()
    assert budget.in_use == 3  # one reader and three ranges ahead: four connections
    with alone:
        assert alone.read() == DATA
    for _ in range(3):
        budget.opened()
    with reader() as crowded:
        assert budget.in_use == 0  # streams every range itself
        assert crowded.read() == DATA
    assert budget.in_use == 0
