"""The plugin: the registry destination, registered as an image destination (not a driver).

Every ``scrape`` command loads this module to learn the destinations; the destination itself
(urllib3, http.client, logging: about a tenth of a second) is imported only when a push opens
one.
"""

from __future__ import annotations

from collections.abc import Mapping

from scraper_core.hookspecs import RegisterImageDestination, hookimpl
from scraper_core.imagedest import ImageDestination


class RegistryDestinationClass:
    """What the core registers (``--output-storage registry``); :meth:`open` makes a
    :class:`~registry_scraper_registry.destination.RegistryDestination`."""

    name = "registry"
    description = "a running registry, through the distribution API (HOST[:PORT][/NAMESPACE])"

    @classmethod
    def open(cls, location: str, options: Mapping[str, str]) -> ImageDestination:
        from registry_scraper_registry.destination import RegistryDestination

        return RegistryDestination.open(location, options)


@hookimpl
def registry_scraper_register_image_destinations(register: RegisterImageDestination) -> None:
    register(RegistryDestinationClass)
