"""The ``tar`` destination driver: streams the shallow clone into one archive.

Extracting the archive gives a tree a stock registry serves (``tar -xf copy.tar -C root``).
Each object is spooled (in memory up to a limit, then to a temporary file) until the copy
engine commits it, so only verified blobs enter the archive, in commit order: blobs, then
links, then tag links, exactly as on a filesystem. The archive is written under a temporary
name and renamed into place by :meth:`TarDriver.close`; :meth:`TarDriver.abort` removes it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, BinaryIO, ClassVar

from registry_scraper_local.overlap import archive_overlap
from scraper_core.driver import CancelOnExit, Capability, FileInfo
from scraper_core.errors import (
    ConfigurationError,
    LocationNotFoundError,
    PathNotFoundError,
    StorageError,
)

#: Objects up to this size stay in memory while they are written.
SPOOL_LIMIT = 8 * 1024 * 1024
#: Link files are kept so a later ``get_content`` can tell they are already there.
KEEP_CONTENT_LIMIT = 4096


class TarEntryWriter(CancelOnExit):
    """Spools one object; :meth:`commit` appends it to the archive."""

    def __init__(self, owner: TarDriver, path: str) -> None:
        self._owner = owner
        self._path = path
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_LIMIT)  # noqa: SIM115
        self._size = 0
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> int:
        written = self._spool.write(data)
        self._size += written
        return written

    def commit(self) -> None:
        self._spool.seek(0)
        self._owner.append(self._path, self._size, self._spool)
        self.cancel()

    def cancel(self) -> None:
        if not self._done:
            self._done = True
            self._spool.close()


def _open_stream(file: IO[bytes], target: str) -> tuple[tarfile.TarFile, IO[bytes] | None]:
    """The tar stream for ``target``'s suffix, and the compressor to close after it."""
    if target.endswith((".tar.zst", ".tzst")):
        try:
            import zstandard
        except ImportError:
            raise ConfigurationError(
                "tar: .zst output needs the zstandard package (pip install zstandard)"
            ) from None
        compressor = zstandard.ZstdCompressor().stream_writer(file, closefd=False)
        return tarfile.open(fileobj=compressor, mode="w|"), compressor
    if target.endswith((".tar.gz", ".tgz")):
        return tarfile.open(fileobj=file, mode="w|gz"), None
    if target.endswith(".tar"):
        return tarfile.open(fileobj=file, mode="w|"), None
    raise ConfigurationError(f"tar: {target}: name must end in .tar, .tar.gz, .tgz or .tar.zst")


class TarDriver:
    """Write-only: reads answer only for what this run has written."""

    name: ClassVar[str] = "tar"
    description: ClassVar[str] = "write the copy as one archive (.tar, .tar.gz, .tar.zst)"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, target: str) -> None:
        self.target = target
        directory = os.path.dirname(os.path.abspath(target))
        fd, self._temp = tempfile.mkstemp(prefix=".scrape-tmp-", dir=directory)
        self._file = os.fdopen(fd, "wb")
        try:
            self._tar, self._compressor = _open_stream(self._file, target)
        except BaseException:
            self.abort()
            raise
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}
        self._contents: dict[str, bytes] = {}
        self._closed = False

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> TarDriver:
        if options:
            raise ConfigurationError(f"tar: unknown option(s): {', '.join(sorted(options))}")
        if read_only:
            # A dry run into an archive: it is written anew, so it is "not there yet".
            raise LocationNotFoundError(f"tar: {location} is written, never read")
        if not Path(location).expanduser().parent.is_dir():
            raise ConfigurationError(f"tar: directory does not exist for {location}")
        target = str(Path(location).expanduser())
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            mode = None
        # Replaced by a rename on close: only a regular file (or a symlink, itself replaced,
        # never written through) may be there already.
        if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise ConfigurationError(f"tar: {location} is {what}")
        return cls(target)

    @classmethod
    def overlaps(cls, location: str, other: object) -> str | None:
        """Why writing the archive at ``location`` (and its temporary file beside it) could
        write into ``other``'s storage; None when it cannot, or ``other`` is not local."""
        from registry_scraper_local.driver import LocalDriver

        if not isinstance(other, LocalDriver):
            return None
        return archive_overlap(location, other.root)

    def append(self, path: str, size: int, data: IO[bytes]) -> None:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size = size
        info.mtime = int(time.time())
        info.mode = 0o644
        with self._lock:
            if self._closed:
                raise StorageError(self.name, path, "archive already closed")
            self._tar.addfile(info, data)
            self._sizes[path] = size
            if size <= KEEP_CONTENT_LIMIT:
                data.seek(0)
                self._contents[path] = data.read()

    def close(self) -> None:
        """Finish the archive and rename it to its final name."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._tar.close()
            if self._compressor is not None:
                self._compressor.close()
            self._file.close()
            os.replace(self._temp, self.target)

    def abort(self) -> None:
        """Drop the unfinished archive; nothing appears at the final name."""
        self._closed = True
        # Closed (into the file about to be removed) rather than dropped: a tar stream left
        # open writes its last blocks when collected, into a closed file (a full disk makes
        # them fail here instead; either way nobody needs them).
        for stream in (getattr(self, "_tar", None), getattr(self, "_compressor", None), self._file):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp)

    def get_content(self, path: str) -> bytes:
        with self._lock:
            if path in self._contents:
                return self._contents[path]
        raise PathNotFoundError(self.name, path)

    def read_head(self, path: str, size: int) -> bytes:
        # The small entries written so far are kept; nothing else can be read back.
        return self.get_content(path)[:size]

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        raise StorageError(self.name, path, "an archive being written cannot be read")

    def stat(self, path: str) -> FileInfo:
        with self._lock:
            if path in self._sizes:
                return FileInfo(path, self._sizes[path])
            if any(known.startswith(path.rstrip("/") + "/") for known in self._sizes):
                return FileInfo(path, 0, is_dir=True)
        raise PathNotFoundError(self.name, path)

    def list_dir(self, path: str) -> list[str]:
        prefix = "" if path == "/" else path
        with self._lock:
            children = {
                prefix + "/" + known[len(prefix) + 1 :].split("/")[0]
                for known in self._sizes
                if known.startswith(prefix + "/")
            }
        if not children and path != "/":
            raise PathNotFoundError(self.name, path)
        return sorted(children)

    def walk(self, path: str) -> Iterator[FileInfo]:
        prefix = "" if path == "/" else path
        with self._lock:
            found = [FileInfo(p, s) for p, s in self._sizes.items() if p.startswith(prefix + "/")]
        yield from found

    def put_content(self, path: str, data: bytes) -> None:
        with self.writer(path) as writer:
            writer.write(data)
            writer.commit()

    def writer(self, path: str) -> TarEntryWriter:
        return TarEntryWriter(self, path)

    def move(self, source: str, dest: str) -> None:
        raise StorageError(self.name, source, "an archive cannot move entries")

    def delete(self, path: str) -> None:
        raise StorageError(self.name, path, "an archive cannot delete entries")
