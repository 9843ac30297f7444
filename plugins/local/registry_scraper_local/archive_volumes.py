"""The file(s) of an archive, whole or split, read as one byte stream.

A split set is named by its base name or its first volume (``ship.tar`` or ``ship.tar.000``).
Which volumes it must have comes from ``ship.tar.sha256`` beside it when that is there (the
writer lists every volume in it, ``sha256sum -c`` format), else from the numbering: a volume
missing from either is named. A set missing volumes after the last one found cannot be told
from the files alone: its stream then ends without the end-of-archive marker, and
:attr:`VolumeSet.listed` says whether a hint about missing volumes belongs in that message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from scraper_core.errors import ConfigurationError

#: A checksum file larger than this is not the writer's (64 bytes and a name per volume).
SUMS_LIMIT = 1024 * 1024
_SUM_LINE = re.compile(r"[0-9a-f]{64} [ *](.+)")


@dataclass(frozen=True)
class Part:
    fd: int
    start: int
    size: int
    name: str


@dataclass(frozen=True)
class VolumeSet:
    paths: list[str]
    #: The volumes are those a checksum file lists (so none is missing at the end).
    listed: bool

    @property
    def split(self) -> bool:
        return len(self.paths) > 1 or self.paths[0].endswith(".000")


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

    def volume_at(self, offset: int) -> str:
        """The name of the part holding ``offset`` (the last one past the end)."""
        for part in self.parts:
            if offset < part.start + part.size:
                return part.name
        return self.parts[-1].name

    def close(self) -> None:
        for part in self.parts:
            os.close(part.fd)
        self.parts = []


def volumes_of(location: str) -> VolumeSet:
    """The file(s) holding the archive named by ``location``; a missing volume is named."""
    if os.path.isfile(location) and not location.endswith(".000"):
        return VolumeSet([location], listed=False)
    base = location[:-4] if location.endswith(".000") else location
    listed = _listed_volumes(base)
    if listed:
        for path in listed:
            if not os.path.isfile(path):
                raise ConfigurationError(
                    f"tar: volume {path} of {base} is missing ({base}.sha256 lists it)"
                )
        return VolumeSet(listed, listed=True)
    numbers = _numbered_volumes(base)
    if not numbers:
        raise ConfigurationError(f"tar: no archive at {location} (nor volumes {base}.000, ...)")
    for expected in range(max(numbers) + 1):
        if expected not in numbers:
            raise ConfigurationError(
                f"tar: volume {base}.{expected:03d} is missing "
                f"(the set has volumes up to {base}.{max(numbers):03d})"
            )
    return VolumeSet([f"{base}.{n:03d}" for n in sorted(numbers)], listed=False)


def _listed_volumes(base: str) -> list[str]:
    """Volumes named in ``base.sha256``, in order; empty when it is absent or lists none."""
    directory = os.path.dirname(base) or "."
    try:
        with open(f"{base}.sha256", "rb") as sums:
            text = sums.read(SUMS_LIMIT + 1)
    except OSError:
        return []
    if len(text) > SUMS_LIMIT:
        return []
    names: list[str] = []
    for line in text.decode("utf-8", "replace").splitlines():
        match = _SUM_LINE.fullmatch(line)
        if match and _volume_number(os.path.basename(base), match.group(1)) is not None:
            names.append(os.path.join(directory, match.group(1)))
    return names


def _numbered_volumes(base: str) -> set[int]:
    directory = os.path.dirname(base) or "."
    try:
        entries = os.listdir(directory)
    except OSError:
        return set()
    numbers = {_volume_number(os.path.basename(base), entry) for entry in entries}
    return {
        number
        for number in numbers
        if number is not None and os.path.isfile(f"{base}.{number:03d}")
    }


def _volume_number(base_name: str, entry: str) -> int | None:
    """``N`` when ``entry`` is ``base_name.NNN`` as the writer names volume N."""
    suffix = entry[len(base_name) + 1 :]
    if not entry.startswith(base_name + ".") or not suffix.isdigit() or not suffix.isascii():
        return None
    number = int(suffix)
    return number if suffix == f"{number:03d}" else None


def open_volumes(volumes: VolumeSet) -> Concatenation:
    parts: list[Part] = []
    start = 0
    try:
        for path in volumes.paths:
            fd = os.open(path, os.O_RDONLY)
            parts.append(Part(fd, start, os.fstat(fd).st_size, os.path.basename(path)))
            start = parts[-1].start + parts[-1].size
    except OSError as exc:
        for part in parts:
            os.close(part.fd)
        raise ConfigurationError(f"tar: cannot read {path}: {exc.strerror}") from exc
    return Concatenation(parts)
