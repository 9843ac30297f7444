"""The conformance suite every storage driver must pass (cf. distribution's ``testsuites``).

A plugin author subclasses :class:`DriverSuite` in a ``test_*.py`` file, gives it a ``driver``
fixture (a fresh, writable, raw driver on an empty root of its own) and says how to open the
same root read-only::

    class TestFooConformance(DriverSuite):
        @pytest.fixture
        def driver(self, tmp_path): return FooDriver.open(str(tmp_path), {}, read_only=False)

        def open_read_only(self, driver): return FooDriver.open(driver.root, {}, read_only=True)

(with ``import pytest``, ``from scraper_core.testing import DriverSuite`` and the driver's
import above it). ``pytest`` then runs every ``test_*`` method below against that driver.

The suite tests what a driver implements. It talks to the driver through
:class:`~scraper_core.checked.CheckedDriver`, as the core always does (fixture ``storage``), and
checks a few things on the raw driver itself. The rules the wrapper owns for every driver (path
validation, negative offsets, read-only refusals) are not repeated here: they are the wrapper's
code whatever the driver, tested once with the core (``tests/test_wrapper_rules.py``). Each test
writes below its own directory (fixture ``base``), which is deleted afterwards; the registry
test writes ``/docker`` and deletes it itself. After every test the root must be empty again,
so a driver that leaves something behind (temporary objects, half a delete) fails there.

Class attributes tune the load for slow backends: ``many_children`` (kept above 1000 so that
paginated listings are exercised), ``large_size``, ``threads``
and ``wait_timeout`` (no wait of the suite is unbounded: a thread that raises or hangs fails its
test, naming the thread, instead of hanging the run). A backend whose driver is
costly to build may give ``driver`` a wider scope, as long as each root starts out empty.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO, ClassVar, Protocol

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver, CheckedReader
from scraper_core.contract import (
    Capability,
    FileInfo,
    FileWriter,
    StorageDriver,
    StorageReader,
    SupportsWalkNames,
)
from scraper_core.digest import Digest, link_content, parse_link
from scraper_core.errors import (
    PathNotFoundError,
    StorageError,
)
from scraper_core.manifest import OCI_MANIFEST, parse_manifest
from scraper_core.testing.capabilities import FastCopySuite, KernelCopySuite
from scraper_core.testing.threads import DEFAULT_TIMEOUT, run_threads

#: Names distribution accepts; the suite writes each below ``base``.
VALID_NAMES = (
    "a",
    "2",
    "a.a",
    ".abc",
    "abc.",
    "a--b",
    "a-.b",
    "_.abc",
    "0-9/abcdefg",
    "abc/1.2.3.4.5-6_zyx/123.z/4",
    "Docker/docker-registry",
)

#: A link file is ``sha256:`` and 64 hex digits, nothing more (no newline).
LINK_SIZE = len("sha256:") + 64

_CHUNK = 64 * 1024


class _Writable(Protocol):
    def write(self, data: bytes) -> int: ...

    @property
    def size(self) -> int: ...


def _read_all(stream: BinaryIO | CheckedReader, chunk: int = 7919) -> bytes:
    """Read in odd-sized chunks until ``b""``, as the copy engine streams blobs."""
    parts = []
    while piece := stream.read(chunk):
        parts.append(piece)
    return b"".join(parts)


def _write_in_chunks(writer: _Writable, data: bytes, chunk: int = _CHUNK) -> None:
    for start in range(0, len(data), chunk):
        piece = data[start : start + chunk]
        assert writer.write(piece) == len(piece)
        assert writer.size == start + len(piece)


def _files(storage: CheckedDriver, path: str = "/") -> dict[str, int]:
    """Path -> size of every file ``walk`` reports below ``path``."""
    return {info.path: info.size for info in storage.walk(path)}


def _contents(storage: CheckedDriver) -> dict[str, bytes]:
    return {info.path: storage.get_content(info.path) for info in storage.walk("/")}


def _assert_names(error: StorageError, storage: CheckedDriver, path: str) -> None:
    """The error says which driver failed on which path, in its attributes and its text."""
    assert error.driver == storage.name
    assert error.path == path
    assert storage.name in str(error)


class _AbortedWriteError(Exception):
    """Raised inside a writer's ``with`` block to leave it by an exception."""


class DriverSuite(FastCopySuite, KernelCopySuite):
    """Subclass as ``Test<Driver>Conformance`` and provide ``driver`` and ``open_read_only``
    (and ``open_copy_source`` when the driver declares a copy capability: the capability
    suites inherited here exercise each declared capability for real)."""

    #: Files put in one directory for the listing test; keep it above 1000 (a common page).
    many_children: ClassVar[int] = 1100
    #: Size of the large random object (over 1 MiB, and not a multiple of any chunk size).
    large_size: ClassVar[int] = (1 << 20) + 4099
    #: Threads in the concurrency tests.
    threads: ClassVar[int] = 8
    #: Seconds any wait of the suite (threads, barriers) may take before the test fails.
    wait_timeout: ClassVar[float] = DEFAULT_TIMEOUT

    # Hooks for the plugin author.

    @pytest.fixture
    def driver(self) -> StorageDriver:
        """A fresh raw writable driver on an empty root nobody else uses. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must override the 'driver' fixture")

    def open_read_only(self, driver: StorageDriver) -> StorageReader:
        """A raw driver opened read-only on ``driver``'s root. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must override open_read_only()")

    # Fixtures the tests use.

    @pytest.fixture
    def storage(self, driver: StorageDriver) -> CheckedDriver:
        return CheckedDriver(driver, read_only=False)

    @pytest.fixture
    def read_only(self, driver: StorageDriver) -> CheckedDriver:
        # As the core opens a source: the wrapper refuses the writes (drivers need not).
        return CheckedDriver(self.open_read_only(driver), read_only=True)

    @pytest.fixture(autouse=True)
    def _root_is_left_empty(self, storage: CheckedDriver) -> Iterator[None]:
        assert _files(storage) == {}, "the 'driver' fixture must give a driver on an empty root"
        yield
        assert _files(storage) == {}, "files left behind after the test"
        assert storage.list_dir("/") == [], "directories left behind after the test"

    @pytest.fixture
    def base(self, storage: CheckedDriver) -> Iterator[str]:
        """A directory of the test's own; deleted afterwards, whatever the test did."""
        path = f"/conformance-{secrets.token_hex(4)}"
        yield path
        with contextlib.suppress(PathNotFoundError):
            storage.delete(path)

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> random.Random:
        # Seeded by the test's id: a failure replays with the same bytes.
        return random.Random(request.node.nodeid)

    # The driver class and its raw instances.

    def test_driver_satisfies_the_protocols(self, driver: StorageDriver) -> None:
        assert isinstance(driver, StorageReader)
        # CheckedDriver refuses every write to a driver that is not a full StorageDriver.
        assert isinstance(driver, StorageDriver)
        assert isinstance(driver.name, str) and driver.name
        assert type(driver).name == driver.name

    def test_capabilities_are_a_frozenset_of_capability(self, driver: StorageDriver) -> None:
        capabilities = type(driver).capabilities
        assert isinstance(capabilities, frozenset)
        assert all(isinstance(capability, Capability) for capability in capabilities)
        assert CheckedDriver(driver, read_only=False).capabilities == capabilities

    def test_raw_writer_is_a_file_writer(self, driver: StorageDriver, base: str) -> None:
        path = f"{base}/file"
        writer = driver.writer(path)
        assert isinstance(writer, FileWriter)
        assert writer.write(b"abc") == 3
        assert writer.size == 3
        writer.cancel()
        writer.cancel()
        with driver.writer(path) as second:
            second.write(b"committed")
            second.commit()
        assert driver.get_content(path) == b"committed"

    def test_raw_round_trip(
        self, driver: StorageDriver, storage: CheckedDriver, base: str, rng: random.Random
    ) -> None:
        data = rng.randbytes(5000)
        path = f"{base}/dir/file"
        driver.put_content(path, data)
        assert driver.get_content(path) == data
        with contextlib.closing(driver.reader(path, 1000)) as stream:
            assert _read_all(stream) == data[1000:]
        info = driver.stat(path)
        assert (info.path, info.size, info.is_dir) == (path, len(data), False)
        assert driver.list_dir(f"{base}/dir") == [path]
        assert [(found.path, found.size) for found in driver.walk(base)] == [(path, len(data))]
        driver.move(path, f"{base}/moved")
        assert driver.get_content(f"{base}/moved") == data
        driver.delete(f"{base}/moved")
        assert not storage.exists(f"{base}/moved")
        assert not storage.exists(path)

    def test_raw_missing_path_errors_become_not_found(
        self, driver: StorageDriver, storage: CheckedDriver, base: str
    ) -> None:
        missing = f"{base}/missing"
        driver.put_content(f"{base}/present", b"x")
        raw_calls: dict[str, Callable[[], object]] = {
            "get_content": lambda: driver.get_content(missing),
            "reader": lambda: driver.reader(missing),
            "stat": lambda: driver.stat(missing),
            # Not list_dir: a raw driver may list a missing directory as [] (bucket drivers
            # cannot tell it from an empty prefix); the wrapper makes that PathNotFoundError.
            "move": lambda: driver.move(missing, f"{base}/elsewhere"),
            "delete": lambda: driver.delete(missing),
        }
        for operation, call in raw_calls.items():
            try:
                call()
            except Exception as error:
                if isinstance(error, StorageError):
                    assert error.driver == driver.name, operation
                # The wrapper makes FileNotFoundError a PathNotFoundError; other errors stay.
                assert isinstance(storage.wrap_error(missing, error), PathNotFoundError), operation
            else:
                pytest.fail(f"raw {operation} of a missing path did not fail")

    # put_content / get_content.

    def test_put_get_empty(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/empty", b"")
        assert storage.get_content(f"{base}/empty") == b""
        assert storage.stat(f"{base}/empty").size == 0

    def test_put_get_every_byte_value(self, storage: CheckedDriver, base: str) -> None:
        data = bytes(range(256)) * 3 + bytes(reversed(range(256)))
        storage.put_content(f"{base}/bytes", data)
        assert storage.get_content(f"{base}/bytes") == data

    def test_put_get_large_random(
        self, storage: CheckedDriver, base: str, rng: random.Random
    ) -> None:
        data = rng.randbytes(self.large_size)
        storage.put_content(f"{base}/large", data)
        assert storage.stat(f"{base}/large").size == len(data)
        assert storage.get_content(f"{base}/large") == data
        with storage.reader(f"{base}/large") as stream:
            assert _read_all(stream, _CHUNK + 1) == data

    def test_put_replaces_longer_content(
        self, storage: CheckedDriver, base: str, rng: random.Random
    ) -> None:
        path = f"{base}/file"
        storage.put_content(path, rng.randbytes(4096))
        shorter = rng.randbytes(2048)
        storage.put_content(path, shorter)
        assert storage.get_content(path) == shorter
        assert storage.stat(path).size == len(shorter)

    def test_valid_names_round_trip(self, storage: CheckedDriver, base: str) -> None:
        for name in VALID_NAMES:
            storage.put_content(f"{base}/{name}", name.encode())
        for name in VALID_NAMES:
            assert storage.get_content(f"{base}/{name}") == name.encode()

    def test_paths_are_case_sensitive(self, storage: CheckedDriver, base: str) -> None:
        # Tags "Latest" and "latest" are different tags in a registry.
        storage.put_content(f"{base}/tag", b"lower")
        storage.put_content(f"{base}/TAG", b"upper")
        assert storage.get_content(f"{base}/tag") == b"lower"
        assert storage.get_content(f"{base}/TAG") == b"upper"
        assert storage.list_dir(base) == [f"{base}/TAG", f"{base}/tag"]

    def test_get_missing_is_path_not_found(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/present", b"x")
        for missing in (f"{base}/missing", f"{base}/no/such/dir/file", f"{base}/presen"):
            with pytest.raises(PathNotFoundError) as caught:
                storage.get_content(missing)
            _assert_names(caught.value, storage, missing)

    # reader.

    def test_reader_offsets(self, storage: CheckedDriver, base: str, rng: random.Random) -> None:
        path = f"{base}/file"
        data = rng.randbytes(10_000)
        storage.put_content(path, data)
        for offset in (0, 1, 4999, 9999, 10_000, 10_001, 1 << 20):
            with storage.reader(path, offset) as stream:
                assert _read_all(stream) == data[offset:], f"offset {offset}"

    def test_reader_past_the_end_of_an_empty_file(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/empty", b"")
        for offset in (0, 1, 100):
            with storage.reader(f"{base}/empty", offset) as stream:
                assert stream.read() == b""

    def test_read_head_is_bounded(
        self, storage: CheckedDriver, base: str, rng: random.Random
    ) -> None:
        # Through the driver's own read_head where it has one, else through its reader.
        path = f"{base}/file"
        data = rng.randbytes(3000)
        storage.put_content(path, data)
        for size in (1, 71, 257, 2999, 3000, 5000):
            assert storage.read_head(path, size) == data[:size], f"size {size}"
        storage.put_content(f"{base}/empty", b"")
        assert storage.read_head(f"{base}/empty", 257) == b""
        with pytest.raises(PathNotFoundError) as caught:
            storage.read_head(f"{base}/missing", 257)
        _assert_names(caught.value, storage, f"{base}/missing")

    def test_read_link_reads_what_the_registry_writes(
        self, storage: CheckedDriver, base: str
    ) -> None:
        digest = Digest.of(b"linked")
        storage.put_content(f"{base}/link", link_content(digest))
        assert storage.read_link(f"{base}/link") == digest

    def test_reader_missing_is_path_not_found(self, storage: CheckedDriver, base: str) -> None:
        with pytest.raises(PathNotFoundError) as caught:
            storage.reader(f"{base}/missing", 0)
        _assert_names(caught.value, storage, f"{base}/missing")

    def test_reading_a_directory_is_a_storage_error(
        self, storage: CheckedDriver, base: str
    ) -> None:
        storage.put_content(f"{base}/dir/file", b"x")
        for read in (storage.get_content, storage.reader):
            with pytest.raises(StorageError) as caught:
                read(f"{base}/dir")
            assert caught.value.driver == storage.name
        assert storage.get_content(f"{base}/dir/file") == b"x"

    # writer.

    def test_writer_content_appears_only_on_commit(
        self, storage: CheckedDriver, base: str, rng: random.Random
    ) -> None:
        path = f"{base}/dir/file"
        data = rng.randbytes(3 * _CHUNK + 17)
        with storage.writer(path) as writer:
            _write_in_chunks(writer, data)
            assert not storage.exists(path)
            with pytest.raises(PathNotFoundError):
                storage.get_content(path)
            assert path not in _files(storage)
            writer.commit()
        assert storage.get_content(path) == data
        assert storage.stat(path).size == len(data)

    def test_writer_cancel_leaves_nothing(
        self, storage: CheckedDriver, base: str, rng: random.Random
    ) -> None:
        sibling = f"{base}/dir/sibling"
        storage.put_content(sibling, b"sibling")
        writer = storage.writer(f"{base}/dir/file")
        _write_in_chunks(writer, rng.randbytes(2 * _CHUNK))
        # Whatever holds the bytes in flight (a temporary file, an upload) stays out of sight.
        assert storage.list_dir(f"{base}/dir") == [sibling]
        assert _files(storage) == {sibling: len(b"sibling")}
        writer.cancel()
        writer.cancel()
        assert not storage.exists(f"{base}/dir/file")
        assert storage.list_dir(f"{base}/dir") == [sibling]
        assert _files(storage) == {sibling: len(b"sibling")}

    def test_writer_cancel_in_a_new_directory_leaves_no_file(
        self, storage: CheckedDriver, base: str
    ) -> None:
        writer = storage.writer(f"{base}/new/dir/file")
        writer.write(b"discarded")
        writer.cancel()
        assert not storage.exists(f"{base}/new/dir/file")
        assert _files(storage) == {}

    def test_writer_cancel_keeps_previous_content(self, storage: CheckedDriver, base: str) -> None:
        path = f"{base}/file"
        storage.put_content(path, b"previous")
        with storage.writer(path) as writer:
            writer.write(b"replacement that is cancelled")
            writer.cancel()
        assert storage.get_content(path) == b"previous"

    def test_writer_leaving_with_block_without_commit_cancels(
        self, storage: CheckedDriver, base: str
    ) -> None:
        path = f"{base}/file"
        with storage.writer(path) as writer:
            writer.write(b"never committed")
        assert not storage.exists(path)

        with pytest.raises(_AbortedWriteError), storage.writer(path) as writer:
            writer.write(b"never committed either")
            raise _AbortedWriteError
        assert not storage.exists(path)
        assert _files(storage) == {}

    def test_writer_commit_replaces_existing(self, storage: CheckedDriver, base: str) -> None:
        path = f"{base}/file"
        storage.put_content(path, b"a much longer previous content")
        with storage.writer(path) as writer:
            writer.write(b"short")
            # Visible readers still see the old content until the commit.
            assert storage.get_content(path) == b"a much longer previous content"
            writer.commit()
        # Leaving the with block after the commit must not undo it.
        assert storage.get_content(path) == b"short"

    def test_writer_empty_commit(self, storage: CheckedDriver, base: str) -> None:
        with storage.writer(f"{base}/empty") as writer:
            assert writer.size == 0
            writer.commit()
        assert storage.get_content(f"{base}/empty") == b""
        assert storage.stat(f"{base}/empty").size == 0

    # stat.

    def test_stat_file(self, storage: CheckedDriver, base: str, rng: random.Random) -> None:
        path = f"{base}/dir/file"
        storage.put_content(path, rng.randbytes(4096))
        info = storage.stat(path)
        assert isinstance(info, FileInfo)
        assert (info.path, info.size, info.is_dir) == (path, 4096, False)
        if info.mod_time is not None:
            # Seconds since the epoch, not milliseconds or a clock far off.
            assert abs(info.mod_time - time.time()) < 3600

    def test_stat_directory(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/dir/sub/file", b"x")
        for directory in (base, f"{base}/dir", f"{base}/dir/sub"):
            info = storage.stat(directory)
            assert (info.path, info.is_dir) == (directory, True)

    def test_stat_missing(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/dir/file", b"x")
        # The last two are prefixes of existing names but neither files nor directories.
        for missing in (f"{base}/missing", f"{base}/missing/deeper", f"{base}/di", f"{base}/d"):
            with pytest.raises(PathNotFoundError) as caught:
                storage.stat(missing)
            _assert_names(caught.value, storage, missing)

    def test_stat_root(self, storage: CheckedDriver) -> None:
        # As in distribution, the root may be reported as a directory or as not found.
        try:
            info = storage.stat("/")
        except PathNotFoundError as error:
            _assert_names(error, storage, "/")
        else:
            assert info.is_dir

    # list_dir.

    def test_root_of_a_fresh_driver_lists_empty(self, storage: CheckedDriver) -> None:
        assert storage.list_dir("/") == []
        assert list(storage.walk("/")) == []

    def test_list_dir_gives_direct_children_sorted(self, storage: CheckedDriver, base: str) -> None:
        directory = f"{base}/dir"
        for name in ("c", "a", "b", "sub/x", "sub/deeper/y", "B"):
            storage.put_content(f"{directory}/{name}", name.encode())
        expected = [f"{directory}/{name}" for name in ("B", "a", "b", "c", "sub")]
        assert storage.list_dir(directory) == expected
        assert storage.list_dir(f"{directory}/sub") == [
            f"{directory}/sub/deeper",
            f"{directory}/sub/x",
        ]
        assert storage.list_dir(base) == [directory]
        assert storage.list_dir("/") == [base]

    def test_list_dir_many_children(self, storage: CheckedDriver, base: str) -> None:
        directory = f"{base}/many"
        expected = [f"{directory}/child-{index:05d}" for index in range(self.many_children)]
        for path in expected:
            storage.put_content(path, b"")
        assert storage.list_dir(directory) == expected

    def test_list_dir_missing(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/present/file", b"x")
        for missing in (f"{base}/missing", f"{base}/pres"):
            with pytest.raises(PathNotFoundError) as caught:
                storage.list_dir(missing)
            _assert_names(caught.value, storage, missing)

    def test_list_dir_of_an_emptied_directory_is_not_found(
        self, storage: CheckedDriver, base: str
    ) -> None:
        storage.put_content(f"{base}/dir/sub/file", b"x")
        storage.put_content(f"{base}/keep", b"x")
        storage.delete(f"{base}/dir/sub/file")
        with pytest.raises(PathNotFoundError):
            storage.list_dir(f"{base}/dir/sub")
        storage.put_content(f"{base}/moving/file", b"x")
        storage.move(f"{base}/moving/file", f"{base}/moved")
        with pytest.raises(PathNotFoundError):
            storage.list_dir(f"{base}/moving")

    def test_list_dir_of_a_file_is_an_error(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/file", b"x")
        with pytest.raises(StorageError) as caught:
            storage.list_dir(f"{base}/file")
        assert caught.value.driver == storage.name

    def test_list_dir_ignores_names_sharing_a_prefix(
        self, storage: CheckedDriver, base: str
    ) -> None:
        for name in ("a/x", "ab/y", "a.b/z", "a-c/w"):
            storage.put_content(f"{base}/{name}", b"x")
        assert storage.list_dir(f"{base}/a") == [f"{base}/a/x"]

    # walk.

    def test_walk_reports_every_file_with_its_size(self, storage: CheckedDriver, base: str) -> None:
        expected = {
            f"{base}/a/one": 1,
            f"{base}/a/b/two": 2,
            f"{base}/a/b/c/three": 3,
            f"{base}/a/b/c/empty": 0,
            f"{base}/ab/four": 4,
        }
        for path, size in expected.items():
            storage.put_content(path, b"x" * size)
        found = list(storage.walk(base))
        assert all(isinstance(info, FileInfo) and not info.is_dir for info in found)
        assert len(found) == len(expected)
        assert {info.path: info.size for info in found} == expected
        below_a = {path: size for path, size in expected.items() if path.startswith(f"{base}/a/")}
        assert _files(storage, f"{base}/a") == below_a

    def test_walk_missing_directory(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/present", b"x")
        # The contract allows nothing found or PathNotFoundError here; nothing else.
        try:
            found = list(storage.walk(f"{base}/missing"))
        except PathNotFoundError as error:
            _assert_names(error, storage, f"{base}/missing")
        else:
            assert found == []

    def test_walk_names_lists_what_walk_lists(self, driver: StorageDriver, base: str) -> None:
        """Only for a driver that declares :class:`SupportsWalkNames`: through the wrapper, as
        the core calls it, the paths ``walk`` gives, and nothing below a missing directory."""
        if not isinstance(driver, SupportsWalkNames):
            pytest.skip(f"{driver.name} does not declare walk_names")
        storage = CheckedDriver(driver, read_only=False)
        for name in ("a/one", "a/b/two", "a/b/c/three", "ab/four", "a.b/five"):
            storage.put_content(f"{base}/{name}", b"x")
        for top in (base, f"{base}/a", f"{base}/a/b/c"):
            names = list(storage.walk_names(top))
            assert len(names) == len(set(names)), top
            assert set(names) == set(_files(storage, top)), top
        try:
            found = list(storage.walk_names(f"{base}/missing"))
        except PathNotFoundError as error:
            _assert_names(error, storage, f"{base}/missing")
        else:
            assert found == []

    # move.

    def test_move_file(self, storage: CheckedDriver, base: str, rng: random.Random) -> None:
        data = rng.randbytes(3000)
        source, dest = f"{base}/source/file", f"{base}/new/dir/dest"
        storage.put_content(source, data)
        storage.move(source, dest)
        assert storage.get_content(dest) == data
        with pytest.raises(PathNotFoundError) as caught:
            storage.get_content(source)
        _assert_names(caught.value, storage, source)
        assert _files(storage) == {dest: len(data)}

    def test_move_replaces_dest(self, storage: CheckedDriver, base: str) -> None:
        source, dest = f"{base}/source", f"{base}/dest"
        storage.put_content(source, b"new")
        storage.put_content(dest, b"old and longer")
        storage.move(source, dest)
        assert storage.get_content(dest) == b"new"
        assert not storage.exists(source)

    def test_move_missing_source(self, storage: CheckedDriver, base: str) -> None:
        source, dest = f"{base}/missing", f"{base}/dest"
        storage.put_content(dest, b"untouched")
        with pytest.raises(PathNotFoundError) as caught:
            storage.move(source, dest)
        _assert_names(caught.value, storage, source)
        assert storage.get_content(dest) == b"untouched"

    # delete.

    def test_delete_file(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/file", b"x")
        storage.put_content(f"{base}/other", b"y")
        storage.delete(f"{base}/file")
        with pytest.raises(PathNotFoundError):
            storage.get_content(f"{base}/file")
        assert storage.get_content(f"{base}/other") == b"y"

    def test_delete_directory_recursively(self, storage: CheckedDriver, base: str) -> None:
        for name in ("dir/a", "dir/b", "dir/sub/c", "dir/sub/deeper/d", "keep"):
            storage.put_content(f"{base}/{name}", b"x")
        storage.delete(f"{base}/dir")
        assert _files(storage) == {f"{base}/keep": 1}
        assert storage.list_dir(base) == [f"{base}/keep"]
        for gone in (f"{base}/dir", f"{base}/dir/sub", f"{base}/dir/sub/deeper/d"):
            with pytest.raises(PathNotFoundError):
                storage.stat(gone)

    def test_delete_does_not_touch_names_sharing_a_prefix(
        self, storage: CheckedDriver, base: str
    ) -> None:
        kept = {
            f"{base}/ab/file": 1,
            f"{base}/a.b/file": 1,
            f"{base}/a-/file": 1,
            f"{base}/a_file": 1,
            f"{base}/x/filesuffix": 1,
        }
        for path in (*kept, f"{base}/a/file", f"{base}/x/file"):
            storage.put_content(path, b"x")
        storage.delete(f"{base}/a")
        storage.delete(f"{base}/x/file")
        assert _files(storage) == kept

    def test_delete_missing(self, storage: CheckedDriver, base: str) -> None:
        storage.put_content(f"{base}/present", b"x")
        for missing in (f"{base}/missing", f"{base}/pres"):
            with pytest.raises(PathNotFoundError) as caught:
                storage.delete(missing)
            _assert_names(caught.value, storage, missing)
        assert storage.get_content(f"{base}/present") == b"x"

    # Errors.

    def test_every_missing_path_error_names_the_driver(
        self, storage: CheckedDriver, base: str
    ) -> None:
        storage.put_content(f"{base}/present", b"x")
        missing = f"{base}/missing"
        calls: dict[str, Callable[[], object]] = {
            "get_content": lambda: storage.get_content(missing),
            "reader": lambda: storage.reader(missing),
            "stat": lambda: storage.stat(missing),
            "list_dir": lambda: storage.list_dir(missing),
            "move": lambda: storage.move(missing, f"{base}/elsewhere"),
            "delete": lambda: storage.delete(missing),
        }
        for operation, call in calls.items():
            with pytest.raises(StorageError) as caught:
                call()
            assert isinstance(caught.value, PathNotFoundError), operation
            _assert_names(caught.value, storage, missing)

    # Read-only.

    def test_read_only_driver_reads_the_same_root(
        self, storage: CheckedDriver, read_only: CheckedDriver, base: str
    ) -> None:
        storage.put_content(f"{base}/dir/file", b"content")
        assert read_only.name == storage.name
        assert read_only.get_content(f"{base}/dir/file") == b"content"
        with read_only.reader(f"{base}/dir/file", 3) as stream:
            assert stream.read() == b"tent"
        assert read_only.list_dir(f"{base}/dir") == [f"{base}/dir/file"]
        assert _files(read_only, base) == {f"{base}/dir/file": 7}
        assert read_only.stat(f"{base}/dir").is_dir

    # Concurrency.

    def test_concurrent_writers_on_distinct_paths(self, storage: CheckedDriver, base: str) -> None:
        def work(index: int) -> None:
            # Each thread has its own content, so a mix-up between threads shows.
            data = random.Random(index).randbytes(50_000 + index)
            put_path, stream_path = f"{base}/put/{index}", f"{base}/stream/{index}"
            storage.put_content(put_path, data)
            with storage.writer(stream_path) as writer:
                _write_in_chunks(writer, data, 4096)
                writer.commit()
            assert storage.get_content(put_path) == data
            with storage.reader(stream_path, index) as stream:
                assert _read_all(stream) == data[index:]
            storage.delete(put_path)

        run_threads(
            [functools.partial(work, index) for index in range(self.threads)],
            timeout=self.wait_timeout,
        )
        expected = {f"{base}/stream/{index}": 50_000 + index for index in range(self.threads)}
        assert _files(storage) == expected

    def test_last_commit_wins(self, storage: CheckedDriver, base: str) -> None:
        path = f"{base}/contended"
        values = [random.Random(index).randbytes(40_000 + index) for index in range(self.threads)]
        writers = [storage.writer(path) for _ in values]
        # Fill every writer at once, so their temporary state interleaves.
        run_threads(
            [
                functools.partial(_write_in_chunks, writer, data, 1000)
                for writer, data in zip(writers, values, strict=True)
            ],
            timeout=self.wait_timeout,
        )
        order = list(range(len(values)))
        random.Random(0).shuffle(order)
        for index in order:
            writers[index].commit()
            assert storage.get_content(path) == values[index]
        assert storage.get_content(path) == values[order[-1]]
        assert _files(storage) == {path: len(values[order[-1]])}

    def test_racing_commits_leave_one_whole_value(self, storage: CheckedDriver, base: str) -> None:
        path = f"{base}/contended"
        rounds = 3
        values = [
            random.Random(index).randbytes(100_000 + index)
            for index in range(self.threads * rounds)
        ]
        allowed = set(values)
        # Every wait is bounded: a writer that raises aborts the barrier (see run_threads), so
        # the others fail at once instead of waiting for it forever.
        barrier = threading.Barrier(self.threads, timeout=self.wait_timeout)
        done = threading.Event()
        writing = [self.threads]
        lock = threading.Lock()

        def write(thread: int) -> None:
            try:
                for round_number in range(rounds):
                    with storage.writer(path) as writer:
                        data = values[round_number * self.threads + thread]
                        _write_in_chunks(writer, data, 8192)
                        barrier.wait()
                        writer.commit()
            finally:
                with lock:
                    writing[0] -= 1
                    if writing[0] == 0:
                        done.set()

        def watch() -> list[str]:
            # A reader mid-race sees nothing (before the first commit) or one whole value,
            # never a mix, a truncated file, or the path gone between two commits.
            problems: list[str] = []
            appeared = False
            while not done.is_set():
                try:
                    observed = storage.get_content(path)
                except PathNotFoundError:
                    if appeared:
                        problems.append("vanished between commits")
                    continue
                appeared = True
                if observed not in allowed:
                    problems.append(f"torn content of {len(observed)} bytes")
            return problems

        def release() -> None:
            barrier.abort()
            done.set()

        tasks: list[Callable[[], object]] = [watch]
        tasks += [functools.partial(write, thread) for thread in range(self.threads)]
        results = run_threads(tasks, timeout=self.wait_timeout, on_error=release)
        assert results[0] == []
        assert storage.get_content(path) in values[-self.threads :]
        assert list(_files(storage)) == [path]

    def test_concurrent_readers(self, storage: CheckedDriver, base: str) -> None:
        path = f"{base}/shared"
        data = random.Random(1).randbytes(2 << 20)
        storage.put_content(path, data)
        step = len(data) // self.threads

        def read(index: int) -> bytes:
            with storage.reader(path, index * step) as stream:
                return _read_all(stream, _CHUNK)

        results = run_threads(
            [functools.partial(read, index) for index in range(self.threads)],
            timeout=self.wait_timeout,
        )
        for index, result in enumerate(results):
            assert result == data[index * step :], f"reader {index}"

    # The registry layout end to end.

    def test_registry_tree_round_trip(self, storage: CheckedDriver, rng: random.Random) -> None:
        layer = rng.randbytes(300_000)
        layer_digest = Digest.of(layer)
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [str(layer_digest)]},
            }
        ).encode()
        config_digest = Digest.of(config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": str(config_digest),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": str(layer_digest),
                        "size": len(layer),
                    }
                ],
            },
            indent=3,
        ).encode()
        manifest_digest = Digest.of(manifest)
        name, tag = "library/sample", "latest"

        # As a push writes: blobs streamed, then links, the tag last.
        with storage.writer(layout.blob_data_path(layer_digest)) as writer:
            _write_in_chunks(writer, layer)
            writer.commit()
        storage.put_content(layout.blob_data_path(config_digest), config)
        storage.put_content(layout.blob_data_path(manifest_digest), manifest)
        for digest in (layer_digest, config_digest):
            storage.put_content(layout.layer_link_path(name, digest), link_content(digest))
        storage.put_content(
            layout.revision_link_path(name, manifest_digest), link_content(manifest_digest)
        )
        storage.put_content(
            layout.tag_index_link_path(name, tag, manifest_digest), link_content(manifest_digest)
        )
        storage.put_content(layout.tag_current_link_path(name, tag), link_content(manifest_digest))

        files = _files(storage, layout.V2_ROOT)
        links = {path: size for path, size in files.items() if path.endswith("/link")}
        blobs = {path for path in files if path.endswith("/data")}
        assert len(links) == 5 and len(blobs) == 3 and len(files) == 8
        for path, size in links.items():
            content = storage.get_content(path)
            assert size == len(content) == LINK_SIZE, path
            digest = parse_link(content, path)
            assert storage.stat(layout.blob_data_path(digest)).size > 0
            if not path.endswith("/current/link"):
                # A revision, layer or tag-index link lives in a directory named by its digest.
                assert path.split("/")[-2] == digest.hex, path
        for path in blobs:
            hasher = hashlib.sha256()
            with storage.reader(path) as stream:
                while piece := stream.read(_CHUNK):
                    hasher.update(piece)
            hex_digest = path.split("/")[-2]
            assert hasher.hexdigest() == hex_digest, path
            assert path == layout.blob_data_path(Digest("sha256", hex_digest))
            assert files[path] == storage.stat(path).size

        current = layout.tag_current_link_path(name, tag)
        tagged = parse_link(storage.get_content(current), current)
        parsed = parse_manifest(storage.get_content(layout.blob_data_path(tagged)), "manifest")
        assert {blob.digest for blob in parsed.blobs} == {config_digest, layer_digest}
        assert storage.list_dir(layout.tags_path(name)) == [f"{layout.tags_path(name)}/{tag}"]
        assert storage.list_dir(f"{layout.BLOBS_ROOT}/sha256") == sorted(
            f"{layout.BLOBS_ROOT}/sha256/{digest.hex[:2]}"
            for digest in {layer_digest, config_digest, manifest_digest}
        )

        storage.delete("/docker")
