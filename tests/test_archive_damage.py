"""A damaged, cut, incomplete or hostile archive is one line, never a smaller success.

Archives are made by the real writer (``--output-tar``), then damaged the ways a trip does:
a bit flipped at every offset, a cut at every block, a volume lost, members added by hand
with GNU tar, and bombs whose headers announce gigabytes. Bombs run the real CLI in a child
with its peak memory measured and its files capped, so an unbounded reader fails the test
instead of the machine.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from registry_scraper_local.archive_index import INDEX_MEMBER
from registry_scraper_local.archive_reader import ArchiveReader
from registry_scraper_local.tar import TarDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import ConfigurationError, StorageError
from scraper_core.testing.tree import TreeWriter
from tests.support.archives import extract
from tests.support.cli_process import DEFAULT_TIMEOUT, Completed, run_scrape, scrape_command
from tests.support.refusals import refusal
from tests.support.reliability import record
from tests.support.trees import expected_files, snapshot
from tests.test_archive import ship, source

__all__ = ["source"]  # the fixture, shared with tests/test_archive.py

BLOCK = 512
MiB = 1024 * 1024
GiB = 1024 * MiB
#: Peak resident memory any bomb may cost the reading process.
RSS_LIMIT = 200 * MiB
#: No file the reading process writes may grow past this (a spool that would fill the disk).
FILE_LIMIT = 64 * MiB


def contents(archive: Path, options: dict[str, str] | None = None) -> dict[str, bytes]:
    """Every file the reader exposes, read whole; its errors propagate."""
    reader = ArchiveReader.open(str(archive), options or {})
    try:
        found = {}
        for info in reader.walk("/"):
            with reader.reader(info.path) as stream:
                found[info.path] = stream.read()
        return found
    finally:
        reader.close()


def one_line_error(action: Callable[[], object]) -> str:
    """The message of the ConfigurationError ``action`` raises (one line, naming tar)."""
    message = refusal(action)
    assert message.startswith("tar: "), message
    return message


def import_archive(
    archive: Path, out: Path, *refs: str, options: tuple[str, ...] = ()
) -> Completed:
    return run_scrape(
        "--storage", "tar", "--data-dir", str(archive), *options, "--output-dir", str(out), *refs
    )  # fmt: skip


def assert_one_line_failure(result: Completed, code: int = 2) -> str:
    """The one error line of a run that failed as it should: no traceback, no 'unexpected'."""
    assert result.returncode == code, result.describe()
    assert len(result.error_lines) == 1 and "Traceback" not in result.stderr, result.describe()
    assert "unexpected" not in result.stderr.lower(), result.describe()
    return result.error_lines[0]


@pytest.fixture
def small_archive(tmp_path: Path, source: TreeWriter) -> tuple[Path, dict[str, bytes]]:
    """A plain archive of two small images, and what its reader shows."""
    source.image("app", "v1", layer_sizes=(300,))
    source.image("base", "v2", layer_sizes=(200,))
    archive = tmp_path / "ship.tar"
    assert ship(tmp_path, archive, "app:v1", "base:v2").exit_code == 0
    return archive, contents(archive)


def end_of_marker(archive: Path) -> int:
    """Where the end-of-archive marker ends (record padding, all zeros, may follow)."""
    with tarfile.open(archive) as tar:
        last = tar.getmembers()[-1]
    return last.offset_data + -(-last.size // BLOCK) * BLOCK + 2 * BLOCK


# -- damage at every offset -----------------------------------------------------------------


def write_archive(archive: Path, files: dict[str, bytes]) -> None:
    """An archive of ``files`` (storage path: bytes) by the real writer, its index included;
    without its checksum file, which would catch any damage first: these tests are of the
    checks inside the archive."""
    driver = CheckedDriver(TarDriver.open(str(archive), {}, read_only=False), read_only=False)
    for path, data in files.items():
        driver.put_content(path, data)
    driver.close()
    Path(f"{archive}.sha256").unlink()


@pytest.fixture
def tiny_archive(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A few KB: a blob and a layer link (long names, so pax headers), a tag link and a
    receipt (plain headers), and the index; what its reader shows."""
    blob = b"layer bytes " * 20
    digest = Digest.of(blob)
    archive = tmp_path / "tiny.tar"
    write_archive(
        archive,
        {
            layout.blob_data_path(digest): blob,
            layout.layer_link_path("app", digest): str(digest).encode(),
            layout.tag_current_link_path("app", "v1"): str(digest).encode(),
            layout.receipt_path("run.json"): b'{"images": []}',
        },
    )
    return archive, contents(archive)


def test_a_flipped_bit_anywhere_is_an_error_or_changes_nothing(
    tiny_archive: tuple[Path, dict[str, bytes]],
) -> None:
    archive, original = tiny_archive
    data = bytearray(archive.read_bytes())
    assert len(data) <= 16 * 1024, len(data)
    outcomes = {"error": 0, "same": 0}
    # Flipped in place (rewriting the file each time would cost a flush of it per byte).
    fd = os.open(archive, os.O_WRONLY)
    try:
        for offset in range(len(data)):
            os.pwrite(fd, bytes([data[offset] ^ 1 << (offset % 8)]), offset)
            try:
                found = contents(archive)
            except (ConfigurationError, StorageError) as exc:
                assert "\n" not in str(exc) and str(exc).startswith("tar"), (offset, str(exc))
                outcomes["error"] += 1
                continue
            finally:
                os.pwrite(fd, data[offset : offset + 1], offset)
            assert found == original, f"a flip at byte {offset} read back as something else"
            outcomes["same"] += 1
    finally:
        os.close(fd)
    # Headers (checksummed), data (in the index), padding and marker (zeros): nearly every
    # flip is caught; the rest fall where nothing reads (a header's checksum terminator).
    assert outcomes["error"] > 0.95 * len(data), outcomes
    record(
        "archive-bit-flips",
        title="Archive with one bit flipped",
        how=f"every byte of a {len(data)}-byte plain archive, read in-process; 6 via the CLI",
        outcome=f"{outcomes['error']} one-line errors, {outcomes['same']} identical reads",
    )


def test_a_large_member_is_checked_as_it_is_read(tmp_path: Path) -> None:
    receipt = layout.receipt_path("big.json")
    archive = tmp_path / "big.tar"
    write_archive(archive, {receipt: b"[" + b"0," * 60_000 + b"0]"})
    data = bytearray(archive.read_bytes())
    data[data.index(b"0,0,0,") + 77] ^= 0x01
    archive.write_bytes(data)
    reader = ArchiveReader.open(str(archive), {})
    try:
        assert reader.read_head(receipt, 10) == b"[0,0,0,0,0"
        with pytest.raises(StorageError, match=f"{receipt}.*damaged"):
            reader.get_content(receipt)
        with reader.reader(receipt) as stream, pytest.raises(StorageError, match="damaged"):
            stream.read()
    finally:
        reader.close()


def test_flipped_bits_through_the_cli(
    tmp_path: Path, small_archive: tuple[Path, dict[str, bytes]]
) -> None:
    archive, _ = small_archive
    data = archive.read_bytes()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    middle = members[len(members) // 2]
    index = members[-1]
    assert index.name == INDEX_MEMBER
    offsets = {
        "a header in the middle": middle.offset + 20,
        "a header's checksum": middle.offset + 150,
        "a member's data": middle.offset_data + 1,
        "the padding after it": middle.offset_data + middle.size + 1,
        "the member index": index.offset_data + 70,
        "the end-of-archive marker": end_of_marker(archive) - 3,
    }
    for what, offset in offsets.items():
        damaged = bytearray(data)
        damaged[offset] ^= 0x10
        archive.write_bytes(damaged)
        out = tmp_path / f"out-{offset}"
        result = import_archive(archive, out, "app:v1", "base:v2")
        line = assert_one_line_failure(result)
        assert str(archive) in line, (what, line)
        assert not out.exists(), what
        # verify reads through the same reader: never "0 problems" over damage.
        checked = run_scrape("verify", "--storage", "tar", "--data-dir", str(archive))
        assert assert_one_line_failure(checked) == line, what


def test_a_cut_at_any_block_is_an_error(small_archive: tuple[Path, dict[str, bytes]]) -> None:
    archive, _ = small_archive
    data = archive.read_bytes()
    # The checks inside the archive are tried: the checksum file would refuse any cut first.
    Path(f"{archive}.sha256").unlink()
    # Past the end marker only record padding follows: a cut there leaves a whole archive.
    end = end_of_marker(archive)
    cuts = [*range(0, end, BLOCK), 1, 511, 513, end - 1, end // 2 + 7]
    for cut in cuts:
        archive.write_bytes(data[:cut])
        assert "at byte" in one_line_error(lambda: contents(archive)), cut
    archive.write_bytes(data[:end])
    assert contents(archive)
    record(
        "archive-cuts",
        title="Archive cut short",
        how=f"plain archive of 2 images cut at each of {len(cuts)} offsets (every 512-byte "
        "block before the end marker, a few odd ones), and at a member boundary recompressed",
        outcome="a one-line error naming the byte every time",
    )


@pytest.mark.parametrize("compression", ["gz", "zst"])
def test_a_cut_archive_recompressed_whole_is_an_error(
    tmp_path: Path, small_archive: tuple[Path, dict[str, bytes]], compression: str
) -> None:
    archive, _ = small_archive
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    # At a member boundary: what tarfile took for a smaller, whole archive.
    cut = members[len(members) // 2].offset
    plain = archive.read_bytes()[:cut]
    again = tmp_path / f"again.tar.{compression}"
    if compression == "gz":
        again.write_bytes(gzip.compress(plain))
    else:
        again.write_bytes(zstandard.ZstdCompressor().compress(plain))
    message = one_line_error(lambda: contents(again))
    assert "end-of-archive marker" in message and "uncompressed stream" in message, message
    result = import_archive(again, tmp_path / "out", "app:v1", "base:v2")
    assert "end-of-archive marker" in assert_one_line_failure(result)


def test_a_damaged_gzip_stream_is_one_plain_line(
    tmp_path: Path, small_archive: tuple[Path, dict[str, bytes]]
) -> None:
    archive, _ = small_archive
    compressed = bytearray(gzip.compress(archive.read_bytes(), 6))
    compressed[len(compressed) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(compressed)
    line = assert_one_line_failure(import_archive(damaged, tmp_path / "out", "app:v1"))
    assert "gzip stream damaged" in line and str(damaged) in line, line


# -- completeness: the member index ------------------------------------------------------------


def test_an_archive_without_an_index_is_refused_unless_asked(
    tmp_path: Path, small_archive: tuple[Path, dict[str, bytes]]
) -> None:
    archive, original = small_archive
    tree = tmp_path / "tree"
    extract([archive], tree, ".tar")
    (tree / INDEX_MEMBER).unlink()
    by_hand = tmp_path / "by-hand.tar"
    subprocess.run(["tar", "-cf", str(by_hand), "-C", str(tree), "docker"], check=True)
    line = assert_one_line_failure(import_archive(by_hand, tmp_path / "out", "app:v1"))
    assert "no member index" in line and "-o allow-unindexed=true" in line, line
    unindexed = ("-o", "allow-unindexed=true")
    result = import_archive(by_hand, tmp_path / "out", "app:v1", options=unindexed)
    assert result.returncode == 0, result.describe()
    assert {k: v for k, v in original.items() if k.startswith("/docker/")} == contents(
        by_hand, {"allow-unindexed": "true"}
    )


def test_storage_members_the_index_does_not_list_are_named(
    tmp_path: Path, small_archive: tuple[Path, dict[str, bytes]]
) -> None:
    archive, _ = small_archive
    data = archive.read_bytes()
    extra = tmp_path / "docker" / "registry" / "v2" / "repositories" / "app" / "smuggled"
    extra.parent.mkdir(parents=True)
    extra.write_text("not shipped by the scraper")
    subprocess.run(["tar", "-rf", str(archive), "-C", str(tmp_path), "docker"], check=True)
    message = one_line_error(lambda: contents(archive))
    assert "/docker/registry/v2/repositories/app/smuggled" in message, message
    assert "index does not list" in message, message
    # A storage member stored twice, even with the same bytes.
    archive.write_bytes(data)
    tree = tmp_path / "tree"
    extract([archive], tree, ".tar")
    link = next(tree.rglob("current/link")).relative_to(tree)
    subprocess.run(["tar", "-rf", str(archive), "-C", str(tree), str(link)], check=True)
    message = one_line_error(lambda: contents(archive))
    assert f"/{link}" in message and "twice" in message, message


def test_a_readme_and_a_sparse_member_added_by_gnu_tar_are_ignored(
    tmp_path: Path, source: TreeWriter
) -> None:
    image = source.image("app", "v1")
    archive = tmp_path / "ship.tar"
    assert ship(tmp_path, archive, "app:v1").exit_code == 0
    extras = tmp_path / "extras"
    extras.mkdir()
    (extras / "README").write_text("Import with: scrape --storage tar ...\n")
    # Sparse, among the receipts: once it blocked the whole import.
    sparse_name = "scrape-receipts/disk.json"
    (extras / "scrape-receipts").mkdir()
    with (extras / sparse_name).open("wb") as sparse:
        sparse.write(b"{" * 5000)
        sparse.seek(4 * MiB)
        sparse.write(b"end")
    subprocess.run(["tar", "-rf", str(archive), "-C", str(extras), "README"], check=True)
    # tar -r stores a sparse file whole; -c then -A (concatenate) keeps it sparse.
    sparse_tar = tmp_path / "sparse.tar"
    subprocess.run(["tar", "-cSf", str(sparse_tar), "-C", str(extras), sparse_name], check=True)
    subprocess.run(["tar", "-Af", str(archive), str(sparse_tar)], check=True)
    # Added by hand, the members change the archive its checksum file lists (it would be
    # refused): an operator who adds them lists the archive again.
    with (tmp_path / "ship.tar.sha256").open("w") as sums:
        subprocess.run(["sha256sum", archive.name], cwd=tmp_path, stdout=sums, check=True)
    with tarfile.open(archive) as tar:
        kinds = {member.name: member.type for member in tar.getmembers()}
    assert kinds["README"] == tarfile.REGTYPE and kinds[sparse_name] == tarfile.GNUTYPE_SPARSE
    out = tmp_path / "site"
    result = import_archive(archive, out, "app:v1")
    assert result.returncode == 0, result.describe()
    assert set(snapshot(out)) == expected_files(image, "v1")


# -- split sets ------------------------------------------------------------------------------


@pytest.fixture
def split_set(tmp_path: Path, source: TreeWriter) -> list[Path]:
    source.image("app", "v1", layer_sizes=(20_000,))
    archive = tmp_path / "out" / "s.tar"
    archive.parent.mkdir()
    assert ship(tmp_path, archive, "--split-size", "4K", "app:v1").exit_code == 0
    volumes = sorted(archive.parent.glob("s.tar.[0-9][0-9][0-9]"))
    assert len(volumes) >= 4, volumes
    return volumes


def test_a_missing_middle_volume_is_named(tmp_path: Path, split_set: list[Path]) -> None:
    split_set[2].unlink()
    for name in (split_set[0], split_set[0].with_suffix("")):
        line = assert_one_line_failure(import_archive(name, tmp_path / "site", "app:v1"))
        assert f"volume {split_set[2]} of" in line and "s.tar.sha256 lists it" in line, line
    # Without the checksum file, from the gap in the numbering.
    (split_set[0].parent / "s.tar.sha256").unlink()
    line = assert_one_line_failure(import_archive(split_set[0], tmp_path / "site", "app:v1"))
    assert f"volume {split_set[2]} is missing" in line, line
    assert not (tmp_path / "site").exists()


def test_a_missing_last_volume_is_named_or_suspected(tmp_path: Path, split_set: list[Path]) -> None:
    # Where the last volume starts against the last member's data: the receipt's size (and so
    # whether the cut falls in its data or in the end-of-archive marker) varies with its keys.
    whole = b"".join(volume.read_bytes() for volume in split_set)
    cut = len(whole) - split_set[-1].stat().st_size
    with tarfile.open(fileobj=io.BytesIO(whole)) as tar:
        cut_in = [m.name for m in tar.getmembers() if m.offset_data <= cut < m.offset_data + m.size]
    split_set[-1].unlink()
    line = assert_one_line_failure(import_archive(split_set[0], tmp_path / "site", "app:v1"))
    assert f"volume {split_set[-1]} of" in line, line
    (split_set[0].parent / "s.tar.sha256").unlink()
    line = assert_one_line_failure(import_archive(split_set[0], tmp_path / "site", "app:v1"))
    expected = f"ends inside the data of {cut_in[0]}" if cut_in else "end-of-archive marker"
    assert expected in line, line
    assert f"may be missing volumes after {split_set[-2].name}" in line, line
    assert not (tmp_path / "site").exists()


def test_damage_in_a_volume_names_it(split_set: list[Path]) -> None:
    whole = b"".join(volume.read_bytes() for volume in split_set)
    starts = [sum(v.stat().st_size for v in split_set[:i]) for i in range(len(split_set))]
    with tarfile.open(fileobj=io.BytesIO(whole)) as tar:
        offsets = [member.offset for member in tar.getmembers()]
    # The first header that falls in a volume after the first one.
    header_at = next(offset for offset in offsets if offset >= starts[1])
    number = max(i for i, start in enumerate(starts) if start <= header_at)
    volume = split_set[number]
    data = bytearray(volume.read_bytes())
    data[header_at - starts[number] + 20] ^= 0x04
    volume.write_bytes(data)
    message = one_line_error(lambda: contents(split_set[0]))
    assert f"damaged header (bad checksum) at byte {header_at}" in message, message
    assert f"(in volume {volume.name})" in message, message


@pytest.fixture
def unread_damage(tmp_path: Path, source: TreeWriter) -> list[Path]:
    """A split set of app:v1 and big:v1 with a byte of big's large layer flipped: damage a
    run importing app:v1 alone never reads (large members are hashed as they are read)."""
    source.image("app", "v1", layer_sizes=(300,))
    big = source.image("big", "v1", layer_sizes=(200_000,))
    archive = tmp_path / "out" / "s.tar"
    archive.parent.mkdir()
    assert ship(tmp_path, archive, "--split-size", "64K", "app:v1", "big:v1").exit_code == 0
    volumes = sorted(archive.parent.glob("s.tar.[0-9][0-9][0-9]"))
    whole = b"".join(volume.read_bytes() for volume in volumes)
    with tarfile.open(fileobj=io.BytesIO(whole)) as tar:
        layer = tar.getmember(layout.blob_data_path(big.layers[0]).lstrip("/"))
    offset = layer.offset_data + layer.size // 2
    for volume in volumes:
        size = volume.stat().st_size
        if offset < size:
            data = bytearray(volume.read_bytes())
            data[offset] ^= 0x01
            volume.write_bytes(data)
            break
        offset -= size
    return volumes


def test_a_volume_unlike_its_listed_sha256_is_refused(
    tmp_path: Path, unread_damage: list[Path]
) -> None:
    sums = unread_damage[0].parent / "s.tar.sha256"
    listed = sums.read_text()
    damaged = next(
        volume.name
        for volume in unread_damage
        if f"{hashlib.sha256(volume.read_bytes()).hexdigest()}  {volume.name}" not in listed
    )
    out = tmp_path / "site"
    imported = import_archive(unread_damage[0], out, "app:v1")
    verified = run_scrape("verify", "--storage", "tar", "--data-dir", str(unread_damage[0]))
    for result in (imported, verified):
        line = assert_one_line_failure(result)
        assert f"volume {damaged} does not match {sums}" in line, line
    assert not out.exists()
    # Without the checksum file what is read is still proven: app:v1 imports, whole.
    sums.unlink()
    assert import_archive(unread_damage[0], tmp_path / "site", "app:v1").returncode == 0


def test_a_wrong_sha256_listed_for_an_intact_volume_is_refused(
    tmp_path: Path, split_set: list[Path]
) -> None:
    sums = split_set[0].parent / "s.tar.sha256"
    lines = sums.read_text().splitlines()
    lines[1] = "0" * 64 + lines[1][64:]
    sums.write_text("\n".join(lines) + "\n")
    line = assert_one_line_failure(import_archive(split_set[0], tmp_path / "site", "app:v1"))
    assert f"volume {split_set[1].name} does not match {sums}" in line, line
    assert not (tmp_path / "site").exists()
    record("archive-volume-sums")


# -- bombs -----------------------------------------------------------------------------------


def header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(tarfile.GNU_FORMAT)


def zeros(total: int, piece: int = 4 * MiB) -> list[tuple[bytes, int]]:
    """``total`` zero bytes as (the same buffer, how many times) with a remainder."""
    buffer = bytes(piece)
    return [(buffer, total // piece), (bytes(total % piece), 1)]


def write_zst(path: Path, head: bytes, zero_bytes: int, tail: bytes) -> None:
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    with path.open("wb") as out:
        out.write(compressor.compress(head))
        for buffer, count in zeros(zero_bytes):
            for _ in range(count):
                out.write(compressor.compress(buffer))
        out.write(compressor.compress(tail))
        out.write(compressor.flush())


def write_gzip_bomb(path: Path, head: bytes, zero_bytes: int, tail: bytes) -> None:
    """gzip -9 of ``head``, the zeros and ``tail``, made in a second: after a full flush the
    deflate state is reset, so each 64 MiB of zeros compresses to the same bytes."""
    piece = 64 * MiB
    assert zero_bytes % piece == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(piece)) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(tail) + compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    zero = bytes(4 * MiB)
    for _ in range(zero_bytes // len(zero)):
        crc = zlib.crc32(zero, crc)
    crc = zlib.crc32(tail, crc)
    size = (len(head) + zero_bytes + len(tail)) & 0xFFFFFFFF
    with path.open("wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first)
        for _ in range(zero_bytes // piece):
            out.write(block)
        out.write(last + crc.to_bytes(4, "little") + size.to_bytes(4, "little"))


_MEASURE = """
import resource, subprocess, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # an unbounded reader fails here
done = subprocess.run(sys.argv[2:], capture_output=True, text=True)
sys.stderr.write(done.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, done.returncode)
"""


def measured_import(archive: Path, out: Path, spool: Path) -> tuple[int, int, str]:
    """Peak RSS, exit code and stderr of ``scrape`` importing ``archive``, alone in a child
    that caps its files (so no spool fills the disk) and its address space."""
    command = [*scrape_command(), "--storage", "tar", "--data-dir", str(archive),
               "-o", f"spool-dir={spool}", "--output-dir", str(out), "app:v1"]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key != "REGISTRY_SCRAPER_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(FILE_LIMIT), *command],
        capture_output=True, text=True, timeout=DEFAULT_TIMEOUT, env=env, check=False,
    )  # fmt: skip
    peak, code = done.stdout.split()
    return int(peak), int(code), done.stderr


BLOB_PATH = "docker/registry/v2/blobs/sha256/aa/" + "a" * 64 + "/data"
END = bytes(2 * BLOCK)


@pytest.mark.parametrize(
    ("bomb", "expected"),
    [
        ("gzip of 3 GB of zeros", "no member index"),
        ("zstd of 3 GB of zeros", "no member index"),
        ("GNU long name of 3 GiB", "GNU long name of 3221225472 bytes"),
        ("pax header of 3 GiB", "pax header of 3221225472 bytes"),
        ("member of 1 TiB", "declares 1099511627776 bytes"),
    ],
)
def test_bombs_stay_bounded(tmp_path: Path, bomb: str, expected: str) -> None:
    archive = tmp_path / ("bomb.tar.gz" if bomb.startswith("gzip") else "bomb.tar.zst")
    big = 3 * 1024 * MiB
    if bomb.startswith("gzip"):
        # Nothing but zeros: an empty archive whose padding goes on for 3 GB.
        write_gzip_bomb(archive, b"", big, b"")
    elif bomb.startswith("zstd"):
        # A member no one needs, skipped a chunk at a time.
        write_zst(archive, header("README", big), big, END)
    elif "long name" in bomb:
        write_zst(archive, header("././@LongLink", big, tarfile.GNUTYPE_LONGNAME), big, END)
    elif "pax" in bomb:
        write_zst(archive, header("PaxHeaders/x", big, tarfile.XHDTYPE), big, END)
    else:
        write_zst(archive, header(BLOB_PATH, 1 << 40), 256 * MiB, b"")
    assert archive.stat().st_size < 4 * MiB
    spool = tmp_path / "spool"
    spool.mkdir()
    peak, code, stderr = measured_import(archive, tmp_path / "out", spool)
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in stderr, stderr
    assert expected in errors[0], errors[0]
    assert peak < RSS_LIMIT, f"{bomb}: peak RSS {peak / MiB:.0f} MiB"
    assert os.listdir(spool) == [] and not (tmp_path / "out").exists()
    record(
        "archive-bombs",
        outcome=f"exit 2, one line each, peak RSS under {RSS_LIMIT // MiB} MiB, spool untouched",
        figures={f"{bomb}: peak RSS MiB": round(peak / MiB)},
    )
