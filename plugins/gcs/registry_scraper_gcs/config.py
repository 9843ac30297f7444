"""Pure configuration: the ``--data-dir``/``--output-dir`` location, options and key mapping.

Nothing here imports google-cloud-storage, so all of it is cheap to import and easy to test.
Object names map as distribution's gcs driver maps them (``pathToKey``: the root directory
trimmed of its slashes, then the path): the core's :class:`~scraper_core.bucket.objectstore.KeyMap`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from scraper_core.bucket.objectstore import BucketLocation, parse_bucket_location
from scraper_core.bucket.options import (
    GIB,
    KIB,
    MIB,
    OptionValueError,
    option,
    option_names,
    size,
    text,
)
from scraper_core.bucket.options import parse_options as parse_option_pairs
from scraper_core.errors import ConfigurationError
from scraper_core.registry_config import RegistrySection, StorageConfig, secret_option_names

DRIVER_NAME = "gcs"
#: distribution's name for its gcs driver in a config.yml.
REGISTRY_DRIVER_NAMES = ("gcs",)

#: Resumable uploads take chunks in multiples of 256 KiB (distribution's minChunkSize too).
CHUNK_MULTIPLE = 256 * KIB
DEFAULT_CHUNK_SIZE = 16 * MIB
MAX_CHUNK_SIZE = 1 * GIB

#: What every object is written with, as distribution's gcs driver does.
CONTENT_TYPE = "application/octet-stream"
#: distribution 2.x parks an unfinished upload at its final name under this content type and
#: treats such an object as absent; so does this driver.
UPLOAD_SESSION_CONTENT_TYPE = "application/x-docker-upload-session"

Location = BucketLocation


def parse_location(location: str) -> Location:
    """``BUCKET[/ROOTDIRECTORY]`` (a ``gs://`` prefix is allowed) as the registry config has it.

    ``bucket: reg`` and ``rootdirectory: /prod`` are written ``reg/prod``.
    """
    return parse_bucket_location(DRIVER_NAME, location, scheme="gs://")


def _file(value: str) -> str:
    path = os.path.expanduser(text(value))
    if not os.path.isfile(path):
        raise OptionValueError("must name an existing file")
    return path


def _service_account_json(value: str) -> str:
    try:
        info = json.loads(value)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise OptionValueError("must be a service account key as a JSON object")
    return value


@dataclass(frozen=True)
class GcsOptions:
    """``--storage-option`` values. Unset ones defer to the SDK's usual sources."""

    #: Default: the credentials' project, ``GOOGLE_CLOUD_PROJECT``; reads and writes need none.
    project: str | None = option(text, None)
    #: A service account key file (a registry config's ``keyfile``). Default:
    #: ``GOOGLE_APPLICATION_CREDENTIALS``, then the rest of the ADC chain.
    credentials_file: str | None = option(_file, None)
    #: Upload chunk and read range size: the memory one open reader or writer holds.
    chunk_size: int = option(
        size(CHUNK_MULTIPLE, MAX_CHUNK_SIZE, multiple=CHUNK_MULTIPLE), DEFAULT_CHUNK_SIZE
    )
    #: Instead of a file: the service account key itself, as JSON (a registry config's
    #: inline ``credentials`` map). Never shown.
    credentials_json: str | None = option(_service_account_json, None, secret=True)


OPTION_NAMES = option_names(GcsOptions)


def parse_options(options: Mapping[str, str]) -> GcsOptions:
    """Validate ``--storage-option`` pairs; unknown keys are refused, all of them named."""
    parsed = parse_option_pairs(DRIVER_NAME, GcsOptions, options)
    if parsed.credentials_file is not None and parsed.credentials_json is not None:
        raise ConfigurationError(
            f"{DRIVER_NAME}: give credentials_file or credentials_json, not both"
        )
    return parsed


SECRET_OPTIONS = secret_option_names(GcsOptions)


def _json_value(section: RegistrySection, key: str, value: object) -> object:
    """A YAML value as JSON takes it: maps get text keys, as Go's json.Marshal gives them."""
    if isinstance(value, dict):
        return {str(k): _json_value(section, key, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(section, key, v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    # Never the value itself: it is part of a key.
    raise section.error(f".{key} holds a value JSON cannot take ({type(value).__name__})")


def from_registry_config(section: RegistrySection) -> StorageConfig:
    """``storage.gcs`` of a registry config as this driver's location and options.

    As distribution does, ``keyfile`` (a service account key file) wins over ``credentials``
    (the same key written inline as a map); with neither, Application Default Credentials.
    """
    options: dict[str, str] = {}
    if keyfile := section.text("keyfile"):
        options["credentials_file"] = keyfile
    elif (credentials := section.section("credentials")) is not None:
        info = _json_value(section, "credentials", dict(credentials.parameters))
        options["credentials_json"] = json.dumps(info)
    return StorageConfig(DRIVER_NAME, section.location("bucket"), options, SECRET_OPTIONS)
