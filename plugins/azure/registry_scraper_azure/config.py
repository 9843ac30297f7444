"""Pure configuration: the ``--data-dir``/``--output-dir`` location, options and key mapping.

Nothing here imports azure-storage-blob, so all of it is cheap to import and easy to test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from scraper_core.bucket.objectstore import BucketLocation, KeyMap, parse_bucket_location
from scraper_core.bucket.options import (
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
from scraper_core.bucket.options import parse_options as parse_option_pairs
from scraper_core.errors import ConfigurationError
from scraper_core.registry_config import RegistrySection, StorageConfig, secret_option_names

DRIVER_NAME = "azure"
#: distribution's name for its azure driver in a config.yml.
REGISTRY_DRIVER_NAMES = ("azure",)

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


def _naming(value: str) -> bool | None:
    """``auto`` (None: look at the container), or a flag."""
    if value.strip().lower() == "auto":
        return None
    try:
        return flag(value)
    except OptionValueError:
        raise OptionValueError("must be auto, true or false") from None


@dataclass(frozen=True)
class AzureOptions:
    """``--storage-option`` values. What they leave unset comes from the environment, as the
    Azure CLI takes it (see registry_scraper_azure.credentials)."""

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
    #: Instead of all the above: an account's connection string (a registry's
    #: ``connectionstring``). Default: ``AZURE_STORAGE_CONNECTION_STRING``.
    connection_string: str | None = option(text, None, secret=True)
    #: A service principal's client secret (a registry's ``credentials: {type:
    #: client_secret}``); needs azure-identity and account_url or account_name.
    tenant_id: str | None = option(text, None)
    client_id: str | None = option(text, None)
    client_secret: str | None = option(text, None, secret=True)
    #: No credentials at all, for a public container: only when asked, never as a fallback.
    anonymous: bool = option(flag, False)
    #: Blob names start with "/", as distribution 2.x wrote them (true), or not, as 3.x writes
    #: them (false). auto: the driver looks at the container when it opens and says what it
    #: found; a container with no registry tree yet gets 3.x names.
    legacy_root_prefix: bool | None = option(_naming, None)
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
    secrets = [
        name
        for name in ("account_key", "sas_token", "client_secret")
        if getattr(parsed, name) is not None
    ]
    if len(secrets) > 1:
        raise ConfigurationError(f"{DRIVER_NAME}: give one of {', '.join(secrets)}, not both")
    if parsed.connection_string is not None and (secrets or parsed.endpoint is not None):
        raise ConfigurationError(
            f"{DRIVER_NAME}: connection_string holds the account: give it alone, without "
            "account_url, account_name, account_key, sas_token or client_secret"
        )
    if parsed.anonymous and (secrets or parsed.connection_string is not None):
        raise ConfigurationError(
            f"{DRIVER_NAME}: anonymous=true takes no account_key, sas_token, client_secret or "
            "connection_string"
        )
    if parsed.endpoint is None and secrets:
        raise ConfigurationError(
            f"{DRIVER_NAME}: account_key, sas_token and client_secret need account_url or "
            "account_name"
        )
    service_principal = (parsed.tenant_id, parsed.client_id, parsed.client_secret)
    if any(value is not None for value in service_principal) and None in service_principal:
        raise ConfigurationError(
            f"{DRIVER_NAME}: a client secret needs all of tenant_id, client_id and client_secret"
        )
    return parsed


SECRET_OPTIONS = secret_option_names(AzureOptions)


def _credentials(section: RegistrySection, options: dict[str, str]) -> None:
    """distribution 3's ``credentials`` map (2.x had only accountname/accountkey).

    As distribution 3 does, an ``accountkey`` is used whatever the type says; ``shared_key``
    may carry the account name and key inside the map too; ``client_secret`` is a service
    principal; ``default_credentials`` (or no type) is DefaultAzureCredential.
    """
    credentials = section.section("credentials")
    kind = credentials.text("type") if credentials is not None else ""
    if credentials is None or kind in ("", "default_credentials"):
        return
    if kind == "shared_key":
        for ours, theirs in (("account_name", "accountname"), ("account_key", "accountkey")):
            if value := credentials.text(theirs):
                options.setdefault(ours, value)
        if "account_key" not in options:
            raise credentials.error(" of type shared_key needs 'accountkey'")
        return
    if kind == "client_secret":
        if "account_key" in options:
            return
        options["tenant_id"] = credentials.required("tenantid")
        options["client_id"] = credentials.required("clientid")
        options["client_secret"] = credentials.required("secret")
        return
    raise credentials.error(".type must be shared_key, client_secret or default_credentials")


def _naming_option(section: RegistrySection) -> str | None:
    """Whether blob names start with "/" when the config says so (``legacyrootprefix``, a
    GitLab fork's parameter, or ``trimlegacyrootprefix``); else None: the driver looks."""
    legacy, trim = section.flag("legacyrootprefix"), section.flag("trimlegacyrootprefix")
    if legacy is None and trim is None:
        return None
    return "true" if legacy and not trim else "false"


def from_registry_config(section: RegistrySection) -> StorageConfig:
    """``storage.azure`` of a registry config, distribution 2.x or 3.x, as this driver's
    location and options."""
    options: dict[str, str] = {}
    if connection_string := section.text("connectionstring"):
        options["connection_string"] = connection_string
    else:
        for ours, theirs in (
            ("account_name", "accountname"),
            ("account_key", "accountkey"),
            ("realm", "realm"),
            ("account_url", "serviceurl"),
        ):
            if value := section.text(theirs):
                options[ours] = value
        _credentials(section, options)
    if (naming := _naming_option(section)) is not None:
        options["legacy_root_prefix"] = naming
    return StorageConfig(DRIVER_NAME, section.location("container"), options, SECRET_OPTIONS)
