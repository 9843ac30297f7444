"""A registry tree scraped out of and into fake-gcs-server by the real ``scrape``.

Each location is a root directory of the test's bucket; 256 KiB chunks make the large layer a
resumable upload of many chunks. STORAGE_EMULATOR_HOST (the ``bucket`` fixture's) is in the
environment, which the ``scrape`` processes inherit.
"""

from __future__ import annotations

import itertools

import pytest

from scraper_core.testing import RoundTripSuite, StorageLocation
from scraper_core.testing.roundtrip import NewLocation

pytestmark = pytest.mark.gcs


class TestGcsRoundTrip(RoundTripSuite):
    @pytest.fixture
    def new_location(self, bucket: str) -> NewLocation:
        roots = itertools.count()
        options = {"chunk_size": "256KiB"}
        return lambda: StorageLocation("gcs", f"{bucket}/round-trip-{next(roots)}", options)
