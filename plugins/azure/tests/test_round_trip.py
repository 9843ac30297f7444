"""A registry tree scraped out of and into Azurite by the real ``scrape``.

Each location is a root directory of the test's container; 256 KiB blocks make the large layer
many staged blocks. The connection string (the ``container`` fixture's) is in the environment,
which the ``scrape`` processes inherit.
"""

from __future__ import annotations

import itertools

import pytest

from scraper_core.testing import RoundTripSuite, StorageLocation
from scraper_core.testing.roundtrip import NewLocation

pytestmark = pytest.mark.azure


class TestAzureRoundTrip(RoundTripSuite):
    @pytest.fixture
    def new_location(self, container: str) -> NewLocation:
        roots = itertools.count()
        options = {"block_size": "256KiB"}
        return lambda: StorageLocation("azure", f"{container}/round-trip-{next(roots)}", options)
