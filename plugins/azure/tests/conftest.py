"""Fixtures: one Azurite for the session; a fresh container and driver per test.

Azurite is not installed: its tests are skipped, or fail on CI (see tests/azurite_server.py).
"""

from __future__ import annotations

from azurite_server import azurite_server

from registry_scraper_azure.driver import AzureDriver
from scraper_core.testing.objectstore import emulator_fixtures

#: The session's emulator, defined beside it and shared with the host's tests.
SHARED_FIXTURES = (azurite_server,)

# ``azurite`` (AZURE_STORAGE_CONNECTION_STRING set), ``make_store``, ``store`` (also
# ``container``), ``open_driver``, ``driver``.
azurite, make_store, store, container, open_driver, driver = emulator_fixtures(
    "azurite_server", "azurite", "container", AzureDriver, part_option="block_size"
)
