"""A registry tree scraped out of and into fake-gcs-server by the real ``scrape``.

Each location is a root directory of the test's bucket; 256 KiB chunks make the large layer a
resumable upload of many chunks. STORAGE_EMULATOR_HOST (the ``bucket`` fixture's) is in the
environment, which the ``scrape`` processes inherit.
"""

from __future__ import annotations

import pytest

from scraper_core.testing import RoundTripSuite
from scraper_core.testing.roundtrip import NewLocation, fresh_roots

pytestmark = pytest.mark.gcs


class TestGcsRoundTrip(RoundTripSuite):
    @pytest.fixture
    def new_location(self, bucket: str) -> NewLocation:
        return fresh_roots("gcs", bucket, chunk_size="256KiB")
