"""Entry-point module: registers the gcs driver. Imports nothing heavy (no google.*)."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterConfigSection, RegisterDriver, hookimpl


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_gcs.driver import GcsDriver

    register(GcsDriver)


@hookimpl
def registry_scraper_register_config_sections(register: RegisterConfigSection) -> None:
    from registry_scraper_gcs.config import REGISTRY_DRIVER_NAMES, from_registry_config

    for name in REGISTRY_DRIVER_NAMES:
        register(name, from_registry_config)
