"""Read the storage section of a registry's own config.yml, as distribution reads it.

``--registry-config /etc/docker/registry/config.yml`` picks the driver and its parameters, so
an operator need not translate them. Environment overrides work as in distribution:
``REGISTRY_STORAGE=s3`` picks the driver, ``REGISTRY_STORAGE_S3_BUCKET=x`` sets a parameter.
Pure: the caller reads the file and passes the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scraper_core.errors import ConfigurationError

#: Keys under ``storage:`` that configure the registry, not a driver.
NON_DRIVER_KEYS = frozenset({"delete", "cache", "maintenance", "redirect", "tag"})
#: Registry driver name -> our plugin name.
DRIVER_NAMES = {
    "filesystem": "local",
    "s3": "s3",
    "s3-aws": "s3",
    "gcs": "gcs",
    "azure": "azure",
    "inmemory": "memory",
}
SECRET_OPTIONS = frozenset({"secret_key", "access_key", "account_key", "credentials_file"})


@dataclass(frozen=True)
class StorageConfig:
    driver: str
    location: str
    options: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = {k: ("***" if k in SECRET_OPTIONS else v) for k, v in self.options.items()}
        return f"StorageConfig({self.driver!r}, {self.location!r}, {shown!r})"


def _location(parameters: Mapping[str, Any], container_key: str) -> str:
    container = str(parameters.get(container_key) or "")
    if not container:
        raise ConfigurationError(f"registry config: storage needs {container_key!r}")
    root = str(parameters.get("rootdirectory") or "").strip("/")
    return f"{container}/{root}" if root else container


def _s3(parameters: Mapping[str, Any]) -> StorageConfig:
    options: dict[str, str] = {}
    if parameters.get("region"):
        options["region"] = str(parameters["region"])
    if parameters.get("regionendpoint"):
        options["endpoint_url"] = str(parameters["regionendpoint"])
    if str(parameters.get("forcepathstyle", "")).lower() == "true":
        options["addressing_style"] = "path"
    if parameters.get("accesskey") and parameters.get("secretkey"):
        options["access_key"] = str(parameters["accesskey"])
        options["secret_key"] = str(parameters["secretkey"])
    return StorageConfig("s3", _location(parameters, "bucket"), options)


def _driver_config(name: str, parameters: Mapping[str, Any]) -> StorageConfig:
    if name == "filesystem":
        root = str(parameters.get("rootdirectory") or "/var/lib/registry")
        return StorageConfig("local", root)
    if name in ("s3", "s3-aws"):
        return _s3(parameters)
    if name == "gcs":
        options = (
            {"credentials_file": str(parameters["keyfile"])} if "keyfile" in parameters else {}
        )
        return StorageConfig("gcs", _location(parameters, "bucket"), options)
    if name == "azure":
        options = {}
        for ours, theirs in (("account_name", "accountname"), ("account_key", "accountkey")):
            if parameters.get(theirs):
                options[ours] = str(parameters[theirs])
        return StorageConfig("azure", _location(parameters, "container"), options)
    if name in DRIVER_NAMES:
        return StorageConfig(DRIVER_NAMES[name], str(parameters.get("rootdirectory", "")))
    raise ConfigurationError(f"registry config: unsupported storage driver {name!r}")


def _apply_environment(storage: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    chosen = env.get("REGISTRY_STORAGE")
    if chosen:
        # Choosing another driver by environment drops the file's driver section.
        storage = {k: v for k, v in storage.items() if k in NON_DRIVER_KEYS}
        storage.setdefault(chosen, {})
    for key, value in env.items():
        for driver in list(storage):
            if driver in NON_DRIVER_KEYS:
                continue
            prefix = f"REGISTRY_STORAGE_{driver.upper().replace('-', '')}_"
            if key.startswith(prefix):
                if not isinstance(storage[driver], dict):
                    storage[driver] = {}
                storage[driver][key[len(prefix) :].lower()] = value
    return storage


def load_storage_config(text: str, source_name: str, env: Mapping[str, str]) -> StorageConfig:
    """The driver, location and options a registry config (plus env overrides) describes."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0]
        raise ConfigurationError(f"{source_name}: invalid YAML: {reason}") from None
    if not isinstance(document, dict) or not isinstance(document.get("storage"), dict):
        raise ConfigurationError(f"{source_name}: no storage section")
    storage = _apply_environment(dict(document["storage"]), env)
    drivers = [key for key in storage if key not in NON_DRIVER_KEYS]
    if len(drivers) != 1:
        raise ConfigurationError(
            f"{source_name}: expected one storage driver, found {', '.join(drivers) or 'none'}"
        )
    parameters = storage[drivers[0]] or {}
    if not isinstance(parameters, dict):
        raise ConfigurationError(f"{source_name}: storage.{drivers[0]} is not a mapping")
    return _driver_config(drivers[0], parameters)
