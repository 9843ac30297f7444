"""The storage driver contract plugins implement, modelled on distribution's ``StorageDriver``.

Paths are absolute, ``/``-separated and relative to the driver's root (the ``--data-dir`` or
``--output-dir``): ``/docker/registry/v2/blobs/...``. A driver maps them onto its backend and
must never read or write outside its root, whatever the path or the stored content.

A driver class is what a plugin registers (see :mod:`scraper_core.hookspecs`). The core builds
one with :meth:`DriverClass.open` and always talks to it through
:class:`~scraper_core.checked.CheckedDriver`, which owns the rules every driver shares (as
distribution's ``base.Base`` does), so a driver need not repeat them:

- every path is validated before the driver sees it (:func:`is_valid_path`);
- an offset handed to :meth:`StorageReader.reader` is never negative;
- a driver opened read-only is never asked to write;
- copy methods receive the other *driver*, never the wrapper;
- an empty listing of a directory other than ``/`` becomes :class:`PathNotFoundError`, so a
  bucket driver may return ``[]`` for a prefix with nothing below it;
- any exception becomes a :class:`~scraper_core.errors.StorageError` naming driver and path.

Optional abilities are typed protocols (:class:`SupportsServerSideCopy`, :class:`Closable`...)
the core checks with ``isinstance``; a declared :class:`Capability` whose protocol the driver
does not satisfy is refused when the driver is opened.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, ClassVar, Protocol, Self, runtime_checkable

__all__ = [
    "CAPABILITY_PROTOCOLS",
    "Abortable",
    "CancelOnExit",
    "Capability",
    "Closable",
    "Committable",
    "DeclaresOptionKeys",
    "DriverClass",
    "FileInfo",
    "FileWriter",
    "StagedCopy",
    "StorageDriver",
    "StorageReader",
    "SupportsHardlink",
    "SupportsKernelCopy",
    "SupportsObjectKey",
    "SupportsObjectUrl",
    "SupportsOverlapCheck",
    "SupportsReadHead",
    "SupportsServerSideCopy",
    "SupportsWalkNames",
    "SupportsWholeOutput",
    "WholeOutput",
    "is_valid_path",
    "missing_capabilities",
]

# distribution's PathRegexp: one or more "/component", components of [A-Za-z0-9._-]. We also
# refuse "." and ".." components, which that regexp admits but which mean "up" on a filesystem.
_PATH_RE = re.compile(r"^(/[A-Za-z0-9._-]+)+$")


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
    (another backend, another endpoint, another filesystem): the engine then streams. The
    method's protocol is in :data:`CAPABILITY_PROTOCOLS`; declaring a capability without it
    is refused when the driver is opened.
    """

    #: ``server_side_copy``: copy inside the backend; no byte passes through this machine.
    SERVER_SIDE_COPY = "server-side-copy"
    #: ``link_blob``: hardlink an immutable blob (``--link``); never used for link files.
    HARDLINK = "hardlink"
    #: ``start_copy``: start a copy inside the kernel (copy_file_range, reflink) and return a
    #: :class:`StagedCopy` (or None), so the core hashes the source while the kernel copies.
    KERNEL_COPY = "kernel-copy"


@runtime_checkable
class Committable(Protocol):
    """Content on its way to one final path, where nothing is until :meth:`commit`; leaving
    the ``with`` block without committing cancels it."""

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
class StagedCopy(Committable, Protocol):
    """A copy running in the background into a staging area.

    :meth:`cancel` may come from another thread while :meth:`wait` blocks (an interrupt does
    so): ``wait`` must then return or raise promptly, so copy in bounded chunks and check for
    the cancel between them.
    """

    def wait(self) -> int:
        """Block until the copy is done; return the bytes copied (raises if it failed)."""
        ...


class CancelOnExit:
    """For writers and staged copies: ``with`` gives the object back and cancels it on the
    way out, which is a no-op once committed. Drivers may inherit it."""

    def cancel(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()


@dataclass(frozen=True)
class FileInfo:
    """What :meth:`StorageReader.stat` and :meth:`StorageReader.walk` return."""

    path: str
    size: int
    is_dir: bool = False
    mod_time: float | None = None


@runtime_checkable
class FileWriter(Committable, Protocol):
    """A stream to one path that appears there only on :meth:`commit`: until then nothing is
    visible at the final path, and ``cancel`` discards every byte written."""

    def write(self, data: bytes) -> int:
        """Append ``data``; return how many bytes were taken (all of them)."""
        ...

    @property
    def size(self) -> int:
        """Bytes written so far."""
        ...


def latency_bound(driver: object) -> bool:
    """Whether ``driver``'s calls mostly wait (on a network, a remote service) rather than
    work (syscalls on a local filesystem): its optional attribute ``latency_bound`` (a class
    attribute, or a property for a driver that wraps another), True when absent.

    The core plans in parallel only from a driver whose calls wait: on a filesystem, threads
    only contend for the interpreter and the kernel's descriptor table (10,000 repositories
    planned by 8 threads took 1.9x as long as by one)."""
    return bool(getattr(driver, "latency_bound", True))


def commits_in_order(driver: object) -> bool:
    """Whether ``driver``, as a destination, needs its blobs committed in a fixed order: its
    optional class attribute ``commits_in_order``, False when absent. An archive's bytes are
    the order of its members, so the same content and command give the same archive only if
    commits come in plan order (the order blobs were first asked for), links after every
    blob, image by image. The copy engine still reads and hashes blobs in parallel."""
    return bool(getattr(driver, "commits_in_order", False))


def stages_in_memory_up_to(driver: object) -> int:
    """For a driver that :func:`commits_in_order`: the bytes one writer holds on its own
    (optional class attribute ``stages_in_memory_up_to``, 0 when absent). A larger blob may
    need a resource writers share (one spool file), so it opens its writer only once its
    turn to commit has come: two large blobs each holding the resource out of turn would
    wait on each other for ever."""
    return max(0, int(getattr(driver, "stages_in_memory_up_to", 0)))


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

        ``offset`` is never negative: the wrapper refuses one (:class:`InvalidOffsetError`)
        before the driver is called, so a reader need not check. A missing path is
        :class:`PathNotFoundError`. The caller closes the stream. (Optional companions:
        :class:`SupportsReadHead`, :class:`SupportsWalkNames`.)
        """
        ...

    def stat(self, path: str) -> FileInfo:
        """Size of the object at ``path`` or a directory marker; missing: PathNotFoundError;
        something else (a FIFO, a device, a sparse archive member): NotRegularFileError.

        On object stores a "directory" is any prefix ``path/`` that has objects below it.
        """
        ...

    def list_dir(self, path: str) -> list[str]:
        """Full paths of the direct children of directory ``path``, sorted.

        Only direct children (``/a/b`` lists ``/a/b/c``, never ``/a/b/c/d``); a missing or
        empty directory is :class:`PathNotFoundError`, except the root ``/`` which may be empty.
        The wrapper enforces that: a driver may return ``[]`` for a missing directory.
        """
        ...

    def walk(self, path: str) -> Iterator[FileInfo]:
        """Every file (not directory) below ``path``, recursively, in no promised order.

        Below a missing directory: nothing, or :class:`PathNotFoundError`."""
        ...


@runtime_checkable
class StorageDriver(StorageReader, Protocol):
    """The full contract: reading plus writing. A destination must implement all of it.

    Write methods are only called on a driver opened writable (the wrapper refuses them
    otherwise), with valid paths. Optional companions: :class:`Closable` and
    :class:`Abortable`.
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
        :class:`~scraper_core.errors.ConfigurationError`. With ``read_only`` the core never
        calls a write method (the wrapper raises :class:`~scraper_core.errors.ReadOnlyError`);
        a driver may use it to ask for read-only credentials. Heavy SDKs are imported here,
        not when the plugin module is imported.

        Read-only on a location that does not exist: raise
        :class:`~scraper_core.errors.LocationNotFoundError` after checking the options, so a
        dry run into a new destination still reports bad options.

        Optional companion classmethods: :class:`SupportsOverlapCheck`,
        :class:`SupportsWholeOutput`.
        """
        ...


# Optional abilities, as typed protocols. The core tests them with isinstance, never by name.


@runtime_checkable
class DeclaresOptionKeys(Protocol):
    """A driver class naming the ``-o KEY=VALUE`` keys it accepts (as a source or as a
    destination): shell completion offers them, and a mistyped key gets a "did you mean".
    A driver without it refuses unknown keys all the same, only less helpfully."""

    option_keys: tuple[str, ...]


@runtime_checkable
class SupportsObjectUrl(Protocol):
    """A driver that can name its objects for a bulk copy engine (``--plan-format``)."""

    def object_url(self, path: str) -> str:
        """Where ``path`` lives for a tool outside registry-scraper: ``s3://BUCKET/KEY`` on S3,
        an absolute file path on a filesystem. ``path`` is a valid storage path."""
        ...


@runtime_checkable
class SupportsObjectKey(Protocol):
    """A driver whose objects live in a bucket of an object store (``--plan-format csv``,
    ``keys``: a bulk engine's manifest names bucket and key apart)."""

    def object_key(self, path: str) -> tuple[str, str]:
        """The bucket and the key of ``path`` (a valid storage path)."""
        ...


@runtime_checkable
class SupportsReadHead(Protocol):
    """A reader that can fetch the first bytes of a small object in one request."""

    def read_head(self, path: str, size: int) -> bytes:
        """At most ``size`` bytes from the start of ``path`` (PathNotFoundError if absent).

        The core reads link files with it where a driver has it, else through ``reader``; a
        driver whose reader costs more than one request (a metadata call first) should have it.
        """
        ...


@runtime_checkable
class SupportsWalkNames(Protocol):
    """A reader that can list the files below a directory without their sizes: cheaper than
    :meth:`StorageReader.walk` where a size costs a call per file (``lstat`` on a filesystem).
    The core lists a repository's tags with it (issue 13: 10,000 repositories)."""

    def walk_names(self, path: str) -> Iterator[str]:
        """The paths :meth:`StorageReader.walk` would yield for ``path``, in no promised
        order; below a missing directory, nothing or :class:`PathNotFoundError`.

        ``path`` is valid (the root ``/`` included); errors are named by the wrapper as
        every other call's. The same safety as ``walk``: nothing outside the driver's root."""
        ...


@runtime_checkable
class Closable(Protocol):
    """A destination that finalizes its output when the run is over (archives, buffers)."""

    def close(self) -> None:
        """Called once, after the last write of a run."""
        ...


@runtime_checkable
class Abortable(Protocol):
    """A destination that can discard unfinished output when the run is interrupted."""

    def abort(self) -> None:
        """Called instead of :meth:`Closable.close` after an interrupt."""
        ...


@runtime_checkable
class SupportsServerSideCopy(Protocol):
    """:attr:`Capability.SERVER_SIDE_COPY`: copy inside the backend."""

    def server_side_copy(self, source: StorageReader, src_path: str, dst_path: str) -> bool:
        """Copy ``src_path`` of ``source`` (another opened driver, never the wrapper) to
        ``dst_path`` here; False, having written nothing, when it cannot for this source."""
        ...


@runtime_checkable
class SupportsHardlink(Protocol):
    """:attr:`Capability.HARDLINK`: hardlink an immutable blob (``--link``)."""

    def link_blob(self, source: StorageReader, src_path: str, dst_path: str) -> bool:
        """Hardlink ``src_path`` of ``source`` at ``dst_path``; False when it cannot."""
        ...


@runtime_checkable
class SupportsKernelCopy(Protocol):
    """:attr:`Capability.KERNEL_COPY`: a copy inside the kernel, hashed while it runs."""

    def start_copy(self, source: StorageReader, src_path: str, dst_path: str) -> StagedCopy | None:
        """Start copying ``src_path`` of ``source`` to ``dst_path``; None when it cannot."""
        ...


@runtime_checkable
class WholeOutput(Protocol):
    """An opened all-or-nothing destination (:class:`SupportsWholeOutput`), which writes out
    what it is given once more when it is published, and counts those bytes at its side."""

    def follow_output(self, bytes_written: Callable[[int], None], copied: int) -> int:
        """Have ``bytes_written`` told each count of bytes this destination writes out from
        now on; return the progress total a run that copies ``copied`` bytes into it should
        expect (the copied bytes and the written-out ones together)."""
        ...


@runtime_checkable
class SupportsOverlapCheck(Protocol):
    """A driver *class* that can tell whether its output would write into a source."""

    def overlaps(self, location: str, other: StorageReader) -> str | None:
        """Classmethod: why a tree written at ``location`` could write into ``other`` (an
        opened source driver, unwrapped), in one line; None when it cannot."""
        ...


@runtime_checkable
class SupportsWholeOutput(Protocol):
    """A driver *class* whose destination is all-or-nothing: written anew as a whole and
    published only when closed (an archive). A run then counts nothing in it as present, and
    when no image made it in, says the output was not written. Its opened drivers are
    :class:`WholeOutput`."""

    def check_output(self, location: str, options: Mapping[str, str]) -> None:
        """Classmethod: raise ConfigurationError when writing at ``location`` with
        ``options`` would fail. A dry run calls it instead of opening the destination."""
        ...


#: The protocol a driver declaring each capability must satisfy.
CAPABILITY_PROTOCOLS: Mapping[Capability, type] = {
    Capability.SERVER_SIDE_COPY: SupportsServerSideCopy,
    Capability.HARDLINK: SupportsHardlink,
    Capability.KERNEL_COPY: SupportsKernelCopy,
}


def missing_capabilities(driver: object) -> list[tuple[Capability, type]]:
    """The declared capabilities whose protocol ``driver`` does not satisfy."""
    declared: frozenset[Capability] = frozenset(getattr(driver, "capabilities", ()))
    return [
        (capability, protocol)
        for capability, protocol in CAPABILITY_PROTOCOLS.items()
        if capability in declared and not isinstance(driver, protocol)
    ]
