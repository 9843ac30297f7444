"""The storage driver contract, modelled on distribution's ``StorageDriver``.

Paths are absolute, ``/``-separated and relative to the driver's root (the ``--data-dir`` or
``--output-dir``): ``/docker/registry/v2/blobs/...``. A driver maps them onto its backend and
must never read or write outside its root, whatever the path or the stored content.

A driver class is what a plugin registers (see :mod:`scraper_core.hookspecs`). The core builds
one with :meth:`DriverClass.open` and always talks to it through :class:`CheckedDriver`, which
validates every path once and stamps the driver name on every error, so drivers stay simple.
"""

from __future__ import annotations

import enum
import errno
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, ClassVar, Protocol, Self, runtime_checkable

from scraper_core.digest import MAX_LINK_SIZE, Digest, parse_link
from scraper_core.errors import (
    DestinationUnusableError,
    InvalidOffsetError,
    InvalidPathError,
    PathNotFoundError,
    ReadOnlyError,
    StorageError,
)

# distribution's PathRegexp: one or more "/component", components of [A-Za-z0-9._-]. We also
# refuse "." and ".." components, which that regexp admits but which mean "up" on a filesystem.
_PATH_RE = re.compile(r"^(/[A-Za-z0-9._-]+)+$")

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


def is_valid_path(path: str, *, allow_root: bool = False) -> bool:
    """True when ``path`` is a clean absolute storage path (``/`` only if ``allow_root``)."""
    if path == "/":
        return allow_root
    if not _PATH_RE.fullmatch(path):
        return False
    return all(part not in (".", "..") for part in path.split("/")[1:])


class Capability(enum.Enum):
    """Optional abilities a driver declares on its class, read by the copy engine.

    Each names a method on the (destination) driver taking ``(source_driver, src_path,
    dst_path)`` and returning True when it did the copy, False when it cannot for this source
    (another backend, another endpoint, another filesystem): the engine then streams.
    """

    #: ``server_side_copy``: copy inside the backend; no byte passes through this machine.
    SERVER_SIDE_COPY = "server-side-copy"
    #: ``link_blob``: hardlink an immutable blob (``--link``); never used for link files.
    HARDLINK = "hardlink"
    #: ``start_copy``: start a copy inside the kernel (copy_file_range, reflink) and return a
    #: :class:`StagedCopy` (or None), so the core hashes the source while the kernel copies.
    KERNEL_COPY = "kernel-copy"


@runtime_checkable
class StagedCopy(Protocol):
    """A copy running in the background into a staging area; nothing is at the final path
    until :meth:`commit`. Leaving the ``with`` block without committing cancels it."""

    def wait(self) -> int:
        """Block until the copy is done; return the bytes copied (raises if it failed)."""
        ...

    def commit(self) -> None:
        """Move the finished copy to its final path, atomically."""
        ...

    def cancel(self) -> None:
        """Stop the copy and discard it. Safe to call twice, and from another thread while
        :meth:`wait` blocks (an interrupt does so): ``wait`` must then return or raise
        promptly, so copy in bounded chunks and check for the cancel between them."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class CancelOnExit:
    """For writers and staged copies: ``with`` gives the object back and cancels it on the
    way out, which is a no-op once committed. Drivers may inherit it."""

    def cancel(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()


@dataclass(frozen=True)
class FileInfo:
    """What :meth:`StorageReader.stat` and :meth:`StorageReader.walk` return."""

    path: str
    size: int
    is_dir: bool = False
    mod_time: float | None = None


@runtime_checkable
class FileWriter(Protocol):
    """A stream to one path that appears there only on :meth:`commit`.

    Until ``commit`` returns, nothing is visible at the final path; ``cancel`` (or leaving the
    ``with`` block without committing) discards every byte written.
    """

    def write(self, data: bytes) -> int:
        """Append ``data``; return how many bytes were taken (all of them)."""
        ...

    @property
    def size(self) -> int:
        """Bytes written so far."""
        ...

    def commit(self) -> None:
        """Make the content visible at the final path, atomically, replacing what was there."""
        ...

    def cancel(self) -> None:
        """Discard the content; the final path is left as it was. Safe to call twice."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Cancel unless committed."""
        ...


@runtime_checkable
class StorageReader(Protocol):
    """The read half of a driver: all a scrape needs from its source."""

    #: The driver's name, equal to its entry-point name and the ``--storage`` value.
    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def get_content(self, path: str) -> bytes:
        """Return the whole content at ``path``; :class:`PathNotFoundError` if absent.

        For small objects (links, manifests): callers bound what they read this way.
        """
        ...

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """Open ``path`` for streaming from ``offset``; reading past the end returns ``b""``.

        A negative offset is :class:`InvalidOffsetError`; a missing path
        :class:`PathNotFoundError`. The caller closes the stream.

        Optional companion, ``read_head(path, size) -> bytes``: at most ``size`` bytes from
        the start, in one request. The core reads link files with it where a driver has it,
        else through ``reader``; a driver whose reader costs more than one request (a
        metadata call first) should have it.
        """
        ...

    def stat(self, path: str) -> FileInfo:
        """Size of the object at ``path`` or a directory marker; missing: PathNotFoundError.

        On object stores a "directory" is any prefix ``path/`` that has objects below it.
        """
        ...

    def list_dir(self, path: str) -> list[str]:
        """Full paths of the direct children of directory ``path``, sorted.

        Only direct children (``/a/b`` lists ``/a/b/c``, never ``/a/b/c/d``); a missing or
        empty directory is :class:`PathNotFoundError`, except the root ``/`` which may be empty.
        """
        ...

    def walk(self, path: str) -> Iterator[FileInfo]:
        """Every file (not directory) below ``path``, recursively, in no promised order."""
        ...


@runtime_checkable
class StorageDriver(StorageReader, Protocol):
    """The full contract: reading plus writing. A destination must implement all of it.

    Two optional methods, called by the core on destinations when present: ``close()`` once
    the run is over (an archive or a buffering backend finalizes its output) and ``abort()``
    when the run is interrupted (unfinished output is discarded).
    """

    def put_content(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path`` atomically, replacing what was there."""
        ...

    def writer(self, path: str) -> FileWriter:
        """A :class:`FileWriter` for ``path``; content appears only on commit."""
        ...

    def move(self, source: str, dest: str) -> None:
        """Move the object at ``source`` to ``dest``, replacing ``dest``."""
        ...

    def delete(self, path: str) -> None:
        """Delete ``path`` and everything below it (``/a`` never touches ``/ab``)."""
        ...


class DriverClass(Protocol):
    """What a plugin registers: a class that knows how to open a driver.

    (Plain attributes rather than ClassVar: a class object can only match a Protocol's
    instance members, and ``name``/``description`` are read from the class.)
    """

    name: str
    description: str

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> StorageDriver:
        """Build a driver on ``location`` (the ``--data-dir``/``--output-dir`` value).

        ``options`` come from ``--storage-option KEY=VALUE``; unknown keys must be refused with
        :class:`~scraper_core.errors.ConfigurationError`. With ``read_only`` every write method
        raises :class:`~scraper_core.errors.ReadOnlyError`. Heavy SDKs are imported here, not
        when the plugin module is imported.

        Read-only on a location that does not exist: raise
        :class:`~scraper_core.errors.LocationNotFoundError` after checking the options, so a
        dry run into a new destination still reports bad options.

        Optional companion classmethod, ``overlaps(location, other) -> str | None``: why a
        tree written at ``location`` could write into ``other`` (an opened source driver,
        unwrapped), in one line; None when it cannot. The core refuses such an output.

        Optional companion classmethod, ``check_output(location, options) -> None``: for a
        destination written anew as a whole (an archive), raise ConfigurationError when
        writing there with these options would fail. A dry run calls it instead of opening
        the destination, and counts nothing there as present.
        """
        ...


class _CheckedStream:
    """Names the driver and path on errors raised mid-stream (a reset, a full disk)."""

    def __init__(self, owner: CheckedDriver, path: str) -> None:
        self._owner = owner
        self._path = path

    def _error(self, exc: Exception) -> StorageError:
        return self._owner.wrap_error(self._path, exc)


class CheckedReader(_CheckedStream):
    def __init__(self, owner: CheckedDriver, path: str, stream: BinaryIO) -> None:
        super().__init__(owner, path)
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except Exception as exc:
            raise self._error(exc) from exc

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception as exc:
            raise self._error(exc) from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except StorageError:
            # Leaving on an error already: that one says more than a failed close.
            if exc is None:
                raise


class _CancelOnExitChecked(CancelOnExit):
    """Cancels on the way out; a cancel that fails while an error is already leaving the block
    does not hide that error."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.cancel()
        except StorageError:
            if exc is None:
                raise


class CheckedWriter(_CancelOnExitChecked, _CheckedStream):
    def __init__(self, owner: CheckedDriver, path: str, writer: FileWriter) -> None:
        super().__init__(owner, path)
        self._writer = writer

    @property
    def size(self) -> int:
        return self._writer.size

    def write(self, data: bytes) -> int:
        try:
            return self._writer.write(data)
        except Exception as exc:
            raise self._error(exc) from exc

    def commit(self) -> None:
        try:
            self._writer.commit()
        except Exception as exc:
            raise self._error(exc) from exc

    def cancel(self) -> None:
        try:
            self._writer.cancel()
        except Exception as exc:
            raise self._error(exc) from exc


class CheckedStagedCopy(_CancelOnExitChecked, _CheckedStream):
    """A driver's :class:`StagedCopy`, its errors named as every other driver error."""

    def __init__(self, owner: CheckedDriver, path: str, staged: StagedCopy) -> None:
        super().__init__(owner, path)
        self._staged = staged

    def wait(self) -> int:
        try:
            return self._staged.wait()
        except Exception as exc:
            raise self._error(exc) from exc

    def commit(self) -> None:
        try:
            self._staged.commit()
        except Exception as exc:
            raise self._error(exc) from exc

    def cancel(self) -> None:
        try:
            self._staged.cancel()
        except Exception as exc:
            raise self._error(exc) from exc


class CheckedDriver:
    """Wraps any driver: validates paths, enforces read-only, names the driver on errors.

    The core never calls a driver directly, only through this wrapper (cf. distribution's
    ``base.Base``). Errors that are not already :class:`StorageError` (an ``OSError``, an SDK
    exception) become one that carries the driver name and the path. On a writable driver, an
    error caused by a full, over-quota or read-only filesystem becomes a
    :class:`DestinationUnusableError`.
    """

    def __init__(self, driver: StorageReader, *, read_only: bool) -> None:
        self.driver = driver
        self.name = driver.name
        self.read_only = read_only
        self.capabilities: frozenset[Capability] = frozenset(
            getattr(driver, "capabilities", frozenset())
        )

    def __repr__(self) -> str:
        return f"CheckedDriver({self.driver!r}, read_only={self.read_only})"

    def _check(self, path: str, *, allow_root: bool = False) -> None:
        if not is_valid_path(path, allow_root=allow_root):
            raise InvalidPathError(self.name, path)

    def _writable(self, path: str) -> StorageDriver:
        self._check(path)
        if self.read_only or not isinstance(self.driver, StorageDriver):
            raise ReadOnlyError(self.name, path)
        return self.driver

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

    def get_content(self, path: str) -> bytes:
        self._check(path)
        try:
            return self.driver.get_content(path)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def read_head(self, path: str, size: int) -> bytes:
        """At most ``size`` bytes from the start of ``path``: a bounded read of a small file
        (a link), whatever a hostile storage put there."""
        self._check(path)
        read_head = getattr(self.driver, "read_head", None)
        if read_head is not None:
            try:
                head: bytes = read_head(path, size)
            except Exception as exc:
                raise self.wrap_error(path, exc) from exc
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
        try:
            return CheckedReader(self, path, self.driver.reader(path, offset))
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def stat(self, path: str) -> FileInfo:
        self._check(path, allow_root=True)
        try:
            return self.driver.stat(path)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except PathNotFoundError:
            return False
        return True

    def list_dir(self, path: str) -> list[str]:
        self._check(path, allow_root=True)
        try:
            return self.driver.list_dir(path)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def walk(self, path: str) -> Iterator[FileInfo]:
        self._check(path, allow_root=True)
        try:
            yield from self.driver.walk(path)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def close(self) -> None:
        """Finish writing (optional driver hook: archives and buffered backends finalize)."""
        close = getattr(self.driver, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:
                raise self.wrap_error("/", exc) from exc

    def abort(self) -> None:
        """Discard unfinished output (optional driver hook), e.g. after an interrupt."""
        abort = getattr(self.driver, "abort", None)
        if callable(abort):
            try:
                abort()
            except Exception as exc:
                raise self.wrap_error("/", exc) from exc

    def _fast_copy(
        self, capability: Capability, method: str, source: CheckedDriver, path: str
    ) -> bool:
        if capability not in self.capabilities:
            return False
        source._check(path)
        self._writable(path)
        try:
            return bool(getattr(self.driver, method)(source.driver, path, path))
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def link_blob(self, source: CheckedDriver, path: str) -> bool:
        """Hardlink blob ``path`` from ``source`` (Capability.HARDLINK); False: not here."""
        return self._fast_copy(Capability.HARDLINK, "link_blob", source, path)

    def server_side_copy(self, source: CheckedDriver, path: str) -> bool:
        """Copy ``path`` inside the backend (Capability.SERVER_SIDE_COPY); False: not here."""
        return self._fast_copy(Capability.SERVER_SIDE_COPY, "server_side_copy", source, path)

    def start_copy(self, source: CheckedDriver, path: str) -> CheckedStagedCopy | None:
        """Start a kernel copy of ``path`` from ``source`` (Capability.KERNEL_COPY)."""
        if Capability.KERNEL_COPY not in self.capabilities:
            return None
        source._check(path)
        driver = self._writable(path)
        try:
            staged: StagedCopy | None = driver.start_copy(  # type: ignore[attr-defined]
                source.driver, path, path
            )
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc
        return None if staged is None else CheckedStagedCopy(self, path, staged)

    def put_content(self, path: str, data: bytes) -> None:
        driver = self._writable(path)
        try:
            driver.put_content(path, data)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def writer(self, path: str) -> CheckedWriter:
        driver = self._writable(path)
        try:
            return CheckedWriter(self, path, driver.writer(path))
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc

    def move(self, source: str, dest: str) -> None:
        self._writable(source)
        driver = self._writable(dest)
        try:
            driver.move(source, dest)
        except Exception as exc:
            raise self.wrap_error(source, exc) from exc

    def delete(self, path: str) -> None:
        driver = self._writable(path)
        try:
            driver.delete(path)
        except Exception as exc:
            raise self.wrap_error(path, exc) from exc
