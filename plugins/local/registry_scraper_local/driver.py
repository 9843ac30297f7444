"""A storage driver over a local directory, like distribution's ``filesystem`` driver.

Every storage path must stay under the root, checked where it is used rather than once and
remembered: a directory may be swapped for a symlink while a run goes on. Each path is opened
with ``O_PATH`` (no read, no side effect even on a FIFO or a device) and the descriptor's real
location (``/proc/self/fd``) must lie under the root before anything is read through it; a
write is renamed into a parent directory held open and checked the same way (a directory that
writes go below is kept open for the run, and used again only while ``/proc`` shows it where it
was checked: see :mod:`.directory_cache`). Symlinks that stay inside the root are followed;
anything that leads out is :class:`InvalidPathError`.

Content is read only from regular files: a FIFO, a device, a socket or a directory where
content is expected is refused by ``fstat`` before any read, so nothing blocks, and a read
never goes past the size the file had when it was opened.

Writes are staged in one directory per run, ``<root>/.scrape-tmp/<host>-<pid>-<token>/``, and
renamed into place on commit, so a reader (or a registry serving the tree) sees the old content
or the new, never a partial file; a cancelled write leaves neither a temporary file nor an
empty directory in the tree. The run holds a lock in its staging directory; a later run removes
the staging of runs that no longer hold theirs (SIGKILL, power loss; see :mod:`.staging`).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

from registry_scraper_local import overlap
from registry_scraper_local.directory_cache import DirectoryCache
from registry_scraper_local.kernel_copy import LocalStagedCopy
from registry_scraper_local.kernel_copy import kernel_copy as _kernel_copy
from registry_scraper_local.staging import STAGING_ROOT, TEMP_PREFIX, Staging, remove_stale
from scraper_core.bucket.options import flag, option, option_names, parse_options
from scraper_core.contract import CancelOnExit, Capability, FileInfo
from scraper_core.errors import (
    ConfigurationError,
    InvalidPathError,
    LocationNotFoundError,
    NotRegularFileError,
    PathNotFoundError,
    StorageError,
)

__all__ = ["STAGING_ROOT", "TEMP_PREFIX", "LocalDriver", "LocalStagedCopy", "_kernel_copy"]

# socket, secrets and shutil are not imported: they cost ~13 ms of every run's start-up, for
# gethostname, token_hex and an rmtree that is only needed when something was left behind.

#: Opens a path for what the kernel can say about it, never for reading: no side effect on a
#: FIFO or a device, and no permission needed on the file itself.
_O_PATH = getattr(os, "O_PATH", os.O_RDONLY | os.O_NONBLOCK)
_PROC_FD = "/proc/self/fd"
#: A target reached through this many symlinks in a row is a loop.
_MAX_LINKS = 16
#: Bytes per read of :meth:`LocalDriver.get_content`.
_READ_SIZE = 1024 * 1024
#: How a directory just made is opened: by its name in a checked parent, never through a symlink.
_DIR_NOFOLLOW = _O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: Checked directory descriptors a driver keeps (each one an open descriptor, well below the
#: usual limit of 1,024): the 256 prefixes of blobs/sha256 and the parents links go below.
DIRECTORY_CACHE_SIZE = 320
#: How :meth:`LocalDriver.walk_names` opens a directory below one already checked: by one name,
#: never through a symlink, never blocking (``O_DIRECTORY`` fails on a FIFO before opening it).
_WALK_DIRECTORY_FLAGS = (
    os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
)


def _hostname() -> str:
    uname = getattr(os, "uname", None)
    if uname is not None:
        # What socket.gethostname() returns on POSIX.
        return str(uname().nodename)
    import socket

    return socket.gethostname()


def _token(size: int) -> str:
    # secrets.token_hex, without importing secrets.
    return os.urandom(size).hex()


def _kind(mode: int) -> str:
    """What a non-regular file is, for an error message."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symlink"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _fd_location(fd: int) -> str | None:
    """Where the open file ``fd`` is now, from the kernel; None without ``/proc``."""
    try:
        location = os.readlink(f"{_PROC_FD}/{fd}")
    except OSError:
        return None
    # Removed since it was opened: it was where it was.
    return location.removesuffix(" (deleted)")


def _reopen(path_fd: int, flags: int, full: str) -> int:
    """Open for I/O the very file ``path_fd`` holds (``/proc`` re-opens that inode; no path is
    looked up again). Without ``/proc``, by its path, then checked to be the same file."""
    try:
        return os.open(f"{_PROC_FD}/{path_fd}", flags | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        if os.path.isdir(_PROC_FD):
            raise
    fd = os.open(full, flags | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK | os.O_NOFOLLOW)
    if not os.path.samestat(os.fstat(fd), os.fstat(path_fd)):
        os.close(fd)
        raise OSError(errno.ESTALE, "changed while it was being opened")
    os.set_blocking(fd, True)
    return fd


def remove_stale_staging(root: str) -> list[str]:
    """Remove staging directories that no live run holds; return what was removed."""
    return LocalDriver(Path(root), read_only=False).remove_stale_staging()


@dataclass(frozen=True)
class LocalOptions:
    """``--storage-option`` values of the local driver."""

    #: Make the copy durable before the run reports success: each file's data is synced
    #: before its rename, and every directory written into once at the end. Off by default,
    #: as in distribution's filesystem driver and cp: a crash mid-run is caught by the rerun
    #: (blobs are checked by size, links by content) or by ``scrape verify``.
    fsync: bool = option(flag, False)


class Durability:
    """What ``fsync=true`` syncs: file data as it is published, directories at the end."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._directories: set[str] = set()
        self._lock = threading.Lock()

    def published(self, directory: str) -> None:
        """A file was renamed into ``directory`` (its real path)."""
        with self._lock:
            self._directories.add(directory)

    def sync_directories(self) -> None:
        """Every directory written into, and each one up to the root (a new directory is an
        entry in its parent), deepest first."""
        with self._lock:
            written, self._directories = self._directories, set()
        directories: set[str] = set()
        for directory in written:
            while directory.startswith(self.root) and directory not in directories:
                directories.add(directory)
                directory = os.path.dirname(directory)
        for directory in sorted(directories, key=len, reverse=True):
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


class LocalFileWriter(CancelOnExit):
    """Streams into a staged temporary file; :meth:`commit` renames it into place.

    Each write goes to the descriptor as it comes (no buffered file object): the core writes
    in chunks of a megabyte, and a small blob or a link is one ``write``."""

    def __init__(self, owner: LocalDriver, staging: Staging, path: str) -> None:
        self._owner = owner
        self._staging = staging
        self._path = path
        self._temp = owner.temp_name()
        self._fd = _create_temp(staging, self._temp)
        self._size = 0
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> int:
        written = os.write(self._fd, data)
        if written < len(data):  # a signal or a nearly full disk: the rest, until it fails
            with memoryview(data) as view:
                while written < len(data):
                    written += os.write(self._fd, view[written:])
        self._size += written
        return written

    def commit(self) -> None:
        if self._owner.durability is not None:
            os.fsync(self._fd)
        self._close()
        self._owner.publish(self._staging, self._temp, self._path)
        self._done = True

    def cancel(self) -> None:
        if self._done:
            return
        self._done = True
        self._close()
        _discard(self._staging, self._temp)

    def _close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def _create_temp(staging: Staging, temp: str) -> int:
    """A new file ``temp`` in the staging directory, for writing."""
    # Not mkstemp: its 0600 would survive the rename and a registry running as another
    # user could not serve the file. 0666 less the umask is what distribution writes.
    return os.open(
        temp,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o666,
        dir_fd=staging.fd,
    )


def _discard(staging: Staging, temp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp, dir_fd=staging.fd)


class LocalDriver:
    """The ``local`` driver: ``--data-dir`` is the registry's filesystem ``rootdirectory``."""

    name: ClassVar[str] = "local"
    option_keys: ClassVar[tuple[str, ...]] = option_names(LocalOptions)
    description: ClassVar[str] = "a directory holding a registry's filesystem storage"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.HARDLINK, Capability.KERNEL_COPY}
    )
    #: Calls are syscalls, not round trips: the core plans from it with one thread.
    latency_bound: ClassVar[bool] = False

    def __init__(self, root: Path, *, read_only: bool, fsync: bool = False) -> None:
        self.root = os.path.realpath(root)
        self._root_prefix = self.root.rstrip(os.sep) + os.sep
        self.read_only = read_only
        self.durability = Durability(self.root) if fsync and not read_only else None
        self._staging: Staging | None = None
        self._staging_lock = threading.Lock()
        self._directories = DirectoryCache(DIRECTORY_CACHE_SIZE)
        # Temporary names need only be unique in this run's own staging directory.
        self._temp_numbers = itertools.count()

    # -- staging ---------------------------------------------------------------------------

    def temp_name(self) -> str:
        """A name no other write of this run uses, for a file in :attr:`staging`."""
        return f"{next(self._temp_numbers):x}"

    @property
    def staging(self) -> Staging:
        """This run's staging directory, made (and locked) on first use."""
        staging = self._staging
        if staging is not None:
            return staging
        # Many copy threads ask at once; without the lock each could make its own directory.
        with self._staging_lock:
            if self._staging is None:
                name = f"{_hostname()}-{os.getpid()}-{_token(4)}"
                for attempt in range(5):
                    parent_fd, parent_path = self._dir(f"/{STAGING_ROOT}", create=True)
                    try:
                        self._staging = Staging.create(parent_fd, parent_path, name)
                        break
                    except FileNotFoundError:
                        # Another run removed the empty .scrape-tmp just now: make it again.
                        if attempt == 4:
                            raise
                    finally:
                        os.close(parent_fd)
            assert self._staging is not None
            return self._staging

    def remove_stale_staging(self) -> list[str]:
        """Remove the staging directories no live run holds (see :mod:`.staging`)."""
        try:
            path_fd, _ = self._dir(f"/{STAGING_ROOT}", create=False)
        except StorageError:
            return []
        try:
            fd = _reopen(path_fd, os.O_RDONLY | os.O_DIRECTORY, "")
        finally:
            os.close(path_fd)
        try:
            removed = remove_stale(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(self.root, STAGING_ROOT))
        return removed

    def close(self) -> None:
        """Sync what was written (option fsync), then remove this run's (by now empty)
        staging directory and let go of its lock."""
        if self.durability is not None:
            self.durability.sync_directories()
        self._remove_staging()

    def abort(self) -> None:
        """An interrupted run: nothing to make durable, only the staging to remove."""
        self._remove_staging()

    def _remove_staging(self) -> None:
        self._directories.clear()
        with self._staging_lock:
            if self._staging is not None:
                self._staging.remove()
                self._staging = None

    def __repr__(self) -> str:
        return f"LocalDriver({self.root!r})"

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> LocalDriver:
        parsed = parse_options(cls.name, LocalOptions, options)
        root = Path(location).expanduser()
        if read_only:
            if not root.exists():
                # Options were checked above: a dry run into a new directory is fine.
                raise LocationNotFoundError(f"local: no such directory: {location}")
            if not root.is_dir():
                raise ConfigurationError(f"local: not a directory: {location}")
        else:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(f"local: cannot create {location}: {exc}") from exc
        driver = cls(root, read_only=read_only, fsync=parsed.fsync)
        if not read_only:
            driver.remove_stale_staging()
        return driver

    @classmethod
    def overlaps(cls, location: str, other: object) -> str | None:
        """Why writing a tree at ``location`` could write into ``other``'s storage (or
        ``location`` would hold it); None when it cannot, or ``other`` is not local."""
        if not isinstance(other, LocalDriver):
            return None
        return overlap.output_overlap(location, other.root)

    # -- finding paths inside the root -----------------------------------------------------

    def _full(self, path: str) -> str:
        """The path on disk, for a clean storage path (``/`` is the root)."""
        if path in ("", "/"):
            return self.root
        # No empty, "." or ".." part: each part follows a "/", the first one too.
        if (
            not path.startswith("/")
            or path.endswith(("/", "/.", "/.."))
            or "//" in path
            or "/./" in path
            or "/../" in path
        ):
            raise InvalidPathError(self.name, path)
        return self.root + path

    def _inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self._root_prefix)

    def _checked(self, fd: int, path: str, full: str) -> str:
        """Where ``fd`` really is, refused (and closed) unless under the root."""
        real = _fd_location(fd)
        if real is None:  # no /proc: by its resolved path, which must be the same file
            real = os.path.realpath(full)
            try:
                same = os.path.samestat(os.stat(real), os.fstat(fd))
            except OSError:
                same = False
            if not same:
                os.close(fd)
                raise StorageError(self.name, path, "changed while it was being opened")
        if not self._inside(real):
            os.close(fd)
            raise InvalidPathError(self.name, path)
        return real

    def _os_error(self, path: str, exc: OSError) -> StorageError:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return PathNotFoundError(self.name, path)
        if exc.errno == errno.ELOOP:
            return StorageError(self.name, path, "symlink loop")
        return StorageError(self.name, path, exc.strerror or str(exc))

    def _open(self, path: str, flags: int = 0) -> tuple[int, str]:
        """An ``O_PATH`` descriptor on what ``path`` leads to, and its real path, checked to
        lie under the root. Nothing is read, so a FIFO or device costs nothing here."""
        full = self._full(path)
        try:
            fd = os.open(full, _O_PATH | os.O_CLOEXEC | flags)
        except OSError as exc:
            raise self._os_error(path, exc) from exc
        return fd, self._checked(fd, path, full)

    def _open_regular(self, path: str) -> tuple[int, int]:
        """A read descriptor on the regular file at ``path``, and its size then.

        Anything else (a FIFO, a device, a socket, a directory) is refused before it is
        opened for reading, so nothing blocks and nothing unbounded is read.
        """
        path_fd, real = self._open(path)
        try:
            result = os.fstat(path_fd)
            if not stat.S_ISREG(result.st_mode):
                raise NotRegularFileError(self.name, path, f"is {_kind(result.st_mode)}")
            try:
                return _reopen(path_fd, os.O_RDONLY, real), result.st_size
            except OSError as exc:
                raise self._os_error(path, exc) from exc
        finally:
            os.close(path_fd)

    def _dir(self, directory: str, *, create: bool) -> tuple[int, str]:
        """An ``O_PATH`` descriptor on storage directory ``directory`` (``""`` or ``/`` is
        the root) and its real path, checked to lie under the root; with ``create``, what is
        missing is made, top-down from the deepest directory there, each level inside a
        parent already checked."""
        fd, real, _ = self._dir_made(directory, create=create)
        return fd, real

    def _dir_made(self, directory: str, *, create: bool) -> tuple[int, str, bool]:
        """:meth:`_dir`, and whether the directory was made just now (it holds nothing yet)."""
        kept = self._directories.get(directory)
        if kept is not None:
            return (*kept, False)
        if create and directory not in ("", "/"):
            return self._made_dir(directory)
        full = self._full(directory)
        try:
            fd = os.open(full, _O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            if not create or self.read_only:
                raise PathNotFoundError(self.name, directory or "/") from None
            # The root itself, on a writable driver built directly rather than through
            # open() (which makes it): made on the first write, as open() would have.
            os.makedirs(self.root, exist_ok=True)
            return self._dir_made(directory, create=False)
        except OSError as exc:
            raise self._os_error(directory or "/", exc) from exc
        return fd, self._checked(fd, directory or "/", full), False

    def _parent_dir(self, parent: str) -> tuple[int, str]:
        """:meth:`_dir` (made if missing) for a directory that writes go below, kept for
        the writes that follow (a blob's directory is written once, its parent often)."""
        kept = self._directories.get(parent)
        if kept is not None:
            return kept
        fd, real = self._dir(parent, create=True)
        # Only one reached through no symlink: found again where it was, it is then what a
        # lookup of its path would find (a symlink may be pointed elsewhere meanwhile).
        if real == self._full(parent):
            try:
                self._directories.remember(parent, fd, real)
            except BaseException:
                os.close(fd)
                raise
        return fd, real

    def _made_dir(self, directory: str) -> tuple[int, str, bool]:
        """:meth:`_dir_made` with ``create``, below the root: the directory opened (or made,
        then opened) by its name inside its parent's checked descriptor."""
        full = self._full(directory)
        parent, _, name = directory.rpartition("/")
        parent_fd, parent_real = self._parent_dir(parent)
        try:
            try:
                os.mkdir(name, dir_fd=parent_fd)
            except FileExistsError:
                pass
            else:
                # Made just now: without following a symlink, it is the new directory, inside
                # the parent checked a moment ago (publish checks again after the rename).
                with contextlib.suppress(OSError):
                    fd = os.open(name, _DIR_NOFOLLOW, dir_fd=parent_fd)
                    return fd, f"{parent_real}/{name}", True
            # There already (or replaced at once): a symlink is followed only to inside the root.
            fd = os.open(name, _O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=parent_fd)
        except OSError as exc:
            raise self._os_error(directory, exc) from exc
        finally:
            os.close(parent_fd)
        return fd, self._checked(fd, directory, full), False

    def _target(self, path: str, *, create: bool, links: int = 0) -> tuple[int, str, str]:
        """Where a write to ``path`` lands: an ``O_PATH`` descriptor on its directory (checked,
        made if ``create``), that directory's real path and the entry's name in it.

        A symlink at ``path`` is followed only if it resolves under the root (the write then
        lands where it points, as a write through the link would); elsewhere it is refused.
        """
        directory, _, name = path.rpartition("/")
        if not name:
            raise InvalidPathError(self.name, path)
        dir_fd, dir_real, made = self._dir_made(directory, create=create)
        if made:
            # Nothing in it to follow. (A symlink put there meanwhile is replaced by the
            # rename, which never follows one.)
            return dir_fd, dir_real, name
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return dir_fd, dir_real, name
        except OSError as exc:
            os.close(dir_fd)
            raise self._os_error(path, exc) from exc
        if not stat.S_ISLNK(mode):
            return dir_fd, dir_real, name
        os.close(dir_fd)
        real = os.path.realpath(os.path.join(dir_real, name))
        if real == self.root or not self._inside(real):
            raise InvalidPathError(self.name, path)
        if links >= _MAX_LINKS:
            raise StorageError(self.name, path, "symlink loop")
        return self._target(real[len(self.root) :], create=create, links=links + 1)

    def _writable(self, path: str) -> None:
        """Refuse a write before anything is made: a target outside the root. (Read-only
        opens are refused by the wrapper, which never calls a write method on them.)"""
        try:
            dir_fd, _, _ = self._target(path, create=False)
        except PathNotFoundError:
            return  # made on commit, checked again then
        os.close(dir_fd)

    def publish(self, staging: Staging, temp: str, path: str) -> None:
        """Move a finished staged file to ``path`` (the only moment it becomes visible),
        renamed into a directory held open and checked to lie under the root."""
        dir_fd, dir_real, name = self._target(path, create=True)
        try:
            os.replace(temp, name, src_dir_fd=staging.fd, dst_dir_fd=dir_fd)
            # The directory could have been moved out of the root while the file went in.
            moved_to = _fd_location(dir_fd)
            if moved_to is not None and not self._inside(moved_to):
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=dir_fd)
                raise InvalidPathError(self.name, path)
        finally:
            os.close(dir_fd)
        if self.durability is not None:
            self.durability.published(dir_real)

    def object_url(self, path: str) -> str:
        """The file ``path`` names, for a bulk engine's plan (``--plan-format``); it need not
        exist yet."""
        return self._full(path)

    def local_path(self, path: str) -> str:
        """The real path on disk of what ``path`` holds now, refused outside the root
        (for messages and tests: use it to open nothing, it may change at any time)."""
        fd, real = self._open(path)
        os.close(fd)
        return real

    # -- reading ---------------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        fd, size = self._open_regular(path)
        try:
            # Never past the size it had when opened, however it grows meanwhile.
            parts = []
            remaining = size
            while remaining > 0 and (data := os.read(fd, min(remaining, _READ_SIZE))):
                parts.append(data)
                remaining -= len(data)
            return b"".join(parts)
        finally:
            os.close(fd)

    def read_head(self, path: str, size: int) -> bytes:
        """At most ``size`` bytes from the start of the regular file at ``path`` (optional
        driver method: a link is read with one ``read``, without a buffered file object; a
        no-op rerun of 30,000 tags reads 60,000 links)."""
        fd, length = self._open_regular(path)
        try:
            parts = []
            remaining = min(size, length)
            while remaining > 0 and (data := os.read(fd, remaining)):
                parts.append(data)
                remaining -= len(data)
            return b"".join(parts)
        finally:
            os.close(fd)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        fd, _ = self._open_regular(path)
        # Unbuffered: the core reads in chunks of a megabyte, a small blob in one read.
        file = os.fdopen(fd, "rb", buffering=0)
        if offset:
            file.seek(offset)
        return file

    def stat(self, path: str) -> FileInfo:
        fd, _ = self._open(path)
        try:
            result = os.fstat(fd)
        finally:
            os.close(fd)
        if stat.S_ISDIR(result.st_mode):
            return FileInfo(path, 0, True, result.st_mtime)
        if not stat.S_ISREG(result.st_mode):
            raise NotRegularFileError(self.name, path, f"is {_kind(result.st_mode)}")
        return FileInfo(path, result.st_size, False, result.st_mtime)

    def _open_listable(self, path: str) -> int:
        """A readable descriptor on directory ``path``, checked to lie under the root."""
        path_fd, real = self._open(path)
        try:
            if not stat.S_ISDIR(os.fstat(path_fd).st_mode):
                raise StorageError(self.name, path, "not a directory")
            try:
                return _reopen(path_fd, os.O_RDONLY | os.O_DIRECTORY, real)
            except OSError as exc:
                raise self._os_error(path, exc) from exc
        finally:
            os.close(path_fd)

    def list_dir(self, path: str) -> list[str]:
        try:
            fd = self._open_listable(path)
        except PathNotFoundError:
            if path == "/":
                return []
            raise
        try:
            names = os.listdir(fd)
        finally:
            os.close(fd)
        prefix = "" if path == "/" else path
        # An empty directory lists nothing: the wrapper makes that PathNotFoundError.
        return sorted(f"{prefix}/{name}" for name in names if not name.startswith(TEMP_PREFIX))

    def _open_walk_top(self, path: str) -> int:
        """The checked descriptor a walk starts from; anything but a bad path is "not found"
        (nothing below it to walk)."""
        try:
            return self._open_listable(path)
        except StorageError as exc:
            if isinstance(exc, InvalidPathError):
                raise
            raise PathNotFoundError(self.name, path) from exc

    def walk(self, path: str) -> Iterator[FileInfo]:
        top = self._open_walk_top(path)
        base = "" if path == "/" else path
        try:
            # fwalk goes by directory descriptors and never into a symlink: a directory
            # swapped for one mid-walk is not followed out.
            for directory, dirs, files, dir_fd in os.fwalk(".", dir_fd=top):
                dirs[:] = [name for name in dirs if not name.startswith(TEMP_PREFIX)]
                relative = directory[1:]  # "." or "./a/b"
                for file_name in files:
                    if file_name.startswith(TEMP_PREFIX):
                        continue
                    try:
                        result = os.stat(file_name, dir_fd=dir_fd, follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    yield FileInfo(
                        f"{base}{relative}/{file_name}", result.st_size, False, result.st_mtime
                    )
        finally:
            os.close(top)

    def walk_names(self, path: str) -> Iterator[str]:
        """The paths :meth:`walk` yields, without a ``stat`` per file (optional driver method:
        listing tags needs names only; issue 13, 10,000 repositories).

        The same safety as :meth:`walk`: the top directory is checked to lie under the root,
        each directory below is opened by one name from its parent's descriptor with
        ``O_NOFOLLOW`` (a directory swapped for a symlink is not entered) and checked again
        (one moved out of the root mid-walk is :class:`InvalidPathError`). Like ``os.fwalk``,
        a symlink to a directory is neither entered nor listed.
        """
        top = self._open_walk_top(path)
        base = "" if path == "/" else path
        # Depth first, one open descriptor per level: (descriptor, path, subdirectories left).
        frames: list[tuple[int, str, list[str]]] = []
        try:
            files, subdirectories = self._scan_names(top, base)
            yield from files
            frames.append((top, base, subdirectories))
            while frames:
                fd, prefix, subdirectories = frames[-1]
                if not subdirectories:
                    frames.pop()
                    if fd != top:
                        os.close(fd)
                    continue
                name = subdirectories.pop()
                below = f"{prefix}/{name}"
                try:
                    child = os.open(name, _WALK_DIRECTORY_FLAGS, dir_fd=fd)
                except OSError:
                    continue  # gone, no permission, or swapped for a symlink: not followed
                try:
                    real = _fd_location(child)
                    if real is not None and not self._inside(real):
                        raise InvalidPathError(self.name, below)
                    files, subdirectories = self._scan_names(child, below)
                except OSError:
                    os.close(child)
                    continue
                except BaseException:
                    os.close(child)
                    raise
                frames.append((child, below, subdirectories))
                yield from files
        finally:
            for fd, _, _ in frames:
                if fd != top:
                    os.close(fd)
            os.close(top)

    @staticmethod
    def _scan_names(fd: int, prefix: str) -> tuple[list[str], list[str]]:
        """Files (full storage paths) and subdirectory names of the open directory ``fd``;
        subdirectories in reverse order, so that popping them goes in listing order."""
        files: list[str] = []
        subdirectories: list[str] = []
        with os.scandir(fd) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(TEMP_PREFIX):
                    continue
                try:
                    # The kind from the listing (d_type): no stat, except for a symlink.
                    if entry.is_dir(follow_symlinks=False):
                        subdirectories.append(name)
                        continue
                    if entry.is_symlink() and entry.is_dir():
                        continue  # as os.fwalk: a link to a directory is neither file nor walked
                except OSError:
                    pass
                files.append(f"{prefix}/{name}")
        subdirectories.reverse()
        return files, subdirectories

    # -- writing ---------------------------------------------------------------------------

    def put_content(self, path: str, data: bytes) -> None:
        # Without writer()'s early check: the bytes are at hand, and a target outside the root
        # is refused by publish while the file is still only in the staging directory.
        with LocalFileWriter(self, self.staging, path) as writer:
            writer.write(data)
            writer.commit()

    def writer(self, path: str) -> LocalFileWriter:
        self._writable(path)  # before self.staging: a refused write makes nothing
        return LocalFileWriter(self, self.staging, path)

    def start_copy(self, source: object, src_path: str, dst_path: str) -> LocalStagedCopy | None:
        """Copy from another local root inside the kernel; None for any other source."""
        if not isinstance(source, LocalDriver):
            return None
        self._writable(dst_path)
        source_fd, _ = source._open_regular(src_path)
        try:
            staging = self.staging
            temp = self.temp_name()
            dest_fd = _create_temp(staging, temp)
        except BaseException:
            os.close(source_fd)
            raise
        return LocalStagedCopy(
            source_fd,
            dest_fd,
            dst_path,
            publish=lambda: self.publish(staging, temp, dst_path),
            discard=lambda: _discard(staging, temp),
            fsync=self.durability is not None,
            driver=self.name,
        )

    def link_blob(self, source: object, src_path: str, dst_path: str) -> bool:
        """Hardlink an immutable blob from another local root; False if not possible here.

        Only for content-addressed blob data: registries rewrite link files in place, so a
        hardlinked link file would let one tree change the other.
        """
        if not isinstance(source, LocalDriver):
            return False
        self._writable(dst_path)
        # The very file checked to be regular and inside the source root is linked.
        source_fd, real = source._open(src_path)
        try:
            mode = os.fstat(source_fd).st_mode
            if not stat.S_ISREG(mode):
                raise StorageError(self.name, src_path, f"is {_kind(mode)}")
            staging = self.staging
            temp = self.temp_name()
            linked = f"{_PROC_FD}/{source_fd}" if os.path.isdir(_PROC_FD) else real
            try:
                os.link(linked, temp, dst_dir_fd=staging.fd)
            except OSError as exc:
                if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    return False
                raise
        finally:
            os.close(source_fd)
        try:
            self.publish(staging, temp, dst_path)
        except BaseException:
            _discard(staging, temp)
            raise
        return True

    def move(self, source: str, dest: str) -> None:
        source_fd, _, source_name = self._target(source, create=False)
        try:
            os.stat(source_name, dir_fd=source_fd, follow_symlinks=False)
            dest_fd, _, dest_name = self._target(dest, create=True)
            try:
                os.replace(source_name, dest_name, src_dir_fd=source_fd, dst_dir_fd=dest_fd)
            finally:
                os.close(dest_fd)
        finally:
            os.close(source_fd)

    def delete(self, path: str) -> None:
        dir_fd, _, name = self._target(path, create=False)
        try:
            if stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                import shutil

                # The descriptor-based rmtree: never follows a symlink met on the way.
                shutil.rmtree(name, dir_fd=dir_fd)
            else:
                os.unlink(name, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
