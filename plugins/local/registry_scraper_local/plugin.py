"""Entry-point module: registers the local driver. Imports nothing heavy."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterDriver, hookimpl


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_local.driver import LocalDriver

    register(LocalDriver)
