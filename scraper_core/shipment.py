"""Where a shipment comes from and when its source was read, so that tags never go back.

Every writing run's receipt carries a ``"shipment"``: the identity of the source it read (a
hash of the driver and the public location: never options, which may hold secrets) and the
time it started reading it. A run whose source is itself a shipment (an archive holding one
receipt) names it in ``"imported_from"``: that receipt's sha256, source identity and read time.

The *origin* of a run is what it carries from: the shipment it imports, else its own read.
Before a run writes, every tag it would move is checked against the destination's newest
receipt that lists it (what wrote its current link): a tag whose current link the run would
change, and that a later read of the same origin source wrote, would go back in time; the run
is refused, naming those tags, unless the caller allows it (``--allow-older``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import ConfigurationError, PathNotFoundError, ScraperError
from scraper_core.listing import list_tags
from scraper_core.plan import ImagePlan
from scraper_core.receipt import (
    Receipt,
    ShippedReceipt,
    SourceRead,
    is_receipt_file,
    listed_receipts,
    parse_shipped,
    public_location,
    receipt_time,
)

#: A refusal names this many tags, then says how many more.
NAMED_TAGS = 20
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Longer than any link (``sha512:`` and 128 hex digits).
_LINK_LIMIT = 256
#: A receipt name starts with the second it was written: ``%Y%m%dT%H%M%SZ``.
_STAMP = 16
_STAMP_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z")


class OlderShipmentError(ConfigurationError):
    """The run would move tags back to an older read of their source; nothing was written."""


def source_identity(driver: str, location: str) -> str:
    """The hash naming a source: its driver and public location, a local path made absolute
    (the same tree named two ways is one source)."""
    where = public_location(location)
    if driver == "local":
        where = os.path.abspath(where)
    text = json.dumps([driver, where])
    return str(Digest.of(text.encode()))


def read_of(driver: str, location: str, started: datetime) -> SourceRead:
    """This run's read of its source, at ``started`` (``SOURCE_DATE_EPOCH`` where set)."""
    moment = receipt_time(started).astimezone(UTC)
    return SourceRead(source_identity(driver, location), moment.strftime(_TIME_FORMAT))


@dataclass(frozen=True)
class Provenance:
    """What a run writes into its receipt about where its images come from."""

    own: SourceRead
    #: The shipment the source holds (its one receipt), when it holds one.
    imported: ShippedReceipt | None
    #: The repositories this run was asked for whole (``--all-tags``), once selected.
    scope: tuple[str, ...] = ()

    @property
    def prune_scope(self) -> tuple[str, ...]:
        """The repositories whose tags this run stands for: its own scope, and of an import,
        only what the shipment was asked for too (a one-image shipment stands for none)."""
        if self.imported is None:
            return self.scope
        return tuple(name for name in self.scope if name in self.imported.scope)

    @property
    def origin(self) -> SourceRead:
        if self.imported is not None and self.imported.origin is not None:
            return self.imported.origin
        return self.own

    def receipt_keys(self) -> dict[str, Any]:
        keys: dict[str, Any] = {
            "shipment": {
                "source": self.own.source,
                "read_at": self.own.read_at,
                "scope": sorted(self.scope),
            }
        }
        if self.imported is not None and self.imported.origin is not None:
            keys["imported_from"] = {
                "receipt": self.imported.sha256,
                "source": self.imported.origin.source,
                "read_at": self.imported.origin.read_at,
            }
        return keys


def provenance(receipts: Sequence[Receipt], own: SourceRead) -> Provenance:
    """The run's provenance from the receipts its source holds (read once, by the caller): a
    source holding exactly one receipt that records a read is a shipment, imported; any other
    source (a registry's storage, a site) is read as itself."""
    found = [r.shipped for r in receipts if r.shipped is not None and r.shipped.origin]
    return Provenance(own, found[0] if len(found) == 1 else None)


def tags_going_back(
    dest: CheckedDriver, origin: SourceRead, plans: Sequence[ImagePlan]
) -> list[str]:
    """The tags ``plans`` would move from what a later read of ``origin``'s source wrote.

    What a tag's current link holds was written by the newest receipt that lists the tag:
    receipts are read newest first (their names start with the time they were written), and
    a tag is settled by the first that lists it. Reading stops once every tag the plans move
    that is at the destination is settled: a weekly import reads last week's receipt, not the
    site's history. Receipts whose names share a second (``SOURCE_DATE_EPOCH`` gives every
    run the same one) are read as one: any of them that is a later read settles the tag.
    """
    wanted: dict[str, str] = {}
    for plan in plans:
        reference = plan.reference
        if reference.tag is not None and reference.digest is None:
            wanted.setdefault(str(reference), str(plan.digest))
    open_tags = set(wanted)
    looked_up = False
    going_back: set[str] = set()
    for group in _newest_first(dest):
        settled: set[str] = set()
        for path in group:
            if not is_receipt_file(dest, path):
                continue
            receipt = parse_shipped(dest.get_content(path), path)
            listed = open_tags & receipt.tags.keys()
            settled |= listed
            if _is_later(receipt.origin, origin):
                for tag in listed:
                    wrote = receipt.tags[tag]
                    if wrote != wanted[tag] and _current(dest, tag) == wrote:
                        going_back.add(tag)
        open_tags -= settled
        if open_tags and not looked_up:
            # A tag the destination lacks (new at the source) has nothing to go back from:
            # looked up once, so that it does not send the reading through every receipt.
            open_tags = _at_destination(dest, open_tags)
            looked_up = True
        if not open_tags:
            break
    return [tag for tag in wanted if tag in going_back]


def _is_later(found: SourceRead | None, origin: SourceRead) -> bool:
    """Whether ``found`` is a read of ``origin``'s source made after it."""
    return found is not None and found.source == origin.source and found.read_at > origin.read_at


def _at_destination(dest: CheckedDriver, wanted: Iterable[str]) -> set[str]:
    """Those of the ``name:tag`` texts in ``wanted`` that the destination has (a tag listing
    per repository); all of them for a repository that cannot be listed."""
    by_name: dict[str, list[str]] = {}
    for tag in wanted:
        name, _, short = tag.rpartition(":")
        by_name.setdefault(name, []).append(short)
    present: set[str] = set()
    for name, tags in by_name.items():
        try:
            held = set(list_tags(dest, name))
        except ScraperError:
            held = set(tags)
        present.update(f"{name}:{tag}" for tag in tags if tag in held)
    return present


def _newest_first(dest: CheckedDriver) -> Iterator[list[str]]:
    """The destination's receipt paths (one listing), newest first, those written in one
    second together."""
    groups: dict[str, list[str]] = {}
    for path in listed_receipts(dest):
        name = path.rsplit("/", 1)[-1]
        # A name not made by receipt_name (never written by a run) sorts as the oldest.
        stamp = name[:_STAMP] if _STAMP_RE.fullmatch(name[:_STAMP]) else ""
        groups.setdefault(stamp, []).append(path)
    for stamp in sorted(groups, reverse=True):
        yield groups[stamp]


def _current(dest: CheckedDriver, tag: str) -> str | None:
    """The digest text a tag's link holds (read no further than a link can be)."""
    name, _, short = tag.rpartition(":")
    try:
        path = layout.tag_current_link_path(name, short)
        return dest.read_head(path, _LINK_LIMIT).decode("ascii", "replace").strip()
    except PathNotFoundError:
        return None


def refusal(tags: Sequence[str]) -> OlderShipmentError:
    shown = ", ".join(tags[:NAMED_TAGS])
    more = f" and {len(tags) - NAMED_TAGS} more" if len(tags) > NAMED_TAGS else ""
    return OlderShipmentError(
        f"{len(tags)} tags would go back to an older read of their source: {shown}{more}; "
        "nothing was written (--allow-older moves them)"
    )
