"""A strict walk over the headers of a tar stream: damage anywhere is an error, never an end.

:mod:`tarfile`'s iteration takes a bad header after the first one for the end of the archive
and reads GNU long names and pax headers into memory whatever size they announce. This walk
decodes one 512-byte header at a time with :meth:`tarfile.TarInfo.frombuf` (which checks its
checksum) and requires, in order: every header sound; pax (``x``, ``g``) and GNU long-name
(``L``, ``K``) data no larger than a storage path can need, refused before it is read; zero
padding after every member's data; the end-of-archive marker (two zero blocks); and nothing
but zeros after it, read no further than :data:`TRAILER_LIMIT`. A cut anywhere, however it
falls, is :class:`DamagedArchiveError` naming the byte offset.

Members are yielded as they come; the consumer may read a member's data from the source
before asking for the next one, and whatever it leaves is skipped by its stored size, so a
sparse file or a device costs nothing but its headers.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
#: pax records of a storage path: its name, size and time fit many times over.
PAX_LIMIT = 64 * 1024
#: A GNU long name or link name: a storage path is far shorter.
LONG_NAME_LIMIT = 8 * 1024
#: Zeros after the end marker (record padding) are checked this far, then reading stops.
TRAILER_LIMIT = 1024 * 1024
_TRAILER_CHUNK = 64 * 1024
#: Types that carry no data whatever their size field says (as tarfile and GNU tar read them).
_NO_DATA = {
    tarfile.LNKTYPE,
    tarfile.SYMTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
    tarfile.DIRTYPE,
    tarfile.FIFOTYPE,
}
_REGULAR = {tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE}
_PAX_TYPES = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE}
_PAX_LENGTH = re.compile(rb"([1-9][0-9]{0,5}) ")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
#: Offsets in an old GNU sparse header (and its extension blocks) of the "more follow" flag.
_GNU_SPARSE_EXTENDED = 482
_GNU_SPARSE_EXTENSION_EXTENDED = 504


class DamagedArchiveError(Exception):
    """The stream is not a whole, sound tar archive.

    ``what`` reads after the archive's name (``has a damaged header``), ``offset`` is the byte
    it concerns, in the ``stream`` named when that is not the one walked (``compressed``);
    ``at_end`` says the stream stopped early (a cut, or volumes missing)."""

    def __init__(
        self, offset: int, what: str, *, at_end: bool = False, stream: str | None = None
    ) -> None:
        super().__init__(f"{what} at byte {offset}")
        self.offset = offset
        self.what = what
        self.at_end = at_end
        self.stream = stream


class Source(Protocol):
    """The stream walked: bytes in order, from :attr:`position`."""

    @property
    def position(self) -> int: ...

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the stream."""
        ...

    def skip(self, size: int) -> int:
        """Pass over up to ``size`` bytes; how many there were (fewer only at the end)."""
        ...


@dataclass(frozen=True)
class Member:
    #: As stored, long names and pax ``path`` applied.
    name: str
    #: A plain regular file (not sparse, a link, a directory or a device).
    regular: bool
    #: Bytes of data stored after the header(s).
    size: int
    #: Where that data starts in the stream.
    data_offset: int


def walk(source: Source) -> Iterator[Member]:
    """Every member of the stream, checked as described in the module docstring."""
    pending: dict[str, str] = {}  # from pax 'x' and GNU 'L' headers, for the next member
    global_fields: dict[str, str] = {}  # from pax 'g' headers, for every member after them
    while True:
        start = source.position
        block = source.read(BLOCK)
        if not block:
            raise DamagedArchiveError(start, "ends without its end-of-archive marker", at_end=True)
        if len(block) != BLOCK:
            raise DamagedArchiveError(source.position, "ends inside a header", at_end=True)
        if block == ZERO_BLOCK:
            if pending:
                raise DamagedArchiveError(start, "has an extended header with no member after it")
            _check_end(source, start)
            return
        info = _decode(block, start)
        if info.type in _PAX_TYPES:
            data = _read_capped(source, info.size, PAX_LIMIT, "a pax header", start)
            fields = _pax_fields(data, start)
            (global_fields if info.type == tarfile.XGLTYPE else pending).update(fields)
            continue
        if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
            data = _read_capped(source, info.size, LONG_NAME_LIMIT, "a GNU long name", start)
            if info.type == tarfile.GNUTYPE_LONGNAME:
                pending["gnu-name"] = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            continue
        if info.type == tarfile.GNUTYPE_SPARSE and block[_GNU_SPARSE_EXTENDED]:
            _skip_sparse_extensions(source)
        fields = {**global_fields, **pending}
        pending = {}
        size = int(fields["size"]) if "size" in fields else info.size
        stored = 0 if info.type in _NO_DATA else size
        sparse = info.type == tarfile.GNUTYPE_SPARSE or "sparse" in fields
        name = fields.get("path") or fields.get("gnu-name") or info.name
        data_offset = source.position
        yield Member(name, info.type in _REGULAR and not sparse, stored, data_offset)
        read = source.position - data_offset
        if not 0 <= read <= stored:
            raise AssertionError(f"the consumer of {name} read {read} of its {stored} bytes")
        if source.skip(stored - read) != stored - read:
            raise DamagedArchiveError(
                source.position, f"ends inside the data of {name}", at_end=True
            )
        _check_padding(source, stored, name)


def _decode(block: bytes, offset: int) -> tarfile.TarInfo:
    try:
        info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except (tarfile.HeaderError, ValueError) as exc:
        raise DamagedArchiveError(offset, f"has a damaged header ({exc})") from None
    if info.size < 0:
        raise DamagedArchiveError(offset, "has a header with a negative size")
    return info


def _read_exact(source: Source, size: int, where: str) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise DamagedArchiveError(source.position, f"ends {where}", at_end=True)
    return data


def _read_capped(source: Source, size: int, limit: int, what: str, offset: int) -> bytes:
    if size > limit:
        raise DamagedArchiveError(offset, f"has {what} of {size} bytes (at most {limit} are read)")
    data = _read_exact(source, size, f"inside {what}")
    _check_padding(source, size, what)
    return data


def _check_padding(source: Source, size: int, after: str) -> None:
    padding = -size % BLOCK
    if not padding:
        return
    start = source.position
    if _read_exact(source, padding, f"inside the padding after {after}") != bytes(padding):
        raise DamagedArchiveError(start, f"has non-zero padding after {after}")


def _skip_sparse_extensions(source: Source) -> None:
    """Old GNU sparse headers may continue in extension blocks: they are part of the header."""
    while True:
        block = _read_exact(source, BLOCK, "inside a sparse header")
        if not block[_GNU_SPARSE_EXTENSION_EXTENDED]:
            return


def _pax_fields(data: bytes, offset: int) -> dict[str, str]:
    """The pax records this reader uses (``path``, ``size``, sparse or not); records must
    fill the data exactly, as POSIX writes them."""
    fields: dict[str, str] = {}
    position = 0
    while position < len(data):
        match = _PAX_LENGTH.match(data, position)
        end = position + int(match.group(1)) if match else 0
        if match is None or end > len(data) or data[end - 1 : end] != b"\n":
            raise DamagedArchiveError(offset, "has a damaged pax header")
        key, equals, value = data[match.end() : end - 1].partition(b"=")
        if not equals:
            raise DamagedArchiveError(offset, "has a damaged pax header")
        text = value.decode("utf-8", "surrogateescape")
        if key == b"path":
            fields["path"] = text
        elif key == b"size":
            if not _SIZE.fullmatch(text):
                raise DamagedArchiveError(offset, "has a pax header with a bad size")
            fields["size"] = text
        elif key.startswith(b"GNU.sparse."):
            fields["sparse"] = "yes"
        position = end
    return fields


def _check_end(source: Source, start: int) -> None:
    second = _read_exact(source, BLOCK, "inside its end-of-archive marker")
    if second != ZERO_BLOCK:
        raise DamagedArchiveError(start, "has a lone zero block where a header should be")
    left = TRAILER_LIMIT
    while left > 0:
        position = source.position
        chunk = source.read(min(left, _TRAILER_CHUNK))
        if not chunk:
            return
        rest = chunk.lstrip(b"\0")
        if rest:
            where = position + len(chunk) - len(rest)
            raise DamagedArchiveError(where, "has data after its end-of-archive marker")
        left -= len(chunk)
