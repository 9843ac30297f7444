"""Read the storage section of a registry's own config.yml, as distribution reads it.

``--registry-config /etc/docker/registry/config.yml`` picks the driver and its parameters, so
an operator need not translate them. The core does what distribution's ``configuration``
package does: it reads the YAML, applies the environment, and picks the one storage driver
section. Turning that section into a driver, location and options is the job of the plugin that
serves the driver name, as distribution's ``factory.Create(name, parameters)`` hands the section
to whichever driver registered the name (hook ``registry_scraper_register_config_sections``).

Environment overrides follow distribution's ``configuration/parser.go``: variables are applied
sorted by name (``REGISTRY_STORAGE`` before ``REGISTRY_STORAGE_S3_BUCKET``), split on ``_``;
``REGISTRY_STORAGE=s3`` replaces the whole storage section with an empty ``s3`` one,
``REGISTRY_STORAGE_S3_BUCKET=x`` sets parameter ``bucket`` (lower-cased), creating the driver
section when it is missing. Values are YAML, so ``true`` is a boolean, as in the registry.

Secrets (keys) never appear in an error message or a repr: a plugin says which of its options
are secret.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from scraper_core.errors import ConfigurationError

#: Keys under ``storage:`` that configure the registry, not a driver (distribution skips them).
NON_DRIVER_KEYS = frozenset({"delete", "cache", "maintenance", "redirect", "tag"})
MASK = "***"
_ENV_PATH = ("REGISTRY", "STORAGE")
# Go's strconv.ParseBool, which distribution uses for flags given as strings.
_TRUE_TEXT = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE_TEXT = frozenset({"0", "f", "F", "FALSE", "false", "False"})

Parameters = dict[Any, Any]


@dataclass(frozen=True)
class StorageConfig:
    """What ``--storage``, ``--data-dir`` and ``--storage-option`` would have said.

    ``secret_options`` names the options shown masked; the plugin that made the config knows
    them (see :func:`secret_option_names`).
    """

    driver: str
    location: str
    options: dict[str, str] = field(default_factory=dict)
    secret_options: frozenset[str] = field(default=frozenset(), compare=False)

    def __repr__(self) -> str:
        shown = {
            key: (MASK if key in self.secret_options else value)
            for key, value in self.options.items()
        }
        return (
            f"StorageConfig(driver={self.driver!r}, location={self.location!r}, options={shown!r})"
        )


def secret_option_names(options_class: type[Any]) -> frozenset[str]:
    """The fields of an options dataclass declared ``option(..., secret=True)``.

    (:func:`scraper_core.bucket.options.option` keeps a secret out of the dataclass's repr.)
    """
    return frozenset(item.name for item in dataclasses.fields(options_class) if not item.repr)


@dataclass(frozen=True)
class RegistrySection:
    """One storage driver's parameters from a registry config, read with distribution's
    conversions: what a plugin's translator receives.

    ``driver`` is the name under ``storage:`` (``s3``, ``filesystem``...), ``parameters`` the
    raw mapping below it (after the environment overrides), ``source`` the file, for errors.
    """

    source: str
    driver: str
    parameters: Mapping[Any, Any]
    #: Set for a nested map such as ``credentials``: its key path below the driver.
    path: str = ""

    def error(self, detail: str) -> ConfigurationError:
        """An error naming the file and the parameter: ``config.yml: storage.s3<detail>``."""
        return ConfigurationError(f"{self.source}: storage.{self.driver}{self.path}{detail}")

    def has(self, key: str) -> bool:
        return self.parameters.get(key) is not None

    def text(self, key: str) -> str:
        """The value as Go's fmt.Sprint shows it; "" when absent or null."""
        value = self.parameters.get(key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        # Never the value itself: it may be a key.
        raise self.error(f".{key} must be a single value, not a {type(value).__name__}")

    def required(self, key: str) -> str:
        value = self.text(key)
        if not value:
            raise self.error(f" needs {key!r}")
        return value

    def flag(self, key: str) -> bool | None:
        """A boolean parameter; None when absent."""
        value = self.parameters.get(key)
        if value is None or isinstance(value, bool):
            return value
        text = self.text(key)
        if text in _TRUE_TEXT | _FALSE_TEXT:
            return text in _TRUE_TEXT
        raise self.error(f".{key} must be true or false")

    def section(self, key: str) -> RegistrySection | None:
        """A nested map (``credentials: {type: ...}``) read the same way; None when absent."""
        value = self.parameters.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(f".{key} must be a mapping")
        return dataclasses.replace(self, parameters=value, path=f"{self.path}.{key}")

    def location(self, container_key: str) -> str:
        """``CONTAINER[/ROOT]`` as the object-store drivers take it, from ``container_key``
        (``bucket``, ``container``) and ``rootdirectory``."""
        root = self.text("rootdirectory").strip("/")
        container = self.required(container_key)
        return f"{container}/{root}" if root else container


#: What a plugin registers for a registry driver name: the section in, our config out.
#: Raise :class:`~scraper_core.errors.ConfigurationError` (``section.error(...)``) for a
#: section it cannot use; never quote a parameter's value in it.
ConfigTranslator = Callable[[RegistrySection], StorageConfig]


class ConfigTranslators(Protocol):
    """Who serves a registry driver name (the plugin host, or a test's stand-in)."""

    def config_translator(self, registry_driver: str) -> ConfigTranslator:
        """The translator registered for ``registry_driver``; ConfigurationError (or
        PluginError) in one line when no installed plugin serves it."""
        ...


def _yaml_problem(exc: Exception) -> str:
    """A YAML error without the snippet of the document PyYAML quotes (it may hold a key)."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"{exc.problem}{where}"
    # Other errors (nesting too deep, an integer too long) may quote the value: not shown.
    return f"a value cannot be read ({type(exc).__name__})"


@functools.cache
def _loader() -> Any:
    # Imported here: the CLI's start-up does not pay for YAML unless a config is read.
    import yaml

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        """Timestamps stay text, as yaml.v2 leaves them when decoding into interface{}."""

    Loader.add_constructor(
        "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
    )
    return Loader


def _parse_yaml(text: str, what: str) -> Any:
    import yaml

    try:
        # A SafeLoader subclass: no arbitrary objects are built.
        return yaml.load(text, Loader=_loader())
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ConfigurationError(f"{what}: invalid YAML: {_yaml_problem(exc)}") from None


def _storage_map(value: Any, what: str) -> dict[Any, Any]:
    """A ``storage`` value as distribution's Storage type takes it: a map, or a driver name."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {value: {}}
    if not isinstance(value, dict):
        raise ConfigurationError(f"{what}: storage must be a mapping or a driver name")
    _check_at_most_one_driver(value, what)
    return copy.deepcopy(value)


def _drivers(storage: Mapping[Any, Any]) -> list[Any]:
    return [key for key in storage if key not in NON_DRIVER_KEYS]


def _check_at_most_one_driver(storage: Mapping[Any, Any], what: str) -> None:
    drivers = _drivers(storage)
    if len(drivers) > 1:
        found = ", ".join(map(str, drivers))
        raise ConfigurationError(f"{what}: expected one storage driver, found {found}")


def _overwrite(mapping: dict[Any, Any], path: list[str], value: Any) -> None:
    """parser.go's overwriteMap: follow existing keys (matched upper-cased), create missing
    ones (lower-cased), set the last one."""
    key = path[0]
    if len(path) > 1:
        for existing_key, existing in mapping.items():
            if str(existing_key).upper() != key:
                continue
            if existing is None:
                break  # recreated below, as distribution does
            if isinstance(existing, dict):
                _overwrite(existing, path[1:], value)
            # Below a scalar there is nothing to set: distribution ignores the variable.
            return
        child: dict[Any, Any] = {}
        _overwrite(child, path[1:], value)
        mapping[key.lower()] = child
        return
    mapping[key.lower()] = value


def _apply_environment(
    storage: dict[Any, Any], env: Mapping[str, str], source: str
) -> dict[Any, Any]:
    for name in sorted(env):
        path = name.split("_")
        if tuple(path[:2]) != _ENV_PATH:
            continue
        # Values are YAML, as in the registry; an error never shows the value (a key?).
        value = _parse_yaml(env[name], f"{source}: environment variable {name}")
        if len(path) == 2:
            storage = _storage_map(value, f"{source}: environment variable {name}")
        else:
            _overwrite(storage, path[2:], value)
    return storage


def _driver_section(storage: Mapping[Any, Any], source: str) -> RegistrySection:
    drivers = _drivers(storage)
    if not drivers:
        raise ConfigurationError(f"{source}: no storage driver configured")
    _check_at_most_one_driver(storage, source)
    key = drivers[0]
    parameters = storage[key]
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise ConfigurationError(f"{source}: storage.{key} must be a mapping of parameters")
    return RegistrySection(source, str(key), parameters)


def read_storage_section(text: str, source_name: str, env: Mapping[str, str]) -> RegistrySection:
    """The one storage driver section a registry config (plus its ``REGISTRY_STORAGE*``
    environment overrides) chooses. Pure; ``source_name`` names the file in every error."""
    document = _parse_yaml(text, source_name)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigurationError(f"{source_name}: not a YAML mapping")
    storage = _storage_map(document.get("storage"), source_name)
    storage = _apply_environment(storage, env, source_name)
    section = _driver_section(storage, source_name)
    if section.driver == "inmemory":
        raise ConfigurationError(
            f"{source_name}: storage driver 'inmemory' keeps images in the registry's memory: "
            "there is no storage to read"
        )
    return section


def load_storage_config(
    text: str,
    source_name: str,
    env: Mapping[str, str],
    translators: ConfigTranslators | Mapping[str, ConfigTranslator],
) -> StorageConfig:
    """The driver, location and options a registry config describes, as the plugin serving
    its storage driver translates them.

    ``translators`` is the plugin host (:class:`scraper_core.plugins.DriverRegistry`), passed
    in because the host builds on this module, not the other way; a plugin's own tests may
    pass ``{"name": translate}``.
    """
    section = read_storage_section(text, source_name, env)
    try:
        if isinstance(translators, Mapping):
            translate = translators.get(section.driver)
            if translate is None:
                served = ", ".join(sorted(translators)) or "none"
                raise ConfigurationError(
                    f"storage driver {section.driver!r} is not served (served: {served})"
                )
        else:
            translate = translators.config_translator(section.driver)
    except ConfigurationError as exc:
        # The same type (PluginError stays one), with the file named first.
        raise type(exc)(f"{source_name}: {exc}") from None
    try:
        config = translate(section)
    except ConfigurationError:
        raise
    except Exception as exc:
        # A plugin's bug must not become a traceback; its message may quote a value (a key?).
        raise section.error(f": the plugin serving it failed ({type(exc).__name__})") from exc
    if not isinstance(config, StorageConfig):
        raise section.error(": the plugin serving it returned no StorageConfig")
    return config
