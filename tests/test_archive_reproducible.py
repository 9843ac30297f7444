"""The same content and the same command give byte-identical volumes and checksums (issue 18),
so a lost volume can be made again alone and checked against the original checksum file.

The driver half is exact today. Through the real ``scrape``, the core's receipt (its name and
``created``) honours SOURCE_DATE_EPOCH only once the core's change lands; until then the CLI
test checks every other member header for header and byte for byte, and is an expected
failure for the receipt alone. ``--jobs 1`` until the core's ordered commits land.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import zstandard

from registry_scraper_local.tar import TarDriver
from scraper_core import layout
from tests.support.reliability import record
from tests.support.trees import local_writer

SCRAPE = str(Path(sys.executable).parent / "scrape")
EPOCH = 1_700_000_000
MIB = 1024 * 1024
SUFFIXES = [".tar", ".tar.gz", ".tar.zst"]


def pseudo_random(size: int, seed: str) -> bytes:
    """Incompressible, and the same every time."""
    return random.Random(seed).randbytes(size)


def digest(path: Path) -> str:
    """Compared instead of the bytes: a failure then says which file, not 9 MiB of diff."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(directory: Path, suffix: str, split: bool, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One archive through the driver: small members, one past the memory limit (spooled),
    a receipt. The clock moves between builds: only SOURCE_DATE_EPOCH may reach a header."""
    directory.mkdir()
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0 + len(os.listdir(directory.parent)))
    options = {"split-size": "64K"} if split else {}
    driver = TarDriver.open(str(directory / f"x{suffix}"), options, read_only=False)
    assert isinstance(driver, TarDriver)
    big = pseudo_random(9 * MIB, "big")
    writer = driver.writer("/docker/registry/v2/blobs/sha256/ab/" + "ab" * 32 + "/data")
    for start in range(0, len(big), MIB):
        writer.write(big[start : start + MIB])
    writer.commit()
    for number in range(3):
        driver.put_content(f"/docker/registry/v2/repositories/r{number}/link", b"x" * number)
    driver.put_content(layout.RECEIPTS_ROOT + "/receipt.json", b'{"created": "fixed"}\n')
    driver.close()
    return directory


@pytest.mark.parametrize("split", [False, True], ids=["one file", "split"])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_driver_writes_the_same_bytes_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, split: bool
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    first = build(tmp_path / "a", suffix, split, monkeypatch)
    second = build(tmp_path / "b", suffix, split, monkeypatch)
    names = sorted(os.listdir(first))
    assert names == sorted(os.listdir(second))
    assert len(names) > (5 if split else 2)
    for name in names:
        assert digest(first / name) == digest(second / name), name
    record("archive-reproducible-driver")


def stream_of(archive: Path, suffix: str) -> bytes:
    data = archive.read_bytes()
    if suffix == ".tar.gz":
        return gzip.decompress(data)
    if suffix == ".tar.zst":
        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    return data


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_fixed_headers_and_compression_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    archive = build(tmp_path / "a", suffix, False, monkeypatch) / f"x{suffix}"
    raw = archive.read_bytes()
    if suffix == ".tar.gz":
        flags, mtime = raw[3], int.from_bytes(raw[4:8], "little")
        assert flags & 0x08 == 0 and mtime == 0, "gzip header: no name, time 0"
    if suffix == ".tar.zst":
        frame_header_descriptor = raw[4]
        assert frame_header_descriptor & 0x04, "zstd content checksum flag"
        assert frame_header_descriptor & 0xC0 == 0, "no content size (it is not known ahead)"
    with tarfile.open(fileobj=io.BytesIO(stream_of(archive, suffix))) as tar:
        for member in tar.getmembers():
            assert (member.mtime, member.uid, member.gid) == (EPOCH, 0, 0), member.name
            assert (member.uname, member.gname, member.mode) == ("", "", 0o644), member.name
            assert not {"atime", "ctime", "mtime"} & set(member.pax_headers), member.pax_headers


def test_a_bad_source_date_epoch_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper_core.errors import ConfigurationError

    for bad in ("-1", "1.5", "soon", "9" * 40):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", bad)
        with pytest.raises(ConfigurationError, match="SOURCE_DATE_EPOCH"):
            TarDriver.open(str(tmp_path / "x.tar"), {}, read_only=False)
    assert os.listdir(tmp_path) == []


# -- through the real scrape ---------------------------------------------------------------


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reproducible") / "data"
    tree = local_writer(root)
    for number in range(4):
        tree.image(f"app{number}", "1", layer_sizes=(20_000 + number, 3000))
    tree.image("big", "1", layer_sizes=(9 * MIB,))
    return root


def ship(source: Path, into: Path, name: str, extra: tuple[str, ...]) -> None:
    into.mkdir()
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
    # Eight jobs: blobs finish in any order, the archive commits them in plan order.
    command = [SCRAPE, "-q", "-j", "8", "--data-dir", str(source), "--output-tar",
               str(into / name), *extra, "--all-tags", "app*", "big"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("suffix", "extra"),
    [(".tar", ()), (".tar.gz", ()), (".tar.zst", ()), (".tar.zst", ("--split-size", "64K"))],
    ids=["tar", "gz", "zst", "zst split"],
)
def test_the_same_command_twice_gives_the_same_bytes(
    tmp_path: Path, source: Path, suffix: str, extra: tuple[str, ...]
) -> None:
    name = f"ship{suffix}"
    first, second = tmp_path / "a", tmp_path / "b"
    ship(source, first, name, extra)
    ship(source, second, name, extra)
    assert sorted(os.listdir(first)) == sorted(os.listdir(second))
    different = [
        entry
        for entry in sorted(os.listdir(first))
        if digest(first / entry) != digest(second / entry)
    ]
    assert not different, different
    if extra:
        # A lost volume, made again alone by the same command, matches the original sums.
        volume = sorted(first.glob(f"{name}.[0-9][0-9][0-9]"))[1]
        volume.unlink()
        again = tmp_path / "again"
        ship(source, again, name, extra)
        shutil.copyfile(again / volume.name, volume)
        check = ["sha256sum", "-c", "--quiet", f"{name}.sha256"]
        assert subprocess.run(check, cwd=first, timeout=60).returncode == 0
    record("archive-reproducible-cli")
