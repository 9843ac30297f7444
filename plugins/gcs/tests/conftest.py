"""Fixtures: one fake-gcs-server for the session; a fresh bucket and driver per test.

The server is not installed: its tests are skipped, or fail on CI (see gcs_emulator.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from gcs_emulator import FakeGcsServer, gcs_server

from registry_scraper_gcs.driver import GcsDriver
from scraper_core.testing.objectstore import opener

#: The session's emulator, defined beside it and shared with the host's tests.
SHARED_FIXTURES = (gcs_server,)

OpenDriver = Callable[..., GcsDriver]


@pytest.fixture
def emulator(gcs_server: FakeGcsServer, monkeypatch: pytest.MonkeyPatch) -> FakeGcsServer:
    """The server, with this process set up as its client (STORAGE_EMULATOR_HOST)."""
    gcs_server.use_environment(monkeypatch)
    return gcs_server


@pytest.fixture
def bucket(emulator: FakeGcsServer) -> str:
    return emulator.make_bucket()


@pytest.fixture
def open_driver(emulator: FakeGcsServer) -> OpenDriver:
    """``open_driver(location, read_only=False, **options)`` against the emulator."""
    return cast(OpenDriver, opener(GcsDriver))


@pytest.fixture
def driver(open_driver: OpenDriver, bucket: str) -> GcsDriver:
    """A writable driver on a fresh, empty bucket, with small chunks to exercise uploads."""
    return open_driver(bucket, chunk_size="256KiB")
