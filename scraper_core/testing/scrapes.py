"""A whole scrape through the core between two wrapped drivers, and what it wrote.

A driver's tests use these to check what only a whole scrape shows (server-side copies chosen,
blobs found present on a second run) without the command line around it.
"""

from __future__ import annotations

import collections

from scraper_core.checked import CheckedDriver
from scraper_core.errors import PathNotFoundError
from scraper_core.plan import BlobCopy
from scraper_core.reference import parse_reference
from scraper_core.scrape import Scrape, ScrapeOptions
from scraper_core.testing.tree import SyntheticImage
from scraper_core.transfer import BlobOutcome, ImageResult, NoEvents


class OutcomeCounts(NoEvents):
    """How many blobs ended in each :class:`BlobOutcome`."""

    def __init__(self) -> None:
        self.counts: collections.Counter[BlobOutcome] = collections.Counter()

    def blob_done(self, blob: BlobCopy, outcome: BlobOutcome) -> None:
        self.counts[outcome] += 1


def scrape_images(
    source: CheckedDriver, dest: CheckedDriver, *images: str, jobs: int = 4
) -> OutcomeCounts:
    """Copy ``images`` (references such as ``team/app:v1``); fails unless every one is ok."""
    events = OutcomeCounts()
    scrape = Scrape(source, dest, ScrapeOptions(jobs=jobs))
    results = scrape.copy(scrape.plan([parse_reference(image) for image in images]), events)
    assert all(isinstance(result, ImageResult) and result.ok for result in results), results
    return events


def stored_files(storage: CheckedDriver) -> dict[str, bytes]:
    """Every file under the storage's root with its bytes; nothing for a root not there yet."""
    try:
        infos = [info for info in storage.walk("/") if not info.is_dir]
    except PathNotFoundError:
        return {}
    return {info.path: storage.get_content(info.path) for info in infos}


def check_mirrored_in_store(
    source: CheckedDriver, mirror: CheckedDriver, image: SyntheticImage, reference: str
) -> dict[str, bytes]:
    """Scrape ``reference`` (``image``) twice into ``mirror``, a location of the same store:
    the first run copies every blob server side, the second finds them all present. Gives
    what the mirror holds, every byte equal to the source's."""
    outcomes = scrape_images(source, mirror, reference)
    # The manifest was read while planning and is written from memory; the rest stay remote.
    assert outcomes.counts[BlobOutcome.SERVER_SIDE] == len(image.blobs) - 1, outcomes.counts
    copied = stored_files(mirror)
    assert copied == {path: source.get_content(path) for path in copied}
    again = scrape_images(source, mirror, reference)
    assert again.counts == {BlobOutcome.PRESENT: len(image.blobs)}
    return copied
