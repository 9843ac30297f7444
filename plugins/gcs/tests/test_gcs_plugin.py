"""The plugin declares itself as the core expects and stays light to import."""

from __future__ import annotations

from registry_scraper_gcs.driver import GcsDriver
from scraper_core.contract import Capability
from scraper_core.testing import PluginSuite


class TestGcsPlugin(PluginSuite):
    driver_name = "gcs"
    distribution = "registry-scraper-gcs"
    heavy_modules = frozenset({"google", "grpc", "requests", "urllib3"})


def test_rewrite_is_declared_as_server_side_copy() -> None:
    assert GcsDriver.capabilities == frozenset({Capability.SERVER_SIDE_COPY})
