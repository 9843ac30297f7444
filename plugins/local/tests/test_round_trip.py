"""A registry tree scraped out of and into local directories by the real ``scrape``."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper_core.testing import RoundTripSuite
from scraper_core.testing.roundtrip import NewLocation, fresh_roots


class TestLocalRoundTrip(RoundTripSuite):
    @pytest.fixture
    def new_location(self, tmp_path: Path) -> NewLocation:
        return fresh_roots("local", str(tmp_path))
