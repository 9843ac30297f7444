"""Figures for docs/reliability.md, recorded by the tests that measure them.

A test that tries a fault calls :func:`record` with what it tried and what held; at the end of
the session the collected rows are written to ``tests/reliability-results.json`` (gitignored)
and rendered into ``docs/reliability.md`` between its generated-section markers, so the
figures in the docs are the ones the last run measured, never typed by hand.

Rows merge into the results file across sessions (``make test-local`` then ``make test-s3``
gives both sets), each with the date it was measured. The docs are rewritten only when the
session ran the whole suite with no failure (``make test``), or when ``RELIABILITY_DOCS=1``
asks for it; any other run only updates the results file. Use :func:`record` (or the
:func:`measuring` context manager, which records a failed run as not held) from any test.

What a row tried and what held when it holds are said in ``tests/reliability-rows.toml``
under the row's key, so a test names its row in one line; a test passes ``title``, ``how``
or ``outcome`` itself only where it computes them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import textwrap
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


#: Rows by key and by the test file that recorded them (see :func:`save_results`).
_rows: dict[tuple[str, str], Row] = {}
_lock = threading.Lock()


#: What each row tried and what held (title, how, outcome), by key.
DESCRIBED = Path(__file__).resolve().parent.parent / "reliability-rows.toml"


@functools.cache
def _described() -> dict[str, dict[str, str]]:
    with DESCRIBED.open("rb") as file:
        return tomllib.load(file)


def described(
    key: str, title: str | None = None, how: str | None = None, outcome: str | None = None
) -> tuple[str, str, str]:
    """Row ``key``'s title, how and outcome: those given, else those of ``DESCRIBED``."""
    said = _described().get(key, {})
    title, how = title or said.get("title"), how or said.get("how")
    if not title or not how:
        raise KeyError(f"reliability row {key!r}: no title and how in {DESCRIBED.name}")
    return title, how, outcome if outcome is not None else said.get("outcome", "")


def record(
    key: str,
    *,
    title: str | None = None,
    how: str | None = None,
    outcome: str | None = None,
    held: bool = True,
    runs: int = 1,
    figures: dict[str, Figure] | None = None,
) -> None:
    """Add ``runs`` runs to row ``key`` (a parametrized test calls it once per case).

    ``held`` is False as soon as one run did not hold (a test that records after its
    assertions passed leaves it at True); ``outcome`` is the last run's one-line
    summary; ``figures`` are summed when numeric, else replaced.
    """
    # The test file recording, so that a later session measuring only some files replaces
    # only their share of a row that several files feed.
    source = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[0]
    title, how, outcome = described(key, title, how, outcome)
    update = Row(key, title, how, runs, held, outcome, dict(figures or {}))
    with _lock:
        _add(_rows.setdefault((key, source), Row(key, title, how)), update)


def _add(row: Row, update: Row) -> None:
    row.title, row.how = update.title, update.how
    row.runs += update.runs
    row.held = row.held and update.held
    row.outcome = update.outcome or row.outcome
    for name, value in update.figures.items():
        previous = row.figures.get(name)
        if isinstance(previous, int | float) and isinstance(value, int | float):
            row.figures[name] = previous + value
        else:
            row.figures[name] = value


def parts() -> list[tuple[str, Row]]:
    """Every (test file, row) recorded in this session."""
    with _lock:
        return [(source, Row(**asdict(row))) for (_key, source), row in sorted(_rows.items())]


def rows() -> list[Row]:
    """This session's rows, each summed over the test files that recorded it."""
    combined: dict[str, Row] = {}
    for _source, row in parts():
        _add(combined.setdefault(row.key, Row(row.key, row.title, row.how)), row)
    return [combined[key] for key in sorted(combined)]


class Measurement:
    """What a test inside :func:`measuring` fills in: its figures and one-line outcome."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.figures: dict[str, Figure] = {}


@contextlib.contextmanager
def measuring(
    key: str, *, title: str | None = None, how: str | None = None, outcome: str | None = None
) -> Iterator[Measurement]:
    """Record one run of row ``key``: held if the block finishes, not held (with the error's
    first line as outcome) if it raises, which it then does on."""
    title, how, outcome = described(key, title, how, outcome)
    measurement = Measurement(outcome)
    try:
        yield measurement
    except BaseException as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        failed = f"did not hold: {first}"
        record(key, title=title, how=how, held=False, outcome=failed, figures=measurement.figures)
        raise
    record(key, title=title, how=how, outcome=measurement.outcome, figures=measurement.figures)


# Writing the results and the docs (called at the end of the session, tests/conftest.py).

RESULTS = Path(__file__).resolve().parent.parent / "reliability-results.json"
DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "reliability.md"
BEGIN = "<!-- generated by tests: begin -->"
END = "<!-- generated by tests: end -->"


def save_results(
    measured: list[tuple[str, Row]], path: Path = RESULTS, *, when: str = ""
) -> list[dict[str, Any]]:
    """Merge this session's (test file, row) parts into ``path`` and return every row, each
    summed over its parts. A part measured now replaces the stored part of the same row and
    test file; the others stay, each with the date it was measured (so ``make test-local``
    then ``make test-s3`` gives rows fed by both)."""
    when = when or datetime.now(UTC).strftime("%Y-%m-%d")
    stored: dict[str, dict[str, Any]] = {}
    if path.exists():
        with contextlib.suppress(ValueError, TypeError, KeyError):
            stored = {row["key"]: row for row in json.loads(path.read_text())["rows"]}
    for source, row in measured:
        entry = stored.setdefault(row.key, {"key": row.key, "parts": {}})
        entry.update(title=row.title, how=row.how)
        entry["parts"][source] = {
            "runs": row.runs,
            "held": row.held,
            "outcome": row.outcome,
            "figures": row.figures,
            "measured": when,
        }
    merged = [stored[key] for key in sorted(stored)]
    _write_atomically(path, json.dumps({"rows": merged}, indent=2) + "\n")
    return merged


def render(rows: list[dict[str, Any]]) -> str:
    """The generated section: one bullet per row, whatever the test that recorded it."""
    lines: list[str] = []
    for entry in rows:
        row = Row(entry["key"], entry["title"], entry["how"])
        dates = set()
        for part in entry["parts"].values():
            _add(
                row,
                Row(
                    row.key,
                    row.title,
                    row.how,
                    part["runs"],
                    part["held"],
                    part["outcome"],
                    part["figures"],
                ),
            )
            dates.add(part["measured"])
        figures = "".join(f", {name} {_figure(value)}" for name, value in row.figures.items())
        held = "yes" if row.held else "NO"
        outcome = f": {row.outcome}" if row.outcome else ""
        measured = " to ".join(sorted({min(dates), max(dates)}))
        text = (
            f"**{row.title}**. How: {row.how}. Runs: {row.runs}{figures}. "
            f"Held: {held}{outcome}. Measured {measured}."
        )
        lines += textwrap.wrap(
            text, width=100, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
        )
    return "\n".join(lines)


def write_docs(rows: list[dict[str, Any]], path: Path = DOCS) -> None:
    """Replace what lies between the markers of ``path`` with :func:`render`; the prose
    around them is the maintainers' and stays as it is."""
    text = path.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{path}: the markers {BEGIN!r} ... {END!r} are missing")
    body = render(rows)
    updated = text[: start + len(BEGIN)] + "\n" + body + "\n" + text[end:]
    if updated != text:
        _write_atomically(path, updated)


def _figure(value: Figure) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)
