"""The wrapper the core talks to drivers through (cf. distribution's ``base.Base``).

:class:`CheckedDriver` owns the rules every driver shares, so drivers need not repeat them
(the list is in :mod:`scraper_core.contract`): path validation, read-only enforcement, the
unwrapped driver handed to copy methods, "an empty listing means not found", errors named
with driver and path, and the detection of a destination that takes no more writes (a full,
over-quota or read-only filesystem). Optional abilities are reached through the typed
protocols of :mod:`scraper_core.contract`, never by method name.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO, ParamSpec, Self, TypeVar, cast

from scraper_core.contract import (
    Abortable,
    Capability,
    Closable,
    FileInfo,
    FileWriter,
    StagedCopy,
    StorageDriver,
    StorageReader,
    SupportsHardlink,
    SupportsKernelCopy,
    SupportsReadHead,
    SupportsServerSideCopy,
    SupportsWalkNames,
    WholeOutput,
    commits_in_order,
    is_valid_path,
    latency_bound,
    missing_capabilities,
    stages_in_memory_up_to,
)
from scraper_core.digest import MAX_LINK_SIZE, Digest, parse_link
from scraper_core.errors import (
    DestinationUnusableError,
    InvalidOffsetError,
    InvalidPathError,
    PathNotFoundError,
    PluginError,
    ReadOnlyError,
    StorageError,
)

__all__ = [
    "UNUSABLE_ERRNOS",
    "CheckedDriver",
    "CheckedReader",
    "CheckedStagedCopy",
    "CheckedWriter",
    "check_capabilities",
    "unusable_cause",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")

#: OS errors that say a destination takes no more writes at all, whatever the path: a run
#: stops starting blobs rather than failing each one the same way.
UNUSABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def unusable_cause(exc: BaseException) -> OSError | None:
    """The OSError meaning "destination unusable" behind ``exc`` (drivers often turn an
    OSError into a StorageError ``from`` it), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in UNUSABLE_ERRNOS:
            return current
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return None


def check_capabilities(driver: StorageReader) -> None:
    """Refuse a driver declaring a :class:`Capability` it has no method for (PluginError,
    one line naming the driver and the missing method): the copy engine would otherwise
    find out in the middle of a run, or never, and quietly stream instead."""
    missing = missing_capabilities(driver)
    if missing:
        what = ", ".join(
            f"{capability.name} without {_methods(protocol)}" for capability, protocol in missing
        )
        raise PluginError(f"driver {driver.name!r} ({type(driver).__qualname__}) declares {what}")


def _methods(protocol: type) -> str:
    names = sorted(
        name
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_")
    )
    return " and ".join(f"{name}()" for name in names)


class _CheckedStream:
    """Names the driver and path on errors raised mid-stream (a reset, a full disk), and
    finishes the stream on the way out of a ``with`` block: a reader closes, a writer or a
    staged copy cancels (a no-op once committed)."""

    def __init__(self, owner: CheckedDriver, path: str) -> None:
        self._owner = owner
        self._path = path

    def _call(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return self._owner.call(self._path, function, *args, **kwargs)

    def _on_exit(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        try:
            self._on_exit()
        except StorageError:
            # Leaving on an error already: that one says more than a failed close or cancel.
            if exc_type is None:
                raise


class CheckedReader(_CheckedStream):
    def __init__(self, owner: CheckedDriver, path: str, stream: BinaryIO) -> None:
        super().__init__(owner, path)
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._call(self._stream.read, size)

    def close(self) -> None:
        self._call(self._stream.close)

    def _on_exit(self) -> None:
        self.close()


class CheckedWriter(_CheckedStream):
    def __init__(self, owner: CheckedDriver, path: str, writer: FileWriter) -> None:
        super().__init__(owner, path)
        self._writer = writer

    @property
    def size(self) -> int:
        return self._writer.size

    def write(self, data: bytes) -> int:
        return self._call(self._writer.write, data)

    def commit(self) -> None:
        self._call(self._writer.commit)

    def cancel(self) -> None:
        self._call(self._writer.cancel)

    def _on_exit(self) -> None:
        self.cancel()


class CheckedStagedCopy(_CheckedStream):
    """A driver's :class:`StagedCopy`, its errors named as every other driver error."""

    def __init__(self, owner: CheckedDriver, path: str, staged: StagedCopy) -> None:
        super().__init__(owner, path)
        self._staged = staged

    def wait(self) -> int:
        return self._call(self._staged.wait)

    def commit(self) -> None:
        self._call(self._staged.commit)

    def cancel(self) -> None:
        self._call(self._staged.cancel)

    def _on_exit(self) -> None:
        self.cancel()


class CheckedDriver:
    """Wraps any driver: validates paths, enforces read-only, names the driver on errors.

    The core never calls a driver directly, only through this wrapper (cf. distribution's
    ``base.Base``). A wrapper made ``read_only`` refuses every write with
    :class:`ReadOnlyError` before the driver is called, whatever the driver would do. Errors
    that are not already :class:`StorageError` (an ``OSError``, an SDK exception) become one
    that carries the driver name and the path. On a writable driver, an error caused by a
    full, over-quota or read-only filesystem becomes a :class:`DestinationUnusableError`.
    """

    def __init__(self, driver: StorageReader, *, read_only: bool) -> None:
        self.driver = driver
        self.name = driver.name
        self.read_only = read_only
        self.capabilities: frozenset[Capability] = frozenset(
            getattr(driver, "capabilities", frozenset())
        )
        # Checked once: an isinstance against a runtime protocol inspects every member each
        # time (10 us; a no-op rerun of 30,000 tags reads 60,000 links and checks as often).
        self._writes = isinstance(driver, StorageDriver)
        self._reads_head = isinstance(driver, SupportsReadHead)
        self._walks_names = isinstance(driver, SupportsWalkNames)
        #: See :func:`scraper_core.contract.latency_bound`.
        self.latency_bound = latency_bound(driver)
        #: See :func:`scraper_core.contract.commits_in_order` and its companion.
        self.commits_in_order = commits_in_order(driver)
        self.stages_in_memory_up_to = stages_in_memory_up_to(driver)

    def __repr__(self) -> str:
        return f"CheckedDriver({self.driver!r}, read_only={self.read_only})"

    def _check(self, path: str, *, allow_root: bool = False) -> None:
        if not is_valid_path(path, allow_root=allow_root):
            raise InvalidPathError(self.name, path)

    def _writable(self, path: str) -> StorageDriver:
        self._check(path)
        if self.read_only or not self._writes:
            raise ReadOnlyError(self.name, path)
        return cast(StorageDriver, self.driver)

    def wrap_error(self, path: str, exc: Exception) -> StorageError:
        if not self.read_only and not isinstance(exc, DestinationUnusableError):
            cause = unusable_cause(exc)
            if cause is not None:
                reason = os.strerror(cause.errno) if cause.errno else str(cause)
                return DestinationUnusableError(self.name, path, reason)
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, FileNotFoundError):
            return PathNotFoundError(self.name, path)
        detail = str(exc) or type(exc).__name__
        return StorageError(self.name, path, detail)

    def call(
        self, path: str, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """``function(*args, **kwargs)``, any error it raises made one naming this driver
        and ``path`` (:meth:`wrap_error`)."""
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def get_content(self, path: str) -> bytes:
        self._check(path)
        return self.call(path, self.driver.get_content, path)

    def read_head(self, path: str, size: int) -> bytes:
        """At most ``size`` bytes from the start of ``path``: a bounded read of a small file
        (a link), whatever a hostile storage put there."""
        self._check(path)
        if self._reads_head:
            driver = cast(SupportsReadHead, self.driver)
            head = self.call(path, driver.read_head, path, size)
            return head[:size]
        content = b""
        with self.reader(path) as stream:
            while len(content) < size and (chunk := stream.read(size - len(content))):
                content += chunk
        return content

    def read_link(self, path: str) -> Digest:
        """The digest a link file holds; :class:`InvalidLinkError` for anything else (a file
        longer than any link is read no further than :data:`MAX_LINK_SIZE` + 1 bytes)."""
        return parse_link(self.read_head(path, MAX_LINK_SIZE + 1), path)

    def reader(self, path: str, offset: int = 0) -> CheckedReader:
        self._check(path)
        if offset < 0:
            raise InvalidOffsetError(self.name, path, f"negative offset {offset}")
        return CheckedReader(self, path, self.call(path, self.driver.reader, path, offset))

    def stat(self, path: str) -> FileInfo:
        self._check(path, allow_root=True)
        return self.call(path, self.driver.stat, path)

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except PathNotFoundError:
            return False
        return True

    def list_dir(self, path: str) -> list[str]:
        """Direct children of ``path``; a directory with none (missing, on an object store)
        is :class:`PathNotFoundError`, except the root, so drivers may return ``[]``."""
        self._check(path, allow_root=True)
        children = self.call(path, self.driver.list_dir, path)
        if not children and path != "/":
            raise PathNotFoundError(self.name, path)
        return children

    def walk(self, path: str) -> Iterator[FileInfo]:
        """Every file below ``path``; below a missing directory, nothing or
        :class:`PathNotFoundError` (callers take both: a bucket driver need not tell)."""
        self._check(path, allow_root=True)
        try:
            yield from self.driver.walk(path)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def walk_names(self, path: str) -> Iterator[str]:
        """The paths :meth:`walk` gives, from the driver's :class:`SupportsWalkNames` where it
        has it (no size, so no stat per file), else from its ``walk``; the same rules."""
        self._check(path, allow_root=True)
        if not self._walks_names:
            for info in self.walk(path):
                yield info.path
            return
        driver = cast(SupportsWalkNames, self.driver)
        try:
            yield from driver.walk_names(path)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def close(self) -> None:
        """Finish writing (:class:`Closable` drivers: archives and buffered backends)."""
        if isinstance(self.driver, Closable):
            self.call("/", self.driver.close)

    def abort(self) -> None:
        """Discard unfinished output (:class:`Abortable` drivers), e.g. after an interrupt."""
        if isinstance(self.driver, Abortable):
            self.call("/", self.driver.abort)

    def follow_output(self, bytes_written: Callable[[int], None], copied: int) -> int:
        """The progress total for ``copied`` bytes: a :class:`WholeOutput` destination also
        counts what it writes out (telling ``bytes_written``); others count the copy only."""
        if not isinstance(self.driver, WholeOutput):
            return copied
        return self.call("/", self.driver.follow_output, bytes_written, copied)

    def _copy_paths(self, capability: Capability, source: CheckedDriver, path: str) -> bool:
        """Whether to try ``capability``; raises for a bad path or a read-only wrapper."""
        if capability not in self.capabilities:
            return False
        source._check(path)
        self._writable(path)
        return True

    def link_blob(self, source: CheckedDriver, path: str) -> bool:
        """Hardlink blob ``path`` from ``source`` (Capability.HARDLINK); False: not here."""
        if not self._copy_paths(Capability.HARDLINK, source, path):
            return False
        if not isinstance(self.driver, SupportsHardlink):
            return False
        return bool(self.call(path, self.driver.link_blob, source.driver, path, path))

    def server_side_copy(self, source: CheckedDriver, path: str) -> bool:
        """Copy ``path`` inside the backend (Capability.SERVER_SIDE_COPY); False: not here."""
        if not self._copy_paths(Capability.SERVER_SIDE_COPY, source, path):
            return False
        if not isinstance(self.driver, SupportsServerSideCopy):
            return False
        return bool(self.call(path, self.driver.server_side_copy, source.driver, path, path))

    def start_copy(self, source: CheckedDriver, path: str) -> CheckedStagedCopy | None:
        """Start a kernel copy of ``path`` from ``source`` (Capability.KERNEL_COPY)."""
        if not self._copy_paths(Capability.KERNEL_COPY, source, path):
            return None
        if not isinstance(self.driver, SupportsKernelCopy):
            return None
        staged = self.call(path, self.driver.start_copy, source.driver, path, path)
        return None if staged is None else CheckedStagedCopy(self, path, staged)

    def put_content(self, path: str, data: bytes) -> None:
        driver = self._writable(path)
        self.call(path, driver.put_content, path, data)

    def writer(self, path: str) -> CheckedWriter:
        driver = self._writable(path)
        return CheckedWriter(self, path, self.call(path, driver.writer, path))

    def move(self, source: str, dest: str) -> None:
        self._writable(source)
        driver = self._writable(dest)
        self.call(source, driver.move, source, dest)

    def delete(self, path: str) -> None:
        driver = self._writable(path)
        self.call(path, driver.delete, path)
