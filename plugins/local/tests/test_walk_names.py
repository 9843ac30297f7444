"""``LocalDriver.walk_names``: what ``walk`` lists, without a stat per file, just as safe.

Listing tags needs names only (issue 13: ``scrape list`` of 10,000 repositories spent 88% of
its time in ``walk``'s relpath and lstat per file). The names must be exactly ``walk``'s, and
nothing may be listed from outside the root: not through a symlink, not through a directory
swapped for one, not through a directory moved out of the root while the walk goes on.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry_scraper_local.driver import TEMP_PREFIX, LocalDriver
from scraper_core.errors import InvalidPathError, PathNotFoundError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    top = tmp_path / "root"
    top.mkdir()
    return top


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    there = tmp_path / "outside"
    (there / "sub").mkdir(parents=True)
    (there / "secret").write_bytes(b"secret")
    (there / "sub" / "nested").write_bytes(b"nested")
    return there


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _mixed_tree(root: Path, outside: Path) -> None:
    for directory in ("t/a/current", "t/a/index/sha256/d1", "t/b/index", "t/empty", "t/c"):
        (root / directory).mkdir(parents=True)
    (root / "t/a/current/link").write_bytes(b"sha256:1")
    (root / "t/a/index/sha256/d1/link").write_bytes(b"sha256:1")
    (root / "t/b/file").write_bytes(b"x")
    (root / "t/c" / f"{TEMP_PREFIX}stale").write_bytes(b"left by a crash")
    (root / "t" / f"{TEMP_PREFIX}dir").mkdir()
    (root / "t" / f"{TEMP_PREFIX}dir" / "hidden").write_bytes(b"x")
    (root / "t/c/file-link").symlink_to(root / "t/b/file")
    (root / "t/c/dir-link").symlink_to(root / "t/a", target_is_directory=True)
    (root / "t/c/dangling").symlink_to(root / "t/nothing")
    (root / "t/c/out-dir").symlink_to(outside, target_is_directory=True)
    (root / "t/c/out-file").symlink_to(outside / "secret")
    os.mkfifo(root / "t/b/fifo")


def test_walk_names_lists_what_walk_lists(root: Path, outside: Path) -> None:
    _mixed_tree(root, outside)
    driver = LocalDriver(root, read_only=True)
    before = _open_fds()
    for top in ("/t", "/t/a", "/t/c", "/"):
        names = list(driver.walk_names(top))
        assert sorted(names) == sorted(info.path for info in driver.walk(top)), top
        assert len(names) == len(set(names))
    assert not any(name.startswith(("/t/c/out-dir/", "/t/c/dir-link/")) for name in names)
    assert not any(TEMP_PREFIX in name for name in names)
    assert _open_fds() == before


def test_walk_names_refuses_a_top_outside_and_a_missing_one(root: Path, outside: Path) -> None:
    (root / "escape").symlink_to(outside, target_is_directory=True)
    driver = LocalDriver(root, read_only=True)
    with pytest.raises(InvalidPathError):
        list(driver.walk_names("/escape"))
    with pytest.raises(PathNotFoundError):
        list(driver.walk_names("/missing"))
    (root / "file").write_bytes(b"x")
    with pytest.raises(PathNotFoundError):
        list(driver.walk_names("/file"))


def test_a_directory_swapped_for_a_symlink_out_is_not_entered(root: Path, outside: Path) -> None:
    (root / "t/a").mkdir(parents=True)
    (root / "t/a/file").write_bytes(b"x")
    (root / "t/z").mkdir()
    (root / "t/z/file").write_bytes(b"x")
    driver = LocalDriver(root, read_only=True)
    walk = driver.walk_names("/t")
    first = next(walk)  # /t listed, one of its directories entered, the other not yet
    other = "z" if first == "/t/a/file" else "a"
    (root / "t" / other).rename(root / "away")
    (root / "t" / other).symlink_to(outside, target_is_directory=True)
    assert list(walk) == []


def test_a_directory_moved_out_of_the_root_mid_walk_is_refused(
    root: Path, outside: Path, tmp_path: Path
) -> None:
    (root / "t/a/sub").mkdir(parents=True)
    (root / "t/a/file").write_bytes(b"x")
    (root / "t/a/sub/below").write_bytes(b"x")
    driver = LocalDriver(root, read_only=True)
    before = _open_fds()
    walk = driver.walk_names("/t")
    assert next(walk) == "/t/a/file"  # /t/a is open, /t/a/sub not yet
    (root / "t/a").rename(tmp_path / "moved-out")
    with pytest.raises(InvalidPathError):
        next(walk)
    assert _open_fds() == before


def test_an_abandoned_walk_closes_its_directories(root: Path) -> None:
    for number in range(5):
        (root / f"t/d{number}/deeper").mkdir(parents=True)
        (root / f"t/d{number}/deeper/file").write_bytes(b"x")
    driver = LocalDriver(root, read_only=True)
    before = _open_fds()
    walk = driver.walk_names("/t")
    assert next(walk).endswith("/deeper/file")
    walk.close()
    assert _open_fds() == before
