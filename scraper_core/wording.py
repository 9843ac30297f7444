"""How numbers and messages are worded for people: sizes, counts, one-line errors."""

from __future__ import annotations


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def one_line(text: str | None) -> str | None:
    """An error as one line, whatever a backend put in it (an SDK message with newlines)."""
    return None if text is None else " ".join(text.split())


def error_line(text: str) -> str:
    """:func:`one_line` for an error's text, never empty."""
    return " ".join(text.split()) or "error"


def count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
