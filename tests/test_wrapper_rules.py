"""The rules the wrapper owns for every driver (issues 12 and 20), and the typed capabilities.

Each test uses a driver that does *not* follow the rule itself, so only the wrapper can make
the test pass: drivers need not repeat these checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar, cast

import pytest

from scraper_core.checked import CheckedDriver, check_capabilities
from scraper_core.contract import (
    Capability,
    FileInfo,
    StorageReader,
    SupportsHardlink,
    SupportsServerSideCopy,
    SupportsWalkNames,
)
from scraper_core.errors import (
    InvalidOffsetError,
    InvalidPathError,
    PathNotFoundError,
    PluginError,
    ReadOnlyError,
    StorageError,
)
from scraper_core.plugins import DriverRegistry
from scraper_core.testing.memory import MemoryDriver
from tests.support.plugin_site import write_distribution

FILE = "/dir/file"


class Permissive(MemoryDriver):
    """Writes whatever it is asked, read-only or not, and copies from any memory driver."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.SERVER_SIDE_COPY, Capability.HARDLINK}
    )

    def __init__(self) -> None:
        super().__init__(read_only=False)
        self.sources: list[object] = []

    def server_side_copy(self, source: object, src_path: str, dst_path: str) -> bool:
        self.sources.append(source)
        self.put_content(dst_path, cast(MemoryDriver, source).get_content(src_path))
        return True

    link_blob = server_side_copy


class EmptyLister:
    """A bucket-like driver: a prefix with nothing below it lists as ``[]``."""

    name: ClassVar[str] = "emptylister"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def get_content(self, path: str) -> bytes:
        raise PathNotFoundError(self.name, path)

    def reader(self, path: str, offset: int = 0) -> object:
        raise PathNotFoundError(self.name, path)

    def stat(self, path: str) -> FileInfo:
        raise PathNotFoundError(self.name, path)

    def list_dir(self, path: str) -> list[str]:
        return []

    def walk(self, path: str) -> Iterator[FileInfo]:
        return iter(())


def _contents(driver: MemoryDriver) -> dict[str, bytes]:
    return {info.path: driver.get_content(info.path) for info in driver.walk("/")}


# Read-only.


def test_read_only_wrapper_refuses_writes_the_driver_would_accept() -> None:
    raw = Permissive()
    raw.put_content(FILE, b"content")
    source = MemoryDriver()
    source.put_content("/blob", b"blob")
    guarded = CheckedDriver(raw, read_only=True)
    other = CheckedDriver(source, read_only=True)
    writes: dict[str, Callable[[], object]] = {
        "put_content": lambda: guarded.put_content("/new", b"x"),
        "overwrite": lambda: guarded.put_content(FILE, b"x"),
        "writer": lambda: guarded.writer("/new"),
        "move": lambda: guarded.move(FILE, "/moved"),
        "delete": lambda: guarded.delete(FILE),
        "server_side_copy": lambda: guarded.server_side_copy(other, "/blob"),
        "link_blob": lambda: guarded.link_blob(other, "/blob"),
    }
    for operation, write in writes.items():
        with pytest.raises(ReadOnlyError) as caught:
            write()
        assert caught.value.driver == "memory", operation
    assert _contents(raw) == {FILE: b"content"}
    assert raw.sources == []


def test_the_same_driver_wrapped_writable_accepts_them() -> None:
    # The counterpart: nothing in the driver refuses, so the refusals above are the wrapper's.
    raw = Permissive()
    source = MemoryDriver()
    source.put_content("/blob", b"blob")
    storage = CheckedDriver(raw, read_only=False)
    storage.put_content(FILE, b"content")
    assert storage.server_side_copy(CheckedDriver(source, read_only=True), "/blob")
    assert _contents(raw) == {FILE: b"content", "/blob": b"blob"}


# Copy methods get the driver, never the wrapper.


def test_copy_methods_receive_the_unwrapped_source() -> None:
    raw = Permissive()
    source = MemoryDriver()
    source.put_content("/blob", b"blob")
    storage = CheckedDriver(raw, read_only=False)
    wrapped_source = CheckedDriver(source, read_only=True)
    assert storage.server_side_copy(wrapped_source, "/blob")
    assert storage.link_blob(wrapped_source, "/blob")
    assert raw.sources == [source, source]


# An empty listing means not found.


def test_empty_listing_is_path_not_found_except_at_the_root() -> None:
    storage = CheckedDriver(cast(StorageReader, EmptyLister()), read_only=True)
    with pytest.raises(PathNotFoundError) as caught:
        storage.list_dir("/docker/registry/v2/repositories")
    assert (caught.value.driver, caught.value.path) == (
        "emptylister",
        "/docker/registry/v2/repositories",
    )
    assert storage.list_dir("/") == []


# Declared capabilities must have their method: refused when the driver is opened.

LIAR_PLUGIN = """
from scraper_core import hookimpl
from scraper_core.contract import Capability
from scraper_core.testing import MemoryDriver


class Liar(MemoryDriver):
    name = "liar"
    description = "declares copies it cannot do"
    capabilities = frozenset({Capability.SERVER_SIDE_COPY, Capability.HARDLINK})

    def link_blob(self, source, src_path, dst_path):
        return False


@hookimpl
def registry_scraper_register_drivers(register):
    register(Liar)
"""


@pytest.fixture
def liar_site(plugin_site: Path) -> Path:
    write_distribution(plugin_site, "rs-liar", "liar", "rs_liar", LIAR_PLUGIN)
    return plugin_site


def test_a_declared_capability_without_its_method_is_refused_at_open(
    liar_site: Path, tmp_path: Path
) -> None:
    registry = DriverRegistry(strict=True)
    with pytest.raises(PluginError) as caught:
        registry.open("liar", str(tmp_path / "store"), {}, read_only=False)
    message = str(caught.value)
    assert "\n" not in message
    assert "'liar'" in message
    assert "SERVER_SIDE_COPY without server_side_copy()" in message
    # link_blob is there: HARDLINK is not named.
    assert "HARDLINK" not in message


def test_a_driver_with_its_declared_methods_opens() -> None:
    check_capabilities(Permissive())
    assert isinstance(Permissive(), SupportsServerSideCopy)
    assert isinstance(Permissive(), SupportsHardlink)
    assert not isinstance(MemoryDriver(), SupportsServerSideCopy)


# Optional companions are found by type, not by name.


class Companions(MemoryDriver):
    def __init__(self) -> None:
        super().__init__(read_only=False)
        self.calls: list[str] = []
        self.bytes_written: object = None

    def read_head(self, path: str, size: int) -> bytes:
        self.calls.append("read_head")
        return b"x" * (size + 10)  # more than asked: the wrapper cuts it

    def close(self) -> None:
        self.calls.append("close")

    def abort(self) -> None:
        self.calls.append("abort")

    def follow_output(self, bytes_written: Callable[[int], None], copied: int) -> int:
        self.bytes_written = bytes_written
        return copied * 3


def test_optional_companions_are_called_when_present() -> None:
    raw = Companions()
    storage = CheckedDriver(raw, read_only=False)
    assert storage.read_head(FILE, 4) == b"xxxx"
    storage.close()
    storage.abort()
    sizes: list[int] = []
    assert storage.follow_output(sizes.append, 5) == 15
    assert raw.bytes_written == sizes.append
    assert raw.calls == ["read_head", "close", "abort"]


def test_drivers_without_companions_work_the_same() -> None:
    raw = MemoryDriver()
    raw.put_content(FILE, b"0123456789")
    storage = CheckedDriver(raw, read_only=False)
    assert storage.read_head(FILE, 4) == b"0123"
    storage.close()
    storage.abort()
    assert storage.follow_output(lambda size: None, 5) == 5


# Paths and offsets: the wrapper refuses them before the driver is called, for every driver
# (the conformance suite does not repeat this per driver: it is this code whatever the driver).

#: Paths refused for every operation: relative, dot segments, empty components, trailing
#: slash, characters outside distribution's path grammar.
INVALID_PATHS = (
    "",
    "relative",
    "relative/file",
    "/a/../b",
    "/..",
    "/.",
    "/a/./b",
    "//a",
    "/a//b",
    "/a/",
    "/a b",
    "/a\\b",
    "/a\x00b",
    "/a\nb",
    "/caf\u00e9",
)


class Recorder:
    """Stands in for a raw driver and notes every method of it that gets called (looking one
    up is not a call: ``isinstance`` against a protocol does that)."""

    def __init__(self, raw: StorageReader) -> None:
        self._raw = raw
        self.name = raw.name
        self.capabilities = raw.capabilities
        self.called: list[str] = []

    def __getattr__(self, attribute: str) -> object:
        method = getattr(self._raw, attribute)

        def record(*args: object, **kwargs: object) -> object:
            self.called.append(attribute)
            return method(*args, **kwargs)

        return record


def _recorded(raw: StorageReader) -> tuple[CheckedDriver, Recorder]:
    recorder = Recorder(raw)
    return CheckedDriver(cast(StorageReader, recorder), read_only=False), recorder


_SOURCE = CheckedDriver(MemoryDriver(), read_only=True)

OPERATIONS: dict[str, Callable[[CheckedDriver, str], object]] = {
    "get_content": lambda storage, path: storage.get_content(path),
    "read_head": lambda storage, path: storage.read_head(path, 10),
    "read_link": lambda storage, path: storage.read_link(path),
    "reader": lambda storage, path: storage.reader(path),
    "stat": lambda storage, path: storage.stat(path),
    "exists": lambda storage, path: storage.exists(path),
    "list_dir": lambda storage, path: storage.list_dir(path),
    "walk": lambda storage, path: list(storage.walk(path)),
    "walk_names": lambda storage, path: list(storage.walk_names(path)),
    "put_content": lambda storage, path: storage.put_content(path, b"x"),
    "writer": lambda storage, path: storage.writer(path),
    "move-from": lambda storage, path: storage.move(path, "/valid"),
    "move-to": lambda storage, path: storage.move("/valid", path),
    "delete": lambda storage, path: storage.delete(path),
    "server_side_copy": lambda storage, path: storage.server_side_copy(_SOURCE, path),
    "link_blob": lambda storage, path: storage.link_blob(_SOURCE, path),
}

#: Operations for which the root ``/`` is a valid path: it is a directory, not a file.
ROOT_ALLOWED = ("stat", "exists", "list_dir", "walk", "walk_names")


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_invalid_paths_are_refused_before_the_driver_is_called(operation: str) -> None:
    storage, recorder = _recorded(Permissive())
    for path in INVALID_PATHS:
        with pytest.raises(InvalidPathError) as caught:
            OPERATIONS[operation](storage, path)
        assert (caught.value.driver, caught.value.path) == ("memory", path), repr(path)
        assert "memory" in str(caught.value)
    assert recorder.called == []


@pytest.mark.parametrize("operation", sorted(set(OPERATIONS) - set(ROOT_ALLOWED)))
def test_the_root_is_not_a_file_path(operation: str) -> None:
    storage, recorder = _recorded(Permissive())
    with pytest.raises(InvalidPathError):
        OPERATIONS[operation](storage, "/")
    assert recorder.called == []


def test_a_negative_offset_is_refused_before_the_driver_is_called() -> None:
    raw = MemoryDriver()
    raw.put_content(FILE, b"content")
    storage, recorder = _recorded(raw)
    for offset in (-1, -(1 << 63)):
        with pytest.raises(InvalidOffsetError) as caught:
            storage.reader(FILE, offset)
        assert (caught.value.driver, caught.value.path) == ("memory", FILE)
    assert recorder.called == []
    with storage.reader(FILE, 3) as stream:
        assert stream.read() == b"tent"


# walk_names: an optional protocol, reached through the wrapper.


class NamesOnly(MemoryDriver):
    """Has ``walk_names``; its ``walk`` must then not be used for names."""

    def __init__(self, failure: Exception | None = None) -> None:
        super().__init__(read_only=False)
        self.failure = failure
        self.named: list[str] = []

    def walk(self, path: str) -> Iterator[FileInfo]:
        raise AssertionError("walk called where walk_names is declared")

    def walk_names(self, path: str) -> Iterator[str]:
        self.named.append(path)
        if self.failure is not None:
            raise self.failure
        yield f"{path}/name"


def test_walk_names_is_the_drivers_where_it_has_one() -> None:
    raw = NamesOnly()
    assert isinstance(raw, SupportsWalkNames)
    storage = CheckedDriver(raw, read_only=True)
    assert list(storage.walk_names("/dir")) == ["/dir/name"]
    assert raw.named == ["/dir"]


def test_walk_names_errors_are_named_as_every_other_call() -> None:
    storage = CheckedDriver(NamesOnly(OSError("connection reset")), read_only=True)
    with pytest.raises(StorageError) as caught:
        list(storage.walk_names("/dir"))
    assert (caught.value.driver, caught.value.path) == ("memory", "/dir")
    assert "connection reset" in str(caught.value)
    missing = CheckedDriver(NamesOnly(FileNotFoundError()), read_only=True)
    with pytest.raises(PathNotFoundError):
        list(missing.walk_names("/dir"))


def test_walk_names_of_a_driver_without_it_comes_from_walk() -> None:
    raw = MemoryDriver()
    assert not isinstance(raw, SupportsWalkNames)
    for path in ("/dir/a", "/dir/sub/b", "/other"):
        raw.put_content(path, b"x")
    storage = CheckedDriver(raw, read_only=True)
    assert sorted(storage.walk_names("/dir")) == ["/dir/a", "/dir/sub/b"]
    assert sorted(storage.walk_names("/")) == ["/dir/a", "/dir/sub/b", "/other"]
