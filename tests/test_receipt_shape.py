"""The receipt says what shaped the shipment, and which platforms a subset holds."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper_core.checked import CheckedDriver
from scraper_core.inventory import INVENTORY_FORMAT
from scraper_core.plan import Planner, PlatformFilter
from scraper_core.receipt import RunRecord, parse_receipt
from scraper_core.reference import Reference
from scraper_core.shape import Shape
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import run_cli
from tests.support.trees import local_writer

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def _document(platforms: tuple[str, ...]) -> dict[str, Any]:
    driver = CheckedDriver(MemoryDriver(), read_only=False)
    writer = TreeWriter(driver)
    writer.index("multi", "v1", [writer.image("multi", None) for _ in range(2)])
    planner = Planner(driver, [PlatformFilter.parse(text) for text in platforms])
    plan = planner.plan(Reference("multi", "v1"))
    shape = Shape(
        patterns=("multi:v1",),
        platforms=platforms,
        signatures=False,
        have_sha256=("ab" * 32,),
    )
    return RunRecord("local", "/src", [plan], shaped_by=shape).document(NOW)


def test_a_platform_subset_lists_the_platforms_it_holds_and_what_shaped_it() -> None:
    document = _document(("linux/arch1",))

    [image] = document["images"]
    assert image["platforms"] == ["linux/arch1"]
    assert image["platform_subset"] is True
    assert document["shaped_by"] == {
        "patterns": ["multi:v1"],
        "images_file": None,
        "all_tags": False,
        "all_manifests": False,
        "platforms": ["linux/arch1"],
        "signatures": False,
        "have": [{"sha256": "ab" * 32}],
    }
    read = parse_receipt(json.dumps(document).encode(), "receipt")
    assert read.platform_subset


def test_a_whole_shipment_lists_every_platform_and_is_no_subset() -> None:
    document = _document(())

    [image] = document["images"]
    assert image["platforms"] == ["linux/arch0", "linux/arch1"]
    assert "platform_subset" not in image
    assert not parse_receipt(json.dumps(document).encode(), "receipt").platform_subset


def test_the_cli_records_the_images_file_and_have_files_by_digest(tmp_path: Path) -> None:
    source = tmp_path / "src"
    local_writer(source).image("app", "v1")
    images_file = tmp_path / "images.txt"
    images_file.write_text("app:v1\n")
    inventory = tmp_path / "site.json"
    inventory.write_text(json.dumps({"format": INVENTORY_FORMAT, "version": 1, "blobs": []}))
    out = tmp_path / "out"
    args = ["--data-dir", str(source), "--output-dir", str(out), "--no-signatures"]

    result = run_cli(*args, "--images-file", str(images_file), "--have", str(inventory))

    assert result.exit_code == 0, result.output
    [receipt] = (out / "scrape-receipts").iterdir()
    shaped_by = json.loads(receipt.read_bytes())["shaped_by"]
    assert shaped_by["patterns"] == []
    assert shaped_by["images_file"] == {"sha256": _sha256(images_file)}
    assert shaped_by["have"] == [{"sha256": _sha256(inventory)}]
    assert shaped_by["signatures"] is False


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
