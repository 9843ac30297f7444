"""Both drivers of the distribution declare themselves as the core expects."""

from __future__ import annotations

from scraper_core.contract import Capability
from scraper_core.testing import PluginSuite


class TestLocalPlugin(PluginSuite):
    driver_name = "local"
    distribution = "registry-scraper-local"
    # zstandard is only for writing .tar.zst archives.
    heavy_modules = frozenset({"zstandard", "tarfile"})
    declared_capabilities = frozenset({Capability.HARDLINK, Capability.KERNEL_COPY})


class TestTarPlugin(PluginSuite):
    driver_name = "tar"
    distribution = "registry-scraper-local"
    heavy_modules = frozenset({"zstandard"})
