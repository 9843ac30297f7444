"""Run test work in threads with every wait bounded and every thread's failure reported.

A conformance test that waits without a timeout turns one broken driver call into a hung test
run (a thread that raises before a barrier leaves the others waiting forever). Here each wait
has a deadline, a failing thread wakes the others (``on_error`` aborts barriers, sets events),
and the report names every thread that failed, the first failure first, since it is usually
the cause of the rest.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

T = TypeVar("T")

#: Seconds a suite waits for its threads by default: generous, for slow emulators on a loaded
#: machine, but finite.
DEFAULT_TIMEOUT = 300.0


class ThreadsFailedError(AssertionError):
    """One or more threads raised or did not finish in time (an AssertionError, so pytest
    reports a failed test with the message below rather than an error)."""


def run_threads(
    tasks: Sequence[Callable[[], T]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    on_error: Callable[[], None] | None = None,
) -> list[T]:
    """Run each task in its own daemon thread; return their results in order.

    Waits at most ``timeout`` seconds in all. ``on_error`` runs once, at the first failure, to
    release threads blocked on the failed one (abort a barrier, set an event). Raises
    :class:`ThreadsFailedError` naming each failed thread (type, message, where it raised) and
    each one still running at the deadline; hung threads are daemons, so they cannot keep the
    interpreter from exiting.
    """
    results: list[T | None] = [None] * len(tasks)
    failures: list[tuple[int, BaseException]] = []
    lock = threading.Lock()

    def run(index: int, task: Callable[[], T]) -> None:
        try:
            results[index] = task()
        except BaseException as exc:
            with lock:
                failures.append((index, exc))
                first = len(failures) == 1
            if first and on_error is not None:
                on_error()

    threads = [
        threading.Thread(target=run, args=(index, task), name=f"suite-{index}", daemon=True)
        for index, task in enumerate(tasks)
    ]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hung = [index for index, thread in enumerate(threads) if thread.is_alive()]
    if hung and on_error is not None:
        on_error()
    with lock:
        failed = list(failures)
    if failed or hung:
        lines = [_describe(index, exc) for index, exc in failed]
        if hung:
            lines.append(f"thread(s) {hung} still running after {timeout:g} s")
        message = f"{len(failed)} of {len(tasks)} thread(s) failed:\n" + "\n".join(lines)
        raise ThreadsFailedError(message) from (failed[0][1] if failed else None)
    return cast("list[T]", results)


def _describe(index: int, exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)
    place = f" at {where[-1].filename}:{where[-1].lineno}" if where else ""
    return f"  thread {index}: {type(exc).__name__}: {exc}{place}"
