"""Fixtures: one fake-gcs-server for the session; a fresh bucket and driver per test.

The server is not installed: its tests are skipped, or fail on CI (see gcs_emulator.py).
"""

from __future__ import annotations

from gcs_emulator import gcs_server

from registry_scraper_gcs.driver import GcsDriver
from scraper_core.testing.objectstore import emulator_fixtures

#: The session's emulator, defined beside it and shared with the host's tests.
SHARED_FIXTURES = (gcs_server,)

# ``emulator`` (STORAGE_EMULATOR_HOST set), ``make_store``, ``store`` (also ``bucket``),
# ``open_driver``, ``driver``.
emulator, make_store, store, bucket, open_driver, driver = emulator_fixtures(
    "gcs_server", "emulator", "bucket", GcsDriver, part_option="chunk_size"
)
