"""One writer per archive: ``FILE.lock`` beside it, held with ``flock`` for the whole run.

The lock file names its holder (pid, host, start time) so a second run fails at once saying
who has it. ``flock`` is released by the kernel when the holder dies, so a killed run never
leaves a stale lock, only a stale file, which the next run takes over. The file is removed on
release; a run that opened the file just before the removal notices that the path no longer
names what it locked and tries again.

The file is opened without following a symlink and must be a regular file: a run (often as
root) never writes through a ``FILE.lock`` someone placed there, nor blocks on a FIFO.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time

from registry_scraper_local.archive_files import open_regular
from scraper_core.errors import ConfigurationError

_ATTEMPTS = 5


class ArchiveLock:
    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, archive: str) -> ArchiveLock:
        path = archive + ".lock"
        for _ in range(_ATTEMPTS):
            fd = open_regular(path, os.O_RDWR | os.O_CREAT, "lock")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise ConfigurationError(
                    f"tar: {archive} is being written by another run ({holder}; lock {path})"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            if os.fstat(fd).st_nlink > 1:
                # A hard link: truncating it would rewrite another name's content.
                os.close(fd)
                raise ConfigurationError(f"tar: lock {path} has other hard links; remove it first")
            try:
                now = os.lstat(path)
                locked = os.fstat(fd)
                same = (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino)
            except FileNotFoundError:
                same = False
            if not same:
                # The holder removed the file as we opened it: ours is an orphan inode.
                os.close(fd)
                continue
            started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            note = f"pid {os.getpid()} on {socket.gethostname()} since {started}\n"
            os.ftruncate(fd, 0)
            os.pwrite(fd, note.encode(), 0)
            return cls(path, fd)
        raise ConfigurationError(f"tar: could not lock {path}: it keeps being replaced")

    def release(self) -> None:
        """Remove the file, then unlock (in that order: see the module docstring)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"
