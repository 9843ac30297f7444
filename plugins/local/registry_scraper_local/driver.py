"""A storage driver over a local directory, like distribution's ``filesystem`` driver.

Every storage path is resolved (symlinks included) and must stay under the root: a symlink in
the tree that points elsewhere is refused rather than followed out. Directories found to be
real directories are remembered, so a path costs one ``lstat`` of its last component instead
of one per component; only a symlink met on the way is resolved in full.

Writes are staged in one directory per process, ``<root>/.scrape-tmp/<host>-<pid>-<token>/``,
and renamed into place on commit, so a reader (or a registry serving the tree) sees the old
content or the new, never a partial file; a cancelled write leaves neither a temporary file nor
an empty directory in the tree. A later run removes the staging directories of processes that
died (SIGKILL, power loss), so an interrupted copy leaves nothing behind once rerun.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

from scraper_core.driver import CancelOnExit, Capability, FileInfo
from scraper_core.errors import (
    ConfigurationError,
    InvalidOffsetError,
    InvalidPathError,
    PathNotFoundError,
    ReadOnlyError,
    StorageError,
)
from scraper_core.options import flag, option, parse_options

#: Names starting with this are ours and never part of the registry tree.
TEMP_PREFIX = ".scrape-tmp"
STAGING_ROOT = TEMP_PREFIX


# socket, secrets and shutil are not imported: they cost ~13 ms of every run's start-up, for
# gethostname, token_hex and an rmtree that is only needed when something was left behind.


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


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(root: str) -> list[str]:
    """Remove staging directories of dead processes on this host; return what was removed."""
    staging_root = os.path.join(root, STAGING_ROOT)
    try:
        entries = os.listdir(staging_root)
    except FileNotFoundError:
        return []
    host = _hostname()
    removed = []
    for entry in entries:
        # Named <host>-<pid>-<token>; a host name may itself hold dashes.
        owner_host, _, pid_text = entry.rpartition("-")[0].rpartition("-")
        # Another host's staging (a shared filesystem) cannot be judged from here.
        if owner_host != host or not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        _remove_tree(os.path.join(staging_root, entry))
        removed.append(entry)
    with contextlib.suppress(OSError):
        os.rmdir(staging_root)
    return removed


def _publish(temp: str, target: str, durability: Durability | None) -> None:
    """Move a finished staged file to its final path (the only moment it becomes visible)."""
    try:
        os.replace(temp, target)
    except FileNotFoundError:
        # The staged file exists, so the target's directory is missing: usually it is there
        # already, and one rename beats a makedirs (three calls) for every file.
        _make_dirs(os.path.dirname(target))
        os.replace(temp, target)
    if durability is not None:
        durability.published(target)


def _make_dirs(path: str) -> None:
    """``os.makedirs(path, exist_ok=True)`` trying ``mkdir`` first: its ``exists`` checks of
    every parent cost a call each when, in a fresh tree, most parents are already there."""
    try:
        os.mkdir(path)
    except FileExistsError:
        return
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if parent == path:
            raise
        _make_dirs(parent)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path)


def _is_plain(path: str) -> bool:
    """An absolute path of named components, none of them empty, ``.``, ``..`` or hidden.

    Only these take the quick way through :meth:`LocalDriver._lookup`; anything else (which
    the core's checks refuse before it gets here) is resolved in full.
    """
    return path.startswith("/") and "//" not in path and "/." not in path and path[-1] != "/"


def _discard(temp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)


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

    def published(self, target: str) -> None:
        with self._lock:
            self._directories.add(os.path.dirname(target))

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
    """Streams into a staged temporary file; :meth:`commit` renames it into place."""

    def __init__(self, staging: str, target: str, durability: Durability | None = None) -> None:
        self._durability = durability
        self._target = target
        # Not mkstemp: its 0600 would survive the rename and a registry running as another
        # user could not serve the file. 0666 less the umask is what distribution writes.
        self._temp = os.path.join(staging, _token(8))
        fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._file = os.fdopen(fd, "wb")
        self._size = 0
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> int:
        written = self._file.write(data)
        self._size += written
        return written

    def commit(self) -> None:
        if self._durability is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._file.close()
        _publish(self._temp, self._target, self._durability)
        self._done = True

    def cancel(self) -> None:
        if self._done:
            return
        self._done = True
        self._file.close()
        _discard(self._temp)


def _kernel_copy(source_fd: int, dest_fd: int) -> int:
    """Copy a whole file inside the kernel: copy_file_range (a reflink where the filesystem
    shares extents), falling back to sendfile where it is refused (older kernels, some
    cross-filesystem pairs). Returns the bytes copied."""
    total = 0
    use_range = True
    while True:
        try:
            if use_range:
                copied = os.copy_file_range(source_fd, dest_fd, 1 << 30)
            else:
                copied = os.sendfile(dest_fd, source_fd, None, 1 << 30)
        except OSError as exc:
            if use_range and exc.errno in (
                errno.EXDEV,
                errno.EINVAL,
                errno.ENOSYS,
                errno.EOPNOTSUPP,
            ):
                use_range = False
                continue
            raise
        if copied == 0:
            return total
        total += copied


class LocalStagedCopy(CancelOnExit):
    """A kernel copy running in a thread into the staging directory."""

    def __init__(
        self, source_path: str, temp: str, target: str, durability: Durability | None = None
    ) -> None:
        self._durability = durability
        self._temp = temp
        self._target = target
        self._copied = 0
        self._error: BaseException | None = None
        self._done = False
        self._source_fd = os.open(source_path, os.O_RDONLY)
        self._dest_fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._thread = threading.Thread(target=self._run, name="kernel-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._copied = _kernel_copy(self._source_fd, self._dest_fd)
            if self._durability is not None:
                os.fsync(self._dest_fd)
        except BaseException as exc:  # handed to the waiting thread
            self._error = exc
        finally:
            os.close(self._source_fd)
            os.close(self._dest_fd)

    def wait(self) -> int:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._copied

    def commit(self) -> None:
        self.wait()
        _publish(self._temp, self._target, self._durability)
        self._done = True

    def cancel(self) -> None:
        if self._done:
            return
        self._done = True
        # The copy cannot be interrupted midway; it is bounded by one blob, then removed.
        self._thread.join()
        _discard(self._temp)


class LocalDriver:
    """The ``local`` driver: ``--data-dir`` is the registry's filesystem ``rootdirectory``."""

    name: ClassVar[str] = "local"
    description: ClassVar[str] = "a directory holding a registry's filesystem storage"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.HARDLINK, Capability.KERNEL_COPY}
    )

    def __init__(self, root: Path, *, read_only: bool, fsync: bool = False) -> None:
        self.root = os.path.realpath(root)
        self.read_only = read_only
        self.durability = Durability(self.root) if fsync and not read_only else None
        self._staging: str | None = None
        self._staging_lock = threading.Lock()
        #: Storage path of a directory -> its path on disk, for directories seen to be real
        #: directories (not symlinks) below the root. A missing directory is never remembered:
        #: what appears there later is looked at when it is used.
        self._real_dirs: dict[str, str] = {"": self.root}

    @property
    def staging(self) -> str:
        """This process's staging directory, made on first use."""
        # Many copy threads ask at once; without the lock each could make its own directory.
        with self._staging_lock:
            if self._staging is None:
                name = f"{_hostname()}-{os.getpid()}-{_token(4)}"
                path = os.path.join(self.root, STAGING_ROOT, name)
                os.makedirs(path, exist_ok=True)
                self._staging = path
            return self._staging

    def close(self) -> None:
        """Sync what was written (option fsync), then remove this process's (by now empty)
        staging directory."""
        if self.durability is not None:
            self.durability.sync_directories()
        self._remove_staging()

    def abort(self) -> None:
        """An interrupted run: nothing to make durable, only the staging to remove."""
        self._remove_staging()

    def _remove_staging(self) -> None:
        if self._staging is not None:
            try:
                os.rmdir(self._staging)
            except OSError:
                _remove_tree(self._staging)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(self._staging))
            self._staging = None

    def __repr__(self) -> str:
        return f"LocalDriver({self.root!r})"

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> LocalDriver:
        parsed = parse_options(cls.name, LocalOptions, options)
        root = Path(location).expanduser()
        if read_only:
            if not root.is_dir():
                raise ConfigurationError(f"local: not a directory: {location}")
        else:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(f"local: cannot create {location}: {exc}") from exc
            remove_stale_staging(os.path.realpath(root))
        return cls(root, read_only=read_only, fsync=parsed.fsync)

    def local_path(self, path: str) -> str:
        """The filesystem path for a storage path, refused if it resolves outside the root."""
        return self._lookup(path)[0]

    def _lookup(self, path: str) -> tuple[str, os.stat_result | None]:
        """:meth:`local_path`, and the ``lstat`` of what is there (None: nothing is)."""
        if not _is_plain(path):
            return self._resolve(path), None
        directory, _, name = path.rpartition("/")
        parent, parent_exists = self._real_dir(directory)
        full = os.path.join(parent, name)
        if not parent_exists:
            return full, None
        try:
            result = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return full, None
        if stat.S_ISLNK(result.st_mode):
            return self._resolve(path), None
        return full, result

    def _real_dir(self, directory: str) -> tuple[str, bool]:
        """The on-disk path of storage directory ``directory`` (``""`` is the root), and
        whether it exists (below a missing directory nothing is looked up)."""
        known = self._real_dirs.get(directory)
        if known is not None:
            return known, True
        parent, _, name = directory.rpartition("/")
        parent_path, parent_exists = self._real_dir(parent)
        full = os.path.join(parent_path, name)
        if not parent_exists:
            return full, False
        try:
            result = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return full, False
        if stat.S_ISLNK(result.st_mode):
            # Followed only if it stays inside the root, and never remembered: a link can be
            # pointed elsewhere at any time.
            real = self._resolve(directory)
            return real, os.path.isdir(real)
        if stat.S_ISDIR(result.st_mode):
            self._real_dirs[directory] = full
            return full, True
        # A file where a directory should be: whatever is asked below it fails as it should.
        return full, True

    def _resolve(self, path: str) -> str:
        """Resolve every component (symlinks included); refused if it ends outside the root."""
        joined = os.path.join(self.root, path.lstrip("/"))
        real = os.path.realpath(joined)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise InvalidPathError(self.name, path)
        return real

    def _forget_dirs(self) -> None:
        # A directory moved or deleted may come back as something else (a symlink).
        self._real_dirs = {"": self.root}

    def _writable(self, path: str) -> str:
        if self.read_only:
            raise ReadOnlyError(self.name, path)
        return self.local_path(path)

    def get_content(self, path: str) -> bytes:
        with open(self.local_path(path), "rb") as file:
            return file.read()

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        if offset < 0:
            # Checked before opening: a failed seek would leak the open file.
            raise InvalidOffsetError(self.name, path, f"negative offset {offset}")
        file = open(self.local_path(path), "rb")  # noqa: SIM115 - the caller closes it
        if offset:
            file.seek(offset)
        return file

    def stat(self, path: str) -> FileInfo:
        local, result = self._lookup(path)
        if result is None:
            result = os.stat(local)
        is_dir = stat.S_ISDIR(result.st_mode)
        return FileInfo(path, 0 if is_dir else result.st_size, is_dir, result.st_mtime)

    def list_dir(self, path: str) -> list[str]:
        target = self.local_path(path)
        try:
            names = os.listdir(target)
        except FileNotFoundError:
            if path == "/":
                return []
            raise PathNotFoundError(self.name, path) from None
        except NotADirectoryError:
            raise StorageError(self.name, path, "not a directory") from None
        prefix = "" if path == "/" else path
        children = sorted(f"{prefix}/{name}" for name in names if not name.startswith(TEMP_PREFIX))
        if not children and path != "/":
            raise PathNotFoundError(self.name, path)
        return children

    def walk(self, path: str) -> Iterator[FileInfo]:
        top = self.local_path(path)
        if not os.path.isdir(top):
            raise PathNotFoundError(self.name, path)
        for directory, dirs, files in os.walk(top):
            dirs[:] = [name for name in dirs if not name.startswith(TEMP_PREFIX)]
            relative = os.path.relpath(directory, self.root)
            base = "" if relative == "." else "/" + relative.replace(os.sep, "/")
            for file_name in files:
                if file_name.startswith(TEMP_PREFIX):
                    continue
                full = os.path.join(directory, file_name)
                result = os.lstat(full)
                yield FileInfo(f"{base}/{file_name}", result.st_size, False, result.st_mtime)

    def put_content(self, path: str, data: bytes) -> None:
        with self.writer(path) as writer:
            writer.write(data)
            writer.commit()

    def writer(self, path: str) -> LocalFileWriter:
        target = self._writable(path)  # before self.staging: a read-only driver makes nothing
        return LocalFileWriter(self.staging, target, self.durability)

    def start_copy(self, source: object, src_path: str, dst_path: str) -> LocalStagedCopy | None:
        """Copy from another local root inside the kernel; None for any other source."""
        if not isinstance(source, LocalDriver):
            return None
        target = self._writable(dst_path)
        temp = os.path.join(self.staging, _token(8))
        return LocalStagedCopy(source.local_path(src_path), temp, target, self.durability)

    def link_blob(self, source: object, src_path: str, dst_path: str) -> bool:
        """Hardlink an immutable blob from another local root; False if not possible here.

        Only for content-addressed blob data: registries rewrite link files in place, so a
        hardlinked link file would let one tree change the other.
        """
        if not isinstance(source, LocalDriver):
            return False
        target = self._writable(dst_path)
        temp = os.path.join(self.staging, _token(8))
        try:
            os.link(source.local_path(src_path), temp)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                return False
            raise
        _publish(temp, target, self.durability)
        return True

    def move(self, source: str, dest: str) -> None:
        source_path = self._writable(source)
        dest_path = self._writable(dest)
        os.makedirs(os.path.dirname(dest_path), exist_ok=True)
        self._forget_dirs()
        os.replace(source_path, dest_path)

    def delete(self, path: str) -> None:
        target = self._writable(path)
        self._forget_dirs()
        if os.path.isdir(target) and not os.path.islink(target):
            import shutil

            shutil.rmtree(target)
        else:
            os.unlink(target)
