"""Progress for logs: one line on stderr every N seconds while blobs copy, where a terminal
would show a bar (as rclone prints its stats in CI logs).

``progress: 12.0 MiB of 48.0 MiB (25%), 3.1 MiB/s, 12 s left``. A thread wakes every
interval (waiting on an event, so stopping it is immediate) and prints what the byte counter
says; the copy's threads only add to the counter.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

import click

from scraper_core.wording import human_bytes

#: The default interval, in seconds (``--stats``; 0 turns the lines off).
DEFAULT_INTERVAL = 30.0


class ByteCounter:
    """Bytes done so far, added to from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = 0

    def add(self, size: int) -> int:
        with self._lock:
            self._done += size
            return self._done

    @property
    def done(self) -> int:
        with self._lock:
            return self._done


def progress_line(done: int, total: int, elapsed: float) -> str:
    rate = done / elapsed if elapsed > 0 else 0.0
    share = f" ({100 * done // total}%)" if total > 0 else ""
    left = f", {int((total - done) / rate)} s left" if rate > 0 and total > done else ""
    return (
        f"progress: {human_bytes(done)} of {human_bytes(total)}{share}, "
        f"{human_bytes(int(rate))}/s{left}"
    )


class ProgressLines:
    """A context: while it is open, a line every ``interval`` seconds from ``counter``."""

    def __init__(self, counter: ByteCounter, total: int, interval: float) -> None:
        self.counter = counter
        self.total = total
        self.interval = interval
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._tick, name="progress-lines", daemon=True)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            elapsed = time.monotonic() - self._started
            click.echo(progress_line(self.counter.done, self.total, elapsed), err=True)

    def __enter__(self) -> Self:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
