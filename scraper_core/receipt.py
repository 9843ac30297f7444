"""Receipts: what one writing run put into a storage, for the far side to check on arrival.

A receipt is a JSON document written once per run at ``layout.receipt_path(name)`` (beside
``docker/``, where a registry never looks), after the tag links and before the destination is
closed. It names the tool version, the time, the source (driver and location only: options
may hold secrets and are never written), each image copied, every blob the storage now holds
for them, and every blob the run left out because the far side already has it (``--have``):
the blobs a delta *relies on*. A run in which no image succeeded writes none.

Read back (:func:`read_receipts`), each receipt is read and decoded once, into what a delta
needs (its blob lists) and what ordering needs (:class:`ShippedReceipt`, see
:mod:`scraper_core.shipment`).

With ``SOURCE_DATE_EPOCH`` set (the reproducible-builds convention), the receipt's time is that
instant and its name's token is drawn from its content, not at random: the same content and
command give the same receipt, byte for byte (an archive holding it can then be re-made).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from scraper_core import entrypoints, layout
from scraper_core.bloblist import BlobSizes, ReceiptError, load_document, parse_blob_list
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import (
    ConfigurationError,
    NotRegularFileError,
    PathNotFoundError,
)
from scraper_core.manifest import parse_manifest
from scraper_core.optfile import decode_utf8
from scraper_core.plan import ImagePlan
from scraper_core.shape import Shape, is_platform_subset, platform_subset_images

RECEIPT_FORMAT = "registry-scraper/receipt"
RECEIPT_VERSION = 1
#: A receipt lists one line per blob; far above any real one, far below memory trouble.
MAX_RECEIPT_SIZE = 256 * 1024 * 1024
#: The reproducible-builds variable: seconds since the epoch, used instead of the clock.
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
#: The last second a receipt name (``%Y``: four digits) can hold: 9999-12-31T23:59:59Z.
_LAST_EPOCH = 253402300799


def tool_version() -> str:
    return entrypoints.version("registry-scraper") or "unknown"


def public_location(location: str) -> str:
    """``location`` without credentials a URL may carry (``https://user:key@host/...``)."""
    parts = urlsplit(location)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    return location


def fixed_time() -> datetime | None:
    """The instant ``SOURCE_DATE_EPOCH`` names, None when it is unset or empty;
    :class:`ConfigurationError` when it is not a whole number of seconds in range."""
    text = os.environ.get(SOURCE_DATE_EPOCH, "")
    if not text:
        return None
    # Digits only, and few: int() would take " 1_0 " or 5,000 digits.
    if not (text.isascii() and text.isdigit() and len(text) <= 12) or int(text) > _LAST_EPOCH:
        raise ConfigurationError(
            f"{SOURCE_DATE_EPOCH}={text[:40]!r}: expected seconds since 1970 (0 to {_LAST_EPOCH})"
        )
    return datetime.fromtimestamp(int(text), UTC)


def receipt_time(now: datetime) -> datetime:
    """The time a receipt states: ``SOURCE_DATE_EPOCH``'s where set, else ``now``."""
    return fixed_time() or now


def receipt_name(now: datetime, token: str | None = None) -> str:
    """A file name no other run picks: UTC time to the second plus a random token."""
    # os.urandom is what secrets.token_hex reads; secrets' import (random, hmac) is not paid
    # by a run that writes no receipt.
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{token or os.urandom(4).hex()}.json"


@dataclass
class RunRecord:
    """What a run wrote, gathered while it ran; :meth:`document` makes the receipt."""

    source_driver: str
    source_location: str
    #: Plans of the images that succeeded, as they were carried out (blobs left out removed).
    plans: list[ImagePlan] = field(default_factory=list)
    #: Blobs left out because the far side has them (``--have``): digest -> size.
    relied_on: dict[Digest, int] = field(default_factory=dict)
    #: What shaped the shipment (patterns, platforms, ...); None: not recorded.
    shaped_by: Shape | None = None
    #: ``"shipment"`` and ``"imported_from"`` (see :mod:`scraper_core.shipment`).
    provenance: dict[str, Any] = field(default_factory=dict)

    def document(self, now: datetime) -> dict[str, Any]:
        now = receipt_time(now)
        blobs: dict[Digest, int] = {}
        for plan in self.plans:
            for blob in plan.blobs:
                blobs[blob.digest] = blob.size
        relied = {d: s for d, s in self.relied_on.items() if d not in blobs}
        document: dict[str, Any] = {
            "format": RECEIPT_FORMAT,
            "version": RECEIPT_VERSION,
            "tool": {"name": "registry-scraper", "version": tool_version()},
            "created": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": {
                "driver": self.source_driver,
                "location": public_location(self.source_location),
            },
            "images": _images(self.plans),
            "blobs": _blob_list(blobs),
            "relies_on": _blob_list(relied),
            "totals": {
                "images": len(self.plans),
                "blobs": len(blobs),
                "bytes": sum(blobs.values()),
                "relies_on_blobs": len(relied),
                "relies_on_bytes": sum(relied.values()),
            },
            **self.provenance,
        }
        if self.shaped_by is not None:
            document["shaped_by"] = self.shaped_by.document()
        return document


def _blob_list(blobs: Mapping[Digest, int]) -> list[dict[str, Any]]:
    return [{"digest": str(d), "size": blobs[d]} for d in sorted(blobs, key=str)]


def _manifest_content(plan: ImagePlan) -> bytes | None:
    for blob in plan.blobs:
        if blob.digest == plan.digest:
            return blob.content
    return None


def _images(plans: list[ImagePlan]) -> list[dict[str, Any]]:
    # What a manifest says, worked out once per manifest: 30,000 tags name a handful.
    kinds: dict[Digest, dict[str, Any]] = {}
    entries = []
    for plan in plans:
        kind = kinds.get(plan.digest)
        if kind is None:
            kind = kinds[plan.digest] = _kind(plan)
        entries.append({"reference": str(plan.reference), "digest": str(plan.digest), **kind})
    return entries


def _kind(plan: ImagePlan) -> dict[str, Any]:
    """The manifest's media type, and platforms for an index."""
    content = _manifest_content(plan)
    if content is None:
        # Left out (the far side has the manifest): its kind is not needed to name it.
        return {"media_type": None}
    manifest = parse_manifest(content, f"manifest {plan.digest.short}")
    kind: dict[str, Any] = {"media_type": manifest.media_type}
    if manifest.is_index:
        # The platforms the shipment holds: a --platform copy holds only the chosen ones.
        held = set(plan.manifest_digests)
        kind["platforms"] = [
            str(child.platform)
            for child in manifest.children
            if child.platform is not None and child.digest in held
        ]
        if any(child.digest not in held for child in manifest.children):
            kind["platform_subset"] = True
    return kind


def write_receipt(dest: CheckedDriver, document: Mapping[str, Any], now: datetime) -> str:
    """Write the receipt; the storage path it went to."""
    content = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()
    token = None
    if fixed_time() is not None:
        # Same content, same name: still unique to what the run wrote.
        token = Digest.of(content).hex[:8]
    path = layout.receipt_path(receipt_name(receipt_time(now), token))
    dest.put_content(path, content)
    return path


# The read-only records below are named tuples: every copy imports this module, and a frozen
# (ordered) dataclass compiles six (ten) methods at import, four times a named tuple's cost.


class SourceRead(NamedTuple):
    """One read of a source: its identity and when (UTC, to the second: ordered as text)."""

    source: str
    read_at: str


class ShippedReceipt(NamedTuple):
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


class Receipt(NamedTuple):
    """What a delta and a ``--have`` need of a receipt: the blobs it lists (what the storage
    holds for its images) and those it relies on (left out, at the far side)."""

    where: str
    blobs: BlobSizes
    relies_on: BlobSizes
    #: The shipment holds only some platforms of its indexes (``shaped_by``).
    platform_subset: bool = False
    #: Its ordering part, for a receipt read from a storage (not for a ``--have`` file).
    shipped: ShippedReceipt | None = None
    #: Its images whose index children were left out by choice (``--platform``).
    platform_subset_images: frozenset[Digest] = frozenset()


def children_left_out_by_choice(receipts: Iterable[Receipt]) -> frozenset[Digest]:
    """The images (by digest) whose index children a storage lacks on purpose: those its
    receipts mark as platform subsets (see :mod:`scraper_core.shape`)."""
    return frozenset().union(*(receipt.platform_subset_images for receipt in receipts))


def parse_receipt(data: bytes, where: str) -> Receipt:
    """A receipt, checked for its format, version and blob lists, with its ordering part;
    :class:`ReceiptError` in one line naming ``where``. Decoded once; ``data`` is dropped once
    decoded: the caller must not keep it."""
    sha256 = _sha256(data)
    document = load_document(data, where)
    del data
    if not isinstance(document, dict) or document.get("format") != RECEIPT_FORMAT:
        raise ReceiptError(f"{where}: not a registry-scraper receipt")
    receipt = receipt_of(document, where)
    return receipt._replace(shipped=_shipped_of(document, where, sha256))


def receipt_of(document: dict[str, Any], where: str) -> Receipt:
    """The :class:`Receipt` in a document :func:`load_document` read (its format checked)."""
    if document.get("version") != RECEIPT_VERSION:
        raise ReceiptError(f"{where}: receipt version {document.get('version')!r} is unknown")
    # Each list is dropped from the document once converted: one copy of it at a time.
    blobs = parse_blob_list(document.pop("blobs", None), where)
    relies_on = parse_blob_list(document.pop("relies_on", None), where)
    subset = is_platform_subset(document.get("shaped_by"))
    return Receipt(
        where,
        blobs,
        relies_on,
        subset,
        platform_subset_images=platform_subset_images(document),
    )


def _sha256(data: bytes) -> str:
    return str(Digest.of(data))


def _no_blob_entries(pairs: list[tuple[str, Any]]) -> Any:
    """Parse-time filter for the ordering part alone: blob entries (a million in a big
    receipt) are dropped at once."""
    keys = {key for key, _value in pairs}
    if keys <= {"digest", "size"} and "size" in keys:
        return None
    return dict(pairs)


def parse_shipped(data: bytes, where: str) -> ShippedReceipt:
    """Only the ordering part of a receipt (its blob lists never kept); :class:`ReceiptError`
    naming ``where``."""
    sha256 = _sha256(data)
    text = decode_utf8(data, where)
    del data
    try:
        document = json.loads(text, object_pairs_hook=_no_blob_entries)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ReceiptError(f"{where}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ReceiptError(f"{where}: not a registry-scraper receipt")
    return _shipped_of(document, where, sha256)


def _shipped_of(document: Mapping[str, Any], where: str, sha256: str) -> ShippedReceipt:
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


def _read(value: Any) -> SourceRead | None:
    if not isinstance(value, dict):
        return None
    source, read_at = value.get("source"), value.get("read_at")
    if isinstance(source, str) and isinstance(read_at, str):
        return SourceRead(source, read_at)
    return None


def _scope(shipment: Any) -> tuple[str, ...]:
    scope = shipment.get("scope") if isinstance(shipment, dict) else None
    if not isinstance(scope, list):
        return ()
    return tuple(name for name in scope if isinstance(name, str))


def listed_receipts(driver: CheckedDriver) -> list[str]:
    """The ``*.json`` paths under the receipts root, sorted (by name: the time each was
    written); none when there is no such root. One listing, nothing read."""
    try:
        paths = driver.list_dir(layout.RECEIPTS_ROOT)
    except PathNotFoundError:
        return []
    return sorted(path for path in paths if path.endswith(".json"))


def is_receipt_file(driver: CheckedDriver, path: str, skipped: list[str] | None = None) -> bool:
    """Whether a listed ``path`` is a regular file to read as a receipt; a line in ``skipped``
    when it is not (a directory, a FIFO, a sparse archive member). :class:`ReceiptError` when
    it is larger than :data:`MAX_RECEIPT_SIZE`."""
    try:
        info = driver.stat(path)
    except NotRegularFileError as exc:
        if skipped is not None:
            skipped.append(f"{path} skipped: not a regular file ({exc})")
        return False
    if info.is_dir:
        if skipped is not None:
            skipped.append(f"{path} skipped: a directory, not a receipt")
        return False
    if info.size > MAX_RECEIPT_SIZE:
        raise ReceiptError(f"{path}: larger than {MAX_RECEIPT_SIZE} bytes")
    return True


def read_receipts(driver: CheckedDriver) -> tuple[list[Receipt], list[str]]:
    """Every receipt a storage holds, by path, each read and decoded once, and a warning for
    each ``*.json`` entry that is not a regular file (skipped). A damaged receipt is a
    :class:`ReceiptError`."""
    skipped: list[str] = []
    paths = [path for path in listed_receipts(driver) if is_receipt_file(driver, path, skipped)]
    return [parse_receipt(driver.get_content(path), path) for path in paths], skipped
