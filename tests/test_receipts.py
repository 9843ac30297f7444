"""Receipts: the JSON document a writing run leaves beside ``docker/`` (issue 14, item 4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from plugins.local.registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.plan import Planner
from scraper_core.receipt import (
    RECEIPT_FORMAT,
    ReceiptError,
    RunRecord,
    parse_receipt,
    public_location,
    read_receipts,
    receipt_name,
)
from scraper_core.reference import parse_reference
from scraper_core.testing.tree import SyntheticImage, TreeWriter
from tests.support.cli import copy_under, run_cli
from tests.support.trees import blob_file, local_writer

NOW = datetime(2026, 11, 30, 2, 13, 36, tzinfo=UTC)


@pytest.fixture
def source(tmp_path: Path) -> TreeWriter:
    return local_writer(tmp_path / "data")


def receipts(root: Path) -> list[dict[str, Any]]:
    folder = root / layout.RECEIPTS_ROOT.lstrip("/")
    if not folder.exists():
        return []
    return [json.loads(path.read_bytes()) for path in sorted(folder.iterdir())]


def blob_entries(*images: SyntheticImage, root: Path) -> list[dict[str, object]]:
    blobs = {d for image in images for d in image.blobs}
    sizes = {d: blob_file(root, d).stat().st_size for d in blobs}
    return [{"digest": str(d), "size": sizes[d]} for d in sorted(blobs, key=str)]


def test_document_names_images_blobs_and_totals(source: TreeWriter) -> None:
    children = [source.image("multi", None, arch=arch) for arch in ("amd64", "arm64")]
    index = source.index("multi", "v1", children)
    plan = Planner(source.driver).plan(parse_reference("multi:v1"))
    relied = {Digest.of(b"elsewhere"): 9}
    record = RunRecord("s3", "https://key:secret@s3.example/bucket", [plan], relied)
    document = record.document(NOW)
    assert document["format"] == RECEIPT_FORMAT and document["version"] == 1
    assert document["created"] == "2026-11-30T02:13:36Z"
    assert document["source"] == {"driver": "s3", "location": "https://s3.example/bucket"}
    assert "secret" not in json.dumps(document)
    [image] = document["images"]
    assert image["reference"] == "multi:v1" and image["digest"] == str(index)
    assert image["media_type"] == "application/vnd.oci.image.index.v1+json"
    assert image["platforms"] == ["linux/arch0", "linux/arch1"]
    digests = [entry["digest"] for entry in document["blobs"]]
    assert digests == sorted(str(blob.digest) for blob in plan.blobs)
    assert document["relies_on"] == [{"digest": str(Digest.of(b"elsewhere")), "size": 9}]
    assert document["totals"] == {
        "images": 1,
        "blobs": len(plan.blobs),
        "bytes": plan.total_bytes,
        "relies_on_blobs": 1,
        "relies_on_bytes": 9,
    }
    parsed = parse_receipt(json.dumps(document).encode(), "r")
    assert dict(parsed.blobs) == {blob.digest: blob.size for blob in plan.blobs}
    assert dict(parsed.relies_on) == {Digest.of(b"elsewhere"): 9}


def test_names_and_locations() -> None:
    assert receipt_name(NOW, "3f9a") == "20261130T021336Z-3f9a.json"
    assert receipt_name(NOW) != receipt_name(NOW)
    assert public_location("my-bucket/prefix") == "my-bucket/prefix"
    assert public_location("https://u:p@h:9000/b") == "https://h:9000/b"


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b'{"format": "other"}',
        b'{"format": "registry-scraper/receipt", "version": 99}',
        b'{"format": "registry-scraper/receipt", "version": 1, "blobs": [{"digest": "x"}]}',
        b'{"format": "registry-scraper/receipt", "version": 1, "blobs": [], "relies_on": 3}',
    ],
)
def test_bad_receipts_are_refused(data: bytes) -> None:
    with pytest.raises(ReceiptError, match=r"^bad\.json: "):
        parse_receipt(data, "bad.json")


def test_a_copy_writes_one_receipt_beside_docker(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("team/app", "v1")
    source.image("other")
    result = copy_under(tmp_path, "team/app:v1", "--output-storage-option", "fsync=true")
    assert result.exit_code == 0, result.output
    [receipt] = receipts(tmp_path / "copy")
    assert sorted(path.name for path in (tmp_path / "copy").iterdir()) == [
        "docker",
        "scrape-receipts",
    ]
    assert receipt["source"] == {"driver": "local", "location": str(tmp_path / "data")}
    assert receipt["images"] == [
        {
            "reference": "team/app:v1",
            "digest": str(image.manifest),
            "media_type": "application/vnd.oci.image.manifest.v1+json",
        }
    ]
    assert receipt["blobs"] == blob_entries(image, root=tmp_path / "data")
    assert receipt["relies_on"] == []
    # Blobs already at the destination are still what the storage holds for the image (a
    # new tag: a run that writes nothing writes no receipt either).
    source.tag("team/app", "v2", image.manifest)
    again = copy_under(tmp_path, "team/app:v2")
    assert again.exit_code == 0, again.output
    first, second = receipts(tmp_path / "copy")
    assert first["blobs"] == second["blobs"]
    # The storage reads its own receipts back through the driver.
    driver = CheckedDriver(LocalDriver(tmp_path / "copy", read_only=True), read_only=True)
    found, skipped = read_receipts(driver)
    assert [sorted((str(d), s) for d, s in receipt.blobs.items()) for receipt in found] == [
        [(entry["digest"], entry["size"]) for entry in first["blobs"]],
        [(entry["digest"], entry["size"]) for entry in second["blobs"]],
    ]
    assert skipped == []


def test_failed_images_are_not_in_the_receipt(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app", "v1")
    result = copy_under(tmp_path, "app:v1", "app:missing")
    assert result.exit_code == 1
    [receipt] = receipts(tmp_path / "copy")
    assert [entry["reference"] for entry in receipt["images"]] == ["app:v1"]
    assert receipt["blobs"] == blob_entries(image, root=tmp_path / "data")


def test_no_receipt_without_a_copied_image_or_on_a_dry_run(
    tmp_path: Path, source: TreeWriter
) -> None:
    source.image("app", "v1")
    assert copy_under(tmp_path, "app:missing").exit_code == 1
    assert receipts(tmp_path / "copy") == []
    assert copy_under(tmp_path, "--dry-run", "app:v1").exit_code == 0
    assert receipts(tmp_path / "copy") == []


def test_verify_ignores_receipts(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app", "v1")
    assert copy_under(tmp_path, "app:v1").exit_code == 0
    assert receipts(tmp_path / "copy")
    result = run_cli("verify", "--data-dir", str(tmp_path / "copy"))
    assert result.exit_code == 0, result.output
    assert "0 problems, 0 warnings, 0 notes, 0 orphan blobs" in result.stderr
