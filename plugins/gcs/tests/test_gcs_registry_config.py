"""The gcs plugin reads a registry config's ``storage.gcs`` section: ``keyfile``, or the key
inline as a ``credentials`` map (distribution's two forms), else the usual ADC chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from registry_scraper_gcs.config import REGISTRY_DRIVER_NAMES, from_registry_config, parse_options
from registry_scraper_gcs.driver import make_client
from scraper_core.errors import ConfigurationError
from scraper_core.registry_config import StorageConfig, load_storage_config
from tests.support.refusals import refusal

EMAIL = "registry@proj-123.iam.gserviceaccount.com"


def load(text: str) -> StorageConfig:
    translators = dict.fromkeys(REGISTRY_DRIVER_NAMES, from_registry_config)
    return load_storage_config(text, "config.yml", {}, translators)


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


def _key_yaml(private_key: str) -> str:
    """A service account key as a registry config writes it inline (YAML, not JSON)."""
    indented = "\n".join(f"        {line}" for line in private_key.strip().splitlines())
    return (
        "    credentials:\n"
        "      type: service_account\n"
        "      project_id: proj-123\n"
        "      private_key_id: '0123abcd'\n"
        f"      private_key: |\n{indented}\n"
        f"      client_email: {EMAIL}\n"
        "      client_id: 1234567890\n"
        "      token_uri: https://oauth2.googleapis.com/token\n"
    )


def test_bucket_and_root() -> None:
    text = "storage:\n  gcs: {bucket: b, rootdirectory: /reg/, chunksize: 5242880}\n"
    assert load(text) == StorageConfig("gcs", "b/reg", {})


def test_keyfile() -> None:
    text = "storage:\n  gcs: {bucket: b, keyfile: /etc/registry/key.json}\n"
    assert load(text) == StorageConfig("gcs", "b", {"credentials_file": "/etc/registry/key.json"})


def test_inline_credentials_make_a_client_and_never_show(
    private_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    config = load("storage:\n  gcs:\n    bucket: b\n" + _key_yaml(private_key))
    info: dict[str, Any] = json.loads(config.options["credentials_json"])
    # Maps are written with text keys and the values YAML read (client_id an int).
    assert (info["client_email"], info["client_id"], info["type"]) == (
        EMAIL,
        1234567890,
        "service_account",
    )
    assert "BEGIN PRIVATE KEY" not in repr(config) and "'credentials_json': '***'" in repr(config)
    client = make_client(parse_options(config.options), read_only=True)
    assert client.project == "proj-123"
    assert client._credentials.service_account_email == EMAIL


def test_keyfile_wins_over_inline_credentials(private_key: str) -> None:
    text = "storage:\n  gcs:\n    bucket: b\n    keyfile: /k.json\n" + _key_yaml(private_key)
    assert load(text).options == {"credentials_file": "/k.json"}


def test_broken_inline_credentials_are_one_line_without_the_key(
    private_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    text = "storage:\n  gcs:\n    bucket: b\n" + _key_yaml(private_key)
    text = text.replace("      client_email:", "      not_the_email:")
    options = load(text).options
    with pytest.raises(ConfigurationError, match="no usable credentials") as caught:
        make_client(parse_options(options), read_only=True)
    message = str(caught.value)
    assert "\n" not in message and "PRIVATE KEY" not in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("storage:\n  gcs: {keyfile: /k.json}\n", "storage.gcs needs 'bucket'"),
        ("storage:\n  gcs: {bucket: b, credentials: secret}\n", "gcs.credentials must be a map"),
    ],
)
def test_bad_sections(text: str, message: str) -> None:
    assert "secret" not in refusal(lambda: load(text), message)


def test_credentials_json_option(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigurationError, match="option credentials_json must be a service account"
    ):
        parse_options({"credentials_json": "[1]"})
    key_file = tmp_path / "key.json"
    key_file.write_text("{}")
    with pytest.raises(ConfigurationError, match="credentials_file or credentials_json"):
        parse_options({"credentials_json": "{}", "credentials_file": str(key_file)})
