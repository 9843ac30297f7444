"""--registry-config: the registry's own config.yml picks the source storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scraper_core.cli import main
from scraper_core.errors import ConfigurationError
from scraper_core.registry_config import load_storage_config
from tests.support.skopeo import PopulatedRegistry

S3_CONFIG = """
version: 0.1
storage:
  s3:
    accesskey: AKIAEXAMPLE
    secretkey: very-secret
    region: eu-west-1
    regionendpoint: http://127.0.0.1:9000
    bucket: reg
    rootdirectory: /prod
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
"""


def test_s3_config_maps_to_the_s3_driver() -> None:
    config = load_storage_config(S3_CONFIG, "config.yml", {})
    assert (config.driver, config.location) == ("s3", "reg/prod")
    assert config.options == {
        "region": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:9000",
        "access_key": "AKIAEXAMPLE",
        "secret_key": "very-secret",
    }
    assert "very-secret" not in repr(config) and "AKIAEXAMPLE" not in repr(config)


def test_filesystem_default_and_env_overrides() -> None:
    text = "storage:\n  filesystem: {}\n"
    assert load_storage_config(text, "c", {}).location == "/var/lib/registry"
    env = {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/srv/registry"}
    assert load_storage_config(text, "c", env).location == "/srv/registry"
    env = {"REGISTRY_STORAGE": "s3", "REGISTRY_STORAGE_S3_BUCKET": "other"}
    config = load_storage_config(text, "c", env)
    assert (config.driver, config.location) == ("s3", "other")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("storage: [", "invalid YAML"),
        ("version: 0.1\n", "no storage section"),
        ("storage:\n  swift: {container: x}\n", "unsupported storage driver 'swift'"),
        ("storage:\n  s3: {region: x}\n", "storage needs 'bucket'"),
        ("storage:\n  s3: {bucket: a}\n  gcs: {bucket: b}\n", "expected one storage driver"),
    ],
)
def test_bad_configs_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_storage_config(text, "cfg.yml", {})


def test_gcs_and_azure_mapping() -> None:
    gcs = load_storage_config("storage:\n  gcs: {bucket: b, keyfile: /k.json}\n", "c", {})
    assert (gcs.driver, gcs.location, gcs.options) == ("gcs", "b", {"credentials_file": "/k.json"})
    text = "storage:\n  azure: {accountname: acc, accountkey: key, container: c, rootdirectory: r}"
    azure = load_storage_config(text, "c", {})
    assert (azure.driver, azure.location) == ("azure", "c/r")
    assert azure.options == {"account_name": "acc", "account_key": "key"}


@pytest.mark.e2e
def test_scrape_with_the_real_registrys_config(
    populated_registry: PopulatedRegistry, tmp_path: Path
) -> None:
    config = populated_registry.server.config_path
    plain = populated_registry.pushed["plain"]
    result = CliRunner().invoke(
        main,
        ["--registry-config", str(config), "--output-dir", str(tmp_path / "copy"), plain.ref],
    )
    assert result.exit_code == 0, result.output
    assert f"{plain.ref} {plain.digest[:19]}" in result.stdout
