"""Receipts and inventories read compactly and strictly (issue 18).

A ``--have`` file is parsed once into compact structures (its memory a small multiple of its
size, measured on the real CLI); a number of thousands of digits, or a size at or past 2**63,
is one line naming the file. Receipts found in a source are skipped with a warning when they
are not regular files (a directory named ``*.json``, a FIFO, a member the driver refuses);
a damaged one still fails the import in one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scraper_core import layout
from scraper_core.bloblist import load_document
from scraper_core.checked import CheckedDriver
from scraper_core.contract import FileInfo
from scraper_core.digest import Digest
from scraper_core.errors import NotRegularFileError, StorageError
from scraper_core.inventory import INVENTORY_FORMAT
from scraper_core.receipt import RECEIPT_FORMAT, ReceiptError, parse_receipt, read_receipts
from scraper_core.testing.memory import MemoryDriver
from tests.support.cli_process import scrape_command
from tests.support.reliability import record
from tests.support.trees import one_image_tree

TIMEOUT = 120.0
IMAGE = "team/app:v1"
#: Peak memory a --have file may add to a run, as a multiple of its size: 10 to 11 before
#: (each entry a dict, then a Digest, the document decoded twice), about 3.5 now.
MEMORY_FACTOR = 6


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return one_image_tree(tmp_path / "data")


def cli(*args: str) -> Result:
    return CliRunner().invoke(main_command(), list(args))


def main_command() -> Any:
    from scraper_core.cli import main

    return main


def dry_run(source: Path, tmp_path: Path, *args: str) -> list[str]:
    return ["--data-dir", str(source), "--output-dir", str(tmp_path / "copy"), "--dry-run", *args]


def digest(number: int) -> str:
    return "sha256:" + hashlib.sha256(str(number).encode()).hexdigest()


def receipt(blobs: list[dict[str, Any]], relies_on: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": RECEIPT_FORMAT,
        "version": 1,
        "tool": {"name": "registry-scraper", "version": "0"},
        "created": "2026-12-07T00:00:00Z",
        "source": {"driver": "local", "location": "/data"},
        "images": [],
        "blobs": blobs,
        "relies_on": relies_on,
        "totals": {},
    }


def inventory(blobs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": INVENTORY_FORMAT, "version": 1, "blobs": blobs, "repositories": []}


def entries(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"digest": digest(n), "size": 10**9 + n} for n in range(start, start + count)]


# Memory.

# A fresh, small interpreter runs the command and reports RUSAGE_CHILDREN: ru_maxrss of a child
# counts the pages it had before exec, so spawning from pytest (large) would inflate it.
_RSS_PROBE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_rss(args: list[str]) -> int:
    """Peak resident set of ``scrape ARGS`` in bytes; the run must succeed."""
    probe = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, *scrape_command(), *args],
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
    )
    code, kib = probe.stdout.split()
    assert int(code) == 0, probe.stderr.decode(errors="replace")
    return int(kib) * 1024


@pytest.mark.parametrize("kind", ["receipt", "inventory"])
def test_a_large_have_file_costs_a_small_multiple_of_its_size(
    tmp_path: Path, source: Path, kind: str
) -> None:
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    if kind == "receipt":
        small.write_text(json.dumps(receipt(entries(1), [])))
        document = receipt(entries(60_000), entries(60_000, start=60_000))
    else:
        small.write_text(json.dumps(inventory(entries(1))))
        document = inventory(entries(120_000))
    large.write_text(json.dumps(document, indent=1, sort_keys=True))
    size = large.stat().st_size
    base = peak_rss(["-q", *dry_run(source, tmp_path, "--have", str(small), IMAGE)])
    peak = peak_rss(["-q", *dry_run(source, tmp_path, "--have", str(large), IMAGE)])
    factor = (peak - base) / size
    held = factor < MEMORY_FACTOR
    record(
        f"have-file-memory-{kind}",
        title=f"Peak memory of a --have {kind} (real CLI, --dry-run)",
        how=f"a {size / 2**20:.1f} MiB {kind} of 120,000 blobs against a 1-blob one",
        held=held,
        outcome=f"added memory below {MEMORY_FACTOR}x the file's size",
        figures={
            "file (MiB)": round(size / 2**20, 1),
            "added peak RSS (MiB)": round((peak - base) / 2**20, 1),
            "x file size": round(factor, 2),
        },
    )
    assert held, f"a {size} byte {kind} added {peak - base} bytes ({factor:.1f}x)"


# Numbers.


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("9" * 5000, "a number of 5000 digits; sizes are integers below 2**63"),
        (str(2**63), "invalid blob size '9223372036854775808'"),
        ("-1", "invalid blob size '-1'"),
        ("1.5", "invalid blob size '1.5'"),
    ],
)
@pytest.mark.parametrize("kind", ["receipt", "inventory"])
def test_a_size_that_is_no_size_is_one_line(
    tmp_path: Path, source: Path, kind: str, size: str, expected: str
) -> None:
    blobs = [{"digest": digest(1), "size": 0}]
    document = receipt([], blobs) if kind == "receipt" else inventory(blobs)
    path = tmp_path / "have.json"
    path.write_text(json.dumps(document).replace('"size": 0', f'"size": {size}'))
    result = cli(*dry_run(source, tmp_path, "--have", str(path), IMAGE))
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: --have {path}: {expected}\n"
    assert not (tmp_path / "copy").exists()
    record("have-file-bad-number")


# Receipts found in a source.


def shipped(tmp_path: Path, source: Path) -> Path:
    """A copy of ``source`` with its receipt: a source for an import."""
    shipment = tmp_path / "shipment"
    result = cli("--data-dir", str(source), "--output-dir", str(shipment), IMAGE)
    assert result.exit_code == 0, result.output
    return shipment


def test_a_receipts_entry_that_is_no_regular_file_is_skipped_with_a_warning(
    tmp_path: Path, source: Path
) -> None:
    shipment = shipped(tmp_path, source)
    receipts = shipment / layout.RECEIPTS_ROOT.strip("/")
    (receipts / "a-directory.json").mkdir()
    os.mkfifo(receipts / "b-fifo.json")
    result = cli("--data-dir", str(shipment), "--output-dir", str(tmp_path / "site"), IMAGE)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {layout.RECEIPTS_ROOT}/a-directory.json skipped: a directory, not a receipt",
        f"warning: {layout.RECEIPTS_ROOT}/b-fifo.json skipped: not a regular file "
        f"(local: {layout.RECEIPTS_ROOT}/b-fifo.json: is a FIFO)",
    ]
    assert (tmp_path / "site" / "docker").is_dir()
    record("source-receipts-not-regular")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"format": "registry-scraper/receipt", "vers', "not JSON"),
        (b"\xff\xfe{}", "not UTF-8 text: byte 0xff at line 1, column 1"),
        (
            b'{"format": "registry-scraper/receipt", "version": 1, "blobs": [], '
            b'"relies_on": [{"digest": "sha256:'
            + b"a" * 64
            + b'", "size": '
            + b"7" * 5000
            + b"}]}",
            "a number of 5000 digits",
        ),
    ],
)
def test_a_damaged_receipt_in_a_source_fails_in_one_line(
    tmp_path: Path, source: Path, content: bytes, expected: str
) -> None:
    shipment = shipped(tmp_path, source)
    damaged = shipment / layout.RECEIPTS_ROOT.strip("/") / "z-damaged.json"
    damaged.write_bytes(content)
    result = cli("--data-dir", str(shipment), "--output-dir", str(tmp_path / "site"), IMAGE)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {layout.RECEIPTS_ROOT}/z-damaged.json: {expected}")
    assert result.stderr.count("\n") == 1, result.stderr
    # The destination is opened (made) before the source's receipts are read; nothing in it.
    assert not (tmp_path / "site" / "docker").exists()


class RefusingStat(MemoryDriver):
    """A driver that refuses one member at stat, as an archive reader refuses a sparse one,
    and fails on another (a storage error, not a verdict on what is there)."""

    refused = f"{layout.RECEIPTS_ROOT}/sparse.json"
    failing = f"{layout.RECEIPTS_ROOT}/0-unreachable.json"

    def stat(self, path: str) -> FileInfo:
        if path == self.refused:
            raise NotRegularFileError(self.name, path, "is a sparse member, not a regular file")
        if path == self.failing:
            raise StorageError(self.name, path, "HTTP 503")
        return super().stat(path)


def test_read_receipts_skips_what_the_driver_refuses_as_not_regular() -> None:
    driver = RefusingStat()
    sound = json.dumps(receipt(entries(2), entries(1, start=5))).encode()
    driver.put_content(f"{layout.RECEIPTS_ROOT}/sound.json", sound)
    driver.put_content(RefusingStat.refused, b"\0" * 10)
    driver.put_content(f"{layout.RECEIPTS_ROOT}/README", b"not a receipt")
    found, skipped = read_receipts(CheckedDriver(driver, read_only=True))
    assert [len(item.blobs) for item in found] == [2]
    assert [str(d) for d in found[0].relies_on] == [digest(5)]
    assert skipped == [
        f"{RefusingStat.refused} skipped: not a regular file (memory: {RefusingStat.refused}: "
        "is a sparse member, not a regular file)"
    ]
    driver.put_content(f"{layout.RECEIPTS_ROOT}/torn.json", sound[:-10])
    with pytest.raises(ReceiptError, match=r"/torn\.json: not JSON"):
        read_receipts(CheckedDriver(driver, read_only=True))
    # A receipt that cannot be read is never taken for one that is not there.
    driver.put_content(RefusingStat.failing, sound)
    with pytest.raises(StorageError, match=r"0-unreachable\.json: HTTP 503"):
        read_receipts(CheckedDriver(driver, read_only=True))


def test_only_the_document_and_its_blob_entries_are_kept() -> None:
    document = receipt([{"digest": digest(1), "size": 5, "urls": ["https://x"]}], [])
    document["images"] = [{"reference": "a:1", "digest": digest(2), "media_type": "m"}]
    data = json.dumps(document).encode()
    loaded = load_document(data, "r.json")
    # Parsed and dropped: tool, source and totals are never held; of an image, only what
    # ordering reads (its reference and digest).
    assert loaded["images"] == [{"reference": "a:1", "digest": digest(2)}]
    assert loaded["tool"] is None
    # A later version's extra keys on a blob entry do not make it unreadable.
    assert dict(parse_receipt(data, "r.json").blobs) == {Digest.parse(digest(1)): 5}
