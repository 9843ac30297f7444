"""The one grammar for a size in any option: ``--split-size 100M``, ``-o part_size=8MiB``.

Plain bytes (``4096``, ``4096B``) or a number with a unit of powers of 1024: ``512K``,
``100M``, ``4G``, ``1T``, or the same with ``iB`` (``8MiB``, ``4GiB``); units in either case.
``8MB`` is refused: it reads as a million bytes to some tools and as 8 MiB to others. Pure.
"""

from __future__ import annotations

import re

__all__ = ["GIB", "KIB", "MIB", "SIZE_EXAMPLE", "parse_size", "show_size"]

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
_UNITS = {"": 1, "B": 1, "K": KIB, "M": MIB, "G": GIB, "T": 1024 * GIB}
_SIZE_RE = re.compile(r"(?P<number>[0-9]+)\s*(?:(?P<unit>[KMGT])(?:iB)?|(?P<bytes>B)?)", re.I)

#: What a size must look like, for error messages ("... must be a size such as ...").
SIZE_EXAMPLE = "a size such as 512K, 100M or 4GiB (powers of 1024) or plain bytes"


def parse_size(text: str) -> int:
    """The bytes ``text`` says; ValueError (its message: "must be " + :data:`SIZE_EXAMPLE`)
    for anything else. The caller names the option."""
    match = _SIZE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"must be {SIZE_EXAMPLE}")
    unit = (match["unit"] or "").upper()
    return int(match["number"]) * _UNITS[unit]


def show_size(size: int) -> str:
    """``16MiB``, ``256KiB``, ``5GiB``: the largest unit that divides the size."""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
