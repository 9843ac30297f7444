"""The ``filesystem`` section of a registry's config.yml, read as the local driver's location.

Pure and cheap to import: the plugin module registers :func:`from_registry_config` for
``--registry-config``.
"""

from __future__ import annotations

from scraper_core.registry_config import RegistrySection, StorageConfig

DRIVER_NAME = "local"
#: distribution's filesystem driver: names it serves in a config, and its default root.
REGISTRY_DRIVER_NAMES = ("filesystem",)
DEFAULT_ROOTDIRECTORY = "/var/lib/registry"


def from_registry_config(section: RegistrySection) -> StorageConfig:
    """``storage.filesystem``: only ``rootdirectory`` says where the tree is (``maxthreads``
    tunes the registry, not the tree)."""
    return StorageConfig(DRIVER_NAME, section.text("rootdirectory") or DEFAULT_ROOTDIRECTORY)
