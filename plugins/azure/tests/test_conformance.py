"""The core's driver conformance suite against Azurite, in ``CONTAINER/conformance-<random>``
(see ObjectStoreDriverSuite): 256 KiB blocks make the larger writes several staged blocks, and
500-blob pages make listings paginate. The names of ``legacy_root_prefix`` differ only in
:class:`~registry_scraper_azure.config.KeyMap`, which every operation goes through:
test_azure_config and test_azure_driver cover that layout (the whole suite a second time would
double this plugin's test time for no other code).
"""

from __future__ import annotations

import pytest

from registry_scraper_azure.driver import AzureDriver
from scraper_core.testing.objectstore import ObjectStoreDriverSuite

pytestmark = pytest.mark.azure


class TestAzureConformance(ObjectStoreDriverSuite):
    server_fixture = "azurite_server"
    driver_class = AzureDriver
    part_option = "block_size"
