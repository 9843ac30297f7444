"""The member index an archive carries: proof of what it must contain.

As Debian's ``Release`` file lists every file of an archive with its size and hash, the last
member a run writes, :data:`INDEX_MEMBER`, lists every member written before it::

    registry-scraper-members 1
    <sha256 hex> <size> <member name>
    ...

Names are member names as stored (no leading ``/``); storage paths hold no space or newline.
A reader requires the index, checks every member named there (present, same size, same
digest when read) and refuses a storage member the index does not name. Members outside the
storage tree that the index does not name (a README added by hand) are ignored.

Parsing is line by line with a bound on each line and on the count of entries, so a hostile
index costs at most what its entries need.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: Where the index sits in the archive (and so in a tree that ``tar -x`` makes of it).
INDEX_MEMBER = "scrape-archive/members"
HEADER = "registry-scraper-members 1"
#: The longest line an index can hold: a digest, a size and a storage path of sane length.
MAX_LINE = 64 + 1 + 20 + 1 + 4096 + 1
#: An index larger than this is refused before it is read (about 200,000 members).
MAX_INDEX_SIZE = 64 * 1024 * 1024
_LINE_RE = re.compile(r"([0-9a-f]{64}) (0|[1-9][0-9]{0,19}) ([^\s]+)")


class MemberIndexError(ValueError):
    """The index is not one this reader can trust (one line, naming what is wrong)."""


@dataclass(frozen=True)
class IndexEntry:
    name: str
    size: int
    sha256: str


def render_line(entry: IndexEntry) -> bytes:
    return f"{entry.sha256} {entry.size} {entry.name}\n".encode()


def render(entries: Iterable[IndexEntry]) -> bytes:
    return (HEADER + "\n").encode() + b"".join(render_line(entry) for entry in entries)


def parse(lines: Iterable[bytes]) -> Iterator[IndexEntry]:
    """Entries of an index given as its lines (each with its newline); MemberIndexError names the
    first line that is not an entry."""
    number = 0
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE or not raw.endswith(b"\n"):
            raise MemberIndexError(f"line {number} is too long or unfinished")
        try:
            line = raw[:-1].decode("ascii")
        except UnicodeDecodeError:
            raise MemberIndexError(f"line {number} is not ASCII") from None
        if number == 1:
            if line != HEADER:
                raise MemberIndexError("it does not start with its header line")
            continue
        match = _LINE_RE.fullmatch(line)
        if match is None:
            raise MemberIndexError(f"line {number} is not '<sha256> <size> <name>'")
        yield IndexEntry(match.group(3), int(match.group(2)), match.group(1))
    if number == 0:
        raise MemberIndexError("it is empty")
