"""The plugin declares itself as the core expects and stays light to import."""

from __future__ import annotations

from scraper_core.contract import Capability
from scraper_core.testing import PluginSuite


class TestGcsPlugin(PluginSuite):
    driver_name = "gcs"
    distribution = "registry-scraper-gcs"
    heavy_modules = frozenset({"google", "grpc", "requests", "urllib3"})
    declared_capabilities = frozenset({Capability.SERVER_SIDE_COPY})
