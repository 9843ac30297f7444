"""Hook specifications: what a registry-scraper plugin may implement.

A plugin is a module named by an entry point in the ``registry_scraper`` group; the entry-point
name is the driver name users pass to ``--storage``. Mark implementations with
:data:`scraper_core.hookimpl`::

    from scraper_core import hookimpl

    @hookimpl
    def registry_scraper_register_drivers(register):
        register(MyDriver)

    @hookimpl
    def registry_scraper_register_image_destinations(register):
        register(MyRegistryDestination)  # thinks in blobs and manifests, not files

    @hookimpl
    def registry_scraper_register_config_sections(register):
        register("mystore", my_config_translator)  # storage: {mystore: {...}} in config.yml

    @hookimpl
    def registry_scraper_add_destination_options(register):
        register(DestinationOption("--output-my", driver="mystore", help="...", metavar="URL"))

    @hookimpl
    def registry_scraper_add_source_options(register):
        register(SourceOption("--my-token", driver="mystore", option="token", help="..."))

This module is the top of the plugin API: it imports the types plugins receive, and nothing
imports it but the plugin host and the plugins.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from scraper_core.contract import DriverClass
from scraper_core.imagedest import ImageDestinationClass
from scraper_core.registry_config import ConfigTranslator
from scraper_core.shorthand import DestinationOption, SourceOption

PROJECT_NAME = "registry_scraper"
#: The entry-point group plugins are found through.
ENTRY_POINT_GROUP = "registry_scraper"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: Receives a driver class; its ``name`` must equal the plugin's entry-point name.
RegisterDriver = Callable[[DriverClass], None]
#: Receives an image destination class; its ``name`` must equal the plugin's entry-point name.
RegisterImageDestination = Callable[[ImageDestinationClass], None]
#: Receives a registry driver name (a key under ``storage:`` in a registry's config.yml) and
#: the function that turns that section into a driver, location and options.
RegisterConfigSection = Callable[[str, ConfigTranslator], None]
#: Receives a shorthand option of ``scrape copy`` for the plugin's own destination driver.
RegisterDestinationOption = Callable[[DestinationOption], None]
#: Receives a shorthand option, of the commands that read a source, for the plugin's own driver.
RegisterSourceOption = Callable[[SourceOption], None]


@hookspec
def registry_scraper_register_drivers(register: RegisterDriver) -> None:
    """Register the storage driver classes this plugin provides.

    Call ``register(cls)`` once per class. ``cls`` follows
    :class:`scraper_core.contract.DriverClass`: class attributes ``name`` (the ``--storage``
    value) and ``description`` (one line for ``scrape drivers``), and a classmethod
    ``open(location, options, *, read_only)`` returning a
    :class:`scraper_core.contract.StorageDriver`. Import heavy SDKs inside ``open``, never at
    module import time: ``scrape --help`` must stay fast whatever is installed.
    """


@hookspec
def registry_scraper_register_image_destinations(register: RegisterImageDestination) -> None:
    """Register destination classes that take images, not files (a running registry, an OCI
    layout): see :mod:`scraper_core.imagedest`.

    Call ``register(cls)`` with a :class:`scraper_core.imagedest.ImageDestinationClass`:
    class attributes ``name`` (the ``--output-storage`` value, equal to the entry-point name)
    and ``description``, and a classmethod ``open(location, options)``. A plugin registers
    storage drivers or an image destination under its name, not both. Optional.
    """


@hookspec
def registry_scraper_register_config_sections(register: RegisterConfigSection) -> None:
    """Claim the storage drivers of a registry's ``config.yml`` this plugin can read.

    Call ``register(name, translate)`` once per distribution driver name served (the s3
    plugin registers ``s3`` and ``s3aws``). ``--registry-config`` hands the section under
    ``storage.<name>`` to ``translate`` as a
    :class:`scraper_core.registry_config.RegistrySection` (the raw parameters after the
    ``REGISTRY_STORAGE_*`` overrides, with distribution's conversions: ``text``, ``flag``,
    ``section``, ``location``, ``error``). ``translate`` returns a
    :class:`scraper_core.registry_config.StorageConfig`: the ``--storage`` driver name, the
    ``--data-dir`` location and the ``--storage-option`` pairs, with ``secret_options`` naming
    the options never to show. It raises ``section.error(...)`` for what it cannot use, never
    quoting a value. Keep it pure and cheap: it runs before any driver is opened, and nothing
    heavy may be imported. Optional: a plugin without it is just not choosable by a config.
    """


@hookspec
def registry_scraper_add_destination_options(register: RegisterDestinationOption) -> None:
    """Offer shorthand options of ``scrape copy`` for this plugin's destination driver.

    Call ``register(option)`` once per :class:`scraper_core.shorthand.DestinationOption`
    (pytest's ``pytest_addoption`` idea). An option whose ``option`` is None names the
    destination's location: ``--output-tar FILE`` means ``--output-storage tar --output-dir
    FILE``, and with ``--output-dir`` it is refused. Otherwise it sets that driver option:
    ``--split-size SIZE`` means ``--output-storage-option split-size=SIZE`` and needs the
    driver's location shorthand. ``driver`` must be the plugin's own entry-point name; a flag
    that ``scrape copy`` has already (or another plugin claimed first) is left out with a
    warning. ``scrape copy`` loads every plugin to learn them (cheap: plugin modules import
    nothing heavy); ``scrape --help`` does not. Optional.
    """


@hookspec
def registry_scraper_add_source_options(register: RegisterSourceOption) -> None:
    """Offer shorthand source options, for this plugin's driver, to every command that reads a
    source (``copy``, ``verify``, ``list``, ``inventory``).

    Call ``register(option)`` once per :class:`scraper_core.shorthand.SourceOption`: the tar
    plugin's ``--trusted-keys FILE`` means ``--storage-option trusted-keys=FILE``. It is
    accepted only with ``--storage DRIVER`` (``driver`` must be the plugin's own entry-point
    name); with another source it is refused in one line, exit 2. A flag the command has
    already (or another plugin claimed first) is left out with a warning. Learned as the
    destination options are: when the command is parsed, never for ``scrape --help``. Optional.
    """
