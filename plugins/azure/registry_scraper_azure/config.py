"""Pure configuration: the ``--data-dir``/``--output-dir`` location, options and key mapping.

Nothing here imports azure-storage-blob, so all of it is cheap to import and easy to test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from scraper_core.errors import ConfigurationError
from scraper_core.objectstore import BucketLocation, KeyMap, parse_bucket_location
from scraper_core.options import (
    KIB,
    MIB,
    OptionValueError,
    flag,
    option,
    option_names,
    positive_int,
    size,
    text,
)
from scraper_core.options import parse_options as parse_option_pairs

DRIVER_NAME = "azure"

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

#: distribution 2.x's names: the storage path itself, leading slash included.
LEGACY_PREFIX = "/"

Location = BucketLocation


def key_map(location: Location, *, legacy_root_prefix: bool) -> KeyMap:
    """Blob names as distribution's azure driver makes them.

    distribution 3 computes ``TrimLeft(TrimRight(rootdirectory, "/") + path, "/")``: with
    ``rootdirectory: /prod``, ``/docker/registry/v2/x`` is the blob
    ``prod/docker/registry/v2/x``. distribution 2.x had no root directory and used the path
    itself as the name: ``/docker/registry/v2/x``. With ``legacy_root_prefix`` that slash is
    put back in front of whatever name the first rule gives.
    """
    return replace(location.keys, prefix=LEGACY_PREFIX if legacy_root_prefix else "")


def parse_location(location: str) -> Location:
    """``CONTAINER[/ROOTDIRECTORY]`` as the registry config has them.

    ``container: reg`` and ``rootdirectory: /prod`` are written ``reg/prod``.
    """
    return parse_bucket_location(DRIVER_NAME, location, bucket_re=_CONTAINER_RE, what="CONTAINER")


def _url(value: str) -> str:
    url = text(value).rstrip("/")
    if not url.startswith(("http://", "https://")) or "?" in url:
        # A SAS belongs in sas_token: a URL is shown in messages, a token never.
        raise OptionValueError(
            "must be an http(s):// URL without a query, "
            "such as https://ACCOUNT.blob.core.windows.net"
        )
    return url


def _account(value: str) -> str:
    name = text(value)
    if not _ACCOUNT_RE.fullmatch(name):
        raise OptionValueError("must be 3-24 lower-case letters and digits")
    return name


def _sas(value: str) -> str:
    return text(value).lstrip("?")


@dataclass(frozen=True)
class AzureOptions:
    """``--storage-option`` values. With none of the account ones set, the driver uses
    ``AZURE_STORAGE_CONNECTION_STRING``."""

    #: The blob endpoint, ``https://ACCOUNT.blob.core.windows.net`` (Azurite:
    #: ``http://127.0.0.1:10000/devstoreaccount1``).
    # Never quoted in an error: a URL pasted with its SAS query holds a secret.
    account_url: str | None = option(_url, None, echo=False)
    #: Instead of account_url: ``https://ACCOUNT.blob.REALM`` (a registry's accountname).
    account_name: str | None = option(_account, None)
    realm: str = option(text, DEFAULT_REALM)
    #: Shared key (a registry's accountkey) or SAS token; neither: DefaultAzureCredential.
    account_key: str | None = option(text, None, secret=True)
    sas_token: str | None = option(_sas, None, secret=True)
    #: Blob names start with "/", as distribution 2.x wrote them.
    legacy_root_prefix: bool = option(flag, False)
    #: Upload block and read range size: the memory one open writer or reader holds.
    block_size: int = option(size(MIN_BLOCK_SIZE, MAX_BLOCK_SIZE), DEFAULT_BLOCK_SIZE)
    #: Attempts per request, the first included. Retries wait about 3, 5, 9, 17 s...:
    #: the SDK's own policy starts at 15 s, which on a flaky link stalls a bulk copy.
    max_attempts: int = option(positive_int, 6)
    #: Blocks one writer stages at once while the next fills (1: one at a time). Memory per
    #: writer: write_concurrency + 1 blocks. Default 1, as for s3; a long link may gain.
    write_concurrency: int = option(positive_int, 1)

    @property
    def endpoint(self) -> str | None:
        """The account URL the options name, if they name one."""
        if self.account_url is not None:
            return self.account_url
        if self.account_name is not None:
            return f"https://{self.account_name}.blob.{self.realm}"
        return None


OPTION_NAMES = option_names(AzureOptions)


def parse_options(options: Mapping[str, str]) -> AzureOptions:
    """Validate ``--storage-option`` pairs; unknown keys are refused, all of them named."""
    parsed = parse_option_pairs(DRIVER_NAME, AzureOptions, options)
    if parsed.account_key is not None and parsed.sas_token is not None:
        raise ConfigurationError(f"{DRIVER_NAME}: give account_key or sas_token, not both")
    if parsed.endpoint is None and (parsed.account_key or parsed.sas_token):
        raise ConfigurationError(
            f"{DRIVER_NAME}: account_key and sas_token need account_url or account_name"
        )
    return parsed
