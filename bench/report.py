"""Rows of the result table: ours against a baseline, the ratio, the target and whether it holds.

The ratio is always ours / baseline. Where bigger is better (throughput) the target says
``>=``; a budget (peak RSS) is an absolute target on the worst sample rather than a ratio.
"""

from __future__ import annotations

import math
import operator
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.measure import Sample

Op = Literal["<=", ">=", "=="]
_COMPARE: dict[Op, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Target:
    op: Op
    value: float
    #: True: the bound applies to ours itself (worst sample), not to the ratio.
    absolute: bool = False
    unit: str = ""

    def __str__(self) -> str:
        if self.absolute:
            return f"{self.op} {self.value:g} {self.unit}".rstrip()
        return f"{self.op} {self.value:g}x"

    def holds(self, ours: Sample, ratio: float) -> bool:
        if self.absolute:
            worst = ours.high if self.op == "<=" else ours.low
            return _COMPARE[self.op](worst, self.value)
        return _COMPARE[self.op](ratio, self.value)


@dataclass
class Row:
    name: str
    unit: str
    ours: Sample | None = None
    baseline: Sample | None = None
    baseline_name: str = ""
    target: Target | None = None
    #: Why the row has no numbers (a missing component, a flag not there yet).
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.baseline is None or not self.baseline.median:
            return None
        return self.ours.median / self.baseline.median

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ours is None:
            return None
        ratio = self.ratio
        return self.target.holds(self.ours, math.nan if ratio is None else ratio)

    def as_json(self) -> dict[str, Any]:
        def sample(value: Sample | None) -> dict[str, Any] | None:
            if value is None:
                return None
            return {
                "median": value.median,
                "min": value.low,
                "max": value.high,
                "values": list(value.values),
            }

        return {
            "name": self.name,
            "unit": self.unit,
            "ours": sample(self.ours),
            "baseline": sample(self.baseline),
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "target": str(self.target) if self.target else None,
            "met": self.met,
            "skipped": self.skipped,
            "notes": self.notes,
        }


def skipped(name: str, reason: str) -> Row:
    return Row(name, "", skipped=reason)


def _number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit in ("calls", "modules"):
        return f"{value:.0f}"
    return f"{value:.1f} {unit}".rstrip()


def _cells(row: Row) -> list[str]:
    if row.skipped is not None:
        return [row.name, "-", "-", "-", str(row.target or "-"), "skipped"]
    ours = _number(row.ours.median, row.unit) if row.ours else "-"
    base = _number(row.baseline.median, row.unit) if row.baseline else "-"
    ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
    met = {True: "yes", False: "**no**", None: "-"}[row.met]
    return [row.name, ours, base, ratio, str(row.target or "-"), met]


def ratio_table(rows: Sequence[Row]) -> str:
    """The result table as Markdown (it prints legibly, and BENCHMARKS.md takes it as is)."""
    header = ["measurement", "ours", "baseline", "ratio", "target", "met"]
    lines = ["| " + " | ".join(header) + " |", "| --- | ---: | ---: | ---: | --- | --- |"]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def _spread(value: Sample | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("calls", "modules"):
        return f"{value.low:.0f}..{value.high:.0f}"
    return f"{value.low:.3g}..{value.high:.3g} {unit}"


def spread_table(rows: Sequence[Row]) -> str:
    """Min..max of every sample behind the medians of the ratio table."""
    lines = ["| measurement | ours min..max | baseline min..max | samples |"]
    lines.append("| --- | --- | --- | ---: |")
    for row in rows:
        if row.skipped is None and row.ours is not None:
            lines.append(
                f"| {row.name} | {_spread(row.ours, row.unit)} "
                f"| {_spread(row.baseline, row.unit)} | {len(row.ours.values)} |"
            )
    return "\n".join(lines)


def wrap_notes(
    texts: Sequence[str], bullet: str = "- ", indent: str = "   ", width: int = 100
) -> list[str]:
    """Each text wrapped to ``width`` columns (Markdown: every file keeps lines <= 100),
    starting with ``bullet``; continuation lines start with ``indent`` (or as many spaces as
    the bullet is wide). Options such as ``--all-tags`` are never split at their hyphens."""
    follow = " " * len(bullet) if bullet else indent
    return [
        textwrap.fill(
            text,
            width,
            initial_indent=bullet,
            subsequent_indent=follow,
            break_on_hyphens=False,
            break_long_words=False,
        )
        for text in texts
    ]


def notes(rows: Sequence[Row], width: int = 100) -> list[str]:
    """One bullet per baseline, skip reason and note, wrapped to ``width`` columns."""
    found = [f"{row.name}: skipped: {row.skipped}" for row in rows if row.skipped]
    for row in rows:
        if row.baseline is not None and row.baseline_name:
            found.append(f"{row.name}: baseline is {row.baseline_name}")
        found += [f"{row.name}: {note}" for note in row.notes]
    return wrap_notes(found, width=width)
