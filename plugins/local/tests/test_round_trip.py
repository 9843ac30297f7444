"""A registry tree scraped out of and into local directories by the real ``scrape``."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from scraper_core.testing import RoundTripSuite, StorageLocation
from scraper_core.testing.roundtrip import NewLocation


class TestLocalRoundTrip(RoundTripSuite):
    @pytest.fixture
    def new_location(self, tmp_path: Path) -> NewLocation:
        roots = itertools.count()
        return lambda: StorageLocation("local", str(tmp_path / f"root{next(roots)}"))
