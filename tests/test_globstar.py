"""``**`` in repository patterns matches any depth; ``*`` still stops at ``/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.local.registry_scraper_local.driver import LocalDriver
from scraper_core.checked import CheckedDriver
from scraper_core.globstar import literal_prefix, matches
from scraper_core.listing import match_repositories
from tests.support.cli import run_cli
from tests.support.trees import repositories_tree, stored_blobs

NAMES = ("app", "team", "team/app", "team/app/sub", "team/web", "other/deep/app")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("**", list(NAMES)),
        ("team/**", ["team", "team/app", "team/app/sub", "team/web"]),
        ("**/app", ["app", "team/app", "other/deep/app"]),
        ("team/**/sub", ["team/app/sub"]),
        ("**/**/app", ["app", "team/app", "other/deep/app"]),
        ("t*/**", ["team", "team/app", "team/app/sub", "team/web"]),
        ("team/*", ["team/app", "team/web"]),
        ("*", ["app", "team"]),
        # Only a whole component is special: ``a**`` is ``a*``, within one component.
        ("a**", ["app"]),
    ],
)
def test_matching(pattern: str, expected: list[str]) -> None:
    assert [name for name in NAMES if matches(pattern.split("/"), name)] == expected


def test_literal_prefix() -> None:
    assert literal_prefix(["team", "x", "**", "a"]) == "team/x"
    assert literal_prefix(["**"]) == ""
    assert literal_prefix(["t*", "**"]) == ""


@pytest.fixture
def tree(tmp_path: Path) -> CheckedDriver:
    root = repositories_tree(tmp_path / "data", NAMES)
    return CheckedDriver(LocalDriver(root, read_only=True), read_only=True)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("**", sorted(NAMES)),
        ("team/**", ["team", "team/app", "team/app/sub", "team/web"]),
        ("**/app", ["app", "other/deep/app", "team/app"]),
        ("team/*", ["team/app", "team/web"]),
        ("*", ["app", "team"]),
        ("*/app", ["team/app"]),
        ("nothing/**", []),
    ],
)
def test_storage_matches(tree: CheckedDriver, pattern: str, expected: list[str]) -> None:
    errors: list[str] = []
    assert match_repositories(tree, pattern, errors) == expected
    assert errors == []


def test_one_command_copies_every_repository(tmp_path: Path, tree: CheckedDriver) -> None:
    source = tmp_path / "data"
    result = run_cli(
        "--data-dir", str(source), "--output-dir", str(tmp_path / "all"), "--all-tags", "**"
    )
    assert result.exit_code == 0, result.output
    assert f"{len(NAMES)} of {len(NAMES)} images copied" in result.stderr
    assert stored_blobs(tmp_path / "all") == stored_blobs(source)
    listed = run_cli("list", "--data-dir", str(source), "team/**")
    assert listed.stdout.split("\n")[:-1] == [
        "team  v1",
        "team/app  v1",
        "team/app/sub  v1",
        "team/web  v1",
    ]
