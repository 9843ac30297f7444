"""Read the storage section of a registry's own config.yml, as distribution reads it.

``--registry-config /etc/docker/registry/config.yml`` picks the driver and its parameters, so
an operator need not translate them. Environment overrides follow distribution's
``configuration/parser.go``: variables are applied sorted by name (``REGISTRY_STORAGE`` before
``REGISTRY_STORAGE_S3_BUCKET``), split on ``_``; ``REGISTRY_STORAGE=s3`` replaces the whole
storage section with an empty ``s3`` one, ``REGISTRY_STORAGE_S3_BUCKET=x`` sets parameter
``bucket`` (lower-cased), creating the driver section when it is missing. Values are YAML, so
``true`` is a boolean, as in the registry.

Pure: the caller reads the file and passes the environment. Secrets (keys) never appear in
an error message or a repr.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scraper_core.errors import ConfigurationError

#: Keys under ``storage:`` that configure the registry, not a driver (distribution skips them).
NON_DRIVER_KEYS = frozenset({"delete", "cache", "maintenance", "redirect", "tag"})
DEFAULT_FILESYSTEM_ROOT = "/var/lib/registry"
#: Our options that hold credentials: shown masked.
SECRET_OPTIONS = frozenset({"access_key", "secret_key", "account_key", "sas_token"})
MASK = "***"
_ENV_PATH = ("REGISTRY", "STORAGE")
# Go's strconv.ParseBool, which distribution uses for flags given as strings.
_TRUE_TEXT = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE_TEXT = frozenset({"0", "f", "F", "FALSE", "false", "False"})
#: azure parameters that only distribution 3 knows (2.x named blobs with a leading "/").
_AZURE_V3_KEYS = ("rootdirectory", "serviceurl", "credentials", "connectionstring")

Parameters = dict[Any, Any]


@dataclass(frozen=True)
class StorageConfig:
    """What ``--storage``, ``--data-dir`` and ``--storage-option`` would have said."""

    driver: str
    location: str
    options: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = {
            key: (MASK if key in SECRET_OPTIONS else value) for key, value in self.options.items()
        }
        return (
            f"StorageConfig(driver={self.driver!r}, location={self.location!r}, options={shown!r})"
        )


@dataclass(frozen=True)
class _Section:
    """One driver's parameters, read with distribution's conversions."""

    source: str
    driver: str
    parameters: Mapping[Any, Any]

    def error(self, detail: str) -> ConfigurationError:
        return ConfigurationError(f"{self.source}: storage.{self.driver}{detail}")

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


def _location(section: _Section, container_key: str) -> str:
    """``CONTAINER[/ROOT]`` as our object-store drivers take it."""
    root = section.text("rootdirectory").strip("/")
    container = section.required(container_key)
    return f"{container}/{root}" if root else container


def _filesystem(section: _Section) -> StorageConfig:
    return StorageConfig("local", section.text("rootdirectory") or DEFAULT_FILESYSTEM_ROOT)


def _with_scheme(endpoint: str, secure: bool) -> str:
    # The AWS SDK distribution uses adds the scheme when the endpoint has none.
    if "://" in endpoint:
        return endpoint
    return f"{'https' if secure else 'http'}://{endpoint}"


def _addressing_style(section: _Section, has_endpoint: bool) -> str | None:
    """distribution 2.8 forces path style by default, and only for a custom endpoint."""
    force = section.flag("forcepathstyle")
    if force:
        return "path"
    if not has_endpoint:
        return None
    return "virtual" if force is False else "path"


def _s3(section: _Section) -> StorageConfig:
    options: dict[str, str] = {}
    if region := section.text("region"):
        options["region"] = region
    endpoint = section.text("regionendpoint")
    if endpoint:
        options["endpoint_url"] = _with_scheme(endpoint, section.flag("secure") is not False)
    if style := _addressing_style(section, bool(endpoint)):
        options["addressing_style"] = style
    access_key, secret_key = section.text("accesskey"), section.text("secretkey")
    # distribution uses static keys only when both are set; else the usual AWS chain.
    if access_key and secret_key:
        options["access_key"] = access_key
        options["secret_key"] = secret_key
    return StorageConfig("s3", _location(section, "bucket"), options)


def _gcs(section: _Section) -> StorageConfig:
    if section.has("credentials"):
        raise section.error(
            ".credentials (inline) is not supported: give a keyfile, or set "
            "GOOGLE_APPLICATION_CREDENTIALS"
        )
    options: dict[str, str] = {}
    if keyfile := section.text("keyfile"):
        options["credentials_file"] = keyfile
    return StorageConfig("gcs", _location(section, "bucket"), options)


def _azure_legacy_root_prefix(section: _Section) -> bool:
    """Whether blob names start with "/": always in distribution 2.x, never in 3 unless
    asked for (``legacyrootprefix``, a GitLab fork's parameter)."""
    legacy, trim = section.flag("legacyrootprefix"), section.flag("trimlegacyrootprefix")
    if legacy is not None or trim is not None:
        return bool(legacy) and not trim
    return not any(section.has(key) for key in _AZURE_V3_KEYS)


def _azure(section: _Section) -> StorageConfig:
    if section.has("connectionstring"):
        raise section.error(
            ".connectionstring is not supported: export it as AZURE_STORAGE_CONNECTION_STRING"
        )
    credentials = section.parameters.get("credentials")
    kind = credentials.get("type") if isinstance(credentials, dict) else credentials
    if kind not in (None, "default_credentials"):
        raise section.error(
            ".credentials: only default_credentials is supported (set AZURE_CLIENT_ID, "
            "AZURE_TENANT_ID and AZURE_CLIENT_SECRET for a client secret)"
        )
    options: dict[str, str] = {}
    for ours, theirs in (
        ("account_name", "accountname"),
        ("account_key", "accountkey"),
        ("realm", "realm"),
        ("account_url", "serviceurl"),
    ):
        if value := section.text(theirs):
            options[ours] = value
    if _azure_legacy_root_prefix(section):
        options["legacy_root_prefix"] = "true"
    return StorageConfig("azure", _location(section, "container"), options)


#: distribution driver name -> how its parameters become ours (s3aws: 2.x's second name).
_TRANSLATORS: dict[str, Callable[[_Section], StorageConfig]] = {
    "filesystem": _filesystem,
    "s3": _s3,
    "s3aws": _s3,
    "s3-aws": _s3,
    "gcs": _gcs,
    "azure": _azure,
}


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


def _driver_section(storage: Mapping[Any, Any], source: str) -> _Section:
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
    return _Section(source, str(key), parameters)


def load_storage_config(text: str, source_name: str, env: Mapping[str, str]) -> StorageConfig:
    """The driver, location and options a registry config (plus its REGISTRY_STORAGE*
    environment overrides) describes. ``source_name`` names the file in every error."""
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
    translate = _TRANSLATORS.get(section.driver)
    if translate is None:
        supported = ", ".join(sorted({"azure", "filesystem", "gcs", "s3"}))
        raise ConfigurationError(
            f"{source_name}: unsupported storage driver {section.driver!r} (supported: {supported})"
        )
    return translate(section)
