"""What plugin authors and core tests need to test storage drivers (extra ``testing``).

:class:`DriverSuite` is the conformance suite a driver must pass; :class:`PluginSuite` checks
the plugin around it (entry point, registration, no SDK imported on load); :class:`MemoryDriver`
is a complete in-memory driver for unit tests. :class:`TreeWriter` puts a registry tree into any
driver; :class:`RoundTripSuite` scrapes one out of (and into) a driver with the real ``scrape``;
:class:`ServerProcess` runs an emulator a driver's tests need, every wait bounded. The
capability suites (:class:`FastCopySuite` for server-side copies and hardlinks,
:class:`KernelCopySuite`, both part of DriverSuite) exercise each copy capability a driver
declares; :class:`ObjectStoreSuite` checks what a driver over buckets stores, with its SDK.
For image destinations (:mod:`scraper_core.imagedest`),
``memory_images.MemoryImageDestination`` is the in-memory one. Importing this package imports
pytest, which is why nothing else in :mod:`scraper_core` imports it.
"""

from __future__ import annotations

import pytest

# Before the suite module is imported: a failing check in the shipped suite then shows the
# values compared, as assertions in the plugin's own test files do.
pytest.register_assert_rewrite(
    "scraper_core.testing.suite",
    "scraper_core.testing.plugin_suite",
    "scraper_core.testing.capabilities",
    "scraper_core.testing.roundtrip",
    "scraper_core.testing.objectstore",
)

from scraper_core.testing.capabilities import (  # noqa: E402
    CapabilitySuite,
    FastCopySuite,
    KernelCopySuite,
)
from scraper_core.testing.memory import MemoryDriver  # noqa: E402
from scraper_core.testing.objectstore import ObjectStoreSuite  # noqa: E402
from scraper_core.testing.plugin_suite import PluginSuite  # noqa: E402
from scraper_core.testing.process import ServerProcess, missing_component  # noqa: E402
from scraper_core.testing.roundtrip import RoundTripSuite, StorageLocation  # noqa: E402
from scraper_core.testing.suite import DriverSuite  # noqa: E402
from scraper_core.testing.tree import SyntheticImage, TreeWriter  # noqa: E402

__all__ = [
    "CapabilitySuite",
    "DriverSuite",
    "FastCopySuite",
    "KernelCopySuite",
    "MemoryDriver",
    "ObjectStoreSuite",
    "PluginSuite",
    "RoundTripSuite",
    "ServerProcess",
    "StorageLocation",
    "SyntheticImage",
    "TreeWriter",
    "missing_component",
]
