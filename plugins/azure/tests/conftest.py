"""Fixtures: one Azurite for the session; a fresh container and driver per test.

Azurite is not installed: its tests are skipped, or fail on CI (see tests/azurite_server.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from azurite_server import AzuriteServer, azurite_server

from registry_scraper_azure.driver import AzureDriver
from scraper_core.testing.objectstore import opener

#: The session's emulator, defined beside it and shared with the host's tests.
SHARED_FIXTURES = (azurite_server,)

OpenDriver = Callable[..., AzureDriver]


@pytest.fixture
def azurite(azurite_server: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> AzuriteServer:
    """The server, with this process set up as its client (AZURE_STORAGE_CONNECTION_STRING)."""
    azurite_server.use_environment(monkeypatch)
    return azurite_server


@pytest.fixture
def container(azurite: AzuriteServer) -> str:
    return azurite.make_container()


@pytest.fixture
def open_driver(azurite: AzuriteServer) -> OpenDriver:
    """``open_driver(location, read_only=False, **options)`` against the Azurite."""
    return cast(OpenDriver, opener(AzureDriver))


@pytest.fixture
def driver(open_driver: OpenDriver, container: str) -> AzureDriver:
    """A writable driver on a fresh, empty container, with small blocks to exercise staging."""
    return open_driver(container, block_size="256KiB")
