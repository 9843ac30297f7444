"""``scrape`` with a gate inside its copy: run as a script by :mod:`tests.support.copy_gate`.

A test that must act while a copy is under way (Ctrl-C, SIGKILL) cannot win a race against a
copy that may finish first on a fast or idle machine. Here the copy stops at a point the test
chose, says so, and goes on only when the test lets it: the run cannot end before the test has
acted. Everything else is the real ``scrape``: its CLI, drivers, threads and signal handling.

``SCRAPE_TEST_GATE`` is ``POINT:AFTER:REACHED_FD:RELEASE_FD``: the first thread to carry the
count of bytes through POINT to AFTER or more writes a byte to REACHED_FD, then blocks reading
RELEASE_FD until the test writes to it or closes it (a test that dies never leaves the run
stuck). Points:

- ``read``: blob bytes read through the core's checked readers (every streamed or hashed blob);
- ``kernel-copy``: bytes copied by the local driver's kernel copy, between two of its chunks.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable

GATE_ENV = "SCRAPE_TEST_GATE"


class Gate:
    """Closes once, on the call that brings the count to ``after`` bytes."""

    def __init__(self, after: int, reached_fd: int, release_fd: int) -> None:
        self._after = after
        self._reached_fd = reached_fd
        self._release_fd = release_fd
        self._seen = 0
        self._closed = False
        self._lock = threading.Lock()

    def passed(self, count: int) -> None:
        with self._lock:
            if self._closed:
                return
            self._seen += count
            if self._seen < self._after:
                return
            self._closed = True
        os.write(self._reached_fd, b"!")
        os.close(self._reached_fd)
        # A signal landing on this thread interrupts the read, which Python then resumes:
        # only the test ends this wait.
        os.read(self._release_fd, 1)
        os.close(self._release_fd)


def _gate_reads(gate: Gate) -> None:
    from scraper_core.checked import CheckedReader

    read = CheckedReader.read

    def gated_read(self: CheckedReader, size: int = -1) -> bytes:
        data = read(self, size)
        if "/blobs/" in self._path:
            gate.passed(len(data))
        return data

    CheckedReader.read = gated_read  # type: ignore[method-assign]


def _gate_kernel_copies(gate: Gate) -> None:
    from registry_scraper_local import kernel_copy

    def counted(call: Callable[..., int]) -> Callable[..., int]:
        def gated(*args: int) -> int:
            copied = call(*args)
            gate.passed(copied)
            return copied

        return gated

    # The module's own view of ``os``: nothing else in the process is gated.
    gated_os = types.SimpleNamespace(**vars(os))
    gated_os.copy_file_range = counted(os.copy_file_range)
    gated_os.sendfile = counted(os.sendfile)
    setattr(kernel_copy, "os", gated_os)  # noqa: B010 (mypy: the module does not export os)


POINTS = {"read": _gate_reads, "kernel-copy": _gate_kernel_copies}


def install(spec: str) -> None:
    point, after, reached_fd, release_fd = spec.split(":")
    POINTS[point](Gate(int(after), int(reached_fd), int(release_fd)))


if __name__ == "__main__":
    install(os.environ.pop(GATE_ENV))
    from scraper_core.cli import main

    sys.exit(main(prog_name="scrape"))
