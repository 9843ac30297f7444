"""An environment variable for every option, one name in every command; the command line
wins; -o pairs of the environment and the command line add up. Through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from scraper_core.cli import main
from scraper_core.cli_env import env_name
from tests.support.cli import run_cli
from tests.support.trees import local_writer

COMMANDS = ("copy", "list", "verify", "inventory", "drivers")


def _options(command: str) -> list[click.Option]:
    chosen = main.commands[command]
    with click.Context(chosen, info_name=command) as ctx:
        params = chosen.get_params(ctx)
    return [p for p in params if isinstance(p, click.Option) and "--help" not in p.opts]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_its_variable_shown_in_help(command: str) -> None:
    help_text = " ".join(run_cli(command, "--help").stdout.split())
    for option in _options(command):
        flag = next(flag for flag in option.opts if flag.startswith("--"))
        assert isinstance(option.envvar, list) and option.envvar[0] == env_name(flag)
        assert env_name(flag) in help_text.replace("- ", "-").replace(" ", ""), flag


def test_one_name_in_every_command() -> None:
    names = {command: {o.name: o.envvar for o in _options(command)} for command in COMMANDS}
    assert names["copy"]["data_dir"] == names["list"]["data_dir"] == ["SCRAPE_DATA_DIR"]
    assert names["verify"]["storage"] == names["inventory"]["storage"] == ["SCRAPE_STORAGE"]
    assert names["copy"]["output_dir"] == ["SCRAPE_OUTPUT_DIR"]
    assert names["list"]["debug"] == ["SCRAPE_DEBUG", "REGISTRY_SCRAPER_DEBUG"]


def test_a_copy_from_the_environment_alone(tmp_path: Path) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    env = {
        "SCRAPE_DATA_DIR": str(tmp_path / "data"),
        "SCRAPE_OUTPUT_DIR": str(tmp_path / "copy"),
        "SCRAPE_JSON": "1",
    }
    result = run_cli("app:v1", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["destination"] == str(tmp_path / "copy")
    assert (tmp_path / "copy" / "docker").is_dir()


def test_the_command_line_wins(tmp_path: Path) -> None:
    local_writer(tmp_path / "data").image("here", "v1")
    local_writer(tmp_path / "other").image("there", "v1")
    env = {"SCRAPE_DATA_DIR": str(tmp_path / "other")}
    assert run_cli("list", env=env).stdout == "there  v1\n"
    result = run_cli("list", "--data-dir", str(tmp_path / "data"), env=env)
    assert result.stdout == "here  v1\n", result.output


def test_an_output_tar_on_the_command_line_wins_over_an_output_dir_in_the_environment(
    tmp_path: Path,
) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    env = {"SCRAPE_DATA_DIR": str(tmp_path / "data"), "SCRAPE_OUTPUT_DIR": str(tmp_path / "x")}
    result = run_cli("--output-tar", str(tmp_path / "copy.tar"), "app:v1", env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "copy.tar").is_file() and not (tmp_path / "x").exists()


def test_option_pairs_of_the_environment_and_the_command_line_add_up(tmp_path: Path) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    base = ["list", "--data-dir", str(tmp_path / "data")]
    env = {"SCRAPE_STORAGE_OPTION": "no-such-key=1"}
    refused = run_cli(*base, env=env)
    assert refused.exit_code == 2 and "no-such-key" in refused.stderr
    both = run_cli(*base, "-o", "fsync=false", env=env)
    assert both.exit_code == 2 and "no-such-key" in both.stderr  # not replaced: added to
    assert run_cli(*base, "-o", "fsync=false").exit_code == 0


def test_a_plugin_option_in_the_environment_for_another_driver_is_left_out(
    tmp_path: Path,
) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    env = {"SCRAPE_TRUSTED_KEYS": str(tmp_path / "allowed_signers")}
    listed = run_cli("list", "--data-dir", str(tmp_path / "data"), env=env)
    assert listed.exit_code == 0, listed.output
    given = run_cli("list", "--data-dir", str(tmp_path / "data"), "--trusted-keys", "k", env=env)
    assert given.exit_code == 2 and "--trusted-keys belongs to the tar source" in given.stderr


def test_a_destination_option_in_the_environment_for_another_driver_is_left_out(
    tmp_path: Path,
) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    env = {"SCRAPE_DATA_DIR": str(tmp_path / "data"), "SCRAPE_SPLIT_SIZE": "1G"}
    into_tree = run_cli("--output-dir", str(tmp_path / "copy"), "app:v1", env=env)
    assert into_tree.exit_code == 0, into_tree.output
    given = run_cli("--output-dir", str(tmp_path / "copy"), "--split-size", "1G", "app", env=env)
    assert given.exit_code == 2 and "--split-size needs --output-tar" in given.stderr


def test_a_plugins_shorthand_from_the_environment_alone(tmp_path: Path) -> None:
    """--output-tar is the tar plugin's: the plugins are learned for a variable naming it
    even when the command line names none of their options."""
    local_writer(tmp_path / "data").image("app", "v1")
    archive = tmp_path / "ship.tar"
    result = run_cli(
        "--data-dir", str(tmp_path / "data"), "app:v1", env={"SCRAPE_OUTPUT_TAR": str(archive)}
    )
    assert result.exit_code == 0, result.output
    assert archive.is_file()
