"""Suites that exercise each optional capability a driver declares, for real.

Declaring a :class:`~scraper_core.contract.Capability` makes the copy engine call a method on the
destination driver instead of streaming. A declaration with no working method behind it would
otherwise only show in production, so each capability has tests here that copy blobs
between two drivers of the same backend through :class:`~scraper_core.checked.CheckedDriver`,
as the engine does, and checks the bytes, that nothing appears at the final path before the
copy is complete, that nothing is left behind, and that the source is untouched.

:class:`~scraper_core.testing.DriverSuite` inherits every class here, so a driver's conformance
run covers the capabilities it declares; for a capability it does not declare the tests skip.
A driver that declares any copy capability overrides :meth:`CapabilitySuite.open_copy_source`.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest

from scraper_core.checked import CheckedDriver, CheckedStagedCopy
from scraper_core.contract import Capability, StorageDriver
from scraper_core.errors import PathNotFoundError, StorageError
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.threads import DEFAULT_TIMEOUT

#: The raw method behind each capability (see Capability's documentation).
METHODS = {
    Capability.SERVER_SIDE_COPY: "server_side_copy",
    Capability.HARDLINK: "link_blob",
    Capability.KERNEL_COPY: "start_copy",
}


def _files(storage: CheckedDriver) -> dict[str, int]:
    try:
        return {info.path: info.size for info in storage.walk("/") if not info.is_dir}
    except PathNotFoundError:
        return {}


def _contents(storage: CheckedDriver) -> dict[str, bytes]:
    return {path: storage.get_content(path) for path in _files(storage)}


def _put(storage: CheckedDriver, path: str, data: bytes) -> None:
    with storage.writer(path) as writer:
        for start in range(0, len(data), 1 << 16):
            writer.write(data[start : start + (1 << 16)])
        writer.commit()


def _sample(size: int, seed: str) -> bytes:
    return random.Random(f"{seed}-{size}").randbytes(size)


class CapabilitySuite:
    """Shared fixtures. Needs the ``driver`` and ``storage`` fixtures of DriverSuite."""

    #: Sizes of the blobs copied: a small one, and one over 1 MiB that is no multiple of a
    #: chunk, so multipart and chunked copies are exercised too.
    copy_sizes: ClassVar[tuple[int, ...]] = (4099, (1 << 20) + 4099)
    #: Seconds a staged copy's wait() may take; then it is cancelled (from another thread,
    #: as an interrupt does) and the test fails instead of hanging the run.
    wait_timeout: ClassVar[float] = DEFAULT_TIMEOUT

    def _wait(self, staged: CheckedStagedCopy) -> int:
        """``staged.wait()``, bounded by :attr:`wait_timeout`; what it raises is raised here."""
        outcome: list[int | BaseException] = []
        done = threading.Event()

        def wait() -> None:
            try:
                outcome.append(staged.wait())
            except BaseException as exc:
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=wait, name="staged-copy-wait", daemon=True).start()
        if not done.wait(self.wait_timeout):
            staged.cancel()
            pytest.fail(f"StagedCopy.wait() still running after {self.wait_timeout:g} s")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def open_copy_source(self, driver: StorageDriver) -> StorageDriver:
        """A writable raw driver of the same backend as ``driver`` on another empty root,
        which ``driver``'s copy methods accept as a source (same filesystem, endpoint or
        account). Override it when the driver declares any copy capability."""
        declared = sorted(c.name for c in getattr(driver, "capabilities", ()) if c in METHODS)
        raise NotImplementedError(
            f"{type(self).__name__}: the driver declares {', '.join(declared)}: override "
            "open_copy_source() to give a second root of the same backend"
        )

    @pytest.fixture
    def copy_source(self, driver: StorageDriver) -> Iterator[CheckedDriver]:
        if not set(getattr(driver, "capabilities", ())) & set(METHODS):
            pytest.skip("the driver declares no copy capability")
        source = CheckedDriver(self.open_copy_source(driver), read_only=False)
        assert _files(source) == {}, "open_copy_source() must give a driver on an empty root"
        try:
            yield source
        finally:
            for name in source.list_dir("/"):
                with contextlib.suppress(PathNotFoundError):
                    source.delete(name)

    @pytest.fixture
    def blob_dir(self, storage: CheckedDriver) -> Iterator[str]:
        """A directory of the test's own, the same on both sides (copies keep their path);
        deleted from the destination afterwards, whatever the test did."""
        path = f"/capability-{secrets.token_hex(4)}"
        yield path
        with contextlib.suppress(PathNotFoundError):
            storage.delete(path)

    @staticmethod
    def _require(storage: CheckedDriver, capability: Capability) -> None:
        if capability not in storage.capabilities:
            pytest.skip(f"the driver does not declare {capability.name}")

    def test_declared_copy_capabilities_have_their_method(self, driver: StorageDriver) -> None:
        for capability in getattr(driver, "capabilities", frozenset()):
            method = METHODS.get(capability)
            if method is not None:
                assert callable(getattr(driver, method, None)), (
                    f"declares {capability.name} but has no {method}() method"
                )


#: A fast copy as CheckedDriver offers it: (destination, source, path) -> done.
FastCopy = Callable[[CheckedDriver, CheckedDriver, str], bool]


#: The copies that are done when their method returns, by that method's name.
FAST_COPIES: dict[str, tuple[Capability, FastCopy]] = {
    "server_side_copy": (Capability.SERVER_SIDE_COPY, CheckedDriver.server_side_copy),
    "link_blob": (Capability.HARDLINK, CheckedDriver.link_blob),
}


@dataclass(frozen=True)
class FastCopyCase:
    """One fast copy under test: ``case(path)`` copies ``path`` from ``source`` (another root
    of the same backend) to ``storage``, in ``blob_dir``, the test's own directory."""

    copy: FastCopy
    storage: CheckedDriver
    source: CheckedDriver
    blob_dir: str

    def __call__(self, path: str, source: CheckedDriver | None = None) -> bool:
        return self.copy(self.storage, self.source if source is None else source, path)


class FastCopySuite(CapabilitySuite):
    """Capability.SERVER_SIDE_COPY (``server_side_copy`` copies inside the backend) and
    Capability.HARDLINK (``link_blob`` links an immutable blob from the source): each test runs
    once for each, through the wrapper as the engine calls it; an undeclared one skips before
    a copy source is made."""

    @pytest.fixture(params=sorted(FAST_COPIES))
    def fast_copy(self, request: pytest.FixtureRequest, storage: CheckedDriver) -> FastCopyCase:
        capability, copy = FAST_COPIES[request.param]
        self._require(storage, capability)
        source: CheckedDriver = request.getfixturevalue("copy_source")
        blob_dir: str = request.getfixturevalue("blob_dir")
        return FastCopyCase(copy, storage, source, blob_dir)

    def test_fast_copy_gives_the_bytes_and_keeps_the_source(self, fast_copy: FastCopyCase) -> None:
        sizes = self.copy_sizes
        paths = {f"{fast_copy.blob_dir}/{size}/data": _sample(size, "copy") for size in sizes}
        for path, data in paths.items():
            _put(fast_copy.source, path, data)
        before = _contents(fast_copy.source)
        for path, data in paths.items():
            assert fast_copy(path), (
                f"{fast_copy.copy.__name__}() declined a source of the same backend"
            )
            assert fast_copy.storage.get_content(path) == data, path
        # Nothing else appeared (no temporary object left) and the source is as it was.
        assert _files(fast_copy.storage) == {path: len(data) for path, data in paths.items()}
        assert _contents(fast_copy.source) == before, "the copy changed its source"

    def test_fast_copy_replaces_whole(self, fast_copy: FastCopyCase) -> None:
        path = f"{fast_copy.blob_dir}/data"
        data = _sample(self.copy_sizes[-1], "new")
        _put(fast_copy.source, path, data)
        fast_copy.storage.put_content(path, b"previous content")
        assert fast_copy(path)
        assert fast_copy.storage.get_content(path) == data
        assert _files(fast_copy.storage) == {path: len(data)}

    def test_fast_copy_declines_another_backend(self, fast_copy: FastCopyCase) -> None:
        path = f"{fast_copy.blob_dir}/data"
        foreign = CheckedDriver(MemoryDriver(), read_only=False)
        foreign.put_content(path, b"from another backend")
        assert not fast_copy(path, foreign), (
            "a source of another backend must be declined (False), so the engine streams"
        )
        assert _files(fast_copy.storage) == {}

    def test_fast_copy_of_a_missing_source_writes_nothing(self, fast_copy: FastCopyCase) -> None:
        path = f"{fast_copy.blob_dir}/data"
        fast_copy.source.put_content(f"{fast_copy.blob_dir}/other", b"keeps the directory")
        copied = False
        with contextlib.suppress(StorageError):
            copied = fast_copy(path)
        assert not copied, "a copy of a missing source reported success"
        assert _files(fast_copy.storage) == {}, "a failed copy left something behind"


class KernelCopySuite(CapabilitySuite):
    """Capability.KERNEL_COPY: ``start_copy`` stages a copy, published only by commit()."""

    def test_kernel_copy_is_published_only_on_commit(
        self, storage: CheckedDriver, copy_source: CheckedDriver, blob_dir: str
    ) -> None:
        self._require(storage, Capability.KERNEL_COPY)
        paths = {f"{blob_dir}/{size}/data": _sample(size, "kc") for size in self.copy_sizes}
        for path, data in paths.items():
            _put(copy_source, path, data)
        before = _contents(copy_source)
        for path, data in paths.items():
            staged = storage.start_copy(copy_source, path)
            assert staged is not None, (
                "declares KERNEL_COPY but start_copy() declined a source of the same backend"
            )
            with staged:
                assert self._wait(staged) == len(data)
                assert not storage.exists(path), "a staged copy is visible before commit()"
                staged.commit()
            assert storage.get_content(path) == data, path
        assert _files(storage) == {path: len(data) for path, data in paths.items()}
        assert _contents(copy_source) == before, "the copy changed its source"

    def test_kernel_copy_cancelled_leaves_nothing(
        self, storage: CheckedDriver, copy_source: CheckedDriver, blob_dir: str
    ) -> None:
        self._require(storage, Capability.KERNEL_COPY)
        path = f"{blob_dir}/data"
        _put(copy_source, path, _sample(self.copy_sizes[-1], "cancel"))
        staged = storage.start_copy(copy_source, path)
        assert staged is not None
        with staged:
            self._wait(staged)
        # Leaving the block without commit() cancels.
        assert _files(storage) == {}
        assert copy_source.exists(path)

    def test_kernel_copy_declines_another_backend(
        self, storage: CheckedDriver, blob_dir: str
    ) -> None:
        self._require(storage, Capability.KERNEL_COPY)
        path = f"{blob_dir}/data"
        foreign = CheckedDriver(MemoryDriver(), read_only=False)
        foreign.put_content(path, b"from another backend")
        assert storage.start_copy(foreign, path) is None
        assert _files(storage) == {}

    def test_kernel_copy_of_a_missing_source_writes_nothing(
        self, storage: CheckedDriver, copy_source: CheckedDriver, blob_dir: str
    ) -> None:
        self._require(storage, Capability.KERNEL_COPY)
        path = f"{blob_dir}/data"
        copy_source.put_content(f"{blob_dir}/other", b"keeps the directory")
        with contextlib.suppress(StorageError, OSError):
            staged = storage.start_copy(copy_source, path)
            if staged is not None:
                with staged:
                    self._wait(staged)
                    staged.commit()
        assert _files(storage) == {}, "a failed kernel copy left something behind"
