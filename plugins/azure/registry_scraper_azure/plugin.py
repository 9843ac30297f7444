"""Entry-point module: registers the azure driver. Imports nothing heavy (no azure.*)."""

from __future__ import annotations

from scraper_core.driver_plugin import driver_plugin_hooks

registry_scraper_register_drivers, registry_scraper_register_config_sections = driver_plugin_hooks(
    "registry_scraper_azure.driver:AzureDriver", "registry_scraper_azure.config"
)
