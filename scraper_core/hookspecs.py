"""Hook specifications: what a registry-scraper plugin may implement.

A plugin is a module named by an entry point in the ``registry_scraper`` group; the entry-point
name is the driver name users pass to ``--storage``. Mark implementations with
:data:`scraper_core.hookimpl`::

    from scraper_core import hookimpl

    @hookimpl
    def registry_scraper_register_drivers(register):
        register(MyDriver)
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from scraper_core.driver import DriverClass

PROJECT_NAME = "registry_scraper"
#: The entry-point group plugins are found through.
ENTRY_POINT_GROUP = "registry_scraper"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: Receives a driver class; its ``name`` must equal the plugin's entry-point name.
RegisterDriver = Callable[[DriverClass], None]


@hookspec
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    """Register the storage driver classes this plugin provides.

    Call ``register(cls)`` once per class. ``cls`` follows
    :class:`scraper_core.driver.DriverClass`: class attributes ``name`` (the ``--storage``
    value) and ``description`` (one line for ``scrape drivers``), and a classmethod
    ``open(location, options, *, read_only)`` returning a
    :class:`scraper_core.driver.StorageDriver`. Import heavy SDKs inside ``open``, never at
    module import time: ``scrape --help`` must stay fast whatever is installed.
    """
