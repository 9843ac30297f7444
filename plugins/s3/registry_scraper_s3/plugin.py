"""Entry-point module: registers the s3 driver. Imports nothing heavy (no boto3)."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterConfigSection, RegisterDriver, hookimpl


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_s3.driver import S3Driver

    register(S3Driver)


@hookimpl
def registry_scraper_register_config_sections(register: RegisterConfigSection) -> None:
    from registry_scraper_s3.config import REGISTRY_DRIVER_NAMES, from_registry_config

    for name in REGISTRY_DRIVER_NAMES:
        register(name, from_registry_config)
