"""What a driver over an object store (buckets, containers) must do that the conformance suite
cannot see: the object names it stores under, uploads in parts that stay invisible until
committed, and server-side copies between stores. :class:`ObjectStoreSuite` says each promise
once; a plugin's test class inherits it and tells it, with the store's own SDK, what is stored.

:class:`ObjectStoreDriverSuite` runs the conformance suite on such a driver against an
emulator, each class in a root of its own.

The subclass of ObjectStoreSuite (or its conftest: :func:`emulator_fixtures` makes them)
gives these fixtures:

- ``open_driver(location, read_only=False, **options)``: the driver on the test's server;
- ``store``: a fresh, empty store (bucket, container) name; ``make_store()``: another one;
- ``driver``: ``open_driver(store)`` with parts of :attr:`ObjectStoreSuite.part_size`.

and implements :meth:`~ObjectStoreSuite.stored`, :meth:`~ObjectStoreSuite.put_object` and
:meth:`~ObjectStoreSuite.refuse_server_side_copies`; it names ``emulator_class`` and
``driver_class`` for :meth:`~ObjectStoreSuite.driver_on_another_server`, or implements it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Protocol, cast

import pytest

from scraper_core.checked import CheckedDriver
from scraper_core.contract import DriverClass, StorageDriver, StorageReader, SupportsServerSideCopy
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.scrapes import check_mirrored_in_store, scrape_images, stored_files
from scraper_core.testing.suite import DriverSuite
from scraper_core.testing.tree import TreeWriter
from scraper_core.transfer import BlobOutcome

LINK = "/docker/registry/v2/repositories/library/x/_manifests/tags/latest/current/link"

#: Sizes around the part size: (parts, extra bytes).
_PART_SIZES = ((0, 0), (0, 10), (1, -1), (1, 0), (2, 0), (3, 5))


class ObjectStoreDriver(StorageDriver, SupportsServerSideCopy, Protocol):
    #: ``STORE`` or ``STORE/ROOT``, as the driver normalised what it was opened with.
    location: str


OpenDriver = Callable[..., ObjectStoreDriver]


class Emulator(Protocol):
    """A server a driver's tests start (see :class:`~scraper_core.testing.ServerProcess`)."""

    def use_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make this process a client of this server only."""

    def make_store(self) -> str:
        """A fresh, empty store (bucket, container) on this server; its name."""


def opener(driver_class: DriverClass) -> OpenDriver:
    """``open_driver(location, read_only=False, **options)`` for ``driver_class``."""

    def open_driver(location: str, read_only: bool = False, **options: str) -> ObjectStoreDriver:
        driver: Any = driver_class.open(location, options, read_only=read_only)
        return cast(ObjectStoreDriver, driver)

    return open_driver


def emulator_fixtures(
    server: str, client: str, store_name: str, driver_class: DriverClass, part_option: str
) -> tuple[object, ...]:
    """A plugin conftest's fixtures over the session's emulator (the fixture ``server``):

    - ``client``: the emulator, with this process set up as its client for the test;
    - ``make_store()``: a fresh, empty store on it; ``store``: one for the test, also under
      ``store_name`` (``container``, ``bucket``);
    - ``open_driver``: ``open_driver(location, read_only=False, **options)`` against it;
    - ``driver``: writable, on the test's store, with 256 KiB parts (``part_option``) so that
      the larger writes upload several.

    Bind them under their names: ``azurite, make_store, store, container, open_driver,
    driver = ...`` (the ObjectStoreSuite takes the generic ones).
    """

    @pytest.fixture(name=client)
    def client_fixture(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
        emulator: Emulator = request.getfixturevalue(server)
        emulator.use_environment(monkeypatch)
        return emulator

    @pytest.fixture
    def make_store(request: pytest.FixtureRequest) -> Callable[[], str]:
        emulator: Emulator = request.getfixturevalue(client)
        return emulator.make_store

    @pytest.fixture
    def store(make_store: Callable[[], str]) -> str:
        return make_store()

    @pytest.fixture(name=store_name)
    def named_store(store: str) -> str:
        return store

    @pytest.fixture
    def open_driver(request: pytest.FixtureRequest) -> OpenDriver:
        request.getfixturevalue(client)
        return opener(driver_class)

    @pytest.fixture
    def driver(open_driver: OpenDriver, store: str) -> ObjectStoreDriver:
        return open_driver(store, **{part_option: "256KiB"})

    return client_fixture, make_store, store, named_store, open_driver, driver


class ObjectStoreDriverSuite(DriverSuite):
    """The conformance suite on an emulator: the root is ``STORE/conformance-<random>``, so
    every operation also goes through the root prefix; copies come from a sibling root."""

    #: The fixture giving the session's emulator.
    server_fixture: ClassVar[str]
    #: The driver under test, and its option for the part size, which the suite makes 256 KiB:
    #: the larger writes then upload several parts, the larger reads make several ranged GETs.
    driver_class: ClassVar[DriverClass]
    part_option: ClassVar[str]

    @classmethod
    def open_location(cls, location: str, *, read_only: bool) -> StorageDriver:
        """The driver at ``location``, with small parts and small pages (the suite's
        1100-child directory then takes several)."""
        driver: Any = cls.driver_class.open(
            location, {cls.part_option: "256KiB"}, read_only=read_only
        )
        driver.list_page_size = 500
        return cast(StorageDriver, driver)

    # Class-wide, as the suite allows: each test leaves the root empty for the next one (the
    # suite checks that), and one client serves them all.
    @pytest.fixture(scope="class")
    @classmethod
    def driver(cls, request: pytest.FixtureRequest) -> Iterator[StorageDriver]:
        server: Emulator = request.getfixturevalue(cls.server_fixture)
        with pytest.MonkeyPatch.context() as monkeypatch:
            server.use_environment(monkeypatch)
            root = f"conformance-{secrets.token_hex(6)}"
            yield cls.open_location(f"{server.make_store()}/{root}", read_only=False)

    def open_read_only(self, driver: StorageDriver) -> StorageReader:
        # The environment is the class fixture's: the emulator's, set while it is alive.
        return self.open_location(cast(ObjectStoreDriver, driver).location, read_only=True)

    def open_copy_source(self, driver: StorageDriver) -> StorageDriver:
        # A sibling root in the same store: server-side copies can reach it.
        location = cast(ObjectStoreDriver, driver).location
        return self.open_location(f"{location}-copy-source", read_only=False)


class ObjectStoreSuite:
    #: The part size ``driver`` uploads and reads in; the tests write several parts.
    part_size: ClassVar[int] = 256 * 1024
    #: What the ConfigurationError says when the store named does not exist.
    missing_store_says: ClassVar[str]
    #: For :meth:`driver_on_another_server`: the emulator to start (a context manager), and
    #: the driver to open on it.
    emulator_class: ClassVar[type[contextlib.AbstractContextManager[Any]]]
    driver_class: ClassVar[DriverClass]

    # -- what the subclass says with its SDK --------------------------------------------------

    def stored(self, driver: ObjectStoreDriver) -> dict[str, bytes]:
        """Every object committed in the driver's store, by name, read with the SDK."""
        raise NotImplementedError

    def put_object(self, driver: ObjectStoreDriver, name: str, data: bytes) -> None:
        """An object put with the SDK directly (as another writer would) in the driver's store."""
        raise NotImplementedError

    def check_committed(self, driver: ObjectStoreDriver, name: str, size: int) -> None:
        """What the SDK shows of an object the driver's writer committed (type, parts)."""

    def location(self, store: str, root: str) -> str:
        """How a user names ROOT in STORE (the driver gives ``location`` as ``STORE/ROOT``)."""
        return f"{store}/{root}"

    @contextlib.contextmanager
    def driver_on_another_server(self) -> Iterator[ObjectStoreDriver]:
        """A writable driver on a second server, with this process its client while open."""
        with self.emulator_class() as started, pytest.MonkeyPatch.context() as monkeypatch:
            other: Emulator = started
            other.use_environment(monkeypatch)
            driver: Any = self.driver_class.open(other.make_store(), {}, read_only=False)
            yield cast(ObjectStoreDriver, driver)

    def refuse_server_side_copies(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the SDK's server-side copy fail as a server refusing it does (403)."""
        raise NotImplementedError

    @pytest.fixture
    def copy_mode(self) -> str:
        """A subclass whose driver copies in several ways parametrizes this (see use_copy_mode)."""
        return "default"

    def use_copy_mode(self, driver: ObjectStoreDriver, mode: str) -> None:
        """Make ``driver`` copy the ``mode`` way."""

    @pytest.fixture
    def layout_options(self) -> dict[str, str]:
        """Options of a storage layout the whole scrape is run in (parametrize for several)."""
        return {}

    # -- object names ---------------------------------------------------------------------------

    @pytest.mark.parametrize("root", ["", "prod/eu"])
    def test_names_follow_distribution(
        self, open_driver: OpenDriver, store: str, root: str
    ) -> None:
        driver = open_driver(self.location(store, root) if root else store)
        assert driver.location == (f"{store}/{root}" if root else store)
        with driver.writer(LINK) as writer:
            writer.write(b"x" * (2 * self.part_size + 1))
            writer.commit()
        driver.put_content("/docker/registry/v2/blobs/a", b"a")
        prefix = f"{root}/" if root else ""
        assert sorted(self.stored(driver)) == sorted(
            f"{prefix}{path[1:]}" for path in (LINK, "/docker/registry/v2/blobs/a")
        )
        assert driver.list_dir("/") == ["/docker"]

    def test_a_root_does_not_see_its_siblings(self, open_driver: OpenDriver, store: str) -> None:
        prod = open_driver(f"{store}/prod")
        self.put_object(prod, "prodx/a", b"sibling root")
        self.put_object(prod, "prod", b"an object named like the root")
        assert prod.list_dir("/") == []
        assert list(prod.walk("/")) == []
        prod.put_content("/a", b"mine")
        prod.delete("/a")
        assert set(self.stored(prod)) == {"prodx/a", "prod"}

    # -- writer and reader ----------------------------------------------------------------------

    @pytest.mark.parametrize(("parts", "extra"), _PART_SIZES)
    def test_writer_sizes_round_trip(
        self, driver: ObjectStoreDriver, parts: int, extra: int
    ) -> None:
        size = parts * self.part_size + extra
        data = os.urandom(size)
        with driver.writer("/blob") as writer:
            for start in range(0, size, 10_000):
                writer.write(data[start : start + 10_000])
            assert writer.size == size
            # Parts uploaded so far are no object: not listed, not readable.
            assert self.stored(driver) == {}
            writer.commit()
        assert driver.get_content("/blob") == data
        self.check_committed(driver, "blob", size)

    def test_a_cancelled_upload_keeps_the_previous_content(self, driver: ObjectStoreDriver) -> None:
        driver.put_content("/blob", b"previous")
        writer = driver.writer("/blob")
        writer.write(os.urandom(3 * self.part_size))
        writer.cancel()
        writer.cancel()
        assert self.stored(driver) == {"blob": b"previous"}
        with pytest.raises(StorageError, match="after cancelled"):
            writer.write(b"more")
        with pytest.raises(StorageError, match="after cancelled"):
            writer.commit()

    def test_writer_refuses_use_after_commit(self, driver: ObjectStoreDriver) -> None:
        with driver.writer("/blob") as writer:
            writer.write(b"x")
            writer.commit()
            with pytest.raises(StorageError, match="after committed"):
                writer.write(b"y")
        assert driver.get_content("/blob") == b"x"

    def test_reader_streams_in_parts_from_any_offset(self, driver: ObjectStoreDriver) -> None:
        data = os.urandom(3 * self.part_size + 123)
        driver.put_content("/blob", data)
        driver.put_content("/empty", b"")
        for offset in (0, 1, self.part_size, 3 * self.part_size + 122, len(data), len(data) + 5):
            with driver.reader("/blob", offset) as stream:
                parts = []
                while piece := stream.read(65_537):
                    parts.append(piece)
            assert b"".join(parts) == data[offset:], offset
        for offset in (0, 1):
            with driver.reader("/empty", offset) as stream:
                assert stream.read() == b""

    # -- move, delete ---------------------------------------------------------------------------

    def test_move_is_a_copy_and_a_delete(self, driver: ObjectStoreDriver) -> None:
        data = os.urandom(2 * self.part_size)
        driver.put_content("/a/source", data)
        driver.move("/a/source", "/b/dest")
        assert self.stored(driver) == {"b/dest": data}
        driver.move("/b/dest", "/b/dest")
        assert self.stored(driver) == {"b/dest": data}
        with pytest.raises(PathNotFoundError) as caught:
            driver.move("/a/source", "/b/dest")
        assert caught.value.path == "/a/source"

    def test_delete_spares_names_sharing_a_prefix(self, driver: ObjectStoreDriver) -> None:
        for path in ("/a", "/a/b", "/a/c/d", "/ab", "/a.b/c", "/a-"):
            driver.put_content(path, b"x")
        driver.delete("/a")
        assert set(self.stored(driver)) == {"ab", "a.b/c", "a-"}
        with pytest.raises(PathNotFoundError):
            driver.delete("/a")

    def test_a_missing_store_fails_at_open(self, open_driver: OpenDriver) -> None:
        with pytest.raises(ConfigurationError, match=self.missing_store_says):
            open_driver("no-such-store-here")

    # -- server-side copy -----------------------------------------------------------------------

    def test_server_side_copy_between_stores(
        self, open_driver: OpenDriver, store: str, make_store: Callable[[], str], copy_mode: str
    ) -> None:
        source = open_driver(f"{make_store()}/registry", read_only=True)
        self.put_object(source, "registry/blobs/data", b"blob bytes")
        dest = open_driver(f"{store}/mirror")
        self.use_copy_mode(dest, copy_mode)
        assert dest.server_side_copy(source, "/blobs/data", "/blobs/data")
        assert self.stored(dest) == {"mirror/blobs/data": b"blob bytes"}
        # Through the wrappers, as the core calls it.
        checked = CheckedDriver(dest, read_only=False)
        assert checked.server_side_copy(CheckedDriver(source, read_only=True), "/blobs/data")
        with pytest.raises(PathNotFoundError) as caught:
            dest.server_side_copy(source, "/blobs/missing", "/blobs/missing")
        assert caught.value.path == "/blobs/missing"

    def test_server_side_copy_declines_other_backends_and_servers(
        self, driver: ObjectStoreDriver
    ) -> None:
        memory = MemoryDriver()
        memory.put_content("/blob", b"x")
        assert not driver.server_side_copy(memory, "/blob", "/blob")
        with self.driver_on_another_server() as other:
            self.put_object(other, "blob", b"x")
            assert not driver.server_side_copy(other, "/blob", "/blob")
        assert self.stored(driver) == {}

    def test_server_side_copy_declines_when_refused(
        self,
        driver: ObjectStoreDriver,
        open_driver: OpenDriver,
        make_store: Callable[[], str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        source = open_driver(make_store(), read_only=True)
        self.put_object(source, "blob", b"x")
        self.refuse_server_side_copies(monkeypatch)
        assert not driver.server_side_copy(source, "/blob", "/blob")

    # -- whole scrapes --------------------------------------------------------------------------

    def test_scrape_within_the_store_server_side_and_out_of_it(
        self,
        open_driver: OpenDriver,
        store: str,
        make_store: Callable[[], str],
        layout_options: dict[str, Any],
    ) -> None:
        location = f"{store}/registry"
        writable = CheckedDriver(open_driver(location, **layout_options), read_only=False)
        sizes = (3 * self.part_size + 7, 7000)
        wanted = TreeWriter(writable).image("team/app", "v1", layer_sizes=sizes)
        reader = open_driver(location, read_only=True, **layout_options)
        source = CheckedDriver(reader, read_only=True)

        mirror = CheckedDriver(open_driver(f"{make_store()}/mirror"), read_only=False)
        copied = check_mirrored_in_store(source, mirror, wanted, "team/app:v1")

        local = CheckedDriver(MemoryDriver(), read_only=False)
        outcomes = scrape_images(mirror, local, "team/app:v1")
        assert outcomes.counts == {BlobOutcome.COPIED: len(wanted.blobs)}
        assert stored_files(local) == copied
