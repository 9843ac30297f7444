"""A staged kernel copy waited for by its copying thread and cancelled by another at once.

On Ctrl-C the copy engine cancels running kernel copies from a thread of its own while the
thread that started the copy may be waiting for it (``wait``). Both waiting on the copying
thread with ``Thread.join`` once ended in "RuntimeError: release unlocked lock": CPython
3.11's join is not safe from two threads at once (one may release the lock the other just
took), rarely: the race is inside CPython. Here both wait at the same time, on purpose (the
copy is held by a gate until each caller has started to wait, whatever it waits on), and a
thread joined by two threads at once fails the test every time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from registry_scraper_local import kernel_copy as module
from registry_scraper_local.kernel_copy import CopyCancelledError, LocalStagedCopy
from scraper_core.errors import StorageError

#: Every wait in this test ends by then, or the test fails.
TIMEOUT = 30.0


class Gates:
    """The copy held until ``release``; which threads began a blocking wait."""

    def __init__(self) -> None:
        self.copying = threading.Event()
        self.release = threading.Event()
        #: Thread name -> set once that thread began a blocking wait.
        self.waiting = {name: threading.Event() for name in ("waiter", "canceller")}
        #: Threads being joined, by how many threads at once; those joined by two at once.
        self.joiners: dict[str, int] = {}
        self.joined_twice: list[str] = []
        self._lock = threading.Lock()

    def joining(self, thread: threading.Thread, step: int) -> None:
        with self._lock:
            count = self.joiners[thread.name] = self.joiners.get(thread.name, 0) + step
            if count > 1:
                self.joined_twice.append(thread.name)

    def began_waiting(self) -> None:
        event = self.waiting.get(threading.current_thread().name)
        if event is not None:
            event.set()

    def held_copy(self, source_fd: int, dest_fd: int, stop: threading.Event | None) -> int:
        self.copying.set()
        assert self.release.wait(TIMEOUT), "the test never let the copy end"
        if stop is not None and stop.is_set():
            raise CopyCancelledError
        return 0


@pytest.fixture
def gates(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gates]:
    """The copy gated, and every blocking wait a thread begins (``Thread.join``,
    ``Event.wait``, ``Lock.acquire`` is not one: it would see the test's own) reported."""
    found = Gates()
    real_join = threading.Thread.join
    real_wait = threading.Event.wait

    def join(self: threading.Thread, timeout: float | None = None) -> None:
        found.joining(self, 1)
        found.began_waiting()
        try:
            real_join(self, timeout)
        finally:
            found.joining(self, -1)

    def wait(self: threading.Event, timeout: float | None = None) -> bool:
        found.began_waiting()
        return real_wait(self, timeout)

    monkeypatch.setattr(module, "kernel_copy", found.held_copy)
    monkeypatch.setattr(threading.Thread, "join", join)
    monkeypatch.setattr(threading.Event, "wait", wait)
    yield found
    found.release.set()


def start(action: Callable[[], object], outcome: dict[str, object], name: str) -> threading.Thread:
    def run() -> None:
        try:
            outcome[name] = action()
        except BaseException as exc:  # the test asserts on it
            outcome[name] = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def test_a_cancel_while_the_copy_is_waited_for(tmp_path: Path, gates: Gates) -> None:
    discarded: list[int] = []
    source_fd = os.open(tmp_path, os.O_RDONLY)
    dest_fd = os.open(tmp_path, os.O_RDONLY)
    staged = LocalStagedCopy(
        source_fd,
        dest_fd,
        "/blob",
        publish=lambda: pytest.fail("a cancelled copy was published"),
        discard=lambda: discarded.append(1),
    )
    assert gates.copying.wait(TIMEOUT)
    outcome: dict[str, object] = {}
    waiter = start(staged.wait, outcome, "waiter")
    assert gates.waiting["waiter"].wait(TIMEOUT), "wait() never waited"
    canceller = start(staged.cancel, outcome, "canceller")
    # Both are waiting for the copy when it ends: the ordering that broke.
    assert gates.waiting["canceller"].wait(TIMEOUT), "cancel() never waited"
    gates.release.set()
    for thread in (waiter, canceller):
        thread.join(TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} still waiting"
    # What made it break, seen every time rather than once in hundreds of runs.
    assert gates.joined_twice == [], "the copying thread was joined by two threads at once"
    assert outcome["canceller"] is None, outcome
    failure = outcome["waiter"]
    assert isinstance(failure, StorageError) and "copy cancelled" in str(failure), outcome
    assert discarded == [1]
    # Cancelled is final: neither a second cancel nor a commit brings it back.
    staged.cancel()
    with pytest.raises(StorageError, match="cancelled"):
        staged.commit()
    assert discarded == [1]
