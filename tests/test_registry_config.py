"""--registry-config: the registry's own config.yml (and REGISTRY_STORAGE_* variables) pick the
source storage; the core reads YAML and the environment, the plugin serving the driver name
translates its section (each plugin's tests cover its own keys). Secrets never show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scraper_core.errors import ConfigurationError, PluginError
from scraper_core.plugins import DriverRegistry
from scraper_core.registry_config import RegistrySection, StorageConfig, load_storage_config
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import run_cli
from tests.support.plugin_site import write_distribution
from tests.support.refusals import refusal
from tests.support.skopeo import PopulatedRegistry
from tests.support.trees import blob_file

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
    return load_storage_config(text, "config.yml", env or {}, DriverRegistry())


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


AZURE_2_8 = f"""
storage:
  azure:
    accountname: acc
    accountkey: {ACCOUNT_KEY}
    container: registry
    realm: core.chinacloudapi.cn
"""


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
        ("storage:\n  inmemory:\n", "'inmemory' keeps images in the registry's memory"),
        ("storage:\n  s3: {bucket: a}\n  gcs: {bucket: b}\n", "found s3, gcs"),
        ("storage:\n  filesystem: /data\n", "storage.filesystem must be a mapping"),
    ],
)
def test_bad_configs_name_the_problem_in_one_line(text: str, message: str) -> None:
    refusal(lambda: load(text), message)


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
    result = run_cli(
        "--registry-config", str(config), "--output-dir", str(tmp_path / "copy"), plain.ref
    )
    assert result.exit_code == 0, result.output
    assert f"{plain.ref} {plain.digest[:19]}" in result.stdout


# -- dispatch: the plugin that serves a registry driver name translates its section ---------

SWIFT_PASSWORD = "swift-password-0123456789"

#: A third party's plugin, as its own distribution would ship it: a driver named "swift"
#: (a directory stands in for a Swift container) that serves storage.swift of config.yml.
SWIFT_PLUGIN = """
from registry_scraper_local.driver import LocalDriver

from scraper_core import hookimpl
from scraper_core.errors import ConfigurationError
from scraper_core.registry_config import StorageConfig

PASSWORD = "{password}"


class SwiftDriver(LocalDriver):
    name = "swift"
    description = "test: a Swift container (a directory here)"

    @classmethod
    def open(cls, location, options, *, read_only):
        if options.get("password") != PASSWORD:
            raise ConfigurationError("swift: authentication failed")
        return super().open(location, {{}}, read_only=read_only)


def from_registry_config(section):
    options = {{"password": section.required("password")}}
    return StorageConfig("swift", section.required("container"), options, frozenset(options))


@hookimpl
def registry_scraper_register_drivers(register):
    register(SwiftDriver)


@hookimpl
def registry_scraper_register_config_sections(register):
    register("swift", from_registry_config)
"""


def _swift_config(tmp_path: Path, container: Path, password: str = SWIFT_PASSWORD) -> Path:
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nstorage:\n  swift:\n"
        f"    container: {container}\n    password: {password}\n    region: x\n"
    )
    return config


def test_a_third_party_plugin_is_chosen_through_the_registry_config(
    plugin_site: Path, tmp_path: Path
) -> None:
    write_distribution(
        plugin_site, "rs-swift", "swift", "rs_swift", SWIFT_PLUGIN.format(password=SWIFT_PASSWORD)
    )
    container = tmp_path / "container"
    image = TreeWriter(DriverRegistry().open("local", str(container), read_only=False)).image(
        "team/app", "v1"
    )
    config = _swift_config(tmp_path, container)
    listed = run_cli("list", "--registry-config", str(config))
    assert listed.exit_code == 0, listed.output
    assert "team/app" in listed.stdout
    copied = run_cli(
        "--registry-config", str(config), "--output-dir", str(tmp_path / "copy"), "team/app:v1"
    )
    assert copied.exit_code == 0, copied.output
    assert blob_file(tmp_path / "copy", image.manifest).is_file()
    # The plugin's own secret metadata masks its option; the core knows no "password".
    loaded = load_storage_config(config.read_text(), "config.yml", {}, DriverRegistry())
    assert loaded == StorageConfig("swift", str(container), {"password": SWIFT_PASSWORD})
    assert SWIFT_PASSWORD not in repr(loaded) and "'password': '***'" in repr(loaded)


def test_a_refusing_third_party_driver_is_one_line_without_its_secret(
    plugin_site: Path, tmp_path: Path
) -> None:
    write_distribution(
        plugin_site, "rs-swift", "swift", "rs_swift", SWIFT_PLUGIN.format(password=SWIFT_PASSWORD)
    )
    config = _swift_config(tmp_path, tmp_path, password="wrong-password-42")
    result = run_cli("list", "--registry-config", str(config))
    assert result.exit_code == 2
    assert result.stderr == "error: swift: authentication failed\n"


def test_an_unserved_driver_lists_the_served_ones_and_says_what_to_install(
    plugin_site: Path,
) -> None:
    config = plugin_site / "config.yml"
    config.write_text("storage:\n  swift: {container: x}\n")
    result = run_cli("list", "--registry-config", str(config))
    assert result.exit_code == 2
    message = result.stderr
    assert message.count("\n") == 1, message
    assert f"{config}: storage driver 'swift' is served by no installed plugin" in message
    assert "(served: azure, filesystem, gcs, s3, s3-aws, s3aws)" in message
    assert "pip install" in message


def test_a_broken_plugin_is_named_when_nothing_serves_the_driver(plugin_site: Path) -> None:
    write_distribution(
        plugin_site, "rs-bad", "swift", "rs_bad_swift", "import no_such_module_xyz\n"
    )
    with pytest.raises(ConfigurationError, match="failed to load: swift") as caught:
        load("storage:\n  swift: {container: x}\n")
    assert "\n" not in str(caught.value)


def test_two_plugins_serving_one_driver_name_is_an_error(plugin_site: Path) -> None:
    for dist, entry in (("rs-swift", "swift"), ("rs-swift2", "swift2")):
        source = SWIFT_PLUGIN.format(password="p").replace('"swift"', f'"{entry}"')
        source = source.replace(f'register("{entry}", from', 'register("swift", from')
        write_distribution(plugin_site, dist, entry, dist.replace("-", "_"), source)
    with pytest.raises(PluginError, match=r"'swift' is served by more than one plugin.*rs-swift2"):
        load("storage:\n  swift: {container: x, password: p}\n")


def test_translators_can_be_given_as_a_mapping() -> None:
    def translate(section: RegistrySection) -> StorageConfig:
        return StorageConfig("mine", section.location("bucket"), {"k": section.text("k")})

    text = "storage:\n  mine: {bucket: b, rootdirectory: /r/, k: 1}\n"
    assert load_storage_config(text, "c.yml", {}, {"mine": translate}) == StorageConfig(
        "mine", "b/r", {"k": "1"}
    )
    with pytest.raises(ConfigurationError, match=r"^c.yml: storage driver 'mine' is not served"):
        load_storage_config(text, "c.yml", {}, {"other": translate})


def test_a_nested_section_names_its_path_in_errors() -> None:
    section = RegistrySection("c.yml", "azure", {"credentials": {"type": ["x"]}})
    credentials = section.section("credentials")
    assert credentials is not None
    with pytest.raises(ConfigurationError, match=r"^c.yml: storage.azure.credentials.type must"):
        credentials.text("type")
    with pytest.raises(ConfigurationError, match=r"storage\.azure\.realm must be a mapping"):
        RegistrySection("c.yml", "azure", {"realm": "x"}).section("realm")


def test_the_plugin_guides_registry_config_example_works(plugin_site: Path) -> None:
    guide = (Path(__file__).parent.parent / "docs" / "plugin-guide.md").read_text()
    found = re.search(r"<!-- example: registry-config -->\n```python\n(.*?)```", guide, re.DOTALL)
    assert found is not None
    write_distribution(plugin_site, "rs-guide", "example", "rs_guide_example", found.group(1))
    text = "storage:\n  example: {store: s, rootdirectory: /prod/, token: t0k3n-secret}\n"
    config = load(text)
    assert config == StorageConfig("example", "s/prod", {"token": "t0k3n-secret"})
    assert "t0k3n-secret" not in repr(config)


def test_a_translator_that_breaks_is_one_line_without_its_message() -> None:
    def broken(section: RegistrySection) -> StorageConfig:
        raise KeyError(SECRET_KEY)

    def confused(section: RegistrySection) -> StorageConfig:
        return ("mine", "b")  # type: ignore[return-value]

    text = "storage:\n  mine: {bucket: b}\n"
    with pytest.raises(ConfigurationError) as caught:
        load_storage_config(text, "c.yml", {}, {"mine": broken})
    assert str(caught.value) == "c.yml: storage.mine: the plugin serving it failed (KeyError)"
    with pytest.raises(ConfigurationError, match="returned no StorageConfig"):
        load_storage_config(text, "c.yml", {}, {"mine": confused})
