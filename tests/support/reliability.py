"""Figures for docs/reliability.md, recorded by the tests that measure them.

A test that tries a fault calls :func:`record` with what it tried and what held; at the end of
the session the collected rows are written to ``tests/reliability-results.json`` (gitignored)
and rendered into ``docs/reliability.md`` between its generated-section markers, so the
figures in the docs are the ones the last run measured, never typed by hand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

Figure = int | float | str


@dataclass
class Row:
    """One kind of fault tried: how, how many runs, whether it held, and its figures."""

    key: str
    title: str
    how: str
    runs: int = 0
    held: bool = True
    outcome: str = ""
    figures: dict[str, Figure] = field(default_factory=dict)


_rows: dict[str, Row] = {}
_lock = threading.Lock()


def record(
    key: str,
    *,
    title: str,
    how: str,
    held: bool,
    outcome: str,
    runs: int = 1,
    figures: dict[str, Figure] | None = None,
) -> None:
    """Add ``runs`` runs to row ``key`` (a parametrized test calls it once per case).

    ``held`` is False as soon as one run did not hold; ``outcome`` is the last run's one-line
    summary; ``figures`` are summed when numeric, else replaced.
    """
    with _lock:
        row = _rows.setdefault(key, Row(key, title, how))
        row.runs += runs
        row.held = row.held and held
        row.outcome = outcome
        for name, value in (figures or {}).items():
            previous = row.figures.get(name)
            if isinstance(previous, int | float) and isinstance(value, int | float):
                row.figures[name] = previous + value
            else:
                row.figures[name] = value


def rows() -> list[Row]:
    with _lock:
        return sorted(_rows.values(), key=lambda row: row.key)
