"""The core's driver conformance suite against fake-gcs-server, in ``BUCKET/conformance-<random>``
(see ObjectStoreDriverSuite): 256 KiB chunks make the larger writes resumable uploads of several
chunks, and 500-object pages make listings paginate.
"""

from __future__ import annotations

import pytest
from gcs_emulator import FakeGcsServer

from registry_scraper_gcs.driver import GcsDriver
from scraper_core.contract import StorageDriver
from scraper_core.testing.objectstore import ObjectStoreDriverSuite

pytestmark = pytest.mark.gcs


class TestGcsConformance(ObjectStoreDriverSuite):
    server_fixture = "gcs_server"

    @classmethod
    def make_store(cls, server: FakeGcsServer) -> str:
        return server.make_bucket()

    @classmethod
    def open_location(cls, location: str, *, read_only: bool) -> StorageDriver:
        driver = GcsDriver.open(location, {"chunk_size": "256KiB"}, read_only=read_only)
        driver.list_page_size = 500
        return driver
