"""The one place beside an archive where a large blob waits for its digest to be checked.

A tar header carries the entry's size and the copy engine only knows a blob is good after its
last byte, so a blob cannot go straight into a stream that cannot be taken back. Small objects
wait in memory (one bounded buffer per writer); a larger one waits here. There is one spool
per archive, taken by one writer at a time, so the extra disk is at most one blob, next to the
archive (an archive on standard output has no "next to": the temp directory, or ``spool-dir``).
The file is made with ``O_EXCL`` (no link at its name is followed) and unlinked as soon as it
is created: whatever happens to the run, nothing is left behind.

An interrupted run closes the archive (:meth:`BlobSpool.close`) while a copy thread may still
hold the spool: its descriptor is then closed by that writer as it gives the spool back, never
under it (a number closed under a writer can be reused by another file the run opens, and the
writer's next write or truncate would land there).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator

from registry_scraper_local.archive_writer import write_all
from scraper_core.errors import StorageError

READ_CHUNK = 1024 * 1024
_WAIT = 0.2


class BlobSpool:
    def __init__(self, directory: str, driver: str) -> None:
        self.directory = directory
        self.driver = driver
        #: Held by the writer that owns the spool, from :meth:`take` to :meth:`give_back`.
        self._lock = threading.Lock()
        #: Guards ``_held`` and ``_closed`` (never waited on for long).
        self._state = threading.Lock()
        self._held = False
        self._closed = False
        self._fd: int | None = None
        self._size = 0

    def take(self, path: str, stop: Callable[[], bool]) -> None:
        """Wait for the spool (until ``stop()``), then own it, empty."""
        while not self._lock.acquire(timeout=_WAIT):
            if stop():
                raise StorageError(self.driver, path, "the archive was closed")
        try:
            with self._state:
                if self._closed:
                    raise StorageError(self.driver, path, "the archive was closed")
                self._held = True
            if self._fd is None:
                self._fd = self._create()
        except BaseException:
            with self._state:
                self._held = False
            self._lock.release()
            raise
        self._size = 0

    def _create(self) -> int:
        name = os.path.join(self.directory, f".scrape-spool-{secrets.token_hex(6)}")
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o600)
        os.unlink(name)
        return fd

    def write(self, data: bytes) -> None:
        assert self._fd is not None
        write_all(self._fd, data)
        self._size += len(data)

    def chunks(self) -> Iterator[bytes]:
        assert self._fd is not None
        offset = 0
        while offset < self._size:
            chunk = os.pread(self._fd, min(READ_CHUNK, self._size - offset), offset)
            if not chunk:
                raise OSError(f"spool file shrank at {offset} of {self._size} bytes")
            offset += len(chunk)
            yield chunk

    def give_back(self) -> None:
        """Empty the spool (its disk space is freed) and let the next writer have it."""
        try:
            if self._fd is not None:
                os.ftruncate(self._fd, 0)
                os.lseek(self._fd, 0, os.SEEK_SET)
        finally:
            self._size = 0
            with self._state:
                self._held = False
                if self._closed:
                    self._close_file()
            self._lock.release()

    def close(self) -> None:
        """No writer may take the spool any more; its file is closed now, or by the writer
        holding it when it gives it back."""
        with self._state:
            self._closed = True
            if not self._held:
                self._close_file()

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
