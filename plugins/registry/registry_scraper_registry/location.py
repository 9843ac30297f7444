"""Where to push and how: ``HOST[:PORT][/NAMESPACE]`` and the destination's options."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from registry_scraper_registry.credentials import DOCKER_HUB
from scraper_core.bucket.options import OptionValueError, flag, size
from scraper_core.errors import ConfigurationError

#: Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size. One chunk per
#: running upload is held in memory (it is hashed before it is sent, and re-sent on a retry).
DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024
MIN_CHUNK_SIZE = 1024
MAX_CHUNK_SIZE = 1024 * 1024 * 1024

#: Where Docker Hub answers the distribution API, whichever of its names a location uses.
DOCKER_HUB_API = "registry-1.docker.io"

T = TypeVar("T")

OPTIONS = ("tls", "ca-bundle", "chunk-size", "auth-file")

# distribution's reference grammar for a domain and a path component.
_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


@dataclass(frozen=True)
class RegistryLocation:
    host: str  # host[:port], as auth files and image references name it
    namespace: str  # "" or "a/b": prefixed to every repository name
    tls: bool
    ca_bundle: Path | None
    chunk_size: int
    auth_file: Path | None

    @property
    def base_url(self) -> str:
        # Docker Hub's names for people (docker.io, index.docker.io) serve no API.
        api_host = DOCKER_HUB_API if self.host in DOCKER_HUB else self.host
        return f"{'https' if self.tls else 'http'}://{api_host}"

    def repository(self, name: str) -> str:
        """The repository's name at the destination: kept, under the namespace."""
        if not all(_COMPONENT_RE.fullmatch(part) for part in name.split("/")):
            raise ConfigurationError(f"registry: invalid repository name: {name!r}")
        return f"{self.namespace}/{name}" if self.namespace else name


def parse_location(location: str, options: Mapping[str, str]) -> RegistryLocation:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"registry: unknown option {unknown[0]!r} (known: {', '.join(OPTIONS)})"
        )
    text = location.strip()
    if "://" in text:
        raise ConfigurationError(
            f"registry: location {location!r} takes no scheme: HOST[:PORT][/NAMESPACE] "
            "(tls=false for plain http)"
        )
    host, _, namespace = text.strip("/").partition("/")
    if not _HOST_RE.fullmatch(host) or (
        namespace and not all(_COMPONENT_RE.fullmatch(p) for p in namespace.split("/"))
    ):
        raise ConfigurationError(
            f"registry: invalid location {location!r}: expected HOST[:PORT][/NAMESPACE]"
        )
    return RegistryLocation(
        host=host,
        namespace=namespace,
        tls=_flag(options, "tls", default=True),
        ca_bundle=_existing_file(options, "ca-bundle"),
        chunk_size=_chunk_size(options.get("chunk-size")),
        auth_file=_existing_file(options, "auth-file"),
    )


def _flag(options: Mapping[str, str], key: str, *, default: bool) -> bool:
    value = options.get(key)
    return default if value is None else _parsed(key, value, flag)


def _existing_file(options: Mapping[str, str], key: str) -> Path | None:
    value = options.get(key)
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"registry: option {key}: no such file: {value}")
    return path


def _chunk_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_CHUNK_SIZE
    parse: Callable[[str], int] = size(MIN_CHUNK_SIZE, MAX_CHUNK_SIZE)
    return _parsed("chunk-size", value, parse)


def _parsed(key: str, value: str, parse: Callable[[str], T]) -> T:
    try:
        return parse(value)
    except OptionValueError as error:
        raise ConfigurationError(f"registry: option {key} {error}, got {value!r}") from None
