"""Which account and credential the driver uses, found as the Azure CLI and SDKs find them.

First match wins:

1. option ``connection_string``;
2. options ``account_url`` (or ``account_name``) with ``account_key``, ``sas_token`` or a
   service principal's client secret;
3. ``AZURE_STORAGE_CONNECTION_STRING``, when no option names an account;
4. ``AZURE_STORAGE_KEY`` or ``AZURE_STORAGE_SAS_TOKEN``, the credentials of
   ``AZURE_STORAGE_ACCOUNT``: for that account (``https://ACCOUNT.blob.REALM``, or
   ``account_url``), never for another ``account_name``;
5. ``DefaultAzureCredential`` (environment, workload identity, managed identity, ``az login``),
   when azure-identity is installed;

else a one-line error naming what was looked for. Option ``anonymous`` skips them all: no
credentials only when asked, never as a fallback.

Nothing here talks to the storage service; a token credential is asked for one token, so that
a credential giving none fails at once. azure-identity is imported only when one is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_scraper_azure.config import DRIVER_NAME, AzureOptions
from scraper_core.bucket.sdkerrors import one_line
from scraper_core.errors import ConfigurationError

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
ACCOUNT_ENV = "AZURE_STORAGE_ACCOUNT"
KEY_ENV = "AZURE_STORAGE_KEY"
SAS_ENV = "AZURE_STORAGE_SAS_TOKEN"
STORAGE_SCOPE = "https://storage.azure.com/.default"
IDENTITY_HINT = "pip install 'registry-scraper-azure[identity]'"

#: What was looked for, in order: the one list every "no credentials" message gives.
LOOKED_FOR = (
    f"options account_key, sas_token, client_secret, connection_string; {CONNECTION_STRING_ENV};"
    f" {KEY_ENV}, {SAS_ENV} (of {ACCOUNT_ENV}); DefaultAzureCredential"
)
_ANONYMOUS_HINT = "for a public container: -o anonymous=true"


@dataclass(frozen=True)
class ConnectionString:
    """An account's connection string: where to connect and as whom, in one secret."""

    text: str = field(repr=False)


@dataclass(frozen=True)
class Endpoint:
    """A blob endpoint and its credential: a key, a SAS, an ``{"account_name",
    "account_key"}`` map, a token credential, or None for anonymous access."""

    url: str
    credential: Any = field(repr=False)


Account = ConnectionString | Endpoint


def no_credentials(detail: str) -> ConfigurationError:
    """The one-line error for an account no credential was found for."""
    return ConfigurationError(
        f"{DRIVER_NAME}: no credentials: looked for {LOOKED_FOR} ({detail}); {_ANONYMOUS_HINT}"
    )


def _option_credential(options: AzureOptions) -> Any:
    if options.account_key is not None:
        # A bare key: the SDK takes the account name from the URL. A custom domain hides it,
        # so the account_name option then says it.
        if options.account_name is not None:
            return {"account_name": options.account_name, "account_key": options.account_key}
        return options.account_key
    if options.sas_token is not None:
        return options.sas_token
    if options.client_secret is not None:
        try:
            from azure.identity import ClientSecretCredential
        except ImportError:
            raise ConfigurationError(
                f"{DRIVER_NAME}: a client secret needs azure-identity ({IDENTITY_HINT})"
            ) from None
        secret = ClientSecretCredential(options.tenant_id, options.client_id, options.client_secret)
        return _token_checked(secret, "the client secret gave no token")
    return None


def _environment_credential(options: AzureOptions, environ: Mapping[str, str]) -> Any:
    """AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, if they are this account's."""
    account = environ.get(ACCOUNT_ENV)
    if not account or options.account_name not in (None, account):
        return None
    if key := environ.get(KEY_ENV):
        return {"account_name": account, "account_key": key}
    if sas := environ.get(SAS_ENV):
        return sas.lstrip("?")
    return None


def _default_credential() -> Any:
    """DefaultAzureCredential if azure-identity is installed, else None."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        return None
    return _token_checked(DefaultAzureCredential(), "")


def _token_checked(credential: Any, refused: str) -> Any:
    """``credential`` once it gave a token. Asked here once, because the storage client's
    retries would ask again after each backoff: a minute before saying it found nothing."""
    from azure.core.exceptions import ClientAuthenticationError

    try:
        credential.get_token(STORAGE_SCOPE)
    except ClientAuthenticationError as exc:
        if refused:
            raise ConfigurationError(f"{DRIVER_NAME}: {refused}: {one_line(str(exc))}") from None
        raise no_credentials("found none") from None
    return credential


def find_account(options: AzureOptions, environ: Mapping[str, str]) -> Account:
    """The account and credential the options and the environment give, in the order above."""
    if options.connection_string is not None:
        return ConnectionString(options.connection_string)
    endpoint = options.endpoint
    if endpoint is None:
        connection_string = environ.get(CONNECTION_STRING_ENV)
        # Anonymous access names its account; a connection string would bring a key.
        if connection_string and not options.anonymous:
            return ConnectionString(connection_string)
        if account := environ.get(ACCOUNT_ENV):
            endpoint = f"https://{account}.blob.{options.realm}"
        else:
            raise ConfigurationError(
                f"{DRIVER_NAME}: no account: looked for options connection_string, account_url,"
                f" account_name; {CONNECTION_STRING_ENV}; {ACCOUNT_ENV}"
            )
    if options.anonymous:
        return Endpoint(endpoint, None)
    credential = _option_credential(options)
    if credential is None:
        credential = _environment_credential(options, environ)
    if credential is None:
        credential = _default_credential()
    if credential is None:
        raise no_credentials(f"azure-identity is not installed: {IDENTITY_HINT}")
    return Endpoint(endpoint, credential)
