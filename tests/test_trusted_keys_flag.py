"""``--trusted-keys ALLOWED_SIGNERS`` on import and verify (issue 19, item 6), and the hook that
lets a plugin add such a shorthand source option (``registry_scraper_add_source_options``).

The signed shipments, keys and spoilers are tests/test_signed_shipments.py's; this file checks
the flag, through the real CLI and ``ssh-keygen``, and that the core names no driver for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests import test_plugins, test_signed_shipments
from tests.support.cli import without_env_notes
from tests.support.plugin_site import write_distribution
from tests.test_signed_shipments import (
    PRINCIPAL,
    everything,
    run,
    ship,
    signed_by_another_key,
    unsigned,
)

# Their fixtures, shared (pytest finds a fixture by its name in the module).
keys = test_signed_shipments.keys
source = test_signed_shipments.source
plugin_site = test_plugins.site


def import_to(archive: Path, site: Path, trusted: Path) -> Result:
    return run(
        "--storage", "tar", "--data-dir", str(archive), "--trusted-keys", str(trusted),
        "--output-dir", str(site), "--all-tags", "**",
    )  # fmt: skip


def verify(archive: Path, trusted: Path) -> Result:
    return run("verify", "--storage", "tar", "--data-dir", str(archive), "--trusted-keys",
               str(trusted))  # fmt: skip


def one_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize("command", ["copy", "verify", "list", "inventory"])
def test_the_flag_is_in_the_help_of_every_command_reading_a_source(command: str) -> None:
    helped = run(command, "--help")
    assert helped.exit_code == 0, helped.output
    listed = without_env_notes(helped.stdout)
    assert "KEY=VALUE Option for the storage driver (repeatable). --trusted-keys " in listed
    assert "--trusted-keys ALLOWED_SIGNERS With --storage tar:" in listed


def test_a_signed_shipment_imports_and_verifies_under_trusted_keys(
    tmp_path: Path, source: Path, keys: tuple[Path, Path]
) -> None:
    key, trusted = keys
    archive = tmp_path / "ship.tar"
    ship(source, archive, "--sign-key", str(key))
    checked = verify(archive, trusted)
    assert checked.exit_code == 0, checked.output
    site = tmp_path / "site"
    done = import_to(archive, site, trusted)
    assert done.exit_code == 0, done.output
    (receipt,) = (site / "scrape-receipts").iterdir()
    signed = json.loads(receipt.read_bytes())["signed_shipment"]
    assert signed["signed_by"]["principal"] == PRINCIPAL


@pytest.mark.parametrize(
    ("spoil", "says"),
    [(unsigned, "is not signed"), (signed_by_another_key, "signed by a key")],
    ids=["unsigned", "another-key"],
)
def test_a_shipment_not_trusted_is_refused_in_one_line_before_any_write(
    tmp_path: Path,
    source: Path,
    keys: tuple[Path, Path],
    spoil: Callable[[Path, Path], None],
    says: str,
) -> None:
    key, trusted = keys
    archive = tmp_path / "ship.tar"
    ship(source, archive, "--sign-key", str(key))
    spoil(archive, key.parent)
    site = tmp_path / "site"
    shipped = everything(archive.parent)
    for refused in (import_to(archive, site, trusted), verify(archive, trusted)):
        assert refused.exit_code == 2, refused.output
        assert says in one_line(refused)
    assert not site.exists()
    assert everything(archive.parent) == shipped


@pytest.mark.parametrize("command", ["copy", "verify", "list", "inventory"])
def test_trusted_keys_with_another_source_is_refused_in_one_line(
    tmp_path: Path, source: Path, keys: tuple[Path, Path], command: str
) -> None:
    _, trusted = keys
    out = tmp_path / "out"
    more = ["--output-dir", str(out), "app:v1"] if command == "copy" else []
    refused = run(
        command, "--storage", "local", "--data-dir", str(source), "--trusted-keys", str(trusted),
        *more,
    )  # fmt: skip
    assert refused.exit_code == 2, refused.output
    assert one_line(refused) == (
        "error: --trusted-keys belongs to the tar source (--storage tar), not --storage local"
    )
    assert not out.exists()


# A third-party plugin's own source shorthand, through the same hook.

LABELLED_PLUGIN = """
from registry_scraper_local.driver import LocalDriver
from scraper_core import hookimpl
from scraper_core.errors import ConfigurationError
from scraper_core.shorthand import SourceOption

class Labelled:
    name = "labelled"
    description = "a local tree that wants a label"

    @classmethod
    def open(cls, location, options, *, read_only):
        options = dict(options)
        label = options.pop("label", None)
        if label != "ok":
            raise ConfigurationError(f"labelled: label {label!r} refused")
        return LocalDriver.open(location, options, read_only=read_only)

@hookimpl
def registry_scraper_register_drivers(register):
    register(Labelled)

@hookimpl
def registry_scraper_add_source_options(register):
    register(SourceOption("--source-label", driver="labelled", option="label",
                          metavar="TEXT", help="With --storage labelled: its label."))
    register(SourceOption("--jobs", driver="labelled", option="jobs", help="Taken."))
"""


def test_a_plugin_adds_its_own_source_shorthand(plugin_site: Path, source: Path) -> None:
    site = plugin_site
    write_distribution(site, "rs-labelled", "labelled", "rs_labelled", LABELLED_PLUGIN)
    helped = run("verify", "--help")
    assert helped.exit_code == 0
    assert "--source-label TEXT" in helped.stdout and "--trusted-keys" in helped.stdout
    taken = "offers a source option left out: --jobs is already an option of scrape verify"
    assert taken in helped.stderr
    data = ["--storage", "labelled", "--data-dir", str(source)]
    listed = run("list", *data, "--source-label", "ok")
    assert listed.exit_code == 0, listed.output
    assert "app" in listed.stdout
    assert "warning: " not in listed.stderr  # list has no --jobs of its own
    checked = run("verify", *data, "--source-label", "ok")
    assert checked.exit_code == 0, checked.output
    assert checked.stderr.count("warning: ") == 1 and taken in checked.stderr
    refused = run("list", *data, "--source-label", "x")
    assert refused.exit_code == 2 and "labelled: label 'x' refused" in refused.stderr
    out = site / "copy"
    copied = run(*data, "--source-label", "ok", "--output-dir", str(out), "app:v1")
    assert copied.exit_code == 0, copied.output
    assert (out / "docker/registry/v2/repositories/app/_manifests/tags/v1").is_dir()
    local = run("list", "--data-dir", str(source), "--source-label", "ok")
    assert local.exit_code == 2
    assert "--source-label belongs to the labelled source" in local.stderr


def test_the_plugin_guides_source_options_example_works(plugin_site: Path) -> None:
    guide = (Path(__file__).parent.parent / "docs" / "plugin-guide.md").read_text()
    found = re.search(r"<!-- example: source-options -->\n```python\n(.*?)```", guide, re.S)
    assert found is not None
    write_distribution(plugin_site, "rs-guide", "example", "rs_guide_sources", found.group(1))
    helped = run("verify", "--help")
    assert helped.exit_code == 0 and helped.stderr == ""
    listed = without_env_notes(helped.stdout)
    assert "(repeatable). --example-token FILE With --storage example:" in listed
    refused = run("list", "--data-dir", str(plugin_site), "--example-token", "t")
    assert refused.exit_code == 2
    assert "--example-token belongs to the example source" in refused.stderr


def test_trusted_keys_with_a_source_from_a_registry_config_is_refused(
    tmp_path: Path, source: Path
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {source}\n")
    assert run("list", "--registry-config", str(config)).exit_code == 0
    refused = run("list", "--registry-config", str(config), "--trusted-keys", "keys")
    assert refused.exit_code == 2
    assert one_line(refused) == (
        "error: --trusted-keys belongs to the tar source (--storage tar), not --registry-config"
    )
