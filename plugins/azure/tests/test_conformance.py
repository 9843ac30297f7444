"""The core's driver conformance suite against Azurite.

The root is ``CONTAINER/conformance-<random>``, so every operation also goes through the
root-directory prefix; 256 KiB blocks make the larger writes several staged blocks and the
larger reads several ranged GETs, and 500-blob pages make listings paginate. The names of
``legacy_root_prefix`` differ only in :class:`~registry_scraper_azure.config.KeyMap`, which
every operation goes through: test_azure_config and test_azure_driver cover that layout (the
whole suite a second time would double this plugin's test time for no other code).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from azurite_server import AzuriteServer

from registry_scraper_azure.driver import AzureDriver
from scraper_core.contract import StorageDriver, StorageReader
from scraper_core.testing import DriverSuite

pytestmark = pytest.mark.azure

OPTIONS = {"block_size": "256KiB"}


class TestAzureConformance(DriverSuite):
    # Class-wide, as the suite allows: each test leaves the root empty for the next one (the
    # suite checks that), and one client serves them all.
    @pytest.fixture(scope="class")
    @classmethod
    def driver(cls, azurite_server: AzuriteServer) -> Iterator[StorageDriver]:
        with pytest.MonkeyPatch.context() as monkeypatch:
            azurite_server.use_environment(monkeypatch)
            location = f"{azurite_server.make_container()}/conformance-{secrets.token_hex(6)}"
            driver = AzureDriver.open(location, OPTIONS, read_only=False)
            # Pages of 500: the suite's 1100-child directory takes three.
            driver.list_page_size = 500
            yield driver

    def open_read_only(self, driver: StorageDriver) -> StorageReader:
        assert isinstance(driver, AzureDriver)
        # The environment is the class fixture's: Azurite's, set while it is alive.
        return AzureDriver.open(driver.location, OPTIONS, read_only=True)

    def open_copy_source(self, driver: StorageDriver) -> StorageDriver:
        # A sibling root in the same container: server-side copies can reach it.
        assert isinstance(driver, AzureDriver)
        return AzureDriver.open(f"{driver.location}-copy-source", OPTIONS, read_only=False)
