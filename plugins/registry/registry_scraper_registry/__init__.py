"""A running registry as a destination: blobs, manifests and tags through the distribution API.

:class:`~registry_scraper_registry.destination.RegistryDestination` is the object the core
calls; everything else here serves it.
"""

from __future__ import annotations
