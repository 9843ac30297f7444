"""The plugin: the registry destination, registered as an image destination (not a driver)."""

from __future__ import annotations

from registry_scraper_registry.destination import RegistryDestination
from scraper_core.hookspecs import RegisterImageDestination, hookimpl


@hookimpl
def registry_scraper_register_image_destinations(register: RegisterImageDestination) -> None:
    register(RegistryDestination)
