"""Pure configuration: the ``--data-dir``/``--output-dir`` location, options and key mapping.

Nothing here touches boto3, so all of it is cheap to import and easy to test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from scraper_core.errors import ConfigurationError

DRIVER_NAME = "s3"

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: S3 refuses multipart parts under 5 MiB (except the last) and over 5 GiB.
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * GIB
#: The largest object a single CopyObject may copy; beyond it only UploadPartCopy works.
MAX_SINGLE_COPY = 5 * GIB

_SCHEME = "s3://"
# Lenient on purpose: S3-compatible stores accept names AWS would refuse (capitals, "_").
_BUCKET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SIZE_RE = re.compile(r"(?P<number>[0-9]+)\s*(?P<unit>|B|KiB|MiB|GiB)")
_SIZE_UNITS = {"": 1, "B": 1, "KiB": KIB, "MiB": MIB, "GiB": GIB}

AddressingStyle = Literal["auto", "path", "virtual"]
Checksum = Literal["when_required", "when_supported"]
RetryMode = Literal["standard", "adaptive", "legacy"]


@dataclass(frozen=True)
class KeyMap:
    """Maps storage paths to object keys exactly as distribution's s3-aws ``s3Path`` does.

    distribution computes ``TrimLeft(TrimRight(rootdirectory, "/") + path, "/")``: the root
    loses its leading and trailing slashes and the path is appended. So with ``rootdirectory:
    /prod``, ``/docker/registry/v2/x`` is key ``prod/docker/registry/v2/x``; with no root it is
    ``docker/registry/v2/x``.
    """

    #: The root directory without leading or trailing slashes; "" for the bucket's top.
    root: str = ""

    @classmethod
    def from_rootdirectory(cls, rootdirectory: str) -> KeyMap:
        return cls(rootdirectory.strip("/"))

    @property
    def base(self) -> str:
        """The key prefix every object of this root starts with ("" or ``root/``)."""
        return f"{self.root}/" if self.root else ""

    def key(self, path: str) -> str:
        """The object key for an absolute storage path (``/`` gives :attr:`base`)."""
        return self.base + path.lstrip("/")

    def dir_prefix(self, path: str) -> str:
        """The key prefix of everything below directory ``path``."""
        key = self.key(path)
        return key if not key or key.endswith("/") else key + "/"

    def path(self, key: str) -> str | None:
        """The storage path of ``key``, or None for a key outside the root or the root itself."""
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
    """``BUCKET[/ROOTDIRECTORY]`` (an ``s3://`` prefix is allowed) as the registry config has it.

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


def _choice(literal: Any) -> Callable[[str, str], str]:
    """A parser admitting the values of a ``Literal[...]`` type."""
    allowed: tuple[str, ...] = get_args(literal)

    def parse(key: str, value: str) -> str:
        if value not in allowed:
            raise ConfigurationError(
                f"{DRIVER_NAME}: option {key} must be one of {', '.join(allowed)}, got {value!r}"
            )
        return value

    return parse


def _positive_int(key: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be a positive integer, got {value!r}"
        )
    return number


def parse_size(key: str, value: str) -> int:
    """Bytes, optionally with a binary unit: ``16777216``, ``16MiB``, ``1GiB``."""
    match = _SIZE_RE.fullmatch(value.strip())
    if match is None:
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be a size such as 16MiB, got {value!r}"
        )
    return int(match["number"]) * _SIZE_UNITS[match["unit"]]


def _part_size(key: str, value: str) -> int:
    size = parse_size(key, value)
    if not MIN_PART_SIZE <= size <= MAX_PART_SIZE:
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be between 5MiB and 5GiB, got {value!r}"
        )
    return size


def _endpoint(key: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be an http:// or https:// URL, got {value!r}"
        )
    return value


def _text(key: str, value: str) -> str:
    if not value.strip():
        raise ConfigurationError(f"{DRIVER_NAME}: option {key} must not be empty")
    return value.strip()


def _parser(parse: Callable[[str, str], Any]) -> dict[str, Any]:
    """Field metadata: how :func:`parse_options` turns the option's text into its value."""
    return {"parse": parse}


@dataclass(frozen=True)
class S3Options:
    """``--storage-option`` values. Unset ones defer to the usual AWS sources (env, profile)."""

    #: Default: ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, else AWS itself.
    endpoint_url: str | None = field(default=None, metadata=_parser(_endpoint))
    #: Default: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile's region.
    region: str | None = field(default=None, metadata=_parser(_text))
    profile: str | None = field(default=None, metadata=_parser(_text))
    #: Static keys, as a registry config's accesskey/secretkey give them; never shown.
    access_key: str | None = field(default=None, repr=False, metadata=_parser(_text))
    secret_key: str | None = field(default=None, repr=False, metadata=_parser(_text))
    addressing_style: AddressingStyle = field(
        default="auto", metadata=_parser(_choice(AddressingStyle))
    )
    # boto3 >= 1.36 adds CRC checksums to every upload by default, which many S3-compatible
    # stores reject; only send them where the API requires one.
    checksum: Checksum = field(default="when_required", metadata=_parser(_choice(Checksum)))
    #: Attempts per request, the first included.
    max_attempts: int = field(default=10, metadata=_parser(_positive_int))
    # botocore's own default is still "legacy", which retries fewer errors.
    retry_mode: RetryMode = field(default="standard", metadata=_parser(_choice(RetryMode)))
    # One client serves every copy thread, and each large read holds several connections.
    max_pool_connections: int = field(default=32, metadata=_parser(_positive_int))
    part_size: int = field(default=16 * MIB, metadata=_parser(_part_size))
    #: Ranged GETs in flight per large read (1: one streaming GET). Memory: that many parts.
    read_concurrency: int = field(default=4, metadata=_parser(_positive_int))


OPTION_NAMES = tuple(item.name for item in fields(S3Options))


def parse_options(options: Mapping[str, str]) -> S3Options:
    """Validate ``--storage-option`` pairs; unknown keys are refused, all of them named."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ConfigurationError(
            f"{DRIVER_NAME}: unknown option(s): {', '.join(unknown)}"
            f" (known: {', '.join(OPTION_NAMES)})"
        )
    values: dict[str, Any] = {}
    for item in fields(S3Options):
        if item.name in options:
            values[item.name] = item.metadata["parse"](item.name, options[item.name])
    return S3Options(**values)
