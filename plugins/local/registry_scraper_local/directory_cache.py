"""Directory descriptors a run has checked, kept so that writes need not check them again.

Each write lands in a directory opened ``O_PATH`` and checked to lie under the root. Without a
cache every write opens its directory's parents again, level by level, and asks ``/proc`` where
each one is: a copy of 2,000 small blobs spent more time there than writing the blobs.

A kept descriptor is handed out only while its directory is still where it was checked: its
location (``/proc/self/fd``) must read exactly as it did then. A directory moved since (even
inside the root), removed, or replaced by a symlink is forgotten, and the caller looks the
path up afresh, checking it as a first lookup would. (The driver keeps only directories whose
path holds no symlink, so a descriptor found where it was checked is what that lookup would
find.) Each caller gets a duplicate that it
closes itself, so a descriptor evicted by another thread is never closed under its user.
Without ``/proc`` nothing can be re-checked this cheaply, and nothing is kept.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict

_PROC_FD = "/proc/self/fd"


def _location(fd: int) -> str | None:
    """Where the open directory ``fd`` is now, exactly as ``/proc`` says it (a removed one
    reads ``"<path> (deleted)"``, which matches no kept location)."""
    try:
        return os.readlink(f"{_PROC_FD}/{fd}")
    except OSError:
        return None


class DirectoryCache:
    """At most ``size`` checked directory descriptors, by storage path, least recent first."""

    def __init__(self, size: int) -> None:
        self._size = size if os.path.isdir(_PROC_FD) else 0
        self._entries: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()
        # A driver dropped without close() (tests, short-lived helpers) leaks no descriptor.
        weakref.finalize(self, _close_all, self._entries)

    def get(self, directory: str) -> tuple[int, str] | None:
        """A descriptor of its own for the caller, and the directory's real path, if
        ``directory`` is kept and still where it was checked; else None."""
        with self._lock:
            entry = self._entries.get(directory)
            if entry is None:
                return None
            self._entries.move_to_end(directory)
            fd = os.dup(entry[0])
        if _location(fd) == entry[1]:
            return fd, entry[1]
        os.close(fd)
        self._forget(directory, entry)
        return None

    def _forget(self, directory: str, entry: tuple[int, str]) -> None:
        with self._lock:
            if self._entries.get(directory) != entry:
                return  # evicted (and closed) or replaced by another thread meanwhile
            del self._entries[directory]
        os.close(entry[0])

    def remember(self, directory: str, fd: int, real: str) -> None:
        """Keep a duplicate of ``fd``, just checked to be the directory at ``real``."""
        if not self._size:
            return
        kept = os.dup(fd)
        with self._lock:
            evicted = [] if (old := self._entries.pop(directory, None)) is None else [old]
            self._entries[directory] = (kept, real)
            while len(self._entries) > self._size:
                evicted.append(self._entries.popitem(last=False)[1])
        for old_fd, _ in evicted:
            os.close(old_fd)

    def clear(self) -> None:
        """Close every kept descriptor (the run is over; a later write looks paths up)."""
        with self._lock:
            _close_all(self._entries)


def _close_all(entries: OrderedDict[str, tuple[int, str]]) -> None:
    kept = list(entries.values())
    entries.clear()
    for fd, _ in kept:
        os.close(fd)
