"""Entry-point module for the ``tar`` destination driver. Imports nothing heavy."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterDriver, hookimpl


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_local.tar import TarDriver

    register(TarDriver)
