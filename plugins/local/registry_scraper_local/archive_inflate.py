"""A compressed archive's tar stream, decompressed a bounded chunk at a time.

Whatever ratio the input has, no call yields more than :data:`CHUNK` bytes: gzip is inflated
with ``max_length`` (looping on ``unconsumed_tail``), zstd through a stream reader asked for a
chunk at a time, its window capped at libzstd's default limit. Damage in the compressed
stream is :class:`DamagedArchiveError` with one plain sentence; a stream cut short is too (gzip
says so itself; for zstd the tar walk finds the tar stream cut).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator

from registry_scraper_local.archive_volumes import Concatenation
from registry_scraper_local.archive_walk import DamagedArchiveError
from scraper_core.errors import ConfigurationError

CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: Compressed bytes handed to zlib at once.
_GZIP_INPUT = 256 * 1024
#: A zstd frame asking for a larger window is refused (zstd(1) refuses it without --long).
ZSTD_WINDOW_LIMIT = 1 << 27


def is_compressed(magic: bytes) -> bool:
    return magic.startswith(GZIP_MAGIC) or magic == ZSTD_MAGIC


def inflate(raw: Concatenation, magic: bytes) -> Iterator[bytes]:
    """The decompressed bytes of the whole (gzip or zstd) stream, at most CHUNK at a time."""
    if magic.startswith(GZIP_MAGIC):
        return _gunzip(raw)
    return _unzstd(raw)


def _gunzip(raw: Concatenation) -> Iterator[bytes]:
    offset = 0
    member: zlib._Decompress | None = None  # the gzip member being inflated
    while offset < raw.size:
        data = raw.pread(_GZIP_INPUT, offset)
        fed, offset = offset, offset + len(data)
        while data:
            if member is None:
                member = zlib.decompressobj(31)
            try:
                out = member.decompress(data, CHUNK)
            except zlib.error as exc:
                what = f"has its gzip stream damaged ({exc})"
                raise DamagedArchiveError(fed, what, stream="compressed") from None
            if out:
                yield out
            rest = member.unused_data if member.eof else member.unconsumed_tail
            fed += len(data) - len(rest)
            if member.eof:
                # Concatenated gzip members (pigz, cat a.gz b.gz) continue in a new one.
                data, member = member.unused_data, None
            else:
                data = member.unconsumed_tail
        # Output still held back for want of room comes out with no more input.
        while member is not None and not member.eof and (out := member.decompress(b"", CHUNK)):
            yield out
    if member is not None and not member.eof:
        what = "has its gzip stream cut short"
        raise DamagedArchiveError(raw.size, what, at_end=True, stream="compressed")


class _RawView(io.RawIOBase):
    """The compressed bytes as a file object, for zstandard's stream reader."""

    def __init__(self, data: Concatenation) -> None:
        self._data = data
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data.pread(min(len(buffer), self._data.size - self._position), self._position)
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


def _unzstd(raw: Concatenation) -> Iterator[bytes]:
    try:
        import zstandard
    except ImportError:
        raise ConfigurationError(
            "tar: .zst needs the zstandard package (pip install 'registry-scraper-local[zst]')"
        ) from None
    decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_WINDOW_LIMIT)
    reader = decompressor.stream_reader(
        io.BufferedReader(_RawView(raw), CHUNK), read_across_frames=True
    )
    produced = 0
    while True:
        try:
            chunk = reader.read(CHUNK)
        except zstandard.ZstdError as exc:
            what = f"has its zstd stream damaged ({exc})"
            raise DamagedArchiveError(produced, what, stream="uncompressed") from None
        if not chunk:
            return
        produced += len(chunk)
        yield chunk


class StreamSource:
    """A :class:`~registry_scraper_local.archive_walk.Source` over decompressed chunks;
    holds one chunk at a time."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._used = 0
        self._position = 0

    @property
    def position(self) -> int:
        return self._position

    def _take(self, size: int) -> bytes:
        """Up to ``size`` bytes of the current chunk (the next one once it is used up)."""
        if self._used == len(self._chunk):
            self._chunk, self._used = next(self._chunks, b""), 0
        piece = self._chunk[self._used : self._used + size]
        self._used += len(piece)
        self._position += len(piece)
        return piece

    def read(self, size: int) -> bytes:
        pieces: list[bytes] = []
        while size > 0 and (piece := self._take(size)):
            pieces.append(piece)
            size -= len(piece)
        return b"".join(pieces)

    def skip(self, size: int) -> int:
        skipped = 0
        while skipped < size and (piece := self._take(min(size - skipped, CHUNK))):
            skipped += len(piece)
        return skipped

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class PlainSource:
    """A :class:`~registry_scraper_local.archive_walk.Source` over an uncompressed archive:
    skipping costs nothing."""

    def __init__(self, data: Concatenation) -> None:
        self._data = data
        self._position = 0

    @property
    def position(self) -> int:
        return self._position

    def read(self, size: int) -> bytes:
        chunk = self._data.pread(min(size, self._data.size - self._position), self._position)
        self._position += len(chunk)
        return chunk

    def skip(self, size: int) -> int:
        skipped = min(size, self._data.size - self._position)
        self._position += skipped
        return skipped
