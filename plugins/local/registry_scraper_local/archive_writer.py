"""The bytes of an archive: tar entries, an optional compressor, and where the bytes go.

The tar stream is written here rather than by :mod:`tarfile` so that nothing holds a file
object that flushes on garbage collection (an interrupted ``.tar.gz`` must just stop) and so
that every byte handed on can be counted. Headers come from :class:`tarfile.TarInfo` (POSIX
pax, which GNU and BSD tar read). Compression uses compress/flush objects (zlib's gzip mode,
zstandard's ``compressobj``): memory stays at one chunk plus the compressor's window.

A :class:`VolumeSink` writes into files in a work directory beside the archive, cutting a new
volume every ``split_size`` bytes of the final (compressed) stream, so ``cat`` of the volumes
is the archive. Each volume is hashed as it is written, for the ``.sha256`` file.

Everything that could vary between two runs over the same content is fixed, so volumes can be
made again byte for byte: headers carry one given time, owner 0/0 without names, mode 0644 and
no atime/ctime records; gzip's header has no name and time 0 (zlib's gzip mode); zstd runs
single-threaded at one level with the checksum flag set and no content size.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zlib
from collections.abc import Callable, Iterable
from typing import Protocol

from scraper_core.errors import ConfigurationError

BLOCK = 512
#: tar pads the whole archive to a multiple of this (tarfile and GNU tar's default).
RECORD = 20 * BLOCK
#: Written data is forced to disk every this many bytes, so closing (fsync before the
#: rename) waits for little, and the progress bar, which counts writes, stays honest.
SYNC_EVERY = 64 * 1024 * 1024
ZSTD_LEVEL = 3
COMPRESSED_SUFFIXES = {".tar.gz": "gz", ".tgz": "gz", ".tar.zst": "zst", ".tzst": "zst"}


class Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


def compression_for(target: str) -> str | None:
    """``"gz"``, ``"zst"`` or None (plain) from the archive's name; a bad name is refused."""
    for suffix, kind in COMPRESSED_SUFFIXES.items():
        if target.endswith(suffix):
            return kind
    if target.endswith(".tar"):
        return None
    raise ConfigurationError(f"tar: {target}: name must end in .tar, .tar.gz, .tgz or .tar.zst")


def make_compressor(kind: str | None) -> Compressor | None:
    if kind is None:
        return None
    if kind == "gz":
        # wbits 31: the gzip container, written by zlib without a name and with time 0.
        # Level 6 as gzip(1); 9 costs much time for little.
        return zlib.compressobj(6, zlib.DEFLATED, 31, 8, zlib.Z_DEFAULT_STRATEGY)
    try:
        import zstandard
    except ImportError:
        raise ConfigurationError(
            "tar: .zst needs the zstandard package (pip install 'registry-scraper-local[zst]')"
        ) from None
    zstd = zstandard.ZstdCompressor(
        level=ZSTD_LEVEL, write_checksum=True, write_content_size=False, threads=0
    )
    compressor: Compressor = zstd.compressobj()
    return compressor


def entry_header(path: str, size: int, mtime: int) -> bytes:
    """The header block(s) of a regular file ``path`` (a storage path) of ``size`` bytes."""
    info = tarfile.TarInfo(path.lstrip("/"))
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class VolumeSink:
    """Files ``<stem>.part<N>`` in ``workdir``: one, or one per ``split_size`` bytes."""

    def __init__(self, workdir: str, split_size: int | None) -> None:
        self.workdir = workdir
        self.split_size = split_size
        #: (temporary path, size, sha256 hex) of every finished volume.
        self.volumes: list[tuple[str, int, str]] = []
        self._fd: int | None = None
        self._path = ""
        self._size = 0
        self._hash = hashlib.sha256()
        self._unsynced = 0
        self._open_next()

    def _open_next(self) -> None:
        self._path = os.path.join(self.workdir, f"volume.{len(self.volumes):03d}")
        # 0666 before the umask, as any file a program creates: the archive is for others.
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._size = 0
        self._hash = hashlib.sha256()

    def _finish_volume(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        self.volumes.append((self._path, self._size, self._hash.hexdigest()))

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._fd is None:
                self._open_next()
            assert self._fd is not None
            room = len(view) if self.split_size is None else self.split_size - self._size
            piece = view[:room]
            write_all(self._fd, piece)
            self._hash.update(piece)
            self._size += len(piece)
            self._unsynced += len(piece)
            view = view[len(piece) :]
            if self.split_size is not None and self._size >= self.split_size:
                self._finish_volume()
            elif self._unsynced >= SYNC_EVERY:
                os.fdatasync(self._fd)
                self._unsynced = 0

    def finish(self) -> list[tuple[str, int, str]]:
        """Sync and close; every volume, in order. A stream ending exactly on a volume
        boundary leaves no empty volume (but an empty archive is one volume)."""
        if self._fd is not None and (self._size > 0 or not self.volumes):
            self._finish_volume()
        elif self._fd is not None:
            os.close(self._fd)
            os.unlink(self._path)
            self._fd = None
        return self.volumes

    def discard(self) -> None:
        """Let go of the open volume (the caller removes the work directory)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class FdSink:
    """A stream nobody can rewind (``--output-tar -``)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> None:
        write_all(self.fd, data)


class ArchiveStream:
    """Tar entries, compressed or not, into a sink. Not thread-safe: the driver serializes."""

    def __init__(
        self,
        sink: Sink,
        compressor: Compressor | None,
        mtime: int,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.sink = sink
        self.compressor = compressor
        #: The time of every header (see :func:`~registry_scraper_local.tar.archive_time`).
        self.mtime = mtime
        self.on_bytes = on_bytes
        self.written = 0
        self.finished = False

    def _emit(self, data: bytes) -> None:
        self.written += len(data)
        if self.compressor is not None:
            data = self.compressor.compress(data)
        if data:
            self.sink.write(data)

    def add(self, path: str, size: int, chunks: Iterable[bytes], *, counted: bool) -> None:
        """Append one regular file of exactly ``size`` bytes; ``counted`` data is reported
        to ``on_bytes`` as it goes in (blobs: the progress bar counts them)."""
        self._emit(entry_header(path, size, self.mtime))
        done = 0
        for chunk in chunks:
            done += len(chunk)
            if done > size:
                raise ValueError(f"{path}: more than the {size} bytes announced")
            self._emit(chunk)
            if counted and self.on_bytes is not None:
                self.on_bytes(len(chunk))
        if done != size:
            raise ValueError(f"{path}: {done} bytes, {size} announced")
        self._emit(b"\0" * (-size % BLOCK))

    def finish(self) -> None:
        """The end-of-archive blocks, the record padding, the compressor's last bytes."""
        self._emit(b"\0" * (2 * BLOCK))
        self._emit(b"\0" * (-self.written % RECORD))
        if self.compressor is not None:
            self.sink.write(self.compressor.flush())
        self.finished = True

    def poison(self) -> None:
        """Make a stream that cannot be taken back fail on extraction: a header announcing
        more bytes than will ever come, so ``tar -x`` ends with "Unexpected EOF" (and a
        compressed stream is left unfinished, which its decompressor reports too)."""
        header = entry_header("/SCRAPE-RUN-FAILED-ARCHIVE-INCOMPLETE", 1 << 30, self.mtime)
        data = header if self.compressor is None else self.compressor.compress(header)
        self.sink.write(data)
