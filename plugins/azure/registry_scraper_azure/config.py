"""Pure configuration: the ``--data-dir``/``--output-dir`` location, options and key mapping.

Nothing here imports azure-storage-blob, so all of it is cheap to import and easy to test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from scraper_core.errors import ConfigurationError

DRIVER_NAME = "azure"

KIB = 1024
MIB = 1024 * KIB

DEFAULT_BLOCK_SIZE = 8 * MIB
MIN_BLOCK_SIZE = 64 * KIB
#: Azure's largest block (service version 2019-12-12 and later).
MAX_BLOCK_SIZE = 4000 * MIB
#: Azure's limit on blocks in one blob.
MAX_BLOCKS = 50_000
DEFAULT_REALM = "core.windows.net"
CONTENT_TYPE = "application/octet-stream"

# Lenient on purpose: Azurite takes names Azure would refuse; Azure itself answers 400/404.
_CONTAINER_RE = re.compile(r"\$?[A-Za-z0-9][A-Za-z0-9-]*")
_ACCOUNT_RE = re.compile(r"[a-z0-9]{3,24}")
_SIZE_RE = re.compile(r"(?P<number>[0-9]+)\s*(?P<unit>|B|KiB|MiB|GiB)")
_SIZE_UNITS = {"": 1, "B": 1, "KiB": KIB, "MiB": MIB, "GiB": 1024 * MIB}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class KeyMap:
    """Maps storage paths to blob names as distribution's azure driver does.

    distribution 3 computes ``TrimLeft(TrimRight(rootdirectory, "/") + path, "/")``: with
    ``rootdirectory: /prod``, ``/docker/registry/v2/x`` is the blob ``prod/docker/registry/v2/x``;
    with none it is ``docker/registry/v2/x``. distribution 2.x had no root directory and used
    the path itself as the name, leading slash included: ``/docker/registry/v2/x``. With
    ``legacy`` that slash is put back in front of whatever name the first rule gives.
    """

    #: The root directory without leading or trailing slashes; "" for the container's top.
    root: str = ""
    #: Names start with "/" (what distribution 2.x wrote).
    legacy: bool = False

    @classmethod
    def from_rootdirectory(cls, rootdirectory: str, *, legacy: bool = False) -> KeyMap:
        return cls(rootdirectory.strip("/"), legacy)

    @property
    def base(self) -> str:
        """The name prefix of every blob of this root: "", ``root/``, ``/`` or ``/root/``."""
        return ("/" if self.legacy else "") + (f"{self.root}/" if self.root else "")

    def key(self, path: str) -> str:
        """The blob name of an absolute storage path (``/`` gives :attr:`base`)."""
        return self.base + path.lstrip("/")

    def dir_prefix(self, path: str) -> str:
        """The name prefix of everything below directory ``path``."""
        key = self.key(path)
        return key if not key or key.endswith("/") else key + "/"

    def path(self, key: str) -> str | None:
        """The storage path of a blob name; None outside the root or for the root itself."""
        if not key.startswith(self.base) or len(key) == len(self.base):
            return None
        return "/" + key[len(self.base) :]


@dataclass(frozen=True)
class Location:
    container: str
    rootdirectory: str

    def __str__(self) -> str:
        return f"{self.container}/{self.rootdirectory}" if self.rootdirectory else self.container


def parse_location(location: str) -> Location:
    """``CONTAINER[/ROOTDIRECTORY]`` as the registry config has them.

    ``container: reg`` and ``rootdirectory: /prod`` are written ``reg/prod``.
    """
    container, _, rootdirectory = location.strip().partition("/")
    if not _CONTAINER_RE.fullmatch(container):
        raise ConfigurationError(
            f"{DRIVER_NAME}: location must be CONTAINER[/ROOTDIRECTORY], got {location!r}"
        )
    return Location(container, rootdirectory.strip("/"))


def parse_size(key: str, value: str) -> int:
    """Bytes, optionally with a binary unit: ``8388608``, ``8MiB``, ``256KiB``."""
    match = _SIZE_RE.fullmatch(value.strip())
    if match is None:
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be a size such as 8MiB, got {value!r}"
        )
    return int(match["number"]) * _SIZE_UNITS[match["unit"]]


def _block_size(key: str, value: str) -> int:
    size = parse_size(key, value)
    if not MIN_BLOCK_SIZE <= size <= MAX_BLOCK_SIZE:
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be between 64KiB and 4000MiB, got {value!r}"
        )
    return size


def _text(key: str, value: str) -> str:
    if not value.strip():
        raise ConfigurationError(f"{DRIVER_NAME}: option {key} must not be empty")
    return value.strip()


def _url(key: str, value: str) -> str:
    text = _text(key, value).rstrip("/")
    if not text.startswith(("http://", "https://")) or "?" in text:
        # A SAS belongs in sas_token: a URL is shown in messages, a token never.
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be an http(s):// URL without a query, "
            "such as https://ACCOUNT.blob.core.windows.net"
        )
    return text


def _account(key: str, value: str) -> str:
    text = _text(key, value)
    if not _ACCOUNT_RE.fullmatch(text):
        raise ConfigurationError(
            f"{DRIVER_NAME}: option {key} must be 3-24 lower-case letters and digits"
        )
    return text


def _sas(key: str, value: str) -> str:
    return _text(key, value).lstrip("?")


def _flag(key: str, value: str) -> bool:
    text = value.strip().lower()
    if text not in _TRUE | _FALSE:
        raise ConfigurationError(f"{DRIVER_NAME}: option {key} must be true or false")
    return text in _TRUE


def _parser(parse: Callable[[str, str], Any]) -> dict[str, Any]:
    """Field metadata: how :func:`parse_options` turns the option's text into its value."""
    return {"parse": parse}


@dataclass(frozen=True)
class AzureOptions:
    """``--storage-option`` values. With none of the account ones set, the driver uses
    ``AZURE_STORAGE_CONNECTION_STRING``."""

    #: The blob endpoint, ``https://ACCOUNT.blob.core.windows.net`` (Azurite:
    #: ``http://127.0.0.1:10000/devstoreaccount1``).
    account_url: str | None = field(default=None, metadata=_parser(_url))
    #: Instead of account_url: ``https://ACCOUNT.blob.REALM`` (a registry's accountname).
    account_name: str | None = field(default=None, metadata=_parser(_account))
    realm: str = field(default=DEFAULT_REALM, metadata=_parser(_text))
    #: Shared key (a registry's accountkey) or SAS token; neither: DefaultAzureCredential.
    account_key: str | None = field(default=None, repr=False, metadata=_parser(_text))
    sas_token: str | None = field(default=None, repr=False, metadata=_parser(_sas))
    #: Blob names start with "/", as distribution 2.x wrote them.
    legacy_root_prefix: bool = field(default=False, metadata=_parser(_flag))
    #: Upload block and read range size: the memory one open writer or reader holds.
    block_size: int = field(default=DEFAULT_BLOCK_SIZE, metadata=_parser(_block_size))

    @property
    def endpoint(self) -> str | None:
        """The account URL the options name, if they name one."""
        if self.account_url is not None:
            return self.account_url
        if self.account_name is not None:
            return f"https://{self.account_name}.blob.{self.realm}"
        return None


OPTION_NAMES = tuple(item.name for item in fields(AzureOptions))


def parse_options(options: Mapping[str, str]) -> AzureOptions:
    """Validate ``--storage-option`` pairs; unknown keys are refused, all of them named."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ConfigurationError(
            f"{DRIVER_NAME}: unknown option(s): {', '.join(unknown)}"
            f" (known: {', '.join(OPTION_NAMES)})"
        )
    values: dict[str, Any] = {}
    for item in fields(AzureOptions):
        if item.name in options:
            values[item.name] = item.metadata["parse"](item.name, options[item.name])
    parsed = AzureOptions(**values)
    if parsed.account_key is not None and parsed.sas_token is not None:
        raise ConfigurationError(f"{DRIVER_NAME}: give account_key or sas_token, not both")
    if parsed.endpoint is None and (parsed.account_key or parsed.sas_token):
        raise ConfigurationError(
            f"{DRIVER_NAME}: account_key and sas_token need account_url or account_name"
        )
    return parsed
