""" "Did you mean" for drivers, -o keys, repositories and tags; a hint when --data-dir is
not the storage root; a list pattern matching nothing fails as copy's does. Real CLI, real
local driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import copy_under, run_cli
from tests.support.trees import local_writer


@pytest.fixture
def data(tmp_path: Path) -> Path:
    writer = local_writer(tmp_path / "site" / "data")
    writer.image("team/app", "latest")
    writer.image("team/api", "v2")
    return tmp_path / "site" / "data"


def test_a_driver_name(data: Path) -> None:
    result = run_cli("list", "--storage", "lcoal", "--data-dir", str(data))
    assert result.exit_code == 2
    assert "storage driver 'lcoal' is not installed (did you mean local?)" in result.stderr


def test_an_option_key_of_the_source_or_the_destination(data: Path, tmp_path: Path) -> None:
    source = run_cli("list", "-o", "fsyn=1", "--data-dir", str(data))
    assert source.exit_code == 2
    assert source.stderr == (
        "error: local: unknown option(s): fsyn (did you mean fsync?) (known: fsync)\n"
    )
    output = copy_under(tmp_path / "site", "--output-storage-option", "fsynk=true", "team/app")
    assert output.exit_code == 2
    assert "unknown option(s): fsynk (did you mean fsync?)" in output.stderr
    assert not (tmp_path / "site" / "copy").exists()


def test_a_repository_and_a_tag(data: Path, tmp_path: Path) -> None:
    result = copy_under(tmp_path / "site", "team/ap:latest", "team/app:lates", "tem/*")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "repository not found: team/ap (did you mean team/app or team/api?)" in lines[1]
    assert "tag not found: team/app:lates (did you mean latest?)" in lines[2]
    assert "no repository matches 'tem/*' (did you mean team/*?)" in lines[0]


def test_list_fails_for_a_pattern_that_matches_nothing(data: Path) -> None:
    result = run_cli("list", "--data-dir", str(data), "team/*", "tem/*")
    assert result.exit_code == 1
    assert result.stdout == "team/api  v2\nteam/app  latest\n"
    assert result.stderr == "error: no repository matches 'tem/*' (did you mean team/*?)\n"


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("data/docker", "it is inside the storage root; try --data-dir {base}/data"),
        ("data/docker/registry/v2", "it is inside the storage root; try --data-dir {base}/data"),
        (".", "the storage root is below it; try --data-dir {base}/data"),
    ],
)
@pytest.mark.parametrize("command", ["list", "copy", "inventory", "verify"])
def test_a_data_dir_beside_the_storage_root(
    data: Path, tmp_path: Path, given: str, hint: str, command: str
) -> None:
    site = tmp_path / "site"
    location = str(site / given) if given != "." else str(site)
    args = ["--output-dir", str(tmp_path / "copy"), "team/app"] if command == "copy" else []
    result = run_cli(command, "--data-dir", location, *args)
    line = f"warning: no docker/registry/v2 under --data-dir {location}: "
    assert line + hint.format(base=site) in result.stderr.splitlines(), result.stderr


def test_no_hint_at_the_storage_root(data: Path) -> None:
    result = run_cli("list", "--data-dir", str(data))
    assert result.exit_code == 0 and result.stderr == ""
