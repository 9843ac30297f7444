"""The local plugin reads a registry config's ``storage.filesystem`` section."""

from __future__ import annotations

import pytest

from registry_scraper_local.config import REGISTRY_DRIVER_NAMES, from_registry_config
from scraper_core.registry_config import StorageConfig, load_storage_config


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("storage:\n  filesystem: {rootdirectory: /srv/registry}\n", "/srv/registry"),
        ("storage:\n  filesystem: {rootdirectory: /srv/r, maxthreads: 100}\n", "/srv/r"),
        ("storage:\n  filesystem:\n", "/var/lib/registry"),
        ("storage:\n  filesystem: {}\n  delete: {enabled: true}\n", "/var/lib/registry"),
        ("storage: filesystem\n", "/var/lib/registry"),
    ],
)
def test_filesystem_is_the_local_driver(text: str, location: str) -> None:
    translators = dict.fromkeys(REGISTRY_DRIVER_NAMES, from_registry_config)
    config = load_storage_config(text, "config.yml", {}, translators)
    assert config == StorageConfig("local", location, {})
