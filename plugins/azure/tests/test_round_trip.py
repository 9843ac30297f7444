"""A registry tree scraped out of and into Azurite by the real ``scrape``.

Each location is a root directory of the test's container; 256 KiB blocks make the large layer
many staged blocks. The connection string (the ``container`` fixture's) is in the environment,
which the ``scrape`` processes inherit.
"""

from __future__ import annotations

import pytest

from scraper_core.testing import RoundTripSuite
from scraper_core.testing.roundtrip import NewLocation, fresh_roots

pytestmark = pytest.mark.azure


class TestAzureRoundTrip(RoundTripSuite):
    @pytest.fixture
    def new_location(self, container: str) -> NewLocation:
        return fresh_roots("azure", container, block_size="256KiB")
