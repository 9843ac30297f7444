"""The plugin declares itself as the core expects and stays light to import."""

from __future__ import annotations

from scraper_core.contract import Capability
from scraper_core.testing import PluginSuite


class TestAzurePlugin(PluginSuite):
    driver_name = "azure"
    distribution = "registry-scraper-azure"
    heavy_modules = frozenset({"azure", "requests", "urllib3", "cryptography"})
    declared_capabilities = frozenset({Capability.SERVER_SIDE_COPY})
