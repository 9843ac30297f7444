"""The plugin declares itself as the core expects and stays light to import."""

from __future__ import annotations

from scraper_core.contract import Capability
from scraper_core.testing import PluginSuite


class TestS3Plugin(PluginSuite):
    driver_name = "s3"
    distribution = "registry-scraper-s3"
    heavy_modules = frozenset({"boto3", "botocore", "s3transfer", "urllib3", "obstore"})
    declared_capabilities = frozenset({Capability.SERVER_SIDE_COPY})
