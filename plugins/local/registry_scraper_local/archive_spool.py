"""Where a compressed archive's kept members go so that they can be read at an offset.

Only the members worth keeping enter (storage files and the member index), one after the
other, each hashed on its way in. Before one enters, the size its header declares is checked
against the free space of the spool's filesystem, so a header announcing a terabyte is one
line and the spool never grows for it. The file is unlinked as soon as it is made: it vanishes
with the process whatever happens.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from registry_scraper_local.archive_volumes import Concatenation, Part
from registry_scraper_local.archive_walk import Source
from registry_scraper_local.archive_writer import write_all
from scraper_core.errors import ConfigurationError

CHUNK = 1024 * 1024


class MemberSpool:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        name = os.path.join(directory, f".scrape-unpacked-{secrets.token_hex(6)}")
        try:
            self._fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise ConfigurationError(
                f"tar: cannot make the decompression spool in {directory} ({exc.strerror}); "
                "give another with -o spool-dir=DIR"
            ) from exc
        os.unlink(name)
        self.size = 0

    def take(self, source: Source, size: int, name: str) -> tuple[int, str, int]:
        """Copy the next ``size`` bytes of ``source`` (member ``name``'s data) to the end of the
        spool: where they start, their sha256 and how many there were (fewer at a cut)."""
        free = self._free()
        if size > free:
            raise ConfigurationError(
                f"tar: {name} declares {size} bytes; the spool in {self.directory} has {free} "
                "free (give another with -o spool-dir=DIR)"
            )
        start, hasher, left = self.size, hashlib.sha256(), size
        try:
            while left and (chunk := source.read(min(left, CHUNK))):
                write_all(self._fd, chunk)
                hasher.update(chunk)
                self.size += len(chunk)
                left -= len(chunk)
        except OSError as exc:
            raise ConfigurationError(f"tar: decompressing into {self.directory}: {exc}") from exc
        return start, hasher.hexdigest(), size - left

    def _free(self) -> int:
        stats = os.fstatvfs(self._fd)
        return stats.f_bavail * stats.f_frsize

    def contents(self) -> Concatenation:
        """What was spooled, to be read at offsets; closing it closes the spool."""
        return Concatenation([Part(self._fd, 0, self.size, "spool")])

    def close(self) -> None:
        os.close(self._fd)
