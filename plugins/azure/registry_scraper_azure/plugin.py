"""Entry-point module: registers the azure driver. Imports nothing heavy (no azure.*)."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterConfigSection, RegisterDriver, hookimpl


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_azure.driver import AzureDriver

    register(AzureDriver)


@hookimpl
def registry_scraper_register_config_sections(register: RegisterConfigSection) -> None:
    from registry_scraper_azure.config import REGISTRY_DRIVER_NAMES, from_registry_config

    for name in REGISTRY_DRIVER_NAMES:
        register(name, from_registry_config)
