"""Entry-point module: registers the azure driver. Imports nothing heavy (no azure.*)."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterDriver, hookimpl


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_azure.driver import AzureDriver

    register(AzureDriver)
