"""Which account and credential the options and the environment give, in the Azure CLI's
order: pure, no server (a stand-in azure.identity where DefaultAzureCredential is needed)."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError

from registry_scraper_azure.config import parse_options
from registry_scraper_azure.credentials import (
    STORAGE_SCOPE,
    ConnectionString,
    Endpoint,
    find_account,
)
from scraper_core.errors import ConfigurationError

KEY = "a2V5"
ACCOUNT_URL = "http://127.0.0.1:10000/devstoreaccount1"
CONNECTION = "DefaultEndpointsProtocol=https;AccountName=env;AccountKey=a2V5"


def _find(environ: dict[str, str], **options: str) -> Any:
    return find_account(parse_options(options), environ)


class _Identity:
    """A stand-in for azure.identity: DefaultAzureCredential gives ``token`` or fails."""

    def __init__(self, token: str | None) -> None:
        self.requests: list[tuple[str, ...]] = []
        identity = self

        class DefaultAzureCredential:
            def get_token(self, *scopes: str, **_: Any) -> Any:
                identity.requests.append(scopes)
                if token is None:
                    raise ClientAuthenticationError("DefaultAzureCredential failed.\nAttempted")
                return types.SimpleNamespace(token=token, expires_on=0)

        self.module = types.ModuleType("azure.identity")
        self.module.DefaultAzureCredential = DefaultAzureCredential  # type: ignore[attr-defined]


@pytest.fixture
def no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)


def _identity(monkeypatch: pytest.MonkeyPatch, token: str | None) -> _Identity:
    identity = _Identity(token)
    monkeypatch.setitem(sys.modules, "azure.identity", identity.module)
    return identity


def test_option_connection_string_comes_first() -> None:
    environ = {"AZURE_STORAGE_CONNECTION_STRING": "env", "AZURE_STORAGE_ACCOUNT": "env"}
    assert _find(environ, connection_string=CONNECTION) == ConnectionString(CONNECTION)


def test_option_key_wins_over_the_environment() -> None:
    environ = {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": "env-key"}
    found = _find(environ, account_url=ACCOUNT_URL, account_key=KEY)
    assert found == Endpoint(ACCOUNT_URL, KEY) and found.credential == KEY


def test_connection_string_from_the_environment_when_no_option_names_an_account() -> None:
    environ = {"AZURE_STORAGE_CONNECTION_STRING": CONNECTION, "AZURE_STORAGE_ACCOUNT": "acct"}
    assert _find(environ) == ConnectionString(CONNECTION)
    assert isinstance(_find(environ, account_url=ACCOUNT_URL, sas_token="sv=1"), Endpoint)


@pytest.mark.parametrize(
    ("variable", "credential"),
    [
        ("AZURE_STORAGE_KEY", {"account_name": "acct", "account_key": KEY}),
        ("AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=x"),
    ],
)
def test_account_and_credential_from_the_environment(variable: str, credential: Any) -> None:
    environ = {
        "AZURE_STORAGE_ACCOUNT": "acct",
        variable: KEY if "KEY" in variable else "?sv=1&sig=x",
    }
    found = _find(environ)
    assert found.url == "https://acct.blob.core.windows.net"
    assert found.credential == credential
    assert _find(environ, account_name="acct").credential == credential
    assert _find(environ, account_url=ACCOUNT_URL).credential == credential


@pytest.mark.usefixtures("no_identity")
def test_the_environment_key_is_not_given_to_another_account() -> None:
    environ = {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": KEY}
    with pytest.raises(ConfigurationError, match="no credentials"):
        _find(environ, account_name="other")


@pytest.mark.usefixtures("no_identity")
def test_nothing_found_is_one_line_never_anonymous() -> None:
    with pytest.raises(ConfigurationError) as caught:
        _find({"AZURE_STORAGE_ACCOUNT": "acct"})
    message = str(caught.value)
    assert "looked for" in message and "azure-identity is not installed" in message
    assert "anonymous=true" in message and "\n" not in message


def test_no_account_names_where_it_looked() -> None:
    with pytest.raises(ConfigurationError) as caught:
        _find({})
    assert "no account: looked for" in str(caught.value)
    assert "AZURE_STORAGE_CONNECTION_STRING; AZURE_STORAGE_ACCOUNT" in str(caught.value)


@pytest.mark.usefixtures("no_identity")
def test_anonymous_only_when_asked() -> None:
    environ = {"AZURE_STORAGE_CONNECTION_STRING": CONNECTION, "AZURE_STORAGE_ACCOUNT": "acct"}
    assert _find(environ, anonymous="true") == Endpoint("https://acct.blob.core.windows.net", None)
    assert _find({}, account_url=ACCOUNT_URL, anonymous="true").credential is None
    with pytest.raises(ConfigurationError, match="anonymous=true takes no account_key"):
        _find({}, account_url=ACCOUNT_URL, account_key=KEY, anonymous="true")


def test_default_credential_when_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    identity = _identity(monkeypatch, "token")
    found = _find({}, account_name="acct")
    assert isinstance(found.credential, identity.module.DefaultAzureCredential)
    assert identity.requests == [(STORAGE_SCOPE,)]


def test_default_credential_finding_none_says_so_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    identity = _identity(monkeypatch, None)
    with pytest.raises(ConfigurationError) as caught:
        _find({}, account_name="acct")
    assert "DefaultAzureCredential (found none)" in str(caught.value)
    assert "\n" not in str(caught.value)
    # Asked once, not once per retry of the storage client.
    assert identity.requests == [(STORAGE_SCOPE,)]
