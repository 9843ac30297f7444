"""Entry-point module: registers the local driver. Imports nothing heavy."""

from __future__ import annotations

from scraper_core.driver_plugin import driver_plugin_hooks

registry_scraper_register_drivers, registry_scraper_register_config_sections = driver_plugin_hooks(
    "registry_scraper_local.driver:LocalDriver", "registry_scraper_local.config"
)
