"""The local and tar drivers against hostile trees: special files, swapped directories, overlap.

Each case either reads what it should or fails with a one-line StorageError naming the path;
nothing blocks (every call runs under a deadline), nothing is read from or written outside the
root, and an output that could touch the source is named before anything is written.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from registry_scraper_local.driver import LocalDriver
from registry_scraper_local.tar import TarDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.errors import InvalidPathError, StorageError
from tests.support.cli_process import run_scrape
from tests.support.mounts import bound
from tests.support.reliability import record
from tests.support.trees import V2, blob_file, local_writer, snapshot

DEADLINE = 20.0


def within_deadline(call: Callable[[], object]) -> object:
    """``call()``, failing the test (instead of hanging it) if it blocks."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"blocked for {DEADLINE} s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


# -- only regular files are read ----------------------------------------------------------------


def _make_special(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "char-device":
        # /dev/zero: read until memory runs out if it were read at all.
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "directory":
        path.mkdir()
        (path / "inside").write_bytes(b"x")
    else:
        raise AssertionError(kind)


SPECIAL_KINDS = {
    "fifo": "is a FIFO",
    "char-device": "is a character device",
    "socket": "is a socket",
    "directory": "is a directory",
}


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, LocalDriver, LocalDriver]:
    source_root, dest_root = tmp_path / "source", tmp_path / "dest"
    source_root.mkdir()
    source = LocalDriver.open(str(source_root), {}, read_only=True)
    dest = LocalDriver.open(str(dest_root), {}, read_only=False)
    return source_root, source, dest


@pytest.mark.parametrize("kind", sorted(SPECIAL_KINDS))
def test_special_files_are_refused_without_blocking(
    trees: tuple[Path, LocalDriver, LocalDriver], kind: str
) -> None:
    if kind == "char-device" and os.geteuid() != 0:
        pytest.skip("mknod of a device needs root")
    source_root, source, dest = trees
    _make_special(kind, source_root / "thing")
    # Reached directly and through a symlink that stays inside the root.
    (source_root / "alias").symlink_to(source_root / "thing")
    checked = CheckedDriver(source, read_only=True)
    reads: dict[str, Callable[[], object]] = {
        "get_content": lambda: checked.get_content(path),
        "read_head": lambda: checked.read_head(path, 71),
        "read_link": lambda: checked.read_link(path),
        "reader": lambda: checked.reader(path),
        "start_copy": lambda: dest.start_copy(source, path, "/copied"),
        "link_blob": lambda: dest.link_blob(source, path, "/linked"),
    }
    if kind != "directory":
        reads["stat"] = lambda: checked.stat(path)
    for path in ("/thing", "/alias"):
        for operation, read in reads.items():
            with pytest.raises(StorageError) as caught:
                within_deadline(read)
            message = str(caught.value)
            assert SPECIAL_KINDS[kind] in message, (operation, message)
            assert path in message and "\n" not in message, (operation, message)
    assert not (Path(dest.root) / "copied").exists() and not (Path(dest.root) / "linked").exists()
    record(
        "local-special-files",
        outcome=f"{kind}: one-line StorageError '{SPECIAL_KINDS[kind]}', nothing blocked",
        figures={"calls": 2 * len(reads)},
    )


def test_reads_never_go_past_the_size_asked_or_the_file(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with open(root / "huge", "wb") as file:
        file.truncate(64 << 30)  # sparse: 64 GiB that read in full would exhaust memory
    raw = LocalDriver.open(str(root), {}, read_only=True)
    driver = CheckedDriver(raw, read_only=True)
    assert within_deadline(lambda: driver.read_head("/huge", 72)) == b"\0" * 72
    (root / "small").write_bytes(b"abc")
    assert driver.read_head("/small", 72) == b"abc"
    assert raw.get_content("/small") == b"abc"
    record("local-bounded-reads")


# -- the root holds, even when a directory is swapped for a symlink mid-run ---------------------


def _tree_state(top: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            full = Path(directory, name)
            status = full.lstat()
            found[str(full.relative_to(top))] = (status.st_mode, status.st_size, status.st_mtime_ns)
    return found


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A directory beside the roots; fails the test if anything in it changes or is read."""
    target = tmp_path / "outside"
    target.mkdir()
    yield target


def _swap_for_link(directory: Path, target: Path) -> None:
    """What an attacker (or a careless script) does mid-run: the directory moves away and a
    symlink out of the root takes its name."""
    directory.rename(directory.with_name(directory.name + ".moved"))
    directory.symlink_to(target, target_is_directory=True)


def test_source_directory_swapped_between_plan_and_copy(
    trees: tuple[Path, LocalDriver, LocalDriver], outside: Path
) -> None:
    source_root, source, dest = trees
    writer = local_writer(source_root)
    blob = writer.blob(os.urandom(2 << 20))
    path = layout.blob_data_path(blob)
    blob_dir = (source_root / path.lstrip("/")).parent
    # The attacker's copy outside holds the same bytes: following the link would "work".
    (outside / blob.hex).mkdir()
    (outside / blob.hex / "data").write_bytes(blob_dir.joinpath("data").read_bytes())
    # Planning: the path is looked at and found good.
    assert source.stat(path).size == 2 << 20
    _swap_for_link(blob_dir.parent, outside)
    os.utime(outside / blob.hex / "data", (1, 1))  # atime 1: any read would move it
    attempts: dict[str, Callable[[], object]] = {
        "stat": lambda: source.stat(path),
        "get_content": lambda: source.get_content(path),
        "reader": lambda: source.reader(path),
        "read_head": lambda: CheckedDriver(source, read_only=True).read_head(path, 71),
        "start_copy": lambda: dest.start_copy(source, path, path),
        "link_blob": lambda: dest.link_blob(source, path, path),
        "list_dir": lambda: source.list_dir(os.path.dirname(os.path.dirname(path))),
        "walk": lambda: list(source.walk(os.path.dirname(os.path.dirname(path)))),
    }
    for operation, attempt in attempts.items():
        with pytest.raises(InvalidPathError):
            within_deadline(attempt)
            pytest.fail(f"{operation} followed the swapped directory out of the root")
    assert os.stat(outside / blob.hex / "data").st_atime == 1
    assert not (Path(dest.root) / path.lstrip("/")).exists()
    record("local-swap-source", figures={"operations": len(attempts)})


@pytest.mark.parametrize("when", ["before the writer", "before the commit"])
def test_destination_directory_swapped_mid_write(
    trees: tuple[Path, LocalDriver, LocalDriver], outside: Path, when: str
) -> None:
    source_root, source, dest = trees
    (source_root / "blob").write_bytes(os.urandom(3 << 20))
    dest_root = Path(dest.root)
    target_dir = dest_root / "docker/registry/v2/blobs/sha256/ab"
    dest.put_content("/docker/registry/v2/blobs/sha256/ab/first/data", b"first")
    before = _tree_state(outside)
    writes: dict[str, Callable[[], object]] = {}

    def staged(path: str) -> Callable[[], object]:
        copy = None if when == "before the writer" else dest.start_copy(source, "/blob", path)

        def run() -> object:
            started = copy or dest.start_copy(source, "/blob", path)
            assert started is not None
            with started:
                started.commit()
            return None

        return run

    def written(path: str) -> Callable[[], object]:
        writer = None if when == "before the writer" else dest.writer(path)

        def run() -> object:
            with writer or dest.writer(path) as opened:
                opened.write(b"bytes")
                opened.commit()
            return None

        return run

    def linked(path: str) -> Callable[[], object]:
        return lambda: dest.link_blob(source, "/blob", path)

    for name, make in (("kernel copy", staged), ("writer", written), ("hardlink", linked)):
        writes[name] = make(f"/docker/registry/v2/blobs/sha256/ab/{name.replace(' ', '-')}/data")
    _swap_for_link(target_dir, outside)
    for name, write in writes.items():
        with pytest.raises(InvalidPathError):
            within_deadline(write)
            pytest.fail(f"{name} wrote through the swapped directory")
    assert _tree_state(outside) == before, "something was written outside the root"
    staging = dest_root / ".scrape-tmp"
    leftovers = [p for p in staging.rglob("*") if p.is_file() and p.name != "lock"]
    assert leftovers == [], "a refused write left its staged file"
    record(
        "local-swap-dest",
        title="Destination directory swapped for a symlink out of the root mid-write",
        how=f"swapped {when}: kernel copy, streamed writer and hardlink into blobs/sha256/xx",
        outcome="InvalidPathError; nothing written outside the root",
        figures={"writes": len(writes)},
    )


SWAP_HOOK = """
import os, sys
from pathlib import Path
from scraper_core import scrape as module
from scraper_core.cli import main

source, outside, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
original = module.Scrape.copy

def copy_after_swap(self, planned, events=None):
    # Planning is done: now a directory of the source becomes a symlink out of the root.
    blobs = Path(source, "docker/registry/v2/blobs/sha256", prefix)
    blobs.rename(blobs.with_name(prefix + ".moved"))
    blobs.symlink_to(outside, target_is_directory=True)
    return original(self, planned, events)

module.Scrape.copy = copy_after_swap
sys.argv = ["scrape", *sys.argv[4:]]
main()
"""


def test_scrape_cli_refuses_a_directory_swapped_after_planning(
    tmp_path: Path, outside: Path
) -> None:
    source_root, output = tmp_path / "data", tmp_path / "copy"
    writer = local_writer(source_root)
    victim = writer.image("team/victim", "v1", layer_sizes=(3 << 20,))
    bystander = writer.image("team/bystander", "v1", layer_sizes=(2 << 20,))
    layer = victim.layers[0]
    prefix = layer.hex[:2]
    others = [blob for blob in [*victim.blobs, *bystander.blobs] if blob != layer]
    if any(blob.hex[:2] == prefix for blob in others):
        # Those would be moved out too and read as missing, not refused (about 1 run in 60).
        pytest.skip("random digests share a prefix with the swapped layer's directory")
    # Outside: the same bytes (following the link would "work") and a trap any read would move.
    layer_dir = source_root / V2 / "blobs/sha256" / prefix / layer.hex
    (outside / layer.hex).mkdir()
    (outside / layer.hex / "data").write_bytes((layer_dir / "data").read_bytes())
    os.utime(outside / layer.hex / "data", (1, 1))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SWAP_HOOK,
            str(source_root),
            str(outside),
            prefix,
            "--data-dir",
            str(source_root),
            "--output-dir",
            str(output),
            "team/victim:v1",
            "team/bystander:v1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors and all("invalid path" in line for line in errors), done.stderr
    assert os.stat(outside / layer.hex / "data").st_atime == 1, "read outside the root"
    assert sorted(p.name for p in outside.iterdir()) == [layer.hex]
    assert not (output / V2 / "blobs/sha256" / prefix / layer.hex).exists()
    assert not (output / V2 / "repositories/team/victim/_manifests/tags").exists()
    assert (output / V2 / "repositories/team/bystander/_manifests/tags/v1/current/link").exists()
    record("local-swap-cli")


# -- overlap: the output may not touch the source, however either is spelt ---------------------


@pytest.fixture
def source_tree(tmp_path: Path) -> LocalDriver:
    (tmp_path / "data" / "docker").mkdir(parents=True)
    return LocalDriver.open(str(tmp_path / "data"), {}, read_only=True)


OUTPUTS_TOUCHING = {
    "same, absolute": lambda base: str(base / "data"),
    "same, relative": lambda base: "data",
    "same, with dot-dot": lambda base: str(base / "data" / "docker" / ".."),
    "same, trailing slash": lambda base: str(base / "data") + "/",
    "same, through a symlink alias": lambda base: str(base / "alias"),
    "inside, existing": lambda base: str(base / "data" / "docker"),
    "inside, not there yet": lambda base: str(base / "data" / "new" / "deeper"),
    "inside, relative": lambda base: "data/new",
    "inside, through the alias": lambda base: str(base / "alias" / "new"),
    "holds the source": lambda base: str(base),
    "holds the source, relative": lambda base: ".",
    "holds the source through an alias": lambda base: str(base / "parent-alias"),
}

OUTPUTS_APART = {
    "sibling": lambda base: str(base / "copy"),
    "sibling sharing a prefix": lambda base: str(base / "data-copy"),
    "sibling, not there yet, relative": lambda base: "other/copy",
}


@pytest.fixture
def base(tmp_path: Path, source_tree: LocalDriver) -> Iterator[Path]:
    (tmp_path / "alias").symlink_to(tmp_path / "data", target_is_directory=True)
    (tmp_path / "parent-alias").symlink_to(tmp_path, target_is_directory=True)
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


@pytest.mark.parametrize("case", sorted(OUTPUTS_TOUCHING))
def test_outputs_touching_the_source_are_named(
    base: Path, source_tree: LocalDriver, case: str
) -> None:
    location = OUTPUTS_TOUCHING[case](base)
    reason = LocalDriver.overlaps(location, source_tree)
    assert reason is not None, f"{case}: {location} accepted"
    assert "\n" not in reason and "source" in reason
    # An archive inside the source (or where the source is) is refused as well.
    if not case.startswith("holds"):
        assert TarDriver.overlaps(os.path.join(location, "copy.tar"), source_tree) is not None
    record("overlap-spellings")


@pytest.mark.parametrize("case", sorted(OUTPUTS_APART))
def test_outputs_apart_from_the_source_are_accepted(
    base: Path, source_tree: LocalDriver, case: str
) -> None:
    location = OUTPUTS_APART[case](base)
    assert LocalDriver.overlaps(location, source_tree) is None
    assert TarDriver.overlaps(os.path.join(location, "copy.tar"), source_tree) is None
    assert TarDriver.overlaps(str(base / "copy.tar"), source_tree) is None


def test_overlap_with_another_driver_is_not_ours_to_judge(base: Path) -> None:
    assert LocalDriver.overlaps(str(base / "data"), object()) is None
    assert TarDriver.overlaps(str(base / "data" / "x.tar"), object()) is None


def test_archive_at_the_source_or_through_an_alias_is_named(
    base: Path, source_tree: LocalDriver
) -> None:
    assert TarDriver.overlaps(str(base / "data"), source_tree) is not None
    assert TarDriver.overlaps(str(base / "alias" / "copy.tar"), source_tree) is not None
    (base / "copy-link.tar").symlink_to(base / "data" / "copy.tar")
    assert TarDriver.overlaps(str(base / "copy-link.tar"), source_tree) is not None


@pytest.fixture
def bind_mount(tmp_path: Path) -> Iterator[Path]:
    with bound(tmp_path / "data", tmp_path / "bound") as point:
        yield point


def test_bind_mount_of_the_source_is_caught_by_device_and_inode(
    tmp_path: Path, source_tree: LocalDriver, bind_mount: Path
) -> None:
    # The bound path shares no prefix with the source: only (device, inode) can tell.
    assert os.path.realpath(bind_mount) == str(bind_mount)
    for location in (bind_mount, bind_mount / "docker", bind_mount / "new" / "deeper"):
        assert LocalDriver.overlaps(str(location), source_tree) is not None, location
        assert TarDriver.overlaps(str(location / "copy.tar"), source_tree) is not None
    # And the other way: the source is opened through the mount, the output is the original.
    through_mount = LocalDriver.open(str(bind_mount), {}, read_only=True)
    assert LocalDriver.overlaps(str(tmp_path / "data"), through_mount) is not None
    assert LocalDriver.overlaps(str(tmp_path / "data" / "sub"), through_mount) is not None
    assert LocalDriver.overlaps(str(tmp_path), through_mount) is not None
    assert LocalDriver.overlaps(str(tmp_path / "copy"), through_mount) is None
    record("overlap-bind-mount")


def test_tar_refuses_a_directory_or_special_file_as_the_archive(tmp_path: Path) -> None:
    from scraper_core.errors import ConfigurationError

    (tmp_path / "dir.tar").mkdir()
    os.mkfifo(tmp_path / "fifo.tar")
    for name, what in (("dir.tar", "is a directory"), ("fifo.tar", "not a regular file")):
        with pytest.raises(ConfigurationError, match=what):
            within_deadline(partial(TarDriver.open, str(tmp_path / name), {}, read_only=False))
    assert sorted(os.listdir(tmp_path)) == ["dir.tar", "fifo.tar"]
    record("tar-special-target", runs=2)


def test_fifo_as_a_blob_fails_that_image_only(tmp_path: Path) -> None:
    source_root, output = tmp_path / "data", tmp_path / "copy"
    writer = local_writer(source_root)
    victim = writer.image("team/victim", "v1", layer_sizes=(2 << 20,))
    writer.image("team/bystander", "v1", layer_sizes=(3000,))
    data = blob_file(source_root, victim.layers[0])
    data.unlink()
    os.mkfifo(data)
    before = snapshot(source_root / "docker/registry/v2/repositories")
    args = ["--data-dir", str(source_root), "--output-dir", str(output)]
    done = run_scrape(*args, "team/victim:v1", "team/bystander:v1", timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "is a FIFO" in done.stderr, done.stderr
    assert (output / V2 / "repositories/team/bystander/_manifests/tags/v1/current/link").exists()
    assert snapshot(source_root / "docker/registry/v2/repositories") == before
    record("local-fifo-blob-cli")
