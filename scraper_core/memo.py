"""A per-run memo: each key computed once, however many threads ask for it at once.

Planning runs in a thread pool, and 30,000 tags on 4 manifests ask for the same manifest
30,000 times, often at the same moment: a plain dict would still let every thread that
arrives before the first answer read it again. Here the first asker computes and the others
wait for its answer. Failures are not remembered: the next asker tries again and raises its
own error (an exception object re-raised from many threads would pile up tracebacks).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Values by key, computed at most once each while computing succeeds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[K, V] = {}
        # Keys being computed, with the event their waiters wait on: made by the first
        # waiter only (planning one thread at a time, an event per key was a tenth of it).
        self._pending: dict[K, threading.Event | None] = {}

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: K, compute: Callable[[], V]) -> V:
        while True:
            with self._lock:
                if key in self._values:
                    return self._values[key]
                if key not in self._pending:
                    self._pending[key] = None
                    break
                running = self._pending[key]
                if running is None:
                    running = self._pending[key] = threading.Event()
            # Someone else is computing it: wait, then take the value or, if that failed,
            # try in turn.
            running.wait()
        try:
            value = compute()
            with self._lock:
                self._values[key] = value
            return value
        finally:
            with self._lock:
                waiting = self._pending.pop(key)
            if waiting is not None:
                waiting.set()
