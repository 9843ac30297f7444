"""The core's driver conformance suite against Azurite, in ``CONTAINER/conformance-<random>``
(see ObjectStoreDriverSuite): 256 KiB blocks make the larger writes several staged blocks, and
500-blob pages make listings paginate. The names of ``legacy_root_prefix`` differ only in
:class:`~registry_scraper_azure.config.KeyMap`, which every operation goes through:
test_azure_config and test_azure_driver cover that layout (the whole suite a second time would
double this plugin's test time for no other code).
"""

from __future__ import annotations

import pytest
from azurite_server import AzuriteServer

from registry_scraper_azure.driver import AzureDriver
from scraper_core.contract import StorageDriver
from scraper_core.testing.objectstore import ObjectStoreDriverSuite

pytestmark = pytest.mark.azure


class TestAzureConformance(ObjectStoreDriverSuite):
    server_fixture = "azurite_server"

    @classmethod
    def make_store(cls, server: AzuriteServer) -> str:
        return server.make_container()

    @classmethod
    def open_location(cls, location: str, *, read_only: bool) -> StorageDriver:
        driver = AzureDriver.open(location, {"block_size": "256KiB"}, read_only=read_only)
        driver.list_page_size = 500
        return driver
