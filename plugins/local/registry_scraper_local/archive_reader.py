"""A shipped archive as a read-only storage (``--storage tar --data-dir ship.tar.zst``).

The location is the archive (``ship.tar``), a split set by its base name or first volume
(``ship.tar`` or ``ship.tar.000``: volumes ``.000``, ``.001``, ... are read in order as one
stream). Compression is told from the first bytes, not the name.

Members are indexed in one pass over the headers; regular files whose names are clean storage
paths are kept, everything else (links, devices, ``..``) is ignored, and a name stored twice
means its last copy, as ``tar -x`` would leave it. Reads are random access by offset
(``pread``, so concurrent streams need no lock). A compressed archive cannot be read at an
offset: it is decompressed once into a spool file beside the archive, or in the directory
given by ``-o spool-dir=DIR`` (for read-only media); the spool is unlinked as soon as it is
made, so it vanishes with the process whatever happens, and needs as much room as the
uncompressed archive. Memory holds the index only. The core still hashes every blob it reads.
"""

from __future__ import annotations

import io
import os
import secrets
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from registry_scraper_local.archive_writer import write_all
from scraper_core.contract import Capability, FileInfo, is_valid_path
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError

NAME = "tar"
CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class Part:
    fd: int
    start: int
    size: int


class Concatenation:
    """Several files read as one: ``pread`` over the part holding each offset."""

    def __init__(self, parts: list[Part]) -> None:
        self.parts = parts
        self.size = sum(part.size for part in parts)

    def pread(self, size: int, offset: int) -> bytes:
        out = bytearray()
        for part in self.parts:
            if size <= 0:
                break
            if offset >= part.start + part.size or offset + size <= part.start:
                continue
            within = offset - part.start
            chunk = os.pread(part.fd, min(size, part.size - within), within)
            if not chunk:
                raise OSError(f"archive volume shorter than when it was indexed at {offset}")
            out += chunk
            offset += len(chunk)
            size -= len(chunk)
        return bytes(out)

    def close(self) -> None:
        for part in self.parts:
            os.close(part.fd)
        self.parts = []


class _SeekableView(io.RawIOBase):
    """A file object over a :class:`Concatenation`, for :mod:`tarfile`'s index pass."""

    def __init__(self, data: Concatenation, start: int = 0, end: int | None = None) -> None:
        self._data = data
        self._start = start
        self._end = data.size if end is None else end
        self._pos = start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos - self._start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: self._start, io.SEEK_CUR: self._pos, io.SEEK_END: self._end}
        self._pos = max(self._start, base[whence] + offset)
        return self._pos - self._start

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), max(0, self._end - self._pos))
        chunk = self._data.pread(want, self._pos) if want else b""
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def volumes_of(location: str) -> list[str]:
    """The file(s) holding the archive named by ``location``."""
    base = location[:-4] if location.endswith(".000") else location
    if os.path.isfile(location) and not location.endswith(".000"):
        return [location]
    found: list[str] = []
    while os.path.isfile(f"{base}.{len(found):03d}"):
        found.append(f"{base}.{len(found):03d}")
    if not found:
        raise ConfigurationError(f"tar: no archive at {location} (nor volumes {base}.000, ...)")
    return found


def _open_parts(paths: list[str]) -> list[Part]:
    parts: list[Part] = []
    start = 0
    try:
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            size = os.fstat(fd).st_size
            parts.append(Part(fd, start, size))
            start += size
    except OSError as exc:
        for part in parts:
            os.close(part.fd)
        raise ConfigurationError(f"tar: cannot read {path}: {exc.strerror}") from exc
    return parts


def _decompressor_chunks(raw: Concatenation, magic: bytes) -> Iterator[bytes]:
    """The decompressed bytes of the whole (gzip or zstd) stream, a chunk at a time."""
    if magic.startswith(GZIP_MAGIC):
        offset = 0
        member: Any = None  # the gzip member being decompressed, None between members
        while offset < raw.size:
            data = raw.pread(CHUNK, offset)
            offset += len(data)
            while data:
                member = member or zlib.decompressobj(47)
                yield member.decompress(data)
                # Concatenated gzip members (pigz, cat a.gz b.gz) continue in a new one.
                data, member = (member.unused_data, None) if member.eof else (b"", member)
        if member is not None:
            raise ConfigurationError("tar: the gzip stream is truncated")
        return
    try:
        import zstandard
    except ImportError:
        raise ConfigurationError(
            "tar: .zst needs the zstandard package (pip install 'registry-scraper-local[zst]')"
        ) from None
    reader = zstandard.ZstdDecompressor().stream_reader(
        io.BufferedReader(_SeekableView(raw), CHUNK), read_across_frames=True
    )
    try:
        while chunk := reader.read(CHUNK):
            yield chunk
    except zstandard.ZstdError as exc:
        raise ConfigurationError(f"tar: the zstd stream is damaged: {exc}") from exc


def _spool(raw: Concatenation, magic: bytes, directory: str) -> Concatenation:
    name = os.path.join(directory, f".scrape-unpacked-{secrets.token_hex(6)}")
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ConfigurationError(
            f"tar: cannot make the decompression spool in {directory} ({exc.strerror}); "
            "give another with -o spool-dir=DIR"
        ) from exc
    os.unlink(name)
    size = 0
    try:
        for chunk in _decompressor_chunks(raw, magic):
            write_all(fd, chunk)
            size += len(chunk)
    except OSError as exc:
        os.close(fd)
        raise ConfigurationError(f"tar: decompressing into {directory}: {exc}") from exc
    except BaseException:
        os.close(fd)
        raise
    return Concatenation([Part(fd, 0, size)])


class _RangeReader(io.RawIOBase):
    def __init__(self, data: Concatenation, start: int, end: int) -> None:
        self._data = data
        self._pos = start
        self._end = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._end - self._pos)
        if want <= 0:
            return 0
        chunk = self._data.pread(want, self._pos)
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


class ArchiveReader:
    """Read-only: see the module docstring."""

    name: ClassVar[str] = NAME
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: Reads from a local file: the core plans from it with one thread.
    latency_bound: ClassVar[bool] = False

    def __init__(self, data: Concatenation, location: str, volumes: list[str]) -> None:
        self.location = location
        #: The file(s) read, in order: a writer must never replace or remove one of them.
        self.volumes = volumes
        self._data = data
        #: storage path -> (offset of the data, size)
        self._files: dict[str, tuple[int, int]] = {}
        self._children: dict[str, set[str]] = {"/": set()}
        self._index()

    @classmethod
    def open(cls, location: str, options: Mapping[str, str]) -> ArchiveReader:
        unknown = set(options) - {"spool-dir"}
        if unknown:
            raise ConfigurationError(f"tar: unknown option(s): {', '.join(sorted(unknown))}")
        volumes = volumes_of(os.path.expanduser(location))
        raw = Concatenation(_open_parts(volumes))
        try:
            magic = raw.pread(4, 0)
            if magic.startswith(GZIP_MAGIC) or magic == ZSTD_MAGIC:
                beside = os.path.dirname(os.path.abspath(os.path.expanduser(location)))
                directory = options.get("spool-dir") or beside
                data = _spool(raw, magic, directory)
                raw.close()
            else:
                data = raw
            return cls(data, location, volumes)
        except BaseException:
            raw.close()
            raise

    def _index(self) -> None:
        try:
            with tarfile.open(fileobj=_SeekableView(self._data), mode="r:") as archive:
                for member in archive:
                    if not member.isreg():
                        continue
                    path = "/" + member.name.removeprefix("./").strip("/")
                    if is_valid_path(path):
                        self._add(path, member.offset_data, member.size)
        except tarfile.TarError as exc:
            raise ConfigurationError(f"tar: {self.location} is not a readable tar: {exc}") from exc
        for path, (offset, size) in self._files.items():
            if offset + size > self._data.size:
                raise ConfigurationError(f"tar: {self.location} is truncated inside {path}")

    def _add(self, path: str, offset: int, size: int) -> None:
        if path in self._children:
            return  # a directory already: the registry tree never has a file there
        self._files[path] = (offset, size)
        child = path
        while child != "/":
            parent = os.path.dirname(child)
            self._children.setdefault(parent, set()).add(child)
            child = parent

    def close(self) -> None:
        self._data.close()

    def _entry(self, path: str) -> tuple[int, int]:
        entry = self._files.get(path)
        if entry is None:
            if path in self._children:
                raise StorageError(NAME, path, "is a directory")
            raise PathNotFoundError(NAME, path)
        return entry

    def get_content(self, path: str) -> bytes:
        offset, size = self._entry(path)
        return self._data.pread(size, offset)

    def read_head(self, path: str, size: int) -> bytes:
        offset, length = self._entry(path)
        return self._data.pread(min(size, length), offset)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        start, size = self._entry(path)
        raw = _RangeReader(self._data, start + min(offset, size), start + size)
        return io.BufferedReader(raw, CHUNK)

    def stat(self, path: str) -> FileInfo:
        if path in self._files:
            return FileInfo(path, self._files[path][1])
        if path in self._children:
            return FileInfo(path, 0, is_dir=True)
        raise PathNotFoundError(NAME, path)

    def list_dir(self, path: str) -> list[str]:
        if path in self._children:
            return sorted(self._children[path])
        if path in self._files:
            raise StorageError(NAME, path, "not a directory")
        raise PathNotFoundError(NAME, path)

    def walk(self, path: str) -> Iterator[FileInfo]:
        if path != "/" and path not in self._children:
            raise PathNotFoundError(NAME, path)
        prefix = "" if path == "/" else path
        for name, (_, size) in self._files.items():
            if name.startswith(prefix + "/"):
                yield FileInfo(name, size)
