"""The core's driver conformance suite against fake-gcs-server.

The root is ``BUCKET/conformance-<random>``, so every operation also goes through the
root-directory prefix; 256 KiB chunks make the larger writes resumable uploads of several
chunks and the larger reads several ranged GETs, and 500-object pages make listings paginate.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from gcs_emulator import FakeGcsServer

from registry_scraper_gcs.driver import GcsDriver
from scraper_core.contract import StorageDriver, StorageReader
from scraper_core.testing import DriverSuite

pytestmark = pytest.mark.gcs

OPTIONS = {"chunk_size": "256KiB"}


class TestGcsConformance(DriverSuite):
    # Class-wide, as the suite allows: each test leaves the root empty for the next one (the
    # suite checks that), and one client serves them all.
    @pytest.fixture(scope="class")
    @classmethod
    def driver(cls, gcs_server: FakeGcsServer) -> Iterator[StorageDriver]:
        with pytest.MonkeyPatch.context() as monkeypatch:
            gcs_server.use_environment(monkeypatch)
            location = f"{gcs_server.make_bucket()}/conformance-{secrets.token_hex(6)}"
            driver = GcsDriver.open(location, OPTIONS, read_only=False)
            # Pages of 500: the suite's 1100-child directory takes three.
            driver.list_page_size = 500
            yield driver

    def open_read_only(self, driver: StorageDriver) -> StorageReader:
        assert isinstance(driver, GcsDriver)
        # The environment is the class fixture's: the emulator's, set while it is alive.
        return GcsDriver.open(driver.location, OPTIONS, read_only=True)

    def open_copy_source(self, driver: StorageDriver) -> StorageDriver:
        # A sibling root in the same bucket: server-side copies can reach it.
        assert isinstance(driver, GcsDriver)
        return GcsDriver.open(f"{driver.location}-copy-source", OPTIONS, read_only=False)
