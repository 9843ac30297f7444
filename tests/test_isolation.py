"""One bad entry fails only what depends on it: list, verify, globs and --all-tags report it
in one line naming it, exit 1, and go on with every other repository and tag."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.listing import list_repositories, match_repositories
from scraper_core.selection import select
from tests.support.cli import run_cli
from tests.support.cli_process import run_scrape
from tests.support.drivers import LocalDouble
from tests.support.recorded import recorded
from tests.support.trees import repositories_tree

REPOSITORIES = Path("docker/registry/v2/repositories")
SOUND = ["good", "team/app", "team/other"]

Breaker = Callable[[Path], str]


def _repositories(root: Path) -> Path:
    return root / REPOSITORIES


def _symlink_out(root: Path) -> str:
    outside = root.parent / "outside" / "evil"
    (outside / "_manifests" / "tags").mkdir(parents=True)
    (_repositories(root) / "team" / "evil").symlink_to(outside)
    return "team/evil"


def _link(name: str, target: str) -> Breaker:
    """``team/NAME`` as a symlink to ``target``."""

    def make(root: Path) -> str:
        (_repositories(root) / "team" / name).symlink_to(target)
        return f"team/{name}"

    return make


def _file_instead_of(path: str) -> Breaker:
    """A file where the directory ``path`` (under repositories/) belongs."""

    def make(root: Path) -> str:
        file = _repositories(root) / path
        file.parent.mkdir(parents=True)
        file.write_bytes(b"not a directory")
        return path

    return make


#: Nothing a glob could match is there (a dangling link, the parent again): globs, which never
#: descend, may say nothing; the full walk, which would descend, reports them. A link out of
#: the root to nothing is refused or found empty, depending on how the driver looks.
QUIET_FOR_GLOBS = {"dangling symlink inside the root", "symlink back to an ancestor"}
MAYBE_QUIET_FOR_GLOBS = {"dangling symlink out of the root"}

ENTRY_BREAKERS: dict[str, Breaker] = {
    "symlink out of the root": _symlink_out,
    "dangling symlink inside the root": _link("gone", "nowhere"),
    "dangling symlink out of the root": _link("gone", "/nonexistent/registry/gone"),
    "symlink loop": _link("loop", "loop"),
    # Followed, every level lists the same directory again: the walk would never end.
    "symlink back to an ancestor": _link("again", "."),
    "tags directory is a file": _file_instead_of("team/broken/_manifests/tags"),
    "_manifests is a file": _file_instead_of("team/broken/_manifests"),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return repositories_tree(tmp_path / "data", SOUND)


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def copied_tags(copy: Path) -> list[str]:
    found = []
    for name in SOUND:
        tags = copy / REPOSITORIES / name / "_manifests" / "tags"
        found += [f"{name}:{tag.name}" for tag in sorted(tags.iterdir())] if tags.is_dir() else []
    return found


@pytest.mark.parametrize("case", sorted(ENTRY_BREAKERS))
def test_a_bad_repository_entry_is_one_line_and_the_rest_goes_on(
    root: Path, tmp_path: Path, case: str
) -> None:
    bad = ENTRY_BREAKERS[case](root)
    data = ["--data-dir", str(root)]
    listing = run_cli("list", *data)
    narrowed = run_cli("list", *data, "team/*")
    verify = run_cli("verify", *data)
    glob = run_cli(*data, "--output-dir", str(tmp_path / "glob"), "--all-tags", "team/*")
    everything = run_cli(*data, "--output-dir", str(tmp_path / "all"), "--all-tags", "*", "*/*")
    results = {
        "list": listing,
        "list team/*": narrowed,
        "verify": verify,
        "scrape team/*": glob,
        "scrape *": everything,
    }
    with recorded("isolated-bad-entry"):
        for what, result in results.items():
            lines = error_lines(result)
            assert result.exception is None or isinstance(result.exception, SystemExit), what
            reported = (
                result.exit_code == 1 and len(lines) == 1 and str(REPOSITORIES / bad) in lines[0]
            )
            quiet = result.exit_code == 0 and lines == []
            if what in ("list", "verify"):
                assert reported, f"{what}: {result.output}"
            elif case in QUIET_FOR_GLOBS:
                assert quiet, f"{what}: {result.output}"
            else:
                assert reported or (quiet and case in MAYBE_QUIET_FOR_GLOBS), result.output
        assert listing.stdout.splitlines() == [f"{name}  v1" for name in SOUND]
        assert narrowed.stdout.splitlines() == ["team/app  v1", "team/other  v1"]
        assert copied_tags(tmp_path / "glob") == ["team/app:v1", "team/other:v1"]
        assert copied_tags(tmp_path / "all") == [f"{name}:v1" for name in SOUND]
        assert "3 tags in" in verify.stderr and ", 1 problems," in verify.stderr


def test_a_loop_back_to_an_ancestor_ends_even_when_doubled(root: Path) -> None:
    # Two such links make 2^n paths n levels down: only a walk that notices ends.
    for name in ("a", "b"):
        (_repositories(root) / "team" / name).symlink_to(".")
    (_repositories(root) / "up").symlink_to("..")
    # A subprocess: a walk that does not notice never ends, and the timeout fails the test.
    result = run_scrape("list", "--data-dir", str(root), timeout=120)
    assert result.returncode == 1, result.describe()
    assert result.stdout.splitlines() == [f"{name}  v1" for name in SOUND]
    assert len(result.error_lines) == 3, result.describe()


def test_a_nested_repository_listing_like_its_parent_is_no_loop(tmp_path: Path) -> None:
    # x, x/x and x/x/x: each directory lists like its parent; they are not the same one.
    names = ["x", "x/x", "x/x/x"]
    root = repositories_tree(tmp_path / "data", names, layer_size=10)
    # Written within one clock tick, x and x/x have the same modification time (as a loop
    # would): made so here rather than left to the machine's speed.
    for name in names:
        os.utime(_repositories(root) / name, ns=(1_700_000_000 * 10**9,) * 2)
    driver = CheckedDriver(LocalDriver(root, read_only=True), read_only=True)
    errors: list[str] = []
    assert list_repositories(driver, errors) == names and errors == []


class UnreadableDriver(LocalDouble):
    """The local driver, where one directory refuses to be listed (as without permission:
    a test run as root cannot make one)."""

    def __init__(self, root: Path, refused: str) -> None:
        super().__init__(root)
        self.refused = refused

    def list_dir(self, path: str) -> list[str]:
        if path == self.refused or path.startswith(self.refused + "/"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return self.inner.list_dir(path)

    def walk(self, path: str) -> Any:
        if f"{path}/".startswith(f"{self.refused}/"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return self.inner.walk(path)

    def walk_names(self, path: str) -> Any:
        # Forwarded by __getattr__ otherwise: the wrapper would list the refused directory.
        if f"{path}/".startswith(f"{self.refused}/"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return self.inner.walk_names(path)


@pytest.mark.parametrize("refused", ["team/app", "team/app/_manifests/tags"])
def test_an_unreadable_directory_fails_its_repository_only(root: Path, refused: str) -> None:
    path = layout.repository_path(refused)
    driver = CheckedDriver(UnreadableDriver(root, path), read_only=True)
    errors: list[str] = []
    names = list_repositories(driver, errors)
    if refused == "team/app":
        assert names == ["good", "team/other"]
        assert len(errors) == 1 and path in errors[0] and "Permission denied" in errors[0]
    # A glob stats team/app/_manifests, which works; its tags cannot be listed.
    assert match_repositories(driver, "team/*") == ["team/app", "team/other"]
    selection = select(driver, ["team/*", "good"], all_tags=True)
    assert [str(reference) for reference in selection.references] == [
        "team/other:v1",
        "good:v1",
    ]
    ((entry, message),) = selection.errors
    assert entry == "team/*" and path in message


def test_a_glob_whose_only_match_is_broken_names_it_not_an_empty_match(root: Path) -> None:
    _symlink_out(root)
    driver = CheckedDriver(LocalDriver(root, read_only=True), read_only=True)
    selection = select(driver, ["team/ev*"], all_tags=True)
    assert selection.references == []
    ((entry, message),) = selection.errors
    assert entry == "team/ev*" and "team/evil" in message


def test_an_invalid_list_pattern_is_a_usage_error(root: Path) -> None:
    result = run_cli("list", "--data-dir", str(root), "team/!x")
    assert result.exit_code == 2 and "invalid repository pattern" in result.stderr
