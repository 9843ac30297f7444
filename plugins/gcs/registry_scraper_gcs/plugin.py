"""Entry-point module: registers the gcs driver. Imports nothing heavy (no google.*)."""

from __future__ import annotations

from scraper_core.hookspecs import RegisterDriver, hookimpl


@hookimpl
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    from registry_scraper_gcs.driver import GcsDriver

    register(GcsDriver)
