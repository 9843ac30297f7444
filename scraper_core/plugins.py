"""Plugin host: finds driver plugins through entry points and wires them with pluggy.

One plugin manager (:func:`get_plugin_manager`) per host; each plugin is registered into it
when it is loaded, and its hooks are asked then, so what a plugin registers is known to be its.

Entry points are loaded one by one, never with pluggy's ``load_setuptools_entrypoints``: that
stops at the first plugin that fails to import without naming it. Here a broken plugin becomes a
one-line warning naming it and its distribution, and the others keep working. Building the one
driver named on the command line loads only that plugin; reading a registry's config.yml loads
every plugin (cheap: they import no SDK) to find the one serving its storage driver name.

Environment:

``REGISTRY_SCRAPER_PLUGINS``
    Comma-separated entry-point names to load; unset loads all, empty loads none.
``REGISTRY_SCRAPER_STRICT_PLUGINS=1``
    Re-raise plugin load errors (for plugin authors and this project's tests).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

import pluggy

from scraper_core import hookspecs
from scraper_core.checked import CheckedDriver, check_capabilities
from scraper_core.contract import DeclaresOptionKeys, DriverClass
from scraper_core.errors import PluginError
from scraper_core.imagedest import ImageDestinationClass
from scraper_core.registry_config import ConfigTranslator
from scraper_core.shorthand import DestinationOption, SourceOption

if TYPE_CHECKING:
    from scraper_core.entrypoints import EntryPoint

PLUGINS_ENV = "REGISTRY_SCRAPER_PLUGINS"
STRICT_ENV = "REGISTRY_SCRAPER_STRICT_PLUGINS"


# The records below are named tuples, not frozen dataclasses: every command builds these
# classes at import, and a frozen dataclass compiles six methods (four times the cost).


def get_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows the hook specs and has no plugins registered yet."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


class PluginInfo(NamedTuple):
    """An installed entry point in the ``registry_scraper`` group, not necessarily loaded."""

    name: str
    module: str
    distribution: str
    version: str

    def describe(self) -> str:
        return f"{self.name!r} ({self.distribution} {self.version})"


class DriverInfo(NamedTuple):
    """A loaded driver class and the plugin that registered it."""

    name: str
    description: str
    plugin: PluginInfo
    driver_class: DriverClass


class ImageDestinationInfo(NamedTuple):
    """A loaded image destination class (see :mod:`scraper_core.imagedest`) and its plugin."""

    name: str
    description: str
    plugin: PluginInfo
    destination_class: ImageDestinationClass


class ConfigSectionInfo(NamedTuple):
    """A registry driver name (``storage.<name>`` in config.yml) a plugin serves."""

    name: str
    plugin: PluginInfo
    translate: ConfigTranslator


#: Said when a registry config names a driver no installed plugin serves.
INSTALL_HINT = "install a plugin that serves it (pip install registry-scraper-<plugin>)"


def _plugin_info(entry_point: EntryPoint) -> PluginInfo:
    return PluginInfo(
        entry_point.name, entry_point.value, entry_point.distribution, entry_point.version
    )


class DriverRegistry:
    """Typed facade over the plugin manager: which drivers exist, and building one."""

    def __init__(
        self,
        entry_points_found: list[EntryPoint] | None = None,
        *,
        strict: bool | None = None,
    ) -> None:
        if entry_points_found is None:
            # Imported here: --help need not scan the installed distributions.
            from scraper_core.entrypoints import entry_points

            entry_points_found = list(entry_points(group=hookspecs.ENTRY_POINT_GROUP))
        self._entry_points = self._allowed(entry_points_found)
        self.strict = os.environ.get(STRICT_ENV) == "1" if strict is None else strict
        self.warnings: list[str] = []
        self._loaded: dict[str, list[DriverInfo]] = {}
        self._sections: dict[str, list[ConfigSectionInfo]] = {}
        self._options: dict[str, list[tuple[str, DestinationOption]]] = {}
        self._source_options: dict[str, list[tuple[str, SourceOption]]] = {}
        self._image_destinations: dict[str, list[ImageDestinationInfo]] = {}
        # One manager: each plugin is registered into it as it is loaded.
        self._manager = get_plugin_manager()
        self._failed: list[str] = []

    @staticmethod
    def _allowed(found: list[EntryPoint]) -> list[EntryPoint]:
        # The same distribution can be seen twice (an editable install and a stale copy on
        # sys.path); that is one plugin, not a conflict.
        unique: dict[tuple[str, str], EntryPoint] = {}
        for entry_point in found:
            info = _plugin_info(entry_point)
            unique.setdefault((info.name, info.distribution), entry_point)
        allowed = os.environ.get(PLUGINS_ENV)
        if allowed is None:
            return list(unique.values())
        names = {name.strip() for name in allowed.split(",") if name.strip()}
        return [ep for ep in unique.values() if ep.name in names]

    def installed(self) -> list[PluginInfo]:
        """Every allowed plugin entry point, without importing any of them."""
        return sorted((_plugin_info(ep) for ep in self._entry_points), key=lambda p: p.name)

    def conflicts(self) -> dict[str, list[PluginInfo]]:
        """Names claimed by more than one distribution."""
        by_name: dict[str, list[PluginInfo]] = {}
        for info in self.installed():
            by_name.setdefault(info.name, []).append(info)
        return {name: infos for name, infos in by_name.items() if len(infos) > 1}

    def _load(self, entry_point: EntryPoint) -> list[DriverInfo]:
        info = _plugin_info(entry_point)
        key = f"{info.name}:{info.distribution}"
        if key in self._loaded:
            return self._loaded[key]
        drivers: list[DriverInfo] = []
        sections: list[ConfigSectionInfo] = []
        options: list[tuple[str, DestinationOption]] = []
        source_options: list[tuple[str, SourceOption]] = []
        image_destinations: list[ImageDestinationInfo] = []

        def register_section(name: str, translate: ConfigTranslator) -> None:
            if not isinstance(name, str) or not name or not callable(translate):
                raise PluginError(
                    f"plugin {info.describe()} registered an invalid config section translator"
                )
            sections.append(ConfigSectionInfo(name, info, translate))

        def register(driver_class: DriverClass) -> None:
            name = getattr(driver_class, "name", None)
            if not isinstance(name, str) or not callable(getattr(driver_class, "open", None)):
                raise PluginError(f"plugin {info.describe()} registered an invalid driver class")
            if name != info.name:
                raise PluginError(
                    f"plugin {info.describe()} registered driver {name!r}: "
                    "a driver's name must equal its entry-point name"
                )
            description = str(getattr(driver_class, "description", ""))
            drivers.append(DriverInfo(name, description, info, driver_class))

        def register_image_destination(destination_class: ImageDestinationClass) -> None:
            name = getattr(destination_class, "name", None)
            if not isinstance(name, str) or not callable(getattr(destination_class, "open", None)):
                raise PluginError(
                    f"plugin {info.describe()} registered an invalid image destination class"
                )
            if name != info.name:
                raise PluginError(
                    f"plugin {info.describe()} registered image destination {name!r}: "
                    "its name must equal its entry-point name"
                )
            description = str(getattr(destination_class, "description", ""))
            image_destinations.append(
                ImageDestinationInfo(name, description, info, destination_class)
            )

        def register_option(option: DestinationOption) -> None:
            if not isinstance(option, DestinationOption) or option.driver != info.name:
                raise PluginError(
                    f"plugin {info.describe()} registered an invalid destination option: "
                    "a DestinationOption for its own driver is expected"
                )
            options.append((info.describe(), option))

        def register_source_option(option: SourceOption) -> None:
            if not isinstance(option, SourceOption) or option.driver != info.name:
                raise PluginError(
                    f"plugin {info.describe()} registered an invalid source option: "
                    "a SourceOption for its own driver is expected"
                )
            source_options.append((info.describe(), option))

        module: object = None
        try:
            module = entry_point.load()
            if not self._manager.is_registered(module):
                self._manager.register(module, name=key)
            # Only this plugin's implementations: the others were asked when they loaded.
            others = [p for p in self._manager.get_plugins() if p is not module]
            hooks = self._manager.subset_hook_caller
            hooks("registry_scraper_register_drivers", others)(register=register)
            hooks("registry_scraper_register_image_destinations", others)(
                register=register_image_destination
            )
            hooks("registry_scraper_register_config_sections", others)(register=register_section)
            hooks("registry_scraper_add_destination_options", others)(register=register_option)
            hooks("registry_scraper_add_source_options", others)(register=register_source_option)
        except Exception as exc:
            if self.strict:
                raise
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self.warnings.append(f"plugin {info.describe()} failed to load: {reason}")
            self._failed.append(info.name)
            if module is not None and self._manager.is_registered(module):
                self._manager.unregister(module)
            drivers, sections, options, source_options = [], [], [], []
            image_destinations = []
        self._loaded[key] = drivers
        self._sections[key] = sections
        self._options[key] = options
        self._source_options[key] = source_options
        self._image_destinations[key] = image_destinations
        return drivers

    def drivers(self) -> list[DriverInfo]:
        """Load every allowed plugin; broken ones end up in :attr:`warnings`."""
        found: list[DriverInfo] = []
        for entry_point in self._entry_points:
            found.extend(self._load(entry_point))
        return sorted(found, key=lambda d: d.name)

    def option_keys(self, name: str) -> tuple[str, ...]:
        """The ``-o`` keys the installed driver ``name`` declares (``DeclaresOptionKeys``);
        none when it declares none or is not installed."""
        from scraper_core.errors import ScraperError

        try:
            driver_class = self.driver(name).driver_class
        except ScraperError:
            return ()
        if not isinstance(driver_class, DeclaresOptionKeys):
            return ()
        return tuple(key for key in driver_class.option_keys if isinstance(key, str))

    def driver(self, name: str) -> DriverInfo:
        """Load only the plugin that provides ``name``."""
        candidates = [ep for ep in self._entry_points if ep.name == name]
        if len(candidates) > 1:
            claimed = ", ".join(_plugin_info(ep).describe() for ep in candidates)
            raise PluginError(
                f"storage driver {name!r} is provided by more than one distribution: {claimed}; "
                "uninstall all but one"
            )
        drivers = self._load(candidates[0]) if candidates else []
        if not drivers and candidates and self.image_destination(name) is not None:
            raise PluginError(
                f"{name!r} is an image destination, not a storage driver: it can only be "
                "written with --output-storage (a copy or a push)"
            )
        if not drivers:
            from scraper_core.suggest import did_you_mean

            names = [info.name for info in self.installed()]
            problem = (
                "failed to load" if candidates else f"is not installed{did_you_mean(name, names)}"
            )
            installed = ", ".join(names) or "none"
            raise PluginError(f"storage driver {name!r} {problem} (installed drivers: {installed})")
        return drivers[0]

    def image_destination(self, name: str) -> ImageDestinationInfo | None:
        """The image destination ``name`` (loading only the plugin named so), or None when
        no plugin of that name registers one: ``name`` is then a storage driver's, or
        nothing installed (:meth:`driver` says which)."""
        candidates = [ep for ep in self._entry_points if ep.name == name]
        if len(candidates) != 1:
            return None  # none, or a conflict that driver() names
        self._load(candidates[0])
        info = _plugin_info(candidates[0])
        found = self._image_destinations.get(f"{info.name}:{info.distribution}", [])
        return found[0] if found else None

    def image_destinations(self) -> list[ImageDestinationInfo]:
        """Every image destination the allowed plugins offer (loads them all)."""
        self.drivers()
        found = [item for items in self._image_destinations.values() for item in items]
        return sorted(found, key=lambda d: d.name)

    def config_sections(self) -> list[ConfigSectionInfo]:
        """Every registry driver name the allowed plugins serve (loads them all)."""
        self.drivers()
        found = [section for sections in self._sections.values() for section in sections]
        return sorted(found, key=lambda s: s.name)

    def destination_options(self) -> list[tuple[str, DestinationOption]]:
        """Every shorthand option of ``scrape copy`` the allowed plugins offer, each with the
        plugin that offers it (loads them all), in plugin order."""
        self.drivers()
        return [option for key in sorted(self._options) for option in self._options[key]]

    def source_options(self) -> list[tuple[str, SourceOption]]:
        """Every shorthand source option the allowed plugins offer, each with the plugin that
        offers it (loads them all), in plugin order."""
        self.drivers()
        found = self._source_options
        return [option for key in sorted(found) for option in found[key]]

    def config_translator(self, registry_driver: str) -> ConfigTranslator:
        """The translator of the plugin serving ``storage.<registry_driver>`` in a registry
        config; PluginError in one line when none or several do."""
        sections = self.config_sections()
        claims = [section for section in sections if section.name == registry_driver]
        plugins = {section.plugin for section in claims}
        if len(plugins) > 1:
            claimed = ", ".join(sorted(plugin.describe() for plugin in plugins))
            raise PluginError(
                f"storage driver {registry_driver!r} is served by more than one plugin: "
                f"{claimed}; uninstall all but one"
            )
        if not claims:
            served = ", ".join(sorted({section.name for section in sections})) or "none"
            failed = f"; failed to load: {', '.join(self._failed)}" if self._failed else ""
            raise PluginError(
                f"storage driver {registry_driver!r} is served by no installed plugin "
                f"(served: {served}{failed}); {INSTALL_HINT}"
            )
        return claims[0].translate

    def open(
        self,
        name: str,
        location: str,
        options: Mapping[str, str] | None = None,
        *,
        read_only: bool,
    ) -> CheckedDriver:
        """Build driver ``name`` on ``location``, wrapped so the core can use it safely."""
        info = self.driver(name)
        raw = info.driver_class.open(location, dict(options or {}), read_only=read_only)
        # What the driver decided while opening (azure: which blob naming it found), one line
        # each; the CLI prints them with the plugin warnings.
        self.warnings.extend(str(note) for note in getattr(raw, "notes", ()))
        # A declared capability with no method behind it is a broken plugin: refused here,
        # before any run, rather than silently streamed around (or failing mid-run).
        check_capabilities(raw)
        return CheckedDriver(raw, read_only=read_only)
