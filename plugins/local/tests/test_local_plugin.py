"""Both drivers of the distribution declare themselves as the core expects."""

from __future__ import annotations

from registry_scraper_local.driver import LocalDriver
from scraper_core.contract import Capability
from scraper_core.testing import PluginSuite


class TestLocalPlugin(PluginSuite):
    driver_name = "local"
    distribution = "registry-scraper-local"
    # zstandard is only for writing .tar.zst archives.
    heavy_modules = frozenset({"zstandard", "tarfile"})


class TestTarPlugin(PluginSuite):
    driver_name = "tar"
    distribution = "registry-scraper-local"
    heavy_modules = frozenset({"zstandard"})


def test_local_fast_paths_are_declared() -> None:
    assert LocalDriver.capabilities >= {Capability.HARDLINK, Capability.KERNEL_COPY}
