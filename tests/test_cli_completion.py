"""Shell completion through click's completion protocol (what the README's `eval` installs):
driver names, paths kept for path options, -o keys of the chosen driver, with or without
the `copy` command name."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from registry_scraper_local.archive_reader import OPTIONS as READER_OPTIONS
from registry_scraper_local.tar import TarDriver
from scraper_core.cli import main


def _complete(line: str) -> list[tuple[str, str]]:
    """What bash gets for ``line`` (the word after its last space is being completed)."""
    words = line.split(" ")
    env = {
        "_SCRAPE_COMPLETE": "bash_complete",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="scrape")
    assert result.exit_code == 0, result.output
    return [
        (kind, value) for kind, _, value in (row.partition(",") for row in result.stdout.split())
    ]


@pytest.mark.parametrize("command", ["scrape", "scrape copy", "scrape list", "scrape verify"])
def test_driver_names(command: str) -> None:
    offered = _complete(f"{command} --storage ")
    assert ("plain", "local") in offered and ("plain", "s3") in offered
    assert _complete(f"{command} --storage s") == [("plain", "s3")]


@pytest.mark.parametrize("command", ["scrape", "scrape copy"])
def test_output_drivers_and_keys_with_or_without_copy(command: str) -> None:
    assert ("plain", "tar") in _complete(f"{command} --output-storage t")
    offered = _complete(f"{command} --output-storage s3 --output-storage-option end")
    assert offered == [("plain", "endpoint_url=")]


@pytest.mark.parametrize(
    "line",
    [
        "scrape --data-dir ./da",
        "scrape copy --output-dir ./co",
        "scrape list --data-dir ./da",
        "scrape --registry-config ./co",
        "scrape --images-file ./im",
        "scrape --have ./in",
        "scrape verify --have ./in",
        "scrape --output-tar ./co",
        "scrape inventory --data-dir ./da",
    ],
)
def test_paths_are_left_to_the_shell(line: str) -> None:
    assert _complete(line) == [("file", line.rsplit(" ", 1)[1])]


def test_option_keys_of_the_chosen_source_driver() -> None:
    assert _complete("scrape list --storage s3 -o secret") == [("plain", "secret_key=")]
    assert _complete("scrape -o fs") == [("plain", "fsync=")]
    assert _complete("scrape list --storage tar -o tru") == [("plain", "trusted-keys=")]


def test_options_without_the_copy_command() -> None:
    values = {value for _, value in _complete("scrape --")}
    assert {"--data-dir", "--output-dir", "--all-tags", "--json"} <= values
    assert {"list", "verify"} <= {value for _, value in _complete("scrape ")}


def test_tar_declares_what_its_reader_accepts() -> None:
    assert set(TarDriver.option_keys) >= READER_OPTIONS
