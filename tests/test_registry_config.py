"""--registry-config: the registry's own config.yml (and REGISTRY_STORAGE_* variables) pick the
source storage, translated the way distribution reads them. Secrets never show."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scraper_core.cli import main
from scraper_core.errors import ConfigurationError
from scraper_core.registry_config import StorageConfig, load_storage_config
from tests.support.skopeo import PopulatedRegistry

ACCESS_KEY = "AKIAEXAMPLE0000KEYID"
SECRET_KEY = "very-secret-0123456789"
ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5"

S3_CONFIG = f"""
version: 0.1
log:
  level: info
storage:
  s3:
    accesskey: {ACCESS_KEY}
    secretkey: {SECRET_KEY}
    region: eu-west-1
    regionendpoint: http://127.0.0.1:9000
    forcepathstyle: true
    bucket: reg
    rootdirectory: /prod
    chunksize: 5242880
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging: {{enabled: false}}
  redirect:
    disable: true
  tag:
    concurrencylimit: 8
http:
  addr: :5000
"""


def load(text: str, env: dict[str, str] | None = None) -> StorageConfig:
    return load_storage_config(text, "config.yml", env or {})


def s3(parameters: str) -> StorageConfig:
    return load(f"storage:\n  s3: {{bucket: b, {parameters}}}\n")


def test_s3_config_maps_to_the_s3_driver() -> None:
    config = load(S3_CONFIG)
    assert config == StorageConfig(
        "s3",
        "reg/prod",
        {
            "region": "eu-west-1",
            "endpoint_url": "http://127.0.0.1:9000",
            "addressing_style": "path",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        },
    )


@pytest.mark.parametrize(
    ("parameters", "style"),
    [
        # distribution 2.8 forces path style by default, and only for a custom endpoint.
        ("regionendpoint: 'http://minio:9000'", "path"),
        ("regionendpoint: 'http://minio:9000', forcepathstyle: false", "virtual"),
        ("regionendpoint: 'http://minio:9000', forcepathstyle: 'false'", "virtual"),
        ("forcepathstyle: true", "path"),
        ("forcepathstyle: 'True'", "path"),
        ("forcepathstyle: false", None),
        ("region: us-east-1", None),
    ],
)
def test_s3_addressing_style(parameters: str, style: str | None) -> None:
    assert s3(parameters).options.get("addressing_style") == style


@pytest.mark.parametrize(
    ("parameters", "endpoint"),
    [
        ("regionendpoint: minio.internal:9000", "https://minio.internal:9000"),
        ("regionendpoint: minio.internal:9000, secure: false", "http://minio.internal:9000"),
        ("regionendpoint: 'https://s3.example:443', secure: false", "https://s3.example:443"),
    ],
)
def test_s3_endpoint_gets_the_scheme_the_registry_would_use(parameters: str, endpoint: str) -> None:
    assert s3(parameters).options["endpoint_url"] == endpoint


def test_s3_static_keys_only_when_both_are_set() -> None:
    assert "access_key" not in s3(f"accesskey: {ACCESS_KEY}").options
    assert "secret_key" not in s3(f"secretkey: {SECRET_KEY}, accesskey: ''").options
    both = s3(f"accesskey: {ACCESS_KEY}, secretkey: {SECRET_KEY}").options
    assert (both["access_key"], both["secret_key"]) == (ACCESS_KEY, SECRET_KEY)


@pytest.mark.parametrize("name", ["s3", "s3aws", "s3-aws"])
def test_every_name_of_the_s3_driver(name: str) -> None:
    config = load(f"storage:\n  {name}: {{bucket: reg, rootdirectory: /}}\n")
    assert (config.driver, config.location, config.options) == ("s3", "reg", {})


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("storage:\n  filesystem: {rootdirectory: /srv/registry}\n", "/srv/registry"),
        ("storage:\n  filesystem:\n", "/var/lib/registry"),
        ("storage:\n  filesystem: {}\n  delete: {enabled: true}\n", "/var/lib/registry"),
        ("storage: filesystem\n", "/var/lib/registry"),
    ],
)
def test_filesystem_maps_to_local(text: str, location: str) -> None:
    assert load(text) == StorageConfig("local", location, {})


def test_gcs_mapping() -> None:
    text = "storage:\n  gcs: {bucket: b, rootdirectory: /reg/, keyfile: /k.json, chunksize: 5}"
    assert load(text) == StorageConfig("gcs", "b/reg", {"credentials_file": "/k.json"})
    assert load("storage:\n  gcs: {bucket: b}\n") == StorageConfig("gcs", "b", {})


def test_gcs_inline_credentials_are_refused_without_showing_them() -> None:
    text = f"storage:\n  gcs:\n    bucket: b\n    credentials: {{private_key: {SECRET_KEY}}}\n"
    with pytest.raises(ConfigurationError, match="credentials") as caught:
        load(text)
    assert SECRET_KEY not in str(caught.value)


AZURE_2_8 = f"""
storage:
  azure:
    accountname: acc
    accountkey: {ACCOUNT_KEY}
    container: registry
    realm: core.chinacloudapi.cn
"""


def test_azure_2_8_config_reads_the_legacy_blob_names() -> None:
    # distribution 2.x named every blob with a leading "/" and had no rootdirectory.
    assert load(AZURE_2_8) == StorageConfig(
        "azure",
        "registry",
        {
            "account_name": "acc",
            "account_key": ACCOUNT_KEY,
            "realm": "core.chinacloudapi.cn",
            "legacy_root_prefix": "true",
        },
    )


@pytest.mark.parametrize(
    ("extra", "location", "options"),
    [
        ("rootdirectory: /prod", "c/prod", {}),
        (
            "serviceurl: 'https://acc.blob.example'",
            "c",
            {"account_url": "https://acc.blob.example"},
        ),
        ("trimlegacyrootprefix: true", "c", {}),
        ("legacyrootprefix: true, rootdirectory: r", "c/r", {"legacy_root_prefix": "true"}),
        ("credentials: {type: default_credentials}", "c", {}),
    ],
)
def test_azure_distribution_3_config(extra: str, location: str, options: dict[str, str]) -> None:
    config = load(f"storage:\n  azure: {{accountname: acc, container: c, {extra}}}\n")
    assert (config.driver, config.location) == ("azure", location)
    assert config.options == {"account_name": "acc", **options}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (f"connectionstring: 'AccountKey={ACCOUNT_KEY}'", "AZURE_STORAGE_CONNECTION_STRING"),
        (f"credentials: {{type: client_secret, secret: {SECRET_KEY}}}", "AZURE_CLIENT_SECRET"),
    ],
)
def test_azure_credentials_we_cannot_pass_are_refused(extra: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        load(f"storage:\n  azure: {{accountname: acc, container: c, {extra}}}\n")
    assert ACCOUNT_KEY not in str(caught.value) and SECRET_KEY not in str(caught.value)


def test_environment_overrides_a_parameter() -> None:
    text = "storage:\n  filesystem: {rootdirectory: /data}\n"
    env = {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/srv/registry"}
    assert load(text, env).location == "/srv/registry"
    # An empty (null) section is recreated, as distribution does.
    assert load("storage:\n  filesystem:\n", env).location == "/srv/registry"


def test_environment_chooses_the_driver_before_setting_its_parameters() -> None:
    # Applied sorted by name whatever the mapping's order: REGISTRY_STORAGE comes first and
    # replaces the whole section (the file's filesystem parameters are gone).
    env = {
        "REGISTRY_STORAGE_S3_REGIONENDPOINT": "http://127.0.0.1:9000",
        "REGISTRY_STORAGE_S3_FORCEPATHSTYLE": "false",
        "REGISTRY_STORAGE_S3_BUCKET": "other",
        "REGISTRY_STORAGE": "s3",
    }
    config = load("storage:\n  filesystem: {rootdirectory: /data}\n", env)
    assert config == StorageConfig(
        "s3", "other", {"endpoint_url": "http://127.0.0.1:9000", "addressing_style": "virtual"}
    )


def test_environment_alone_can_configure_the_storage() -> None:
    env = {"REGISTRY_STORAGE_GCS_BUCKET": "b", "REGISTRY_STORAGE_GCS_ROOTDIRECTORY": "/r"}
    assert load("version: 0.1\n", env) == StorageConfig("gcs", "b/r", {})


def test_environment_keys_are_matched_as_distribution_matches_them() -> None:
    text = "storage:\n  s3: {bucket: file-bucket, region: eu-west-1}\n"
    ignored = {
        "registry_storage_s3_bucket": "lower-case names are not read",
        "REGISTRY_STORAGEX_S3_BUCKET": "another field",
        "OTHER_STORAGE_S3_BUCKET": "another prefix",
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_STORAGE_S3_REGION_NAME": "below a scalar: ignored",
    }
    config = load(text, ignored)
    assert (config.location, config.options) == ("file-bucket", {"region": "eu-west-1"})


def test_environment_adding_a_second_driver_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="expected one storage driver, found"):
        load("storage:\n  filesystem: {}\n", {"REGISTRY_STORAGE_S3_BUCKET": "x"})


def test_environment_values_are_yaml_and_never_shown() -> None:
    env = {"REGISTRY_STORAGE_S3_SECRETKEY": f"[{SECRET_KEY}"}
    with pytest.raises(ConfigurationError) as caught:
        load("storage:\n  s3: {bucket: b}\n", env)
    message = str(caught.value)
    assert "REGISTRY_STORAGE_S3_SECRETKEY" in message and "config.yml" in message
    assert SECRET_KEY not in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("storage: [", "config.yml: invalid YAML"),
        ("- a\n- b\n", "config.yml: not a YAML mapping"),
        ("version: 0.1\n", "config.yml: no storage driver configured"),
        ("storage: [a, b]\n", "storage must be a mapping or a driver name"),
        ("storage:\n  swift: {container: x}\n", "unsupported storage driver 'swift'"),
        ("storage:\n  inmemory:\n", "'inmemory' keeps images in the registry's memory"),
        ("storage:\n  s3: {region: x}\n", "storage.s3 needs 'bucket'"),
        ("storage:\n  azure: {accountname: a}\n", "storage.azure needs 'container'"),
        ("storage:\n  s3: {bucket: a}\n  gcs: {bucket: b}\n", "found s3, gcs"),
        ("storage:\n  filesystem: /data\n", "storage.filesystem must be a mapping"),
        ("storage:\n  s3: {bucket: b, forcepathstyle: maybe}\n", "forcepathstyle must be true"),
        ("storage:\n  s3: {bucket: [b]}\n", "storage.s3.bucket must be a single value"),
    ],
)
def test_bad_configs_name_the_problem_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        load(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        f"storage:\n  s3:\n    secretkey: {SECRET_KEY}: oops\n",
        f"storage:\n  s3:\n    secretkey: '{SECRET_KEY}\n",
        f"storage:\n  s3:\n    bucket: b\n    secretkey: [{SECRET_KEY}]\n    accesskey: x\n",
        f"storage:\n  s3:\n\tsecretkey: {SECRET_KEY}\n",
    ],
)
def test_errors_never_quote_a_secret(text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(text)
    message = str(caught.value)
    assert message.startswith("config.yml: ") and "\n" not in message
    assert SECRET_KEY not in message


def test_repr_masks_secrets() -> None:
    for config in (load(S3_CONFIG), load(AZURE_2_8)):
        shown = repr(config) + str(config) + f"{config}"
        assert SECRET_KEY not in shown and ACCESS_KEY not in shown and ACCOUNT_KEY not in shown
        assert "***" in shown and config.location in shown
    assert "'region': 'eu-west-1'" in repr(load(S3_CONFIG))


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
