"""Archives on synthetic trees: streaming, publishing, volumes, receipts, locks, reading back.

Fast and exact, through the real local and tar drivers and the copy command. The end-to-end
half (registry 2.8 serving what was shipped, skopeo pulling it) is tests/test_archive_e2e.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import Result

from registry_scraper_local import tar as tar_module
from registry_scraper_local.archive_index import INDEX_MEMBER
from registry_scraper_local.archive_lock import ArchiveLock
from registry_scraper_local.tar import TarDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import PathNotFoundError, ReadOnlyError, StorageError
from scraper_core.testing.tree import TreeWriter
from tests.support.archives import extract
from tests.support.cli import run_cli
from tests.support.reliability import record
from tests.support.trees import blob_file, expected_files, local_writer, snapshot

FORMATS = [".tar", ".tar.gz", ".tar.zst"]
BIG = tar_module.SPOOL_LIMIT + 12345  # goes through the spool beside the archive


@pytest.fixture
def source(tmp_path: Path) -> TreeWriter:
    return local_writer(tmp_path / "data")


def ship(tmp_path: Path, archive: Path, *args: str) -> Result:
    command = ["--data-dir", str(tmp_path / "data"), "--output-tar", str(archive), *args]
    return run_cli(*command)


def leftovers(directory: Path, archive_name: str) -> list[str]:
    """Anything of a run beside its archive that must not outlive it."""
    return sorted(
        name
        for name in os.listdir(directory)
        if ".scrape-" in name or name.endswith(".lock") or name.startswith(f".{archive_name}")
    )


def members(archive: Path) -> list[str]:
    if archive.name.endswith(".zst"):
        import zstandard

        data = zstandard.ZstdDecompressor().stream_reader(archive.open("rb")).read()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            return tar.getnames()
    with tarfile.open(archive) as tar:
        return tar.getnames()


@pytest.mark.parametrize("suffix", FORMATS)
def test_archive_is_published_whole_with_checksums(
    tmp_path: Path, source: TreeWriter, suffix: str
) -> None:
    image = source.image("app", "v1", layer_sizes=(1000, BIG))
    out = tmp_path / "out"
    out.mkdir()
    archive = out / f"ship{suffix}"
    old_umask = os.umask(0o022)
    try:
        result = ship(tmp_path, archive, "app:v1")
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    # The core's receipt travels inside and is published beside, with the checksums.
    assert sorted(os.listdir(out)) == sorted(
        [archive.name, f"{archive.name}.sha256", f"{archive.name}.receipt.json"]
    )
    assert archive.stat().st_mode & 0o777 == 0o644
    check = subprocess.run(["sha256sum", "-c", f"{archive.name}.sha256"], cwd=out, check=False)
    assert check.returncode == 0
    extract([archive], tmp_path / "site", suffix)
    assert set(snapshot(tmp_path / "site")) == expected_files(image, "v1")
    names = members(archive)
    # The member index comes last, then (before it) the run's receipt, after the tag links
    # it describes.
    assert names.pop() == INDEX_MEMBER
    assert names[-1].startswith(layout.RECEIPTS_ROOT.lstrip("/") + "/")
    names = names[:-1]
    assert names[-1] == layout.tag_current_link_path("app", "v1").lstrip("/")
    blobs = [n for n in names if n.startswith("docker/registry/v2/blobs/")]
    assert names[: len(blobs)] == blobs, "blobs first, then links"


@pytest.mark.parametrize("suffix", FORMATS)
def test_split_volumes_restore_with_cat(tmp_path: Path, source: TreeWriter, suffix: str) -> None:
    image = source.image("app", "v1", layer_sizes=(300_000, 200_000))
    out = tmp_path / "out"
    out.mkdir()
    archive = out / f"ship{suffix}"
    # An earlier, longer set under the same name: its extra volumes are removed (its
    # checksum file names them).
    assert ship(tmp_path, archive, "--split-size", "16K", "app:v1").exit_code == 0
    longer = sorted(out.glob(f"{archive.name}.[0-9][0-9][0-9]"))
    result = ship(tmp_path, archive, "--split-size", "64K", "app:v1")
    assert result.exit_code == 0, result.output
    volumes = sorted(out.glob(f"{archive.name}.[0-9][0-9][0-9]"))
    assert len(longer) > len(volumes) >= (2 if suffix == ".tar.gz" else 5), volumes
    assert all(v.stat().st_size <= 64 * 1024 for v in volumes)
    assert not archive.exists()
    sums = (out / f"{archive.name}.sha256").read_text().splitlines()
    receipt = f"{archive.name}.receipt.json"
    assert [line.split("  ")[1] for line in sums] == [v.name for v in volumes] + [receipt]
    assert subprocess.run(["sha256sum", "-c", f"{archive.name}.sha256"], cwd=out).returncode == 0
    assert leftovers(out, archive.name) == []
    extract(volumes, tmp_path / "site", suffix)
    assert set(snapshot(tmp_path / "site")) == expected_files(image, "v1")
    # Read back as a source, named by its base name or its first volume.
    for name in (str(archive), str(volumes[0])):
        copy = tmp_path / f"copy-{Path(name).name}"
        imported = run_cli(
            "--storage", "tar", "--data-dir", name, "--output-dir", str(copy), "app:v1"
        )
        assert imported.exit_code == 0, imported.output
        assert set(snapshot(copy)) == expected_files(image, "v1")


def test_split_size_is_checked(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app", "v1")
    for bad, message in (("12Q", "must be a size such as"), ("1K", "under 4K")):
        result = ship(tmp_path, tmp_path / "x.tar", "--split-size", bad, "app:v1")
        assert result.exit_code == 2 and message in result.stderr, result.output
    result = run_cli(
        "--data-dir", str(tmp_path / "data"), "--output-dir", "c", "--split-size", "4G", "a"
    )
    assert result.exit_code == 2 and "--split-size needs --output-tar" in result.stderr
    assert leftovers(tmp_path, "x.tar") == [] and not (tmp_path / "x.tar").exists()


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_image_failing_publishes_nothing(
    tmp_path: Path, source: TreeWriter, suffix: str
) -> None:
    image = source.image("app", "v1", layer_sizes=(1000, BIG))
    big = image.layers[1]
    data = blob_file(tmp_path / "data", big)
    content = bytearray(data.read_bytes())
    content[-1] ^= 1  # the last byte: everything before it has streamed by then
    data.write_bytes(bytes(content))
    archive = tmp_path / f"ship{suffix}"
    result = ship(tmp_path, archive, "app:v1", "app:missing")
    assert result.exit_code == 1
    assert "corrupt" in result.stderr
    assert not archive.exists() and leftovers(tmp_path, archive.name) == []
    assert not any(name.startswith("ship") for name in os.listdir(tmp_path))
    record("archive-nothing-worth-publishing")


@pytest.mark.parametrize("suffix", FORMATS)
def test_corrupt_blob_never_enters_a_published_archive(
    tmp_path: Path, source: TreeWriter, suffix: str
) -> None:
    good = source.image("good", "v1", layer_sizes=(2000, BIG))
    bad = source.image("bad", "v1", layer_sizes=(3000, BIG + 1))
    for digest in bad.layers:
        data = blob_file(tmp_path / "data", digest)
        content = bytearray(data.read_bytes())
        content[len(content) // 2] ^= 0xFF
        data.write_bytes(bytes(content))
    archive = tmp_path / f"ship{suffix}"
    result = ship(tmp_path, archive, "good:v1", "bad:v1")
    assert result.exit_code == 1
    extract([archive], tmp_path / "site", suffix)
    site = tmp_path / "site"
    for data in site.rglob("data"):
        assert hashlib.sha256(data.read_bytes()).hexdigest() == data.parent.name
    stored = {f"sha256:{p.parent.name}" for p in site.rglob("data")}
    assert not {str(d) for d in bad.layers} & stored
    assert set(snapshot(site)) >= expected_files(good, "v1")
    record("archive-corrupt-blob")


def test_second_run_on_one_archive_fails_fast_naming_the_holder(
    tmp_path: Path, source: TreeWriter
) -> None:
    source.image("app", "v1")
    archive = tmp_path / "ship.tar"
    holder = ArchiveLock.acquire(str(archive))
    try:
        result = ship(tmp_path, archive, "app:v1")
    finally:
        holder.release()
    assert result.exit_code == 2
    assert f"pid {os.getpid()}" in result.stderr and "being written by another run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not archive.exists()
    assert ship(tmp_path, archive, "app:v1").exit_code == 0
    assert leftovers(tmp_path, archive.name) == []


def test_receipt_travels_inside_and_beside(tmp_path: Path) -> None:
    archive = tmp_path / "ship.tar.zst"
    driver = CheckedDriver(TarDriver.open(str(archive), {}, read_only=False), read_only=False)
    blob = b"x" * 100
    driver.put_content(layout.blob_data_path(Digest.of(blob)), blob)
    receipt = json.dumps({"images": [], "fake": True}).encode()
    driver.put_content(layout.receipt_path("20261130T000000Z-abcd.json"), receipt)
    driver.close()
    assert (tmp_path / "ship.tar.zst.receipt.json").read_bytes() == receipt
    assert members(archive)[-2:] == ["scrape-receipts/20261130T000000Z-abcd.json", INDEX_MEMBER]
    assert sorted(os.listdir(tmp_path)) == [
        "ship.tar.zst", "ship.tar.zst.receipt.json", "ship.tar.zst.sha256"
    ]  # fmt: skip
    # An aborted run publishes none of them, and an earlier set stays as it was.
    before = snapshot(tmp_path)
    driver = CheckedDriver(TarDriver.open(str(archive), {}, read_only=False), read_only=False)
    driver.put_content(layout.receipt_path("other.json"), b"{}")
    driver.abort()
    assert snapshot(tmp_path) == before


def test_progress_counts_the_archive_writing_too(
    tmp_path: Path, source: TreeWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper_core import report

    source.image("app", "v1", layer_sizes=(1000, BIG))
    seen: dict[str, int] = {"total": 0, "done": 0}
    real_progress = report.Reporter.progress

    def progress(self: report.Reporter, total: int) -> object:
        seen["total"] = total
        return real_progress(self, total)

    def bytes_done(self: report.Reporter, size: int) -> None:
        seen["done"] += size

    monkeypatch.setattr(report.Reporter, "progress", progress)
    monkeypatch.setattr(report.Reporter, "bytes_done", bytes_done)
    result = ship(tmp_path, tmp_path / "ship.tar.gz", "app:v1")
    assert result.exit_code == 0, result.output
    blob_bytes = sum(f.stat().st_size for f in (tmp_path / "data").rglob("data"))
    # Read once, archived (compressed) once: the bar ends only when both are done.
    assert seen["total"] == 2 * blob_bytes == seen["done"]


def test_dry_run_into_an_archive_writes_nothing(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app", "v1")
    result = ship(tmp_path, tmp_path / "ship.tar", "--dry-run", "app:v1")
    assert result.exit_code == 0, result.output
    assert "would copy" in result.stdout
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_json_and_stdout_archive_conflict(tmp_path: Path, source: TreeWriter) -> None:
    result = ship(tmp_path, Path("-"), "--json", "app:v1")
    assert result.exit_code == 2 and "both write to stdout" in result.stderr


# -- the archive as a source ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_archive_imports_into_a_fresh_tree(tmp_path: Path, source: TreeWriter, suffix: str) -> None:
    one = source.image("team/one", "v1", layer_sizes=(1000, BIG))
    two = source.image("two", "v2")
    archive = tmp_path / f"ship{suffix}"
    assert ship(tmp_path, archive, "team/one:v1", "two:v2").exit_code == 0
    copy = tmp_path / "site"
    spool = tmp_path / "spool"
    spool.mkdir()
    result = run_cli(
        "--storage", "tar", "--data-dir", str(archive), "-o", f"spool-dir={spool}",
        "--output-dir", str(copy), "team/one:v1", "two:v2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert set(snapshot(copy)) == expected_files(one, "v1") | expected_files(two, "v2")
    assert os.listdir(spool) == [], "the decompression spool is unlinked at once"
    listed = run_cli("list", "--storage", "tar", "--data-dir", str(archive))
    assert listed.exit_code == 0 and "team/one  v1" in listed.stdout


def test_archive_reader_follows_the_read_contract(tmp_path: Path) -> None:
    archive = tmp_path / "hostile.tar"
    with tarfile.open(archive, "w") as tar:

        def add(name: str, data: bytes, kind: bytes = tarfile.REGTYPE) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.type = len(data), kind
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("./a/b/c", b"first")
        add("a/b/c", b"0123456789")  # stored twice: the last copy counts, as with tar -x
        add("a/bc", b"prefix sibling")
        add("a/d/e", b"")
        add("../escape", b"no")
        add("a/../../etc/passwd", b"no")
        add("a/link", b"", tarfile.SYMTYPE)
        add("a/dev", b"", tarfile.CHRTYPE)
    # Hand-made, so without a member index: read as found, on request.
    unindexed = {"allow-unindexed": "true"}
    storage = CheckedDriver(TarDriver.open(str(archive), unindexed, read_only=True), read_only=True)
    assert storage.list_dir("/") == ["/a"]
    assert storage.list_dir("/a") == ["/a/b", "/a/bc", "/a/d"]
    assert storage.get_content("/a/b/c") == b"0123456789"
    assert storage.stat("/a/b").is_dir and storage.stat("/a/b/c").size == 10
    with storage.reader("/a/b/c", 4) as stream:
        assert stream.read() == b"456789"
    with storage.reader("/a/b/c", 99) as stream:
        assert stream.read() == b""
    assert storage.read_head("/a/b/c", 3) == b"012"
    assert sorted(info.path for info in storage.walk("/a/b")) == ["/a/b/c"]
    assert sorted(info.path for info in storage.walk("/")) == ["/a/b/c", "/a/bc", "/a/d/e"]
    for missing in ("/a/b/x", "/a/link", "/a/dev", "/escape", "/etc/passwd"):
        with pytest.raises(PathNotFoundError, match="tar"):
            storage.stat(missing)
    with pytest.raises(PathNotFoundError):
        storage.list_dir("/nothing")
    with pytest.raises(StorageError):
        storage.list_dir("/a/b/c")
    with pytest.raises(ReadOnlyError):
        storage.put_content("/a/new", b"x")
    with pytest.raises(ReadOnlyError):
        storage.delete("/a")
    # As the conformance suite asks: the driver itself refuses, whatever the wrapper says.
    unguarded = CheckedDriver(
        TarDriver.open(str(archive), unindexed, read_only=True), read_only=False
    )
    for write in (
        lambda: unguarded.put_content("/a/b/c", b"x"),
        lambda: unguarded.writer("/a/new"),
        lambda: unguarded.move("/a/b/c", "/a/x"),
        lambda: unguarded.delete("/a"),
    ):
        with pytest.raises(ReadOnlyError, match="tar"):
            write()
    assert unguarded.get_content("/a/b/c") == b"0123456789"


@pytest.mark.parametrize(
    ("damage", "suffix"),
    [("truncated", ".tar.gz"), ("truncated", ".tar.zst"), ("truncated", ".tar"),
     ("not-a-tar", ".tar"), ("empty", ".tar"), ("missing", ".tar")],
)  # fmt: skip
def test_a_damaged_archive_is_one_line(
    tmp_path: Path, source: TreeWriter, damage: str, suffix: str
) -> None:
    source.image("app", "v1", layer_sizes=(50_000,))
    archive = tmp_path / f"ship{suffix}"
    assert ship(tmp_path, archive, "app:v1").exit_code == 0
    data = archive.read_bytes()
    if damage == "truncated":
        archive.write_bytes(data[: len(data) // 2])
    elif damage == "not-a-tar":
        archive.write_bytes(b"hello" * 1000)
    elif damage == "empty":
        archive.write_bytes(b"")
    else:
        archive.unlink()
    result = run_cli("--storage", "tar", "--data-dir", str(archive), "--output-dir", "x", "app:v1")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: tar: ") and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "x").exists()
