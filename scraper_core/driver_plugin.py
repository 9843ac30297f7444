"""The two hooks of a plugin that brings one storage driver and the registry config sections
it reads, for a plugin module to expose as its own.

The plugin's modules are imported when pluggy calls a hook, not when the entry point loads:
loading every plugin (``scrape --help``, completion) then costs no SDK import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from scraper_core.hookspecs import RegisterConfigSection, RegisterDriver, hookimpl

DriverHooks = tuple[Callable[[RegisterDriver], None], Callable[[RegisterConfigSection], None]]


def driver_plugin_hooks(driver: str, config: str) -> DriverHooks:
    """``registry_scraper_register_drivers`` registering ``driver`` (``"module:Class"``) and
    ``registry_scraper_register_config_sections`` registering ``config``'s
    ``from_registry_config`` under each of its ``REGISTRY_DRIVER_NAMES``."""
    driver_module, _, driver_class = driver.partition(":")

    @hookimpl
    def registry_scraper_register_drivers(register: RegisterDriver) -> None:
        register(getattr(importlib.import_module(driver_module), driver_class))

    @hookimpl
    def registry_scraper_register_config_sections(register: RegisterConfigSection) -> None:
        sections = importlib.import_module(config)
        for name in sections.REGISTRY_DRIVER_NAMES:
            register(name, sections.from_registry_config)

    return registry_scraper_register_drivers, registry_scraper_register_config_sections
