"""The plugin host against real (throwaway) distributions found through entry points."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scraper_core.errors import PluginError
from scraper_core.plugins import PLUGINS_ENV, DriverRegistry
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import run_cli, without_env_notes
from tests.support.plugin_site import write_distribution

GOOD_PLUGIN = """
from scraper_core import hookimpl

class Driver:
    name = "{name}"
    description = "test driver {name}"
    capabilities = frozenset()

    @classmethod
    def open(cls, location, options, *, read_only):
        from scraper_core.testing import MemoryDriver
        return MemoryDriver.open(location, options, read_only=read_only)

@hookimpl
def registry_scraper_register_drivers(register):
    register(Driver)
"""


def _registry() -> DriverRegistry:
    return DriverRegistry(strict=False)


def test_good_plugin_is_found_with_its_distribution(plugin_site: Path) -> None:
    write_distribution(plugin_site, "rs-fake", "fake", "rs_fake", GOOD_PLUGIN.format(name="fake"))
    info = _registry().driver("fake")
    assert (info.name, info.plugin.distribution, info.plugin.version) == (
        "fake",
        "rs-fake",
        "1.2.3",
    )
    driver = _registry().open("fake", "root", {}, read_only=False)
    driver.put_content("/x", b"1")
    assert driver.get_content("/x") == b"1"


def test_broken_plugin_is_a_warning_and_others_still_work(plugin_site: Path) -> None:
    write_distribution(plugin_site, "rs-fake", "fake", "rs_fake", GOOD_PLUGIN.format(name="fake"))
    write_distribution(
        plugin_site, "rs-broken", "broken", "rs_broken", "import no_such_module_xyz\n"
    )
    registry = _registry()
    names = [info.name for info in registry.drivers()]
    assert "fake" in names and "broken" not in names
    assert len(registry.warnings) == 1
    warning = registry.warnings[0]
    assert "'broken'" in warning and "rs-broken" in warning and "no_such_module_xyz" in warning
    assert "\n" not in warning


def test_loading_one_driver_does_not_import_the_others(plugin_site: Path) -> None:
    write_distribution(plugin_site, "rs-fake", "fake", "rs_fake", GOOD_PLUGIN.format(name="fake"))
    write_distribution(
        plugin_site, "rs-broken", "broken", "rs_broken", "raise SystemError('boom')\n"
    )
    registry = _registry()
    registry.driver("fake")
    assert registry.warnings == []
    assert "rs_broken" not in sys.modules


def test_strict_mode_reraises(plugin_site: Path) -> None:
    write_distribution(
        plugin_site, "rs-broken", "broken", "rs_broken", "import no_such_module_xyz\n"
    )
    with pytest.raises(ModuleNotFoundError):
        DriverRegistry(strict=True).driver("broken")


def test_same_name_from_two_distributions_is_reported(plugin_site: Path) -> None:
    write_distribution(plugin_site, "rs-one", "twin", "rs_one", GOOD_PLUGIN.format(name="twin"))
    write_distribution(plugin_site, "rs-two", "twin", "rs_two", GOOD_PLUGIN.format(name="twin"))
    registry = _registry()
    assert [c.distribution for c in registry.conflicts()["twin"]] == ["rs-one", "rs-two"]
    with pytest.raises(PluginError, match=r"more than one distribution.*rs-one.*rs-two"):
        registry.driver("twin")


def test_driver_name_must_match_entry_point(plugin_site: Path) -> None:
    write_distribution(plugin_site, "rs-odd", "odd", "rs_odd", GOOD_PLUGIN.format(name="other"))
    registry = _registry()
    with pytest.raises(PluginError, match="failed to load"):
        registry.driver("odd")
    assert "must equal its entry-point name" in registry.warnings[0]


def test_unknown_driver_lists_installed_ones(plugin_site: Path) -> None:
    with pytest.raises(
        PluginError, match=r"'nosuch' is not installed \(installed drivers: .*local"
    ):
        _registry().driver("nosuch")


def test_plugins_can_be_restricted(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_distribution(plugin_site, "rs-fake", "fake", "rs_fake", GOOD_PLUGIN.format(name="fake"))
    monkeypatch.setenv(PLUGINS_ENV, "local")
    assert [info.name for info in _registry().installed()] == ["local"]
    monkeypatch.setenv(PLUGINS_ENV, "")
    assert _registry().installed() == []


def test_help_imports_no_sdk_and_works_with_a_broken_plugin(plugin_site: Path) -> None:
    write_distribution(
        plugin_site, "rs-broken", "broken", "rs_broken", "import no_such_module_xyz\n"
    )
    code = (
        "import sys; from scraper_core.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = [m for m in ('boto3', 'botocore', 'google.cloud', 'azure') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env_path = f"{plugin_site}"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: " in done.stdout


# A plugin's own shorthand options: of `scrape copy`'s destination
# (registry_scraper_add_destination_options) and of every command's source
# (registry_scraper_add_source_options).

MIRROR_PLUGIN = """
from registry_scraper_local.driver import LocalDriver
from scraper_core import hookimpl
from scraper_core.errors import ConfigurationError
from scraper_core.shorthand import DestinationOption, SourceOption

class Mirror:
    name = "mirror"
    description = "a local tree under another name"

    @classmethod
    def open(cls, location, options, *, read_only):
        options = dict(options)
        label = options.pop("label", "ok")
        if label != "ok":
            raise ConfigurationError(f"mirror: label {label!r} refused")
        return LocalDriver.open(location, options, read_only=read_only)

@hookimpl
def registry_scraper_register_drivers(register):
    register(Mirror)

@hookimpl
def registry_scraper_add_destination_options(register):
    register(DestinationOption("--output-mirror", driver="mirror", metavar="DIR",
                               help="Copy into a mirror tree at DIR."))
    register(DestinationOption("--mirror-label", driver="mirror", option="label",
                               metavar="TEXT", help="With --output-mirror: its label."))

@hookimpl
def registry_scraper_add_source_options(register):
    register(SourceOption("--source-label", driver="mirror", option="label",
                          metavar="TEXT", help="With --storage mirror: its label."))
    register(SourceOption("--jobs", driver="mirror", option="jobs", help="Taken."))
"""

CLASHING_PLUGIN = """
from scraper_core import hookimpl
from scraper_core.shorthand import DestinationOption

@hookimpl
def registry_scraper_add_destination_options(register):
    register(DestinationOption("--jobs", driver="clash", help="Taken by the core."))
"""


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    TreeWriter(DriverRegistry().open("local", str(root), read_only=False)).image("app", "v1")
    return root


def test_a_plugin_adds_its_own_shorthand_options_to_copy(
    plugin_site: Path, source_tree: Path
) -> None:
    write_distribution(plugin_site, "rs-mirror", "mirror", "rs_mirror", MIRROR_PLUGIN)
    data = str(source_tree)
    helped = run_cli("copy", "--help")
    assert helped.exit_code == 0
    assert "--output-mirror DIR" in helped.stdout and "Copy into a mirror tree" in helped.stdout
    # The location shorthand and the option shorthand reach the plugin's driver.
    out = plugin_site / "mirror"
    done = run_cli(
        "--data-dir", data, "--output-mirror", str(out), "--mirror-label", "ok", "app:v1"
    )
    assert done.exit_code == 0, done.output
    assert (out / "docker/registry/v2/repositories/app/_manifests/tags/v1").is_dir()
    refused = run_cli(
        "--data-dir",
        data,
        "--output-mirror",
        str(plugin_site / "m2"),
        "--mirror-label",
        "x",
        "app:v1",
    )
    assert refused.exit_code == 2 and "mirror: label 'x' refused" in refused.stderr
    # How they combine: one destination, an option with its own location shorthand.
    a, b = str(plugin_site / "a"), str(plugin_site / "b")
    both = run_cli("--data-dir", data, "--output-mirror", a, "--output-dir", b, "app:v1")
    assert both.exit_code == 2
    assert "give exactly one of --output-dir, --output-mirror and --output-tar" in both.stderr
    alone = run_cli("--data-dir", data, "--output-dir", b, "--mirror-label", "ok", "app:v1")
    assert alone.exit_code == 2 and "--mirror-label needs --output-mirror" in alone.stderr
    assert not any((plugin_site / name).exists() for name in ("m2", "a", "b"))


def test_a_plugin_adds_its_own_source_shorthand(plugin_site: Path, source_tree: Path) -> None:
    write_distribution(plugin_site, "rs-mirror", "mirror", "rs_mirror", MIRROR_PLUGIN)
    helped = run_cli("verify", "--help")
    assert helped.exit_code == 0
    assert "--source-label TEXT" in helped.stdout and "--trusted-keys" in helped.stdout
    taken = "offers a source option left out: --jobs is already an option of scrape verify"
    assert taken in helped.stderr
    data = ["--storage", "mirror", "--data-dir", str(source_tree)]
    listed = run_cli("list", *data, "--source-label", "ok")
    assert listed.exit_code == 0, listed.output
    assert "app" in listed.stdout
    assert "warning: " not in listed.stderr  # list has no --jobs of its own
    checked = run_cli("verify", *data, "--source-label", "ok")
    assert checked.exit_code == 0, checked.output
    assert checked.stderr.count("warning: ") == 1 and taken in checked.stderr
    refused = run_cli("list", *data, "--source-label", "x")
    assert refused.exit_code == 2 and "mirror: label 'x' refused" in refused.stderr
    out = plugin_site / "copy"
    copied = run_cli(*data, "--source-label", "ok", "--output-dir", str(out), "app:v1")
    assert copied.exit_code == 0, copied.output
    assert (out / "docker/registry/v2/repositories/app/_manifests/tags/v1").is_dir()
    local = run_cli("list", "--data-dir", str(source_tree), "--source-label", "ok")
    assert local.exit_code == 2
    assert "--source-label belongs to the mirror source" in local.stderr


def test_a_shorthand_that_cannot_be_offered_is_a_warning(
    plugin_site: Path, source_tree: Path
) -> None:
    write_distribution(plugin_site, "rs-clash", "clash", "rs_clash", CLASHING_PLUGIN)
    write_distribution(
        plugin_site, "rs-broken", "broken", "rs_broken", "import no_such_module_xyz\n"
    )
    out = plugin_site / "copy.tar"
    done = run_cli("--data-dir", str(source_tree), "--output-tar", str(out), "-j", "2", "app:v1")
    assert done.exit_code == 0, done.output
    assert out.is_file()
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, done.stderr
    assert any(
        "'clash' (rs-clash 1.2.3)" in w and "--jobs is already an option" in w for w in warnings
    )
    assert any("'broken' (rs-broken 1.2.3) failed to load" in w for w in warnings)


@pytest.mark.parametrize(
    ("example", "command", "listed", "refused_args", "refusal"),
    [
        (
            "destination-options",
            "copy",
            "--output-dir TEXT Destination storage root (driver-specific). --output-zip FILE",
            ["--data-dir", "{plugin_site}", "--output-zip", "z", "--output-dir", "d", "app:v1"],
            "exactly one of --output-dir, --output-zip and --output-tar",
        ),
        (
            "source-options",
            "verify",
            "(repeatable). --example-token FILE With --storage example:",
            ["list", "--data-dir", "{plugin_site}", "--example-token", "t"],
            "--example-token belongs to the example source",
        ),
    ],
    ids=["destination", "source"],
)
def test_the_plugin_guides_shorthand_examples_work(
    plugin_site: Path,
    example: str,
    command: str,
    listed: str,
    refused_args: list[str],
    refusal: str,
) -> None:
    guide = (Path(__file__).parent.parent / "docs" / "plugin-guide.md").read_text()
    found = re.search(rf"<!-- example: {example} -->\n```python\n(.*?)```", guide, re.S)
    assert found is not None
    module = "rs_guide_" + example.replace("-", "_")
    write_distribution(plugin_site, "rs-guide", "example", module, found.group(1))
    helped = run_cli(command, "--help")
    assert helped.exit_code == 0 and helped.stderr == ""
    assert listed in " ".join(without_env_notes(helped.stdout).split())
    refused = run_cli(*(arg.format(plugin_site=plugin_site) for arg in refused_args))
    assert refused.exit_code == 2
    assert refusal in refused.stderr
