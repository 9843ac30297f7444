"""The s3 plugin reads a registry config's ``storage.s3`` (``s3aws``) section, 2.x and 3.x."""

from __future__ import annotations

import pytest

from registry_scraper_s3.config import REGISTRY_DRIVER_NAMES, from_registry_config
from scraper_core.errors import ConfigurationError
from scraper_core.registry_config import StorageConfig, load_storage_config

ACCESS_KEY = "AKIAEXAMPLE0000KEYID"
SECRET_KEY = "very-secret-0123456789"


def load(text: str) -> StorageConfig:
    translators = dict.fromkeys(REGISTRY_DRIVER_NAMES, from_registry_config)
    return load_storage_config(text, "config.yml", {}, translators)


def s3(parameters: str) -> StorageConfig:
    return load(f"storage:\n  s3: {{bucket: b, {parameters}}}\n")


def test_a_full_section() -> None:
    config = s3(
        f"accesskey: {ACCESS_KEY}, secretkey: {SECRET_KEY}, region: eu-west-1, "
        "regionendpoint: 'http://127.0.0.1:9000', rootdirectory: /prod, chunksize: 5242880"
    )
    assert config == StorageConfig(
        "s3",
        "b/prod",
        {
            "region": "eu-west-1",
            "endpoint_url": "http://127.0.0.1:9000",
            "addressing_style": "path",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        },
    )
    assert ACCESS_KEY not in repr(config) and SECRET_KEY not in repr(config)
    assert config.secret_options == {"access_key", "secret_key"}


@pytest.mark.parametrize(
    ("parameters", "style"),
    [
        # 2.8 forces path style for a custom endpoint unless told otherwise.
        ("regionendpoint: 'http://minio:9000'", "path"),
        ("regionendpoint: 'http://minio:9000', forcepathstyle: false", "virtual"),
        ("regionendpoint: 'http://minio:9000', forcepathstyle: 'false'", "virtual"),
        # 3.x: forcepathstyle as given, with or without an endpoint.
        ("regionendpoint: 'http://minio:9000', forcepathstyle: true", "path"),
        ("forcepathstyle: true", "path"),
        ("forcepathstyle: 'True'", "path"),
        ("forcepathstyle: false", None),
        ("region: us-east-1", None),
    ],
)
def test_addressing_style(parameters: str, style: str | None) -> None:
    assert s3(parameters).options.get("addressing_style") == style


@pytest.mark.parametrize(
    ("parameters", "endpoint"),
    [
        ("regionendpoint: minio.internal:9000", "https://minio.internal:9000"),
        ("regionendpoint: minio.internal:9000, secure: false", "http://minio.internal:9000"),
        ("regionendpoint: 'https://s3.example:443', secure: false", "https://s3.example:443"),
    ],
)
def test_endpoint_gets_the_scheme_the_registry_would_use(parameters: str, endpoint: str) -> None:
    assert s3(parameters).options["endpoint_url"] == endpoint


def test_static_keys_only_when_both_are_set() -> None:
    assert "access_key" not in s3(f"accesskey: {ACCESS_KEY}").options
    assert "secret_key" not in s3(f"secretkey: {SECRET_KEY}, accesskey: ''").options
    both = s3(f"accesskey: {ACCESS_KEY}, secretkey: {SECRET_KEY}").options
    assert (both["access_key"], both["secret_key"]) == (ACCESS_KEY, SECRET_KEY)


@pytest.mark.parametrize("name", ["s3", "s3aws", "s3-aws"])
def test_every_name_of_the_s3_driver(name: str) -> None:
    config = load(f"storage:\n  {name}: {{bucket: reg, rootdirectory: /}}\n")
    assert (config.driver, config.location, config.options) == ("s3", "reg", {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("storage:\n  s3: {region: x}\n", "storage.s3 needs 'bucket'"),
        ("storage:\n  s3: {bucket: b, forcepathstyle: maybe}\n", "forcepathstyle must be true"),
        ("storage:\n  s3: {bucket: [b]}\n", "storage.s3.bucket must be a single value"),
        (f"storage:\n  s3: {{bucket: b, secretkey: [{SECRET_KEY}]}}\n", "secretkey must be"),
    ],
)
def test_bad_sections_are_one_line_without_secrets(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        load(text)
    assert "\n" not in str(caught.value) and SECRET_KEY not in str(caught.value)
