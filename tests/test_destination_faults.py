"""A destination that stops taking writes: full (ENOSPC) or read-only (EROFS), for real.

The real `scrape` process writes into a small tmpfs mounted for the test (the machine runs the
tests as root). Whatever the moment the space runs out, the run must stop starting blobs, say
why once (not once per blob), leave nothing partial at a final path and no staging behind,
never touch the source, and exit 1 without a traceback.

(A read-only remount in the middle of a run is refused by the kernel while files are open for
writing, "mount point is busy", so EROFS is tested on a destination remounted before the run.)
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper_core.testing.tree import SyntheticImage
from tests.support.mounts import mounted_tmpfs, tmpfs, unmount
from tests.support.reliability import measuring
from tests.support.trees import assert_tree_verifies, local_writer, snapshot

SCRAPE = str(Path(sys.executable).parent / "scrape")
MIB = 1024 * 1024


def remount(mount_point: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mount_point)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted at teardown."""
    with mounted_tmpfs(tmp_path / "disk", "2m") as point:
        yield point


def write_source(root: Path, layer_sizes: list[tuple[int, ...]]) -> list[SyntheticImage]:
    writer = local_writer(root)
    return [writer.image(f"app{n}", "v1", layer_sizes=sizes) for n, sizes in enumerate(layer_sizes)]


def scrape(source: Path, *args: str, jobs: int = 2) -> subprocess.CompletedProcess[str]:
    command = [SCRAPE, "--data-dir", str(source), "-j", str(jobs), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def leftovers(directory: Path) -> list[Path]:
    """Staging or temporary files left anywhere below ``directory``."""
    return [path for path in directory.rglob("*") if ".scrape-tmp" in path.name]


def check_stopped_once(done: subprocess.CompletedProcess[str], reason: str) -> list[str]:
    """Exit 1, no traceback, the cause said once; returns the images reported not copied."""
    err = done.stderr
    assert done.returncode == 1, err
    assert "Traceback" not in err
    causes = [line for line in err.splitlines() if "is unusable:" in line]
    assert len(causes) == 1, err
    assert reason in causes[0]
    not_copied = [line for line in err.splitlines() if "not copied: destination" in line]
    # Every line naming the reason is the cause or one image's notice: never one per blob.
    assert sum(reason in line for line in err.splitlines()) == 1 + len(not_copied), err
    for line in not_copied:
        assert line.startswith("error: ") and line.endswith(f"is unusable ({reason})"), line
    return not_copied


# Blob sizes: above the kernel-copy threshold (1 MiB), and many small streamed ones.
CASES = {
    "kernel-copy": [(3 * MIB, 1000), (3 * MIB, 2000), (2 * MIB,)],
    "streamed": [tuple([200 * 1024] * 6)] * 3,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_full_disk_stops_once_and_leaves_nothing(
    tmp_path: Path, small_disk: Path, case: str
) -> None:
    source = tmp_path / "data"
    images = write_source(source, CASES[case])
    before = snapshot(source)
    output = small_disk / "copy"
    done = scrape(source, "--output-dir", str(output), *(f"{i.name}:v1" for i in images))
    with measuring(
        f"destination-enospc-{case}",
        title=f"Destination full (ENOSPC), {case} blobs",
        how="real scrape into a 2 MiB tmpfs with more to copy than fits",
        outcome=f"exit {done.returncode}, cause said once, no staging left",
    ):
        not_copied = check_stopped_once(done, "No space left on device")
        assert not_copied, "with every blob larger than the space, some image must fail"
        assert_tree_verifies(output)
        assert leftovers(small_disk) == []
        assert snapshot(source) == before


def test_full_disk_with_an_archive_leaves_no_archive(tmp_path: Path, small_disk: Path) -> None:
    source = tmp_path / "data"
    images = write_source(source, CASES["kernel-copy"])
    before = snapshot(source)
    archive = small_disk / "copy.tar"
    done = scrape(source, "--output-tar", str(archive), *(f"{i.name}:v1" for i in images))
    outcome = f"exit {done.returncode}, no archive, no temporary file"
    with measuring("destination-enospc-tar", outcome=outcome):
        not_copied = check_stopped_once(done, "No space left on device")
        # One archive is all or nothing: every image is reported not copied.
        assert len(not_copied) == len(images), done.stderr
        assert f"error: {archive} was not written" in done.stderr
        assert not archive.exists()
        assert list(small_disk.iterdir()) == []
        assert snapshot(source) == before


def test_read_only_destination_stops_once(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    tmpfs(disk, "64m")
    try:
        source = tmp_path / "data"
        first, *rest = write_source(source, [(2 * MIB, 1000), (2 * MIB,), (300 * 1024,)])
        before = snapshot(source)
        output = disk / "copy"
        assert scrape(source, "--output-dir", str(output), f"{first.name}:v1").returncode == 0
        copied = snapshot(output)
        remount(disk, "ro")
        done = scrape(source, "--output-dir", str(output), *(f"{i.name}:v1" for i in rest))
        outcome = f"exit {done.returncode}, cause said once, rerun completes"
        with measuring("destination-erofs", outcome=outcome):
            assert len(check_stopped_once(done, "Read-only file system")) == len(rest)
            assert snapshot(output) == copied
            assert snapshot(source) == before
            # Writable again, a rerun completes the copy and leaves no staging.
            remount(disk, "rw")
            again = scrape(source, "--output-dir", str(output), *(f"{i.name}:v1" for i in rest))
            assert again.returncode == 0, again.stderr
            assert_tree_verifies(output)
            assert leftovers(disk) == []
    finally:
        unmount(disk)
