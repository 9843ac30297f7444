"""The azure plugin reads a registry config's ``storage.azure`` section, distribution 2.x and
3.x, and finds which blob naming a container has when the config does not say.

distribution 2.x named every blob by its storage path, leading "/" included; 3.x trims it. A
config rarely says which registry wrote the container, so the driver looks (issue 11 item 9).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from azurite_server import AzuriteServer

from registry_scraper_azure.config import (
    REGISTRY_DRIVER_NAMES,
    from_registry_config,
    parse_options,
)
from registry_scraper_azure.driver import AzureDriver, make_service
from scraper_core.errors import ConfigurationError
from scraper_core.registry_config import StorageConfig, load_storage_config
from tests.support.cli import run_cli
from tests.support.refusals import refusal

ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5"
CLIENT_SECRET = "client-secret-0123456789"
CONNECTION = f"DefaultEndpointsProtocol=https;AccountName=acc;AccountKey={ACCOUNT_KEY}"
LINK = "sha256:" + "ab" * 32
TAG_LINK = "/docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/link"


def load(text: str, env: dict[str, str] | None = None) -> StorageConfig:
    translators = dict.fromkeys(REGISTRY_DRIVER_NAMES, from_registry_config)
    return load_storage_config(text, "config.yml", env or {}, translators)


def azure(parameters: str) -> StorageConfig:
    return load(f"storage:\n  azure: {{container: c, {parameters}}}\n")


# -- translation: every form of both generations -----------------------------------------


@pytest.mark.parametrize(
    ("parameters", "location", "options"),
    [
        # 2.x: accountname/accountkey/container/realm. The naming is left to the probe.
        (
            f"accountname: acc, accountkey: {ACCOUNT_KEY}, realm: core.chinacloudapi.cn",
            "c",
            {"account_name": "acc", "account_key": ACCOUNT_KEY, "realm": "core.chinacloudapi.cn"},
        ),
        # 3.x: the common form, shared key named in a credentials map.
        (
            f"accountname: acc, accountkey: {ACCOUNT_KEY}, credentials: {{type: shared_key}}",
            "c",
            {"account_name": "acc", "account_key": ACCOUNT_KEY},
        ),
        (
            f"credentials: {{type: shared_key, accountname: acc, accountkey: {ACCOUNT_KEY}}}",
            "c",
            {"account_name": "acc", "account_key": ACCOUNT_KEY},
        ),
        (
            "accountname: acc, credentials: {type: client_secret, clientid: cid, "
            f"tenantid: tid, secret: {CLIENT_SECRET}}}",
            "c",
            {
                "account_name": "acc",
                "tenant_id": "tid",
                "client_id": "cid",
                "client_secret": CLIENT_SECRET,
            },
        ),
        # distribution 3 uses an accountkey whatever the credentials type says.
        (
            f"accountname: acc, accountkey: {ACCOUNT_KEY}, credentials: {{type: client_secret}}",
            "c",
            {"account_name": "acc", "account_key": ACCOUNT_KEY},
        ),
        (
            "accountname: acc, credentials: {type: default_credentials}",
            "c",
            {"account_name": "acc"},
        ),
        (
            f"accountname: acc, connectionstring: '{CONNECTION}'",
            "c",
            {"connection_string": CONNECTION},
        ),
        ("accountname: acc, rootdirectory: /prod/", "c/prod", {"account_name": "acc"}),
        (
            "accountname: acc, serviceurl: 'https://acc.blob.example'",
            "c",
            {"account_name": "acc", "account_url": "https://acc.blob.example"},
        ),
        # Said explicitly, the naming is not probed.
        ("trimlegacyrootprefix: true", "c", {"legacy_root_prefix": "false"}),
        ("legacyrootprefix: true, rootdirectory: r", "c/r", {"legacy_root_prefix": "true"}),
        ("legacyrootprefix: false", "c", {"legacy_root_prefix": "false"}),
    ],
)
def test_config_forms(parameters: str, location: str, options: dict[str, str]) -> None:
    config = azure(parameters)
    assert config == StorageConfig("azure", location, options)
    shown = repr(config)
    assert ACCOUNT_KEY not in shown and CLIENT_SECRET not in shown
    # What the config says, the driver takes: the options parse.
    parse_options(config.options)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ("accountname: a", "storage.azure needs 'container'"),
        ("container: c, credentials: {type: oauth}", "azure.credentials.type must be shared_key"),
        ("container: c, credentials: shared_key", "storage.azure.credentials must be a mapping"),
        (
            "container: c, credentials: {type: shared_key, accountname: a}",
            "type shared_key needs 'accountkey'",
        ),
        (
            f"container: c, credentials: {{type: client_secret, clientid: c, "
            f"secret: {CLIENT_SECRET}}}",
            r"storage.azure.credentials needs 'tenantid'",
        ),
        ("container: c, legacyrootprefix: maybe", "legacyrootprefix must be true or false"),
    ],
)
def test_bad_sections_are_one_line_without_secrets(parameters: str, message: str) -> None:
    said = refusal(lambda: load(f"storage:\n  azure: {{{parameters}}}\n"), message)
    assert CLIENT_SECRET not in said


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"connection_string": CONNECTION, "account_name": "acc"}, "give it alone"),
        ({"account_name": "acc", "account_key": "k", "sas_token": "s"}, "not both"),
        ({"client_secret": CLIENT_SECRET, "tenant_id": "t", "client_id": "c"}, "need account_url"),
        ({"account_name": "acc", "client_secret": CLIENT_SECRET}, "all of tenant_id"),
        ({"legacy_root_prefix": "maybe"}, "must be auto, true or false"),
    ],
)
def test_option_combinations_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        parse_options(options)
    assert CLIENT_SECRET not in str(caught.value)


def test_naming_option_values() -> None:
    assert parse_options({}).legacy_root_prefix is None
    assert parse_options({"legacy_root_prefix": "auto"}).legacy_root_prefix is None
    assert parse_options({"legacy_root_prefix": "true"}).legacy_root_prefix is True
    assert parse_options({"legacy_root_prefix": "false"}).legacy_root_prefix is False


def test_a_client_secret_without_azure_identity_is_one_line() -> None:
    pytest.importorskip("azure.storage.blob")
    try:
        import azure.identity  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("azure-identity is installed: the credential is built, not refused")
    options = parse_options(
        {"account_name": "acc", "tenant_id": "t", "client_id": "c", "client_secret": "s3"}
    )
    with pytest.raises(ConfigurationError, match=r"needs azure-identity \(pip install"):
        make_service(options)


# -- against Azurite: the naming is found by looking ----------------------------------------


def _container_with_tree(azurite: AzuriteServer, *prefixes: str) -> str:
    """A container holding a tag link under each naming prefix ("/" for 2.x, "" for 3.x)."""
    name = azurite.make_container()
    container = azurite.service_client().get_container_client(name)
    for prefix in prefixes:
        container.upload_blob(prefix + TAG_LINK.lstrip("/"), LINK.encode())
    return name


def _minimal_3x_config(tmp_path: Path, azurite: AzuriteServer, container: str) -> Path:
    """accountname, accountkey, container: nothing that says which registry wrote it."""
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nstorage:\n  azure:\n"
        f"    accountname: {azurite.account_name}\n"
        f"    accountkey: {azurite.account_key}\n"
        f"    container: {container}\n"
    )
    return config


@pytest.mark.azure
@pytest.mark.parametrize("account", ["in the config", "in the connection string"])
@pytest.mark.parametrize(("prefix", "generation"), [("/", "2.x"), ("", "3.x")])
def test_a_minimal_config_finds_the_repositories_whichever_registry_wrote_them(
    azurite: AzuriteServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    generation: str,
    account: str,
    record_property: Callable[[str, object], None],
) -> None:
    container = _container_with_tree(azurite, prefix)
    if account == "in the config":
        config = _minimal_3x_config(tmp_path, azurite, container)
        # The endpoint comes from the environment, as a registry's deployment would give it.
        monkeypatch.setenv("REGISTRY_STORAGE_AZURE_SERVICEURL", azurite.account_url)
    else:
        # Only the container: the account is AZURE_STORAGE_CONNECTION_STRING (the fixture's).
        config = tmp_path / "config.yml"
        config.write_text(f"storage:\n  azure:\n    container: {container}\n")
    result = run_cli("list", "--registry-config", str(config))
    note = f"warning: azure: container '{container}': blob names follow registry {generation}"
    found = result.stdout.split() == ["team/app", "v1"] and note in result.stderr
    # A figure for the host project's reliability table (its root conftest collects it).
    record_property(
        "reliability",
        dict(
            key="azure-config-naming",
            title="A registry config that does not say which azure blob naming applies",
            how="`scrape list --registry-config` with a minimal config (accountname/accountkey or "
            "only the container) on containers written with 2.x and with 3.x names (Azurite)",
            held=found,
            outcome="the driver looked, chose the naming present, said so; repositories listed"
            if found
            else f"exit {result.exit_code}: {result.output.strip()[:200]}",
        ),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["team/app", "v1"]
    assert note in result.stderr and "found by looking" in result.stderr
    assert result.stderr.count("\n") == 1
    # Told the other naming, the same config finds nothing: the probe is what found them.
    wrong = "true" if generation == "3.x" else "false"
    told = run_cli("list", "--registry-config", str(config), "-o", f"legacy_root_prefix={wrong}")
    assert told.exit_code == 0 and told.stdout == "" and told.stderr == "", told.output


@pytest.mark.azure
def test_a_container_with_both_namings_is_a_one_line_error(
    azurite: AzuriteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _container_with_tree(azurite, "/", "")
    config = _minimal_3x_config(tmp_path, azurite, container)
    monkeypatch.setenv("REGISTRY_STORAGE_AZURE_SERVICEURL", azurite.account_url)
    result = run_cli("list", "--registry-config", str(config))
    assert result.exit_code == 2
    assert "in both namings" in result.stderr and "legacy_root_prefix=true or false" in (
        result.stderr
    )
    assert result.stderr.count("\n") == 1
    chosen = run_cli("list", "--registry-config", str(config), "-o", "legacy_root_prefix=true")
    assert chosen.exit_code == 0 and chosen.stdout.split() == ["team/app", "v1"], chosen.output


@pytest.mark.azure
@pytest.mark.parametrize("root", ["", "prod"])
def test_the_probe_looks_under_the_root(azurite: AzuriteServer, root: str) -> None:
    container = _container_with_tree(azurite, f"/{root}/" if root else "/")
    location = f"{container}/{root}" if root else container
    driver = AzureDriver.open(location, {}, read_only=True)
    assert driver.keys.prefix == "/"
    assert driver.list_dir("/docker/registry/v2/repositories") == [
        "/docker/registry/v2/repositories/team"
    ]
    assert "registry 2.x naming" in driver.notes[0]
    # Another root of the same container holds no tree: 3.x names, and it says so.
    other = AzureDriver.open(f"{container}/elsewhere", {}, read_only=True)
    assert other.keys.prefix == "" and "no registry tree found" in other.notes[0]
    # Said explicitly, nothing is probed and nothing is noted.
    explicit = AzureDriver.open(location, {"legacy_root_prefix": "true"}, read_only=True)
    assert explicit.notes == []


@pytest.mark.azure
def test_a_connection_string_option_opens_the_account(azurite: AzuriteServer) -> None:
    container = _container_with_tree(azurite, "")
    options = {"connection_string": azurite.connection_string}
    driver = AzureDriver.open(container, options, read_only=True)
    assert driver.keys.prefix == "" and driver.get_content(TAG_LINK) == LINK.encode()
