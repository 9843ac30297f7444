"""``with recorded(key, ...):`` around a test's checks: its reliability row says whether
they held, failing runs included (a row written only on success would hide the failures)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.reliability import Figure, described, record


@contextmanager
def recorded(
    key: str,
    *,
    title: str | None = None,
    how: str | None = None,
    outcome: str | None = None,
    figures: dict[str, Figure] | None = None,
) -> Iterator[dict[str, Figure]]:
    """Records one run of ``key``: held unless an assertion fails inside (``outcome`` is then
    the failure's first line). Figures added to the yielded dict are recorded too."""
    title, how, outcome = described(key, title, how, outcome)
    measured: dict[str, Figure] = dict(figures or {})
    try:
        yield measured
    except AssertionError as exc:
        first = (str(exc).splitlines() or ["assertion failed"])[0]
        record(key, title=title, how=how, held=False, outcome=f"failed: {first}", figures=measured)
        raise
    record(key, title=title, how=how, outcome=outcome, figures=measured)
