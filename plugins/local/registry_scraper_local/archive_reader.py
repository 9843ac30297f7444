"""A shipped archive as a read-only storage (``--storage tar --data-dir ship.tar.zst``).

The location is the archive (``ship.tar``), a split set by its base name or first volume
(``ship.tar`` or ``ship.tar.000``, see :mod:`archive_volumes`: a missing volume is named).
Compression is told from the first bytes, not the name.

Completeness is proven, not assumed: the members are walked strictly (:mod:`archive_walk`:
every header checked, the end-of-archive marker required, a cut or a damaged header anywhere
is one line naming the byte), and what was found is checked against the member index the
writer stores last (:mod:`archive_contents`). An archive without one (``tar -c`` of a tree, an
older scrape) is refused unless ``-o allow-unindexed=true``; it is then read as found, a name
stored twice meaning its last copy, as ``tar -x`` would leave it. With ``FILE.sha256`` beside
the set, every volume is then hashed against it (:mod:`shipment_check`: what no read reaches
is covered too). Only regular files are seen (no links, sparse files, devices), and only
those under the storage tree (unindexed: any clean path, never ``..``); nothing else is read
or spooled.

Reads are random access by offset (``pread``, so concurrent streams need no lock). A
compressed archive cannot be read at an offset: it is decompressed once, a bounded chunk at a
time (:mod:`archive_inflate`), and its kept members go into a spool beside it or in
``-o spool-dir=DIR`` (:mod:`archive_spool`), hashed on the way in. A plain archive is read in
place: its members up to :data:`SMALL_MEMBER` are hashed when it is opened, larger ones as
they are read. Memory holds the index of members only. The core still hashes every blob.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO, ClassVar

from registry_scraper_local.archive_contents import (
    INDEX_PATH,
    ContentsError,
    File,
    Stored,
    check_against_index,
    is_storage_path,
    member_path,
)
from registry_scraper_local.archive_index import (
    MAX_INDEX_SIZE,
    MAX_LINE,
    IndexEntry,
    MemberIndexError,
    parse,
)
from registry_scraper_local.archive_inflate import (
    CHUNK,
    PlainSource,
    StreamSource,
    inflate,
    is_compressed,
)
from registry_scraper_local.archive_spool import MemberSpool
from registry_scraper_local.archive_volumes import (
    Concatenation,
    VolumeSet,
    open_volumes,
    volumes_of,
)
from registry_scraper_local.archive_walk import DamagedArchiveError, Source, walk
from registry_scraper_local.shipment_check import (
    Provenance,
    check_listed_sums,
    check_shipment,
)
from scraper_core.contract import Capability, FileInfo, is_valid_path
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError

NAME = "tar"
#: Members up to this size (links, receipts) are checked against the index when a plain
#: archive is opened; larger ones as they are read.
SMALL_MEMBER = 64 * 1024
OPTIONS = {"spool-dir", "allow-unindexed", "trusted-keys"}
UNINDEXED_HINT = "read it anyway with -o allow-unindexed=true"


class _RangeReader(io.RawIOBase):
    """Bytes ``start`` to ``end`` of the archive; with ``sha256``, the read that reaches
    ``end`` raises StorageError if they were not the bytes the index lists."""

    def __init__(
        self, data: Concatenation, start: int, end: int, path: str, sha256: str | None
    ) -> None:
        self._data = data
        self._pos = start
        self._end = end
        self._path = path
        self._expected = sha256
        self._hasher = hashlib.sha256() if sha256 is not None else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._end - self._pos)
        if want <= 0:
            return 0
        chunk = self._data.pread(want, self._pos)
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        if self._hasher is not None:
            self._hasher.update(chunk)
            if self._pos >= self._end and self._hasher.hexdigest() != self._expected:
                raise _damaged(self._path)
        return len(chunk)


def _damaged(path: str) -> StorageError:
    return StorageError(NAME, path, "is damaged: its sha256 is not the one the archive lists")


class ArchiveReader:
    """Read-only: see the module docstring."""

    name: ClassVar[str] = NAME
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: Reads from a local file: the core plans from it with one thread.
    latency_bound: ClassVar[bool] = False

    def __init__(
        self, data: Concatenation, location: str, volumes: list[str], files: dict[str, File]
    ) -> None:
        self.location = location
        #: With ``-o trusted-keys``: who signed the shipment, and its receipt's sha256.
        self.provenance: dict[str, object] | None = None
        #: The file(s) read, in order: a writer must never replace or remove one of them.
        self.volumes = volumes
        self._data = data
        self._files = files
        self._children: dict[str, set[str]] = {"/": set()}
        for path in files:
            child = path
            while child != "/":
                parent = os.path.dirname(child)
                if parent in files:
                    raise ConfigurationError(
                        f"tar: {location} stores {parent} as a file and a directory"
                    )
                self._children.setdefault(parent, set()).add(child)
                child = parent

    @classmethod
    def open(cls, location: str, options: Mapping[str, str]) -> ArchiveReader:
        unknown = set(options) - OPTIONS
        if unknown:
            raise ConfigurationError(f"tar: unknown option(s): {', '.join(sorted(unknown))}")
        allow_unindexed = _flag(options, "allow-unindexed")
        path = os.path.expanduser(location)
        volumes = volumes_of(path)
        raw = open_volumes(volumes)
        spool: MemberSpool | None = None
        provenance: Provenance | None = None
        try:
            trusted = options.get("trusted-keys")
            if trusted is not None:
                # Before any byte of the archive is believed (or spooled).
                provenance = check_shipment(volumes, raw, os.path.expanduser(trusted), location)
            magic = raw.pread(4, 0)
            if is_compressed(magic):
                directory = options.get("spool-dir") or os.path.dirname(os.path.abspath(path))
                spool = MemberSpool(directory)
            files = _Opening(location, volumes, raw, spool, magic).files(allow_unindexed)
            if provenance is None:
                # After the walk, whose lines name the damaged byte and member; this catches
                # what no read would (see shipment_check).
                check_listed_sums(volumes, raw)
            data = raw if spool is None else spool.contents()
            reader = cls(data, location, volumes.paths, files)
            reader.provenance = None if provenance is None else provenance.document()
        except BaseException:
            if spool is not None:
                spool.close()
            raw.close()
            raise
        if spool is not None:
            raw.close()  # everything needed is in the spool now
        return reader

    def close(self) -> None:
        self._data.close()

    def _entry(self, path: str) -> File:
        entry = self._files.get(path)
        if entry is None:
            if path in self._children:
                raise StorageError(NAME, path, "is a directory")
            raise PathNotFoundError(NAME, path)
        return entry

    def get_content(self, path: str) -> bytes:
        entry = self._entry(path)
        data = self._data.pread(entry.size, entry.offset)
        if entry.unchecked_sha256 and hashlib.sha256(data).hexdigest() != entry.unchecked_sha256:
            raise _damaged(path)
        return data

    def read_head(self, path: str, size: int) -> bytes:
        entry = self._entry(path)
        return self._data.pread(min(size, entry.size), entry.offset)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        entry = self._entry(path)
        start = entry.offset + min(offset, entry.size)
        end = entry.offset + entry.size
        sha256 = entry.unchecked_sha256 if offset == 0 else None
        return io.BufferedReader(_RangeReader(self._data, start, end, path, sha256), CHUNK)

    def stat(self, path: str) -> FileInfo:
        if path in self._files:
            return FileInfo(path, self._files[path].size)
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
        for name, entry in self._files.items():
            if name.startswith(prefix + "/"):
                yield FileInfo(name, entry.size)


def _flag(options: Mapping[str, str], name: str) -> bool:
    value = options.get(name, "false").strip().lower()
    if value not in ("true", "false"):
        raise ConfigurationError(f"tar: -o {name}={options[name]}: true or false")
    return value == "true"


class _Opening:
    """One archive being indexed and checked; every failure is one ConfigurationError."""

    def __init__(
        self,
        location: str,
        volumes: VolumeSet,
        raw: Concatenation,
        spool: MemberSpool | None,
        magic: bytes,
    ) -> None:
        self.location = location
        self.volumes = volumes
        self.raw = raw
        self.spool = spool
        self.magic = magic

    def files(self, allow_unindexed: bool) -> dict[str, File]:
        try:
            stored, twice = self._walk(is_valid_path if allow_unindexed else is_storage_path)
            data = self.raw if self.spool is None else self.spool.contents()
            index = stored.pop(INDEX_PATH, None)
            if index is None:
                if not allow_unindexed:
                    raise ContentsError(
                        f"has no member index ({INDEX_PATH[1:]}): not written "
                        f"by this scraper, or by an older one; {UNINDEXED_HINT}"
                    )
                return {path: File(s.offset, s.size) for path, s in stored.items()}
            if INDEX_PATH in twice:
                raise ContentsError("stores its member index twice")
            files = check_against_index(stored, twice, self._index_entries(data, index))
            return self._check_small(data, files)
        except DamagedArchiveError as exc:
            raise ConfigurationError(self._describe(exc)) from None
        except ContentsError as exc:
            raise ConfigurationError(f"tar: {self.location} {exc}") from None
        except MemberIndexError as exc:
            raise ConfigurationError(
                f"tar: {self.location} has a damaged member index: {exc}"
            ) from None

    def _walk(self, keep: Callable[[str], bool]) -> tuple[dict[str, Stored], set[str]]:
        """Regular members whose paths are worth keeping (the last copy of each), and the
        paths stored more than once."""
        stored: dict[str, Stored] = {}
        twice: set[str] = set()
        source: Source
        if self.spool is None:
            source = PlainSource(self.raw)
        else:
            source = stream = StreamSource(inflate(self.raw, self.magic))
        try:
            for member in walk(source):
                path = member_path(member.name)
                if not member.regular or not keep(path):
                    continue
                if path in stored:
                    twice.add(path)
                if self.spool is None:
                    stored[path] = Stored(member.data_offset, member.size)
                else:
                    # A cut inside the data leaves fewer bytes: the walk then fails on it.
                    offset, sha256, _ = self.spool.take(source, member.size, path)
                    stored[path] = Stored(offset, member.size, sha256)
        finally:
            if self.spool is not None:
                stream.close()
        return stored, twice

    def _index_entries(self, data: Concatenation, index: Stored) -> Iterator[IndexEntry]:
        if index.size > MAX_INDEX_SIZE:
            raise ContentsError(
                f"has a member index of {index.size} bytes (at most {MAX_INDEX_SIZE})"
            )
        stream = io.BufferedReader(
            _RangeReader(data, index.offset, index.offset + index.size, INDEX_PATH, None), CHUNK
        )
        lines = iter(lambda: stream.readline(MAX_LINE + 1), b"")
        return parse(lines)

    def _check_small(self, data: Concatenation, files: dict[str, File]) -> dict[str, File]:
        for path, entry in files.items():
            if entry.unchecked_sha256 is None or entry.size > SMALL_MEMBER:
                continue
            content = data.pread(entry.size, entry.offset)
            if hashlib.sha256(content).hexdigest() != entry.unchecked_sha256:
                raise ContentsError(
                    f"has {path} damaged: its sha256 is not the one its index lists"
                )
            files[path] = File(entry.offset, entry.size)
        return files

    def _describe(self, exc: DamagedArchiveError) -> str:
        where = f"at byte {exc.offset}"
        if exc.stream is not None:
            where += f" of its {exc.stream} stream"
        elif self.spool is not None:
            where += " of its uncompressed stream"
        elif self.volumes.split:
            where += f" (in volume {self.raw.volume_at(exc.offset)})"
        line = f"tar: {self.location} {exc.what} {where}"
        if exc.at_end and self.volumes.split and not self.volumes.listed:
            last = os.path.basename(self.volumes.paths[-1])
            line += f"; the set may be missing volumes after {last}"
        return line
