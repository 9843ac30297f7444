"""Pure configuration: the ``--data-dir``/``--output-dir`` location, options and key mapping.

Nothing here imports google-cloud-storage, so all of it is cheap to import and easy to test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from scraper_core.errors import ConfigurationError

DRIVER_NAME = "gcs"

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: Resumable uploads take chunks in multiples of 256 KiB (distribution's minChunkSize too).
CHUNK_MULTIPLE = 256 * KIB
DEFAULT_CHUNK_SIZE = 16 * MIB
MAX_CHUNK_SIZE = 1 * GIB

#: What every object is written with, as distribution's gcs driver does.
CONTENT_TYPE = "application/octet-stream"
#: distribution 2.x parks an unfinished upload at its final name under this content type and
#: treats such an object as absent; so does this driver.
UPLOAD_SESSION_CONTENT_TYPE = "application/x-docker-upload-session"

_SCHEME = "gs://"
# Lenient on purpose: emulators accept names GCS would refuse; GCS itself answers 404.
_BUCKET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SIZE_RE = re.compile(r"(?P<number>[0-9]+)\s*(?P<unit>|B|KiB|MiB|GiB)")
_SIZE_UNITS = {"": 1, "B": 1, "KiB": KIB, "MiB": MIB, "GiB": GIB}


@dataclass(frozen=True)
class KeyMap:
    """Maps storage paths to object names as distribution's gcs driver does.

    distribution trims the root directory of its slashes and appends one (``pathToKey``:
    ``root + "/" + path`` without the path's leading slash); ``keyToPath`` strips the root
    again. So with ``rootdirectory: /prod``, ``/docker/registry/v2/x`` is the object
    ``prod/docker/registry/v2/x``; with no root directory it is ``docker/registry/v2/x``.
    """

    #: The root directory without leading or trailing slashes; "" for the bucket's top.
    root: str = ""

    @classmethod
    def from_rootdirectory(cls, rootdirectory: str) -> KeyMap:
        return cls(rootdirectory.strip("/"))

    @property
    def base(self) -> str:
        """The name prefix every object of this root starts with ("" or ``root/``)."""
        return f"{self.root}/" if self.root else ""

    def key(self, path: str) -> str:
        """The object name of an absolute storage path (``/`` gives :attr:`base`)."""
        return self.base + path.lstrip("/")

    def dir_prefix(self, path: str) -> str:
        """The name prefix of everything below directory ``path``."""
        key = self.key(path)
        return key if not key or key.endswith("/") else key + "/"

    def path(self, key: str) -> str | None:
        """The storage path of an object name; None outside the root or for the root itself."""
        if not key.startswith(self.base) or len(key) == len(self.base):
            return None
        return "/" + key[len(self.base) :]


@dataclass(frozen=True)
class Location:
    bucket: str
    keys: KeyMap

    def __str__(self) -> str:
        return f"{self.bucket}/{self.keys.root}" if self.keys.root else self.bucket


def parse_location(location: str) -> Location:
    """``BUCKET[/ROOTDIRECTORY]`` (a ``gs://`` prefix is allowed) as the registry config has it.

    ``bucket: reg`` and ``rootdirectory: /prod`` are written ``reg/prod``.
    """
    text = location.strip()
    if text.startswith(_SCHEME):
        text = text[len(_SCHEME) :]
    bucket, _, rootdirectory = text.partition("/")
    if not _BUCKET_RE.fullmatch(bucket):
        raise ConfigurationError(
            f"{DRIVER_NAME}: location must be BUCKET[/ROOTDIRECTORY], got {location!r}"
        )
    return Location(bucket, KeyMap.from_rootdirectory(rootdirectory))


def parse_size(key: str, value: str) -> int:
    """Bytes, optionally with a binary unit: ``16777216``, ``16MiB``, ``256KiB``."""
    match = _SIZE_RE.fullmatch(value.strip())
    if match is None:
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be a size such as 16MiB, got {value!r}"
        )
    return int(match["number"]) * _SIZE_UNITS[match["unit"]]


def _chunk_size(key: str, value: str) -> int:
    size = parse_size(key, value)
    if not CHUNK_MULTIPLE <= size <= MAX_CHUNK_SIZE or size % CHUNK_MULTIPLE:
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be a multiple of 256KiB up to 1GiB, got {value!r}"
        )
    return size


def _text(key: str, value: str) -> str:
    if not value.strip():
        raise ConfigurationError(f"{DRIVER_NAME}: option {key} must not be empty")
    return value.strip()


def _file(key: str, value: str) -> str:
    path = os.path.expanduser(_text(key, value))
    if not os.path.isfile(path):
        raise ConfigurationError(f"{DRIVER_NAME}: option {key}: no such file: {value}")
    return path


@dataclass(frozen=True)
class GcsOptions:
    """``--storage-option`` values. Unset ones defer to the SDK's usual sources."""

    #: Default: the credentials' project, ``GOOGLE_CLOUD_PROJECT``; reads and writes need none.
    project: str | None = None
    #: A service account key file (a registry config's ``keyfile``). Default:
    #: ``GOOGLE_APPLICATION_CREDENTIALS``, then the rest of the ADC chain.
    credentials_file: str | None = None
    #: Upload chunk and read range size: the memory one open reader or writer holds.
    chunk_size: int = DEFAULT_CHUNK_SIZE


_PARSERS = {"project": _text, "credentials_file": _file, "chunk_size": _chunk_size}
OPTION_NAMES = tuple(item.name for item in fields(GcsOptions))


def parse_options(options: Mapping[str, str]) -> GcsOptions:
    """Validate ``--storage-option`` pairs; unknown keys are refused, all of them named."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ConfigurationError(
            f"{DRIVER_NAME}: unknown option(s): {', '.join(unknown)}"
            f" (known: {', '.join(OPTION_NAMES)})"
        )
    values: dict[str, Any] = {name: _PARSERS[name](name, value) for name, value in options.items()}
    return GcsOptions(**values)
