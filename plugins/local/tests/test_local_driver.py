"""What only the local driver has: a real directory, symlinks, permissions, temporary files."""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from registry_scraper_local.driver import STAGING_ROOT, TEMP_PREFIX, LocalDriver
from registry_scraper_local.staging import LOCK_NAME, UNLOCKED_STALE_AFTER
from scraper_core.checked import CheckedDriver
from scraper_core.errors import (
    ConfigurationError,
    InvalidPathError,
    LocationNotFoundError,
    PathNotFoundError,
    ReadOnlyError,
    StorageError,
)


def _tree(top: Path) -> dict[str, tuple[bytes | str, int, int]]:
    """Everything under ``top``: content (or link target), mode and mtime, by relative path."""
    found: dict[str, tuple[bytes | str, int, int]] = {}
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            full = Path(directory, name)
            status = full.lstat()
            if full.is_symlink():
                content: bytes | str = os.readlink(full)
            elif full.is_file():
                content = full.read_bytes()
            else:
                content = "<dir>"
            found[str(full.relative_to(top))] = (content, status.st_mode, status.st_mtime_ns)
    return found


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def storage(root: Path) -> CheckedDriver:
    return CheckedDriver(LocalDriver.open(str(root), {}, read_only=False), read_only=False)


@pytest.fixture
def outside(tmp_path: Path, root: Path, storage: CheckedDriver) -> Path:
    """A directory beside the root, reachable from inside only through symlinks."""
    target = tmp_path / "outside"
    (target / "sub").mkdir(parents=True)
    (target / "secret").write_bytes(b"secret")
    (target / "sub" / "nested").write_bytes(b"nested")
    (root / "escape").symlink_to(target, target_is_directory=True)
    (root / "escape-file").symlink_to(target / "secret")
    (root / "dangling").symlink_to(target / "created-through-link")
    (root / "inside").write_bytes(b"inside")
    return target


@pytest.fixture
def unchanged_outside(tmp_path: Path, outside: Path) -> Iterator[Path]:
    """Fails the test if anything outside the root changed, or appeared beside it."""
    before = _tree(outside)
    siblings = sorted(tmp_path.iterdir())
    yield outside
    assert _tree(outside) == before
    assert sorted(tmp_path.iterdir()) == siblings


ESCAPING_READS: dict[str, Callable[[CheckedDriver], object]] = {
    "get through a directory link": lambda storage: storage.get_content("/escape/secret"),
    "get through a file link": lambda storage: storage.get_content("/escape-file"),
    "reader": lambda storage: storage.reader("/escape/sub/nested"),
    "stat directory": lambda storage: storage.stat("/escape"),
    "stat file": lambda storage: storage.stat("/escape/secret"),
    "list_dir": lambda storage: storage.list_dir("/escape"),
    "walk": lambda storage: list(storage.walk("/escape")),
}

ESCAPING_WRITES: dict[str, Callable[[CheckedDriver], object]] = {
    "put into a linked directory": lambda storage: storage.put_content("/escape/new", b"x"),
    "put below a linked directory": lambda storage: storage.put_content("/escape/a/b", b"x"),
    "put over a file link": lambda storage: storage.put_content("/escape-file", b"x"),
    "put through a dangling link": lambda storage: storage.put_content("/dangling", b"x"),
    "writer": lambda storage: storage.writer("/escape/sub/nested"),
    "move out": lambda storage: storage.move("/inside", "/escape/stolen"),
    "move in": lambda storage: storage.move("/escape/secret", "/taken"),
    "delete a file": lambda storage: storage.delete("/escape/secret"),
    "delete a linked directory": lambda storage: storage.delete("/escape"),
    "delete below one": lambda storage: storage.delete("/escape/sub"),
}


@pytest.mark.parametrize("operation", sorted(ESCAPING_READS))
def test_symlink_out_of_the_root_is_refused_for_reads(
    storage: CheckedDriver, unchanged_outside: Path, operation: str
) -> None:
    with pytest.raises(InvalidPathError) as caught:
        ESCAPING_READS[operation](storage)
    assert caught.value.driver == "local"


@pytest.mark.parametrize("operation", sorted(ESCAPING_WRITES))
def test_symlink_out_of_the_root_is_refused_for_writes(
    storage: CheckedDriver, root: Path, unchanged_outside: Path, operation: str
) -> None:
    with pytest.raises(InvalidPathError) as caught:
        ESCAPING_WRITES[operation](storage)
    assert caught.value.driver == "local"
    assert (root / "inside").read_bytes() == b"inside"
    assert not (root / "taken").exists()


DOT_DOT: dict[str, Callable[[LocalDriver], object]] = {
    "read": lambda raw: raw.get_content("/../outside/secret"),
    "write": lambda raw: raw.put_content("/../outside/new", b"x"),
    "delete": lambda raw: raw.delete("/../outside"),
}


@pytest.mark.parametrize("operation", sorted(DOT_DOT))
def test_raw_driver_refuses_dot_dot_without_the_wrapper(
    root: Path, storage: CheckedDriver, unchanged_outside: Path, operation: str
) -> None:
    # The wrapper would refuse these paths first; the driver must hold on its own as well.
    raw = LocalDriver.open(str(root), {}, read_only=False)
    with pytest.raises(InvalidPathError):
        DOT_DOT[operation](raw)


def test_paths_map_onto_the_directory_as_a_registry_expects(
    root: Path, storage: CheckedDriver
) -> None:
    path = "/docker/registry/v2/repositories/library/x/_manifests/tags/latest/current/link"
    storage.put_content(path, b"sha256:" + b"0" * 64)
    assert (root / path.lstrip("/")).read_bytes() == b"sha256:" + b"0" * 64


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002], ids=lambda umask: f"{umask:03o}")
def test_written_files_get_the_umask_mode_like_distribution(
    root: Path, storage: CheckedDriver, umask: int
) -> None:
    previous = os.umask(umask)
    try:
        storage.put_content("/blobs/data", b"content")
        with storage.writer("/blobs/streamed") as writer:
            writer.write(b"content")
            writer.commit()
    finally:
        os.umask(previous)
    for name in ("data", "streamed"):
        assert (root / "blobs" / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_read_only_open_refuses_writes_and_changes_nothing(
    root: Path, storage: CheckedDriver
) -> None:
    storage.put_content("/dir/file", b"content")
    before = _tree(root)
    raw = CheckedDriver(LocalDriver.open(str(root), {}, read_only=True), read_only=True)
    writes: dict[str, Callable[[], object]] = {
        "put_content": lambda: raw.put_content("/dir/new", b"x"),
        "overwrite": lambda: raw.put_content("/dir/file", b"x"),
        "writer": lambda: raw.writer("/dir/new"),
        "move": lambda: raw.move("/dir/file", "/dir/moved"),
        "delete": lambda: raw.delete("/dir"),
    }
    for operation, write in writes.items():
        with pytest.raises(ReadOnlyError) as caught:
            write()
        assert caught.value.driver == "local", operation
    assert raw.get_content("/dir/file") == b"content"
    assert _tree(root) == before


def test_read_only_open_of_a_missing_directory_is_location_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(LocationNotFoundError, match="no such directory"):
        LocalDriver.open(str(missing), {}, read_only=True)
    assert not missing.exists()
    # Options are checked first: a dry run into a new directory still reports bad ones.
    with pytest.raises(ConfigurationError, match="bogus") as bad:
        LocalDriver.open(str(missing), {"bogus": "1"}, read_only=True)
    assert not isinstance(bad.value, LocationNotFoundError)
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(ConfigurationError, match="not a directory") as file_there:
        LocalDriver.open(str(tmp_path / "file"), {}, read_only=True)
    assert not isinstance(file_there.value, LocationNotFoundError)


def test_writable_open_creates_the_directory(tmp_path: Path) -> None:
    target = tmp_path / "new" / "nested"
    driver = LocalDriver.open(str(target), {}, read_only=False)
    assert target.is_dir()
    assert driver.list_dir("/") == []


def test_open_refuses_unknown_options_and_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\): bucket \(known: fsync\)"):
        LocalDriver.open(str(tmp_path), {"bucket": "x"}, read_only=False)
    with pytest.raises(ConfigurationError, match="option fsync must be true or false"):
        LocalDriver.open(str(tmp_path), {"fsync": "sometimes"}, read_only=False)


@pytest.mark.parametrize("fsync", ["false", "true"])
def test_fsync_syncs_file_data_before_rename_and_directories_at_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: str
) -> None:
    source = LocalDriver.open(str(tmp_path / "src"), {}, read_only=False)
    source.put_content("/blobs/big", os.urandom(3 << 20))
    driver = LocalDriver.open(str(tmp_path / "dst"), {"fsync": fsync}, read_only=False)
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    driver.put_content("/a/b/file", b"data")
    staged = driver.start_copy(source, "/blobs/big", "/c/big")
    assert staged is not None
    staged.commit()
    files_synced = list(synced)
    driver.close()
    root = str(tmp_path / "dst")
    if fsync == "false":
        assert synced == []
        return
    # Two files, each synced while still in the staging directory (before the rename).
    assert len(files_synced) == 2
    assert all(f"/{STAGING_ROOT}/" in path for path in files_synced)
    # Then every directory written into, and its parents up to the root, deepest first.
    assert synced[2:] == [f"{root}/a/b", f"{root}/a", f"{root}/c", root] or synced[2:] == [
        f"{root}/a/b", f"{root}/c", f"{root}/a", root,
    ]  # fmt: skip


def test_temporary_files_are_hidden(root: Path, storage: CheckedDriver) -> None:
    storage.put_content("/dir/real", b"real")
    (root / "dir" / f"{TEMP_PREFIX}stale").write_bytes(b"left by a crash")
    (root / "only-temp").mkdir()
    (root / "only-temp" / f"{TEMP_PREFIX}stale").write_bytes(b"left by a crash")
    assert storage.list_dir("/dir") == ["/dir/real"]
    assert {info.path for info in storage.walk("/")} == {"/dir/real"}
    with pytest.raises(PathNotFoundError):
        storage.list_dir("/only-temp")


def _staged_files(root: Path) -> list[Path]:
    staging = root / STAGING_ROOT
    if not staging.exists():
        return []
    return [path for path in staging.rglob("*") if path.is_file() and path.name != LOCK_NAME]


def test_writes_are_staged_outside_the_tree_and_cancel_leaves_nothing(
    root: Path, storage: CheckedDriver
) -> None:
    first = storage.writer("/dir/file")
    first.write(b"committed")
    assert len(_staged_files(root)) == 1
    # Nothing appears in the tree, not even the directory, before the commit.
    assert not (root / "dir").exists()
    assert list(storage.walk("/")) == []
    assert storage.list_dir("/") == []
    first.commit()
    assert _staged_files(root) == []

    second = storage.writer("/other/deep/file")
    second.write(b"cancelled")
    second.cancel()
    assert _staged_files(root) == []
    assert not (root / "other").exists(), "a cancelled write left a directory behind"
    assert (root / "dir" / "file").read_bytes() == b"committed"
    storage.close()
    assert not (root / STAGING_ROOT).exists()


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_stale_staging_is_judged_by_its_lock_not_by_pid_or_host(root: Path) -> None:
    live = LocalDriver.open(str(root), {}, read_only=False)
    live.put_content("/f", b"x")  # makes and locks its staging directory
    live_staging = Path(live.staging.path)
    # A dead run's staging: its lock file is there, nobody holds it. Named as if by this very
    # process, so that a judgement by PID would keep it.
    dead = root / STAGING_ROOT / f"{socket.gethostname()}-{os.getpid()}-dead"
    dead.mkdir()
    (dead / LOCK_NAME).write_bytes(b"")
    (dead / "half-written").write_bytes(b"x" * 100)
    # Without a lock to ask (an older version, a crash while making one): by age.
    unlocked_old = root / STAGING_ROOT / "otherhost-1-old"
    unlocked_old.mkdir()
    _age(unlocked_old, UNLOCKED_STALE_AFTER + 60)
    unlocked_young = root / STAGING_ROOT / "otherhost-1-young"
    unlocked_young.mkdir()
    pending = root / STAGING_ROOT / "h-1-x.new"
    pending.mkdir()
    (pending / LOCK_NAME).write_bytes(b"")
    # A read-only open (the scrape source) never cleans: it never writes.
    LocalDriver.open(str(root), {}, read_only=True)
    assert dead.exists()
    LocalDriver.open(str(root), {}, read_only=False)
    assert not dead.exists() and not unlocked_old.exists()
    assert live_staging.exists(), "a live run's staging was removed"
    assert unlocked_young.exists() and pending.exists()
    _age(pending, UNLOCKED_STALE_AFTER + 60)
    LocalDriver.open(str(root), {}, read_only=False)
    assert not pending.exists() and live_staging.exists()
    live.close()
    assert not live_staging.exists()


def test_link_blob_hardlinks_and_falls_back_for_other_drivers(
    tmp_path: Path, root: Path, storage: CheckedDriver
) -> None:
    source_root = tmp_path / "source"
    (source_root / "b").mkdir(parents=True)
    (source_root / "b" / "data").write_bytes(b"blob")
    source = LocalDriver.open(str(source_root), {}, read_only=True)
    assert storage.driver.link_blob(source, "/b/data", "/x/data")  # type: ignore[attr-defined]
    assert (root / "x" / "data").read_bytes() == b"blob"
    assert os.stat(root / "x" / "data").st_ino == os.stat(source_root / "b" / "data").st_ino
    link_blob = storage.driver.link_blob  # type: ignore[attr-defined]
    assert not link_blob(object(), "/b/data", "/y/data")
    assert _staged_files(root) == []


def test_reader_of_a_directory_is_a_storage_error(root: Path, storage: CheckedDriver) -> None:
    storage.put_content("/dir/file", b"x")
    for read in (storage.reader, storage.get_content):
        with pytest.raises(StorageError) as caught:
            read("/dir")
        # It exists, so "not found" would mislead; the message names the driver and path.
        assert not isinstance(caught.value, PathNotFoundError)
        assert (caught.value.driver, caught.value.path) == ("local", "/dir")


def test_one_staging_directory_however_many_threads_write(root: Path) -> None:
    driver = LocalDriver.open(str(root), {}, read_only=False)
    barrier = threading.Barrier(16)

    def write(number: int) -> None:
        barrier.wait()
        driver.put_content(f"/f{number}", b"x")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(write, range(16)))
    assert len(os.listdir(root / STAGING_ROOT)) == 1
    driver.close()
    assert not (root / STAGING_ROOT).exists()


def test_kernel_copy_falls_back_to_sendfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry_scraper_local import driver as local

    source = tmp_path / "source"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 7))

    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(local.os, "copy_file_range", refuse)
    with (
        open(source, "rb") as reader,
        open(tmp_path / "dest", "wb") as writer,
    ):
        copied = local._kernel_copy(reader.fileno(), writer.fileno())
    assert copied == source.stat().st_size
    assert (tmp_path / "dest").read_bytes() == source.read_bytes()


def test_staged_kernel_copy_appears_only_on_commit(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "b").mkdir(parents=True)
    (other / "b" / "data").write_bytes(b"x" * 100_000)
    source = LocalDriver.open(str(other), {}, read_only=True)
    driver = LocalDriver.open(str(root), {}, read_only=False)
    with driver.start_copy(source, "/b/data", "/c/data") as staged:  # type: ignore[union-attr]
        assert staged.wait() == 100_000
        assert not (root / "c").exists()
    assert not (root / "c").exists(), "cancelled (no commit) yet visible"
    staged = driver.start_copy(source, "/b/data", "/c/data")
    assert staged is not None
    staged.commit()
    assert (root / "c" / "data").read_bytes() == b"x" * 100_000
    assert driver.start_copy(object(), "/b/data", "/d/data") is None
    assert _staged_files(root) == []


def test_plain_paths_are_not_resolved_component_by_component(
    root: Path, storage: CheckedDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.put_content("/a/b/c/file", b"content")
    resolved: list[str] = []
    real = os.path.realpath

    def counting(path: str, **kwargs: bool) -> str:
        resolved.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(os.path, "realpath", counting)
    for _ in range(3):
        assert storage.get_content("/a/b/c/file") == b"content"
        assert storage.stat("/a/b/c/file").size == 7
        assert storage.stat("/a/b").is_dir
    with pytest.raises(PathNotFoundError):
        storage.get_content("/a/b/missing/file")
    assert resolved == []


def test_directory_replaced_by_a_symlink_out_is_refused(
    root: Path, storage: CheckedDriver, unchanged_outside: Path
) -> None:
    storage.put_content("/dir/file", b"inside")
    assert storage.get_content("/dir/file") == b"inside"  # /dir is now known as a directory
    storage.delete("/dir")
    (root / "dir").symlink_to(unchanged_outside, target_is_directory=True)
    with pytest.raises(InvalidPathError):
        storage.get_content("/dir/secret")
    with pytest.raises(InvalidPathError):
        storage.put_content("/dir/new", b"x")


def test_directory_made_a_symlink_while_missing_is_refused(
    root: Path, storage: CheckedDriver, unchanged_outside: Path
) -> None:
    # A missing directory is not remembered: what appears there later is checked on use.
    with pytest.raises(PathNotFoundError):
        storage.get_content("/later/secret")
    (root / "later").symlink_to(unchanged_outside, target_is_directory=True)
    with pytest.raises(InvalidPathError):
        storage.get_content("/later/secret")


def test_symlinks_inside_the_root_are_still_followed(root: Path, storage: CheckedDriver) -> None:
    storage.put_content("/real/dir/file", b"content")
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    (root / "real" / "dir" / "file-link").symlink_to(root / "real" / "dir" / "file")
    assert storage.get_content("/alias/dir/file") == b"content"
    assert storage.get_content("/real/dir/file-link") == b"content"
    assert storage.stat("/alias/dir/file-link").size == 7


def test_commit_creates_missing_directories(root: Path, storage: CheckedDriver) -> None:
    storage.put_content("/new/deep/dir/file", b"one")
    storage.put_content("/new/deep/dir/other", b"two")
    assert (root / "new" / "deep" / "dir" / "file").read_bytes() == b"one"
    assert (root / "new" / "deep" / "dir" / "other").read_bytes() == b"two"


def test_importing_the_driver_leaves_slow_modules_out() -> None:
    import subprocess
    import sys

    code = (
        "import sys, registry_scraper_local.driver\n"
        "print(sorted(m for m in ('socket', 'secrets', 'shutil') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
