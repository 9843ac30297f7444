"""Where a shipment comes from and when its source was read, so that tags never go back.

Every writing run's receipt carries a ``"shipment"``: the identity of the source it read (a
hash of the driver and the public location: never options, which may hold secrets) and the
time it started reading it. A run whose source is itself a shipment (an archive holding one
receipt) names it in ``"imported_from"``: that receipt's sha256, source identity and read time.

The *origin* of a run is what it carries from: the shipment it imports, else its own read.
Before a run writes, every tag it would move is checked against the destination's receipts
from the same origin source read later: a tag whose current link the run would change, and
that a later read wrote, would go back in time; the run is refused, naming those tags, unless
the caller allows it (``--allow-older``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scraper_core import layout
from scraper_core.bloblist import ReceiptError
from scraper_core.checked import CheckedDriver
from scraper_core.errors import ConfigurationError, NotRegularFileError, PathNotFoundError
from scraper_core.optfile import decode_utf8
from scraper_core.plan import ImagePlan
from scraper_core.receipt import MAX_RECEIPT_SIZE, public_location, receipt_time

#: A refusal names this many tags, then says how many more.
NAMED_TAGS = 20
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Longer than any link (``sha512:`` and 128 hex digits).
_LINK_LIMIT = 256


class OlderShipmentError(ConfigurationError):
    """The run would move tags back to an older read of their source; nothing was written."""


@dataclass(frozen=True, order=True)
class SourceRead:
    """One read of a source: its identity and when (UTC, to the second: ordered as text)."""

    source: str
    read_at: str


def source_identity(driver: str, location: str) -> str:
    """The hash naming a source: its driver and public location, a local path made absolute
    (the same tree named two ways is one source)."""
    where = public_location(location)
    if driver == "local":
        where = os.path.abspath(where)
    text = json.dumps([driver, where])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def read_of(driver: str, location: str, started: datetime) -> SourceRead:
    """This run's read of its source, at ``started`` (``SOURCE_DATE_EPOCH`` where set)."""
    moment = receipt_time(started).astimezone(UTC)
    return SourceRead(source_identity(driver, location), moment.strftime(_TIME_FORMAT))


@dataclass(frozen=True)
class ShippedReceipt:
    """What ordering needs of one receipt: its digest, what it carries from, and its tags."""

    path: str
    sha256: str
    #: The read its images carry: what it imported, else its own read; None for receipts
    #: written before shipments were recorded.
    origin: SourceRead | None
    #: "name:tag" -> manifest digest text, for the tagged images it lists.
    tags: Mapping[str, str]
    #: The repositories its run was asked for whole (every tag); empty when unknown.
    scope: tuple[str, ...] = ()


def _kept(pairs: list[tuple[str, Any]]) -> Any:
    """Parse-time filter: blob entries (a million in a big receipt) are dropped at once."""
    keys = {key for key, _value in pairs}
    if keys <= {"digest", "size"} and "size" in keys:
        return None
    return dict(pairs)


def _read(value: Any) -> SourceRead | None:
    if not isinstance(value, dict):
        return None
    source, read_at = value.get("source"), value.get("read_at")
    if isinstance(source, str) and isinstance(read_at, str):
        return SourceRead(source, read_at)
    return None


def parse_shipped(data: bytes, where: str) -> ShippedReceipt:
    """The ordering part of a receipt; :class:`ReceiptError` naming ``where``."""
    sha256 = "sha256:" + hashlib.sha256(data).hexdigest()
    text = decode_utf8(data, where)
    del data
    try:
        document = json.loads(text, object_pairs_hook=_kept)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ReceiptError(f"{where}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ReceiptError(f"{where}: not a registry-scraper receipt")
    origin = _read(document.get("imported_from")) or _read(document.get("shipment"))
    tags: dict[str, str] = {}
    images = document.get("images")
    for image in images if isinstance(images, list) else []:
        if not isinstance(image, dict):
            continue
        reference, digest = (image.get(k) for k in ("reference", "digest"))
        if isinstance(reference, str) and isinstance(digest, str) and "@" not in reference:
            tags[reference] = digest
    return ShippedReceipt(where, sha256, origin, tags, _scope(document.get("shipment")))


def _scope(shipment: Any) -> tuple[str, ...]:
    scope = shipment.get("scope") if isinstance(shipment, dict) else None
    if not isinstance(scope, list):
        return ()
    return tuple(name for name in scope if isinstance(name, str))


def shipped_receipts(driver: CheckedDriver) -> Iterator[ShippedReceipt]:
    """The storage's receipts, one at a time (each read up to :data:`MAX_RECEIPT_SIZE`);
    entries that are not regular files are skipped (:func:`read_receipts` warns of them)."""
    try:
        paths = driver.list_dir(layout.RECEIPTS_ROOT)
    except PathNotFoundError:
        return
    for path in sorted(paths):
        if not path.endswith(".json"):
            continue
        try:
            info = driver.stat(path)
        except NotRegularFileError:
            continue
        if info.is_dir:
            continue
        if info.size > MAX_RECEIPT_SIZE:
            raise ReceiptError(f"{path}: larger than {MAX_RECEIPT_SIZE} bytes")
        yield parse_shipped(driver.get_content(path), path)


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


def provenance(source: CheckedDriver, own: SourceRead) -> Provenance:
    """The run's provenance: a source holding exactly one receipt that records a read is a
    shipment, imported; any other source (a registry's storage, a site) is read as itself."""
    found = [receipt for receipt in shipped_receipts(source) if receipt.origin is not None]
    return Provenance(own, found[0] if len(found) == 1 else None)


def tags_going_back(
    dest: CheckedDriver, origin: SourceRead, plans: Sequence[ImagePlan]
) -> list[str]:
    """The tags ``plans`` would move from what a later read of ``origin``'s source wrote."""
    later: dict[str, set[str]] = {}
    for receipt in shipped_receipts(dest):
        found = receipt.origin
        if found is not None and found.source == origin.source and found.read_at > origin.read_at:
            for tag, digest in receipt.tags.items():
                later.setdefault(tag, set()).add(digest)
    if not later:
        return []
    going_back: dict[str, None] = {}
    for plan in plans:
        reference = plan.reference
        tag = str(reference)
        if reference.tag is None or reference.digest is not None or tag not in later:
            continue
        current = _current(dest, layout.tag_current_link_path(reference.name, reference.tag))
        if current is not None and current != str(plan.digest) and current in later[tag]:
            going_back[tag] = None
    return list(going_back)


def _current(dest: CheckedDriver, path: str) -> str | None:
    """The digest text a tag's link holds (read no further than a link can be)."""
    try:
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
