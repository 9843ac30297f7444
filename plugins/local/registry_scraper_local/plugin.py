"""Entry-point module: registers the local driver. Imports nothing heavy."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterConfigSection, RegisterDriver, hookimpl


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_local.driver import LocalDriver

    register(LocalDriver)


@hookimpl
def registry_scraper_register_config_sections(register: RegisterConfigSection) -> None:
    from registry_scraper_local.config import REGISTRY_DRIVER_NAMES, from_registry_config

    for name in REGISTRY_DRIVER_NAMES:
        register(name, from_registry_config)
