"""The local driver against the shared conformance suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_scraper_local.driver import LocalDriver
from scraper_core.contract import StorageDriver, StorageReader
from scraper_core.testing import DriverSuite


class TestLocalConformance(DriverSuite):
    @pytest.fixture
    def driver(self, tmp_path: Path) -> LocalDriver:
        # A subdirectory, so that nothing the suite does can reach tmp_path's other contents.
        return LocalDriver.open(str(tmp_path / "root"), {}, read_only=False)

    def open_read_only(self, driver: StorageDriver) -> StorageReader:
        assert isinstance(driver, LocalDriver)
        return LocalDriver.open(driver.root, {}, read_only=True)

    def open_copy_source(self, driver: StorageDriver) -> StorageDriver:
        # A sibling root on the same filesystem: hardlinks and kernel copies can reach it.
        assert isinstance(driver, LocalDriver)
        return LocalDriver.open(f"{driver.root}-copy-source", {}, read_only=False)
