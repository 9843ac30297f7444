"""Checked directory descriptors kept between writes: re-used only while the directory is
still where it was checked, bounded in number, and closed with the driver."""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from registry_scraper_local import driver as module
from registry_scraper_local.driver import LocalDriver
from scraper_core.errors import InvalidPathError

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def driver(root: Path) -> LocalDriver:
    return LocalDriver.open(str(root), {}, read_only=False)


def _tree(top: Path) -> dict[str, bytes]:
    files = (path for path in top.rglob("*") if path.is_file())
    return {str(path.relative_to(top)): path.read_bytes() for path in files}


def test_a_directory_moved_inside_the_root_is_not_written_through(
    root: Path, driver: LocalDriver
) -> None:
    driver.put_content("/a/b/one", b"one")  # /a is kept: writes went below it
    (root / "a").rename(root / "moved")
    driver.put_content("/a/b/two", b"two")
    assert (root / "a" / "b" / "two").read_bytes() == b"two"
    assert not (root / "moved" / "b" / "two").exists()


def test_a_removed_directory_is_made_again(root: Path, driver: LocalDriver) -> None:
    driver.put_content("/a/b/one", b"one")
    shutil.rmtree(root / "a")
    driver.put_content("/a/b/two", b"two")
    assert (root / "a" / "b" / "two").read_bytes() == b"two"


def test_a_kept_directory_swapped_for_a_symlink_out_is_refused(
    root: Path, driver: LocalDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    driver.put_content("/a/b/one", b"one")
    (root / "a").rename(root / "moved")
    (root / "a").symlink_to(outside, target_is_directory=True)
    assert_refused_with_nothing_outside(driver, "/a/b/two", outside, monkeypatch)


def test_a_symlink_pointed_elsewhere_between_writes_is_followed_anew(
    root: Path, driver: LocalDriver
) -> None:
    driver.put_content("/one/x/file", b"1")
    driver.put_content("/two/x/file", b"2")
    (root / "alias").symlink_to(root / "one", target_is_directory=True)
    driver.put_content("/alias/x/a", b"a")
    (root / "alias").unlink()
    (root / "alias").symlink_to(root / "two", target_is_directory=True)
    driver.put_content("/alias/x/b", b"b")
    assert (root / "one" / "x" / "a").read_bytes() == b"a"
    assert (root / "two" / "x" / "b").read_bytes() == b"b"


def _swap_when_made(
    monkeypatch: pytest.MonkeyPatch, name: str, swap: Callable[[Path], None]
) -> None:
    """``swap`` the directory ``name`` the moment the driver has made it, before it opens it."""
    real_mkdir = os.mkdir

    def mkdir(path: str, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        real_mkdir(path, mode, dir_fd=dir_fd)
        if path == name and dir_fd is not None:
            swap(Path(os.readlink(f"/proc/self/fd/{dir_fd}"), path))

    monkeypatch.setattr(os, "mkdir", mkdir)


def assert_refused_with_nothing_outside(
    driver: LocalDriver, path: str, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A put to ``path`` is refused, and no file is renamed out of the root on the way."""
    renamed_into = _renamed_into(monkeypatch)
    with pytest.raises(InvalidPathError):
        driver.put_content(path, b"x")
    assert renamed_into == [], "a file went outside the root, if only for a moment"
    assert _tree(outside) == {}


def _renamed_into(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Where each rename puts a file, as it happens (a file renamed out of the root and
    removed again at once would leave no trace to look for afterwards)."""
    targets: list[str] = []
    real_replace = os.replace

    def replace(source: str, dest: str, **dir_fds: int) -> None:
        into = dir_fds.get("dst_dir_fd")
        if into is not None:
            targets.append(os.readlink(f"/proc/self/fd/{into}"))
        real_replace(source, dest, **dir_fds)

    monkeypatch.setattr(os, "replace", replace)
    return targets


def test_a_new_directory_swapped_for_a_symlink_out_at_once_is_refused(
    root: Path, driver: LocalDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()

    def swap(made: Path) -> None:
        made.rmdir()
        made.symlink_to(outside, target_is_directory=True)

    driver.put_content("/a/first", b"x")
    _swap_when_made(monkeypatch, "new", swap)
    assert_refused_with_nothing_outside(driver, "/a/new/file", outside, monkeypatch)


def test_a_new_directory_swapped_for_a_symlink_inside_is_followed(
    root: Path, driver: LocalDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver.put_content("/target/first", b"x")

    def swap(made: Path) -> None:
        made.rmdir()
        made.symlink_to(root / "target", target_is_directory=True)

    _swap_when_made(monkeypatch, "new", swap)
    driver.put_content("/a/new/file", b"through the link")
    assert (root / "target" / "file").read_bytes() == b"through the link"


def test_a_symlink_put_in_a_new_directory_is_replaced_never_written_through(
    root: Path, driver: LocalDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    driver.put_content("/a/first", b"x")
    _swap_when_made(monkeypatch, "new", lambda made: (made / "file").symlink_to(outside / "f"))
    renamed_into = _renamed_into(monkeypatch)
    driver.put_content("/a/new/file", b"inside")
    assert renamed_into == [str(root / "a" / "new")]
    assert not (root / "a" / "new" / "file").is_symlink()
    assert (root / "a" / "new" / "file").read_bytes() == b"inside"
    assert _tree(outside) == {}


def test_a_refused_put_leaves_no_staged_file(
    root: Path, driver: LocalDriver, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    (root / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(InvalidPathError):
        driver.put_content("/escape/file", b"x")
    staged = [path.name for path in Path(driver.staging.path).iterdir()]
    assert staged == ["lock"]
    assert _tree(tmp_path / "outside") == {}


def test_kept_descriptors_are_bounded_and_closed_with_the_driver(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "DIRECTORY_CACHE_SIZE", 8)
    before = _open_descriptors()
    driver = LocalDriver.open(str(root), {}, read_only=False)
    for number in range(40):
        driver.put_content(f"/p{number}/dir/file", b"x")
    # The staging directory and its lock, and no more than 8 directories kept.
    assert _open_descriptors() - before <= 2 + 8
    driver.close()
    assert _open_descriptors() == before


def test_a_driver_dropped_without_close_keeps_no_descriptor(root: Path) -> None:
    driver = LocalDriver.open(str(root), {}, read_only=False)
    driver.put_content("/a/b/file", b"x")
    driver.abort()
    driver.put_content("/c/d/file", b"x")  # kept again, then the driver is dropped
    before_drop = _open_descriptors()
    del driver
    gc.collect()
    assert _open_descriptors() < before_drop


def test_short_writes_are_carried_on_until_all_is_written(
    root: Path, driver: LocalDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def short(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, data[:3])

    monkeypatch.setattr(os, "write", short)
    with driver.writer("/dir/file") as writer:
        writer.write(b"0123456789")
        writer.write(b"abcdefgh")
        assert writer.size == 18
        writer.commit()
    assert (root / "dir" / "file").read_bytes() == b"0123456789abcdefgh"
