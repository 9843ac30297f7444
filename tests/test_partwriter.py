"""PartWriter: bounded buffering, whole or in parts, and the writer's states."""

from __future__ import annotations

import pytest

from scraper_core.bucket.partwriter import PartWriter, WriterState
from scraper_core.errors import StorageError


class RecordingWriter(PartWriter):
    max_parts = 3

    def __init__(self, part_size: int = 4, fail: str = "") -> None:
        super().__init__("drv", "/a/b", part_size)
        self.calls: list[tuple[str, bytes]] = []
        self.fail = fail

    def _record(self, call: str, data: bytes = b"") -> None:
        self.calls.append((call, data))
        if call == self.fail:
            raise StorageError("drv", self.path, f"{call} failed")

    def _send_part(self, part: bytes, number: int) -> None:
        self._record(f"part{number}", part)

    def _complete(self) -> None:
        self._record("complete")

    def _put_whole(self, data: bytes) -> None:
        self._record("whole", data)

    def _abort(self) -> None:
        self._record("abort")


def test_content_under_one_part_is_sent_whole_on_commit() -> None:
    writer = RecordingWriter()
    writer.write(b"ab")
    writer.write(b"c")
    assert writer.calls == [] and writer.size == 3
    writer.commit()
    assert writer.calls == [("whole", b"abc")]
    assert writer.state is WriterState.COMMITTED


def test_full_parts_go_as_they_fill_and_the_rest_on_commit() -> None:
    writer = RecordingWriter()
    writer.write(b"abcdef")
    assert writer.calls == [("part1", b"abcd")]
    writer.write(b"ghij")
    writer.commit()
    assert writer.calls == [
        ("part1", b"abcd"), ("part2", b"efgh"), ("part3", b"ij"), ("complete", b""),
    ]  # fmt: skip
    assert writer.size == 10


def test_an_exact_multiple_sends_no_empty_part() -> None:
    writer = RecordingWriter()
    writer.write(b"abcdefgh")
    writer.commit()
    assert [call for call, _ in writer.calls] == ["part1", "part2", "complete"]


def test_the_part_limit_names_the_option_to_raise() -> None:
    writer = RecordingWriter()
    writer.write(b"x" * 12)
    with pytest.raises(StorageError, match="more than 3 parts: raise option part_size"):
        writer.write(b"y" * 4)


def test_write_or_commit_after_commit_is_refused_and_cancel_is_a_no_op() -> None:
    writer = RecordingWriter()
    writer.commit()
    with pytest.raises(StorageError, match="write after committed"):
        writer.write(b"x")
    with pytest.raises(StorageError, match="commit after committed"):
        writer.commit()
    writer.cancel()
    assert ("abort", b"") not in writer.calls


def test_a_failed_commit_leaves_only_cancel() -> None:
    writer = RecordingWriter(fail="complete")
    writer.write(b"abcdef")
    with pytest.raises(StorageError, match="complete failed"):
        writer.commit()
    assert writer.state is WriterState.FAILED
    with pytest.raises(StorageError, match="commit after failed commit"):
        writer.commit()
    writer.cancel()
    writer.cancel()
    assert [call for call, _ in writer.calls].count("abort") == 1
    assert writer.state is WriterState.CANCELLED


def test_leaving_a_with_block_unfinished_cancels() -> None:
    with pytest.raises(RuntimeError), RecordingWriter() as writer:
        writer.write(b"abcdef")
        raise RuntimeError("the copy broke")
    assert writer.calls[-1] == ("abort", b"")
    with pytest.raises(StorageError, match="write after cancelled"):
        writer.write(b"x")


class ParallelWriter(RecordingWriter):
    """Parts finish out of order: each later part is quicker than the one before."""

    def __init__(self, fail: str = "") -> None:
        super().__init__(part_size=4, fail=fail)
        self.parallel_parts = 3
        self.max_parts = None  # type: ignore[misc]
        self.begun = 0
        self.done: list[int] = []

    def _begin(self) -> None:
        self.begun += 1

    def _send_part(self, part: bytes, number: int) -> None:
        import time

        time.sleep(0.02 * (5 - number % 5))
        if f"part{number}" == self.fail:
            raise StorageError("drv", self.path, f"part{number} failed")
        self.done.append(number)


def test_parallel_parts_all_land_before_complete_and_begin_runs_once() -> None:
    writer = ParallelWriter()
    writer.write(b"x" * 4 * 7 + b"yz")
    writer.commit()
    assert writer.begun == 1
    assert sorted(writer.done) == list(range(1, 9))
    assert writer.done != sorted(writer.done)  # they really overlapped
    assert writer.calls == [("complete", b"")]


def test_a_failed_parallel_part_fails_the_commit_then_cancel_aborts() -> None:
    writer = ParallelWriter(fail="part2")
    with pytest.raises(StorageError, match="part2 failed"):
        writer.write(b"x" * 4 * 6)
        writer.commit()
    writer.cancel()
    assert writer.calls[-1] == ("abort", b"")
    # Nothing is still uploading once cancel returns.
    assert writer._in_flight == type(writer._in_flight)()
