"""Archives under faults, through the real ``scrape`` process: a tiny ``$TMPDIR``, a full
disk, Ctrl-C, two runs on one archive, standard output. Whatever happens, nothing is published
unless an image made it in, and no temporary or lock file outlives the run."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry_scraper_local.archive_writer import VolumeSink
from scraper_core.testing.tree import SyntheticImage, TreeWriter
from tests.support.cli import run_cli
from tests.support.cli_process import start_scrape
from tests.support.copy_gate import CopyGate, signal_at_gate
from tests.support.mounts import tmpfs, unmount
from tests.support.reliability import record
from tests.support.trees import expected_files, local_writer, snapshot

SCRAPE = str(Path(sys.executable).parent / "scrape")
MIB = 1024 * 1024
TAR_FLAGS = {".tar": [], ".tar.gz": ["-z"], ".tar.zst": ["--zstd"]}


def writer(root: Path) -> TreeWriter:
    return local_writer(root)


def ship_command(source: Path, archive: Path | str, *images: str, jobs: int = 2) -> list[str]:
    return [SCRAPE, "--data-dir", str(source), "--output-tar", str(archive), "-j", str(jobs)]


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[object]:
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        mounted.append(tmpfs(tmp_path / name, size))
        return mounted[-1]

    yield mount
    for point in mounted:
        unmount(point)


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.parametrize("suffix", [".tar", ".tar.zst"])
def test_a_tiny_tmpdir_does_not_matter(tmp_path: Path, mount_tmpfs: object, suffix: str) -> None:
    tiny = mount_tmpfs("tmp", "1m")  # type: ignore[operator]
    source = tmp_path / "data"
    image = writer(source).image("app", "v1", layer_sizes=(24 * MIB, 12 * MIB))
    env = {**os.environ, "TMPDIR": str(tiny), "TMP": str(tiny), "TEMP": str(tiny)}
    archive = tmp_path / f"ship{suffix}"
    done = run([*ship_command(source, archive), "app:v1"], env)
    assert done.returncode == 0, done.stderr
    imported = run(
        [SCRAPE, "--storage", "tar", "--data-dir", str(archive),
         "--output-dir", str(tmp_path / "site"), "app:v1"],
        env,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert set(snapshot(tmp_path / "site")) == expected_files(image, "v1")
    assert os.listdir(tiny) == []
    record(
        "archive-tiny-tmpdir",
        title="Archive with $TMPDIR on a 1 MiB tmpfs",
        how=f"ship 36 MiB of layers as {suffix}, then import it, TMPDIR on a 1 MiB tmpfs",
        outcome="both exit 0; nothing written under TMPDIR",
    )


def test_full_disk_publishes_nothing_when_no_image_fits(
    tmp_path: Path, mount_tmpfs: object
) -> None:
    small = mount_tmpfs("small", "6m")  # type: ignore[operator]
    source = tmp_path / "data"
    tree = writer(source)
    tree.image("app", "v1", layer_sizes=(7 * MIB,))  # in memory, fails entering the archive
    done = run([*ship_command(source, small / "ship.tar"), "app:v1"])
    assert done.returncode == 1, done.stderr
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert os.listdir(small) == []
    # One image that fits and one that does not (its 10 MiB layer fills the spool): the
    # archive holds the first; no spool, temp or lock file is left.
    tree.image("tiny", "v1", layer_sizes=(2000,))
    tree.image("big", "v1", layer_sizes=(10 * MIB,))
    done = run([*ship_command(source, small / "ship.tar"), "tiny:v1", "big:v1"])
    assert done.returncode == 1, done.stderr
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert sorted(os.listdir(small)) == ["ship.tar", "ship.tar.receipt.json", "ship.tar.sha256"]
    record("archive-enospc", runs=2)


def test_full_disk_at_close_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer(tmp_path / "data").image("app", "v1")

    def full(self: VolumeSink) -> list[tuple[str, int, str]]:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(VolumeSink, "finish", full)
    for suffix in TAR_FLAGS:
        archive = tmp_path / f"ship{suffix}"
        result = run_cli(
            "--data-dir", str(tmp_path / "data"), "--output-tar", str(archive), "app:v1"
        )
        assert result.exit_code == 1
        assert "No space left on device" in result.stderr
        assert sorted(os.listdir(tmp_path)) == ["data"]
    record("archive-enospc-at-close", runs=len(TAR_FLAGS))


def big_images(source: Path) -> list[SyntheticImage]:
    tree = writer(source)
    return [tree.image(f"app{n}", "v1", layer_sizes=(32 * MIB, 16 * MIB)) for n in range(2)]


@pytest.mark.parametrize("suffix", list(TAR_FLAGS))
@pytest.mark.parametrize("read_mib", [1, 40])
def test_ctrl_c_is_one_line_130_and_leaves_nothing(
    tmp_path: Path, suffix: str, read_mib: int
) -> None:
    source = tmp_path / "data"
    big_images(source)
    out = tmp_path / "out"
    out.mkdir()
    archive = out / f"ship{suffix}"
    # The copy stops in its first blob, or well into the run (40 of 96 MiB read), until the
    # interrupt has landed: it cannot finish first, however fast the machine.
    with CopyGate("read", after=read_mib * MIB) as gate:
        arguments = ["--data-dir", str(source), "--output-tar", str(archive), "-j", "2"]
        arguments += ["app0:v1", "app1:v1"]
        process = start_scrape(
            *arguments, gate=gate, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        _out, err = signal_at_gate(process, gate, signal.SIGINT)
    assert process.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted: nothing partial was left at a final path"], (
        err
    )
    assert os.listdir(out) == []
    record("archive-sigint", held=True)


def test_a_second_run_on_one_archive_fails_fast_naming_the_holder(tmp_path: Path) -> None:
    source = tmp_path / "data"
    big_images(source)
    archive = tmp_path / "ship.tar.gz"
    arguments = ["--data-dir", str(source), "--output-tar", str(archive), "-j", "1"]
    # The first run holds its lock, stopped in its first blob, until the second has tried.
    with CopyGate("read", after=MIB) as gate:
        first = start_scrape(*arguments, "app0:v1", "app1:v1", gate=gate, stderr=subprocess.PIPE)
        try:
            gate.wait_reached(first)
            assert (tmp_path / "ship.tar.gz.lock").exists()
            started = time.monotonic()
            second = run([*ship_command(source, archive), "app0:v1"])
            took = time.monotonic() - started
            gate.release()
            _out, err = first.communicate(timeout=300)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
    assert second.returncode == 2, second.stderr
    assert f"pid {first.pid}" in second.stderr, second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert first.returncode == 0, err
    assert took < 30
    assert sorted(os.listdir(tmp_path)) == [
        "data",
        "ship.tar.gz",
        "ship.tar.gz.receipt.json",
        "ship.tar.gz.sha256",
    ]
    record("archive-second-run", figures={"second run seconds": round(took, 2)})


@pytest.mark.parametrize("compression", ["none", "zst"])
def test_stdout_archive_pipes_into_tar(tmp_path: Path, compression: str) -> None:
    source = tmp_path / "data"
    tree = writer(source)
    image = tree.image("app", "v1", layer_sizes=(1000, 9 * MIB))
    site = tmp_path / "site"
    site.mkdir()
    flags = ["--zstd"] if compression == "zst" else []
    command = [*ship_command(source, "-"), "-o", f"compression={compression}", "app:v1"]
    command[command.index("-o")] = "--output-storage-option"
    scrape = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", *flags, "-C", str(site)], stdin=scrape.stdout)
    assert scrape.stdout is not None
    scrape.stdout.close()
    _out, err = scrape.communicate(timeout=300)
    assert scrape.returncode == 0 and untar.returncode == 0, err
    assert b"app:v1" in err, "the result lines go to stderr, never into the archive"
    assert set(snapshot(site)) == expected_files(image, "v1")
    assert sorted(os.listdir(tmp_path)) == ["data", "site"]


@pytest.mark.parametrize("compression", ["none", "gz"])
def test_a_failed_stdout_archive_does_not_extract(tmp_path: Path, compression: str) -> None:
    source = tmp_path / "data"
    tree = writer(source)
    good = tree.image("good", "v1", layer_sizes=(1000,))
    data = source / "docker/registry/v2/blobs/sha256" / good.layers[0].hex[:2]
    blob = data / good.layers[0].hex / "data"
    blob.write_bytes(b"x" * 1000)  # the right size, the wrong bytes: found while streaming
    site = tmp_path / "site"
    site.mkdir()
    flags = ["-z"] if compression == "gz" else []
    # Its config and manifest are verified and streamed out before the layer fails.
    command = [*ship_command(source, "-", jobs=1), "--output-storage-option",
               f"compression={compression}", "good:v1", "missing:v9"]  # fmt: skip
    scrape = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    untar = subprocess.run(
        ["tar", "-x", *flags, "-C", str(site)], stdin=scrape.stdout, capture_output=True
    )
    assert scrape.stdout is not None
    scrape.stdout.close()
    _out, err = scrape.communicate(timeout=120)
    assert scrape.returncode == 1, err
    assert untar.returncode != 0, untar.stderr
    record(
        "archive-stdout-failed",
        outcome=f"scrape exit 1; tar -x exits {untar.returncode} (stream left unusable)",
    )


def test_an_entry_failing_half_way_in_is_never_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write failing inside an entry (disk full, then space freed) leaves a hole in the
    stream: the run must not publish what follows it."""
    tree = writer(tmp_path / "data")
    tree.image("small", "v1", layer_sizes=(1000,))
    tree.image("big", "v1", layer_sizes=(300_000,))
    real_write = VolumeSink.write
    failed: list[int] = []

    def flaky(self: VolumeSink, data: bytes) -> None:
        if len(data) > 200_000 and not failed:
            failed.append(len(data))
            real_write(self, data[:1000])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(self, data)

    monkeypatch.setattr(VolumeSink, "write", flaky)
    result = run_cli(
        "--data-dir", str(tmp_path / "data"), "--output-tar", str(tmp_path / "ship.tar"),
        "-j", "1", "small:v1", "big:v1",
    )  # fmt: skip
    assert failed and result.exit_code == 1
    assert "archive unusable" in result.stderr, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_an_error_after_opening_the_archive_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper_core.errors import StorageError
    from scraper_core.scrape import Scrape

    writer(tmp_path / "data").image("app", "v1")

    def broken(*args: object, **kwargs: object) -> None:
        raise StorageError("local", "/docker", "source went away")

    monkeypatch.setattr(Scrape, "plan", broken)
    result = run_cli(
        "--data-dir", str(tmp_path / "data"), "--output-tar", str(tmp_path / "x.tar.gz"),
        "app:v1",
    )  # fmt: skip
    assert result.exit_code == 1 and "source went away" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["data"]
