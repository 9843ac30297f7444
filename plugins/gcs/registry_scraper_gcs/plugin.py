"""Entry-point module: registers the gcs driver. Imports nothing heavy (no google.*)."""

from __future__ import annotations

from scraper_core.driver_plugin import driver_plugin_hooks

registry_scraper_register_drivers, registry_scraper_register_config_sections = driver_plugin_hooks(
    "registry_scraper_gcs.driver:GcsDriver", "registry_scraper_gcs.config"
)
