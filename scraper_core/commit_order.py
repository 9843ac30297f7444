"""Turns to commit in: blobs copied in parallel, committed in the order they were planned.

A destination that :func:`~scraper_core.contract.commits_in_order` (an archive, whose bytes
are the order of its members) gets the same bytes from the same content and command only if
its blobs arrive in a fixed order, whatever order their streams finish in. Each blob has a
place in the plan; it may commit once every blob before it has committed or given up (failed,
found present, cancelled). Waits wake every :data:`POLL_INTERVAL` to see whether the run
stopped, so an interrupt never leaves a thread waiting for a turn that will not come.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

#: How often a blob waiting for its turn checks whether the run has stopped.
POLL_INTERVAL = 0.2


class CommitOrder:
    """Places ``0, 1, 2, ...``: place ``n`` has its turn once every place before it ended."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        # Every place below this one has ended; those above it that ended already.
        self._first_open = 0
        self._ended_early: set[int] = set()

    def wait_for_turn(self, place: int, check_go: Callable[[], None]) -> None:
        """Return once ``place`` may commit; ``check_go`` raises if the run stopped."""
        with self._changed:
            while self._first_open < place:
                check_go()
                self._changed.wait(POLL_INTERVAL)
        # Nor once it has come, if the run stopped meanwhile: nothing is committed after that.
        check_go()

    def end(self, place: int) -> None:
        """``place`` committed or gave up its turn: the next one may go."""
        with self._changed:
            self._ended_early.add(place)
            while self._first_open in self._ended_early:
                self._ended_early.discard(self._first_open)
                self._first_open += 1
            self._changed.notify_all()


class Turn:
    """One blob's place; without an order (most destinations) waiting returns at once."""

    def __init__(self, order: CommitOrder | None, place: int, check_go: Callable[[], None]) -> None:
        self._order = order
        self._place = place
        self._check_go = check_go
        self._ended = False

    def wait(self) -> None:
        """Block until this blob may write to the destination (again and again: idempotent)."""
        if self._order is not None:
            self._order.wait_for_turn(self._place, self._check_go)

    def end(self) -> None:
        """Give up the turn, whatever happened; only the first call counts."""
        if self._order is not None and not self._ended:
            self._ended = True
            self._order.end(self._place)


def no_turn() -> Turn:
    """The turn of a blob copied for a destination that needs no order."""
    return Turn(None, 0, _go)


def _go() -> None:
    pass
