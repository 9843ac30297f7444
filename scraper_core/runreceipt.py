"""A copy run's receipt: the plans of the images that made it in, and what they rely on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from scraper_core.checked import CheckedDriver
from scraper_core.plan import ImagePlan
from scraper_core.provenance import provenance_entry
from scraper_core.receipt import RunRecord, write_receipt
from scraper_core.scrape import PlannedItem, Scrape
from scraper_core.shape import Shape
from scraper_core.transfer import ImageResult


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
