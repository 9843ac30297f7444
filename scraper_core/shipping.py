"""The shipping steps of a copy run, kept out of the CLI: ``--have`` files in, receipt out."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

from scraper_core.bloblist import BlobSizes
from scraper_core.checked import CheckedDriver
from scraper_core.have import parse_have
from scraper_core.optfile import (
    HAVE_FILE_CAP,
    STDIN,
    open_option_file,
    read_capped,
    shown_name,
)
from scraper_core.plan import ImagePlan
from scraper_core.provenance import provenance_entry
from scraper_core.receipt import RunRecord, write_receipt
from scraper_core.scrape import PlannedItem, Scrape
from scraper_core.shape import Shape
from scraper_core.transfer import ImageResult


def load_have(files: Iterable[BinaryIO], digests: list[str] | None = None) -> BlobSizes:
    """Every blob the ``--have`` files (inventories or receipts) say the far side has; each
    read up to :data:`HAVE_FILE_CAP`, parsed once, its text dropped before the next.
    ``digests``, when given, gets the sha256 of each file (the receipt records them)."""
    have = BlobSizes()
    for stream in files:
        name = getattr(stream, "name", STDIN)
        path = name if isinstance(name, str) and name != "<stdin>" else STDIN
        where = f"--have {shown_name(path)}"
        data = read_capped(stream, path, "--have", HAVE_FILE_CAP)
        if digests is not None:
            digests.append(hashlib.sha256(data).hexdigest())
        # Passed on, not kept: parse_have drops the bytes once decoded.
        have.merge(parse_have(data, where))
        del data
    return have


def load_have_paths(paths: Iterable[str]) -> BlobSizes:
    """:func:`load_have` of the files at ``paths`` (``-``: standard input), each opened (never
    blocking, regular files only) and closed in turn."""
    have = BlobSizes()
    for path in paths:
        stream = open_option_file(path, "--have")
        try:
            have.merge(load_have([stream]))
        finally:
            if path != STDIN:
                stream.close()
    return have


def succeeded(
    scrape: Scrape, planned: Sequence[PlannedItem], results: Sequence[ImageResult]
) -> list[ImagePlan]:
    """The plans (as shipped, blobs left out removed) of the images that were copied."""
    shipped = iter(scrape.shipped)
    done: list[ImagePlan] = []
    for item, result in zip(planned, results, strict=True):
        if isinstance(item, ImagePlan):
            plan = next(shipped)
            if result.ok:
                done.append(plan)
    return done


def record_receipt(
    scrape: Scrape,
    planned: Sequence[PlannedItem],
    results: Sequence[ImageResult],
    source: tuple[str, str],
    dest: CheckedDriver,
    now: datetime | None = None,
    shaped_by: Shape | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> str | None:
    """Write the run's receipt into ``dest``; None (and nothing written) when no image was
    copied. ``source`` is (driver, location): never the options, which may hold secrets."""
    plans = succeeded(scrape, planned, results)
    if not plans:
        return None
    kept = {blob.digest for plan in plans for blob in plan.blobs}
    # What the copied images need, left out or not (a failed image relies on nothing).
    untrimmed = {item.reference: item for item in planned if isinstance(item, ImagePlan)}
    needed = {blob.digest for plan in plans for blob in untrimmed[plan.reference].blobs}
    relied = {d: s for d, s in scrape.relied_on.items() if d in needed and d not in kept}
    record = RunRecord(source[0], source[1], plans, relied, shaped_by, dict(provenance or {}))
    moment = now or datetime.now(UTC)
    document = record.document(moment) | provenance_entry(scrape.source)
    return write_receipt(dest, document, moment)
