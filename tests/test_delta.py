"""Inventories, delta shipments (``--have``) and the check on import (issue 14, items 5-6).

Synthetic trees through the real CLI: a "site" holds a full shipment, the source moves on,
a delta leaves out what the site's inventory lists, and importing the delta into the site
(or refusing to, when the site lacks what the delta relies on) works from the delta alone.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from click.testing import Result

from plugins.local.registry_scraper_local.driver import LocalDriver
from scraper_core import inventory, layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.inventory import INVENTORY_FORMAT
from scraper_core.testing.tree import SyntheticImage, TreeWriter
from tests.support.cli import run_cli, take_inventory
from tests.support.reliability import record
from tests.support.trees import blob_file, local_writer, snapshot, stored_blobs


def writer(root: Path) -> TreeWriter:
    return local_writer(root)


def copy(source: Path, output: Path, *args: str) -> Result:
    return run_cli("--data-dir", str(source), "--output-dir", str(output), *args)


def receipt_of(root: Path) -> dict[str, Any]:
    [path] = (root / "scrape-receipts").iterdir()
    document: dict[str, Any] = json.loads(path.read_bytes())
    return document


@pytest.fixture
def shipped(tmp_path: Path) -> dict[str, SyntheticImage]:
    """The images of a source fully shipped to ``site``, then moved on: a new tag of one
    image sharing its first layer, and a new image."""
    source = writer(tmp_path / "data")
    shared = os.urandom(5000)
    images = {
        "app": source.image("team/app", "v1", layers=[shared, os.urandom(3000)]),
        "db": source.image("db", "v1"),
    }
    result = copy(tmp_path / "data", tmp_path / "site", "team/app:v1", "db:v1")
    assert result.exit_code == 0, result.output
    images["app2"] = source.image("team/app", "v2", layers=[shared, os.urandom(2000)])
    images["new"] = source.image("tools/new", "v1")
    return images


def test_inventory_lists_blobs_repositories_and_tags(
    shipped: dict[str, SyntheticImage],
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    document = take_inventory(site, tmp_path / "site.json")
    assert document["format"] == INVENTORY_FORMAT and document["version"] == 1
    assert {entry["digest"] for entry in document["blobs"]} == stored_blobs(site)
    for entry in document["blobs"]:
        data = blob_file(site, entry["digest"])
        assert entry["size"] == data.stat().st_size
    assert document["repositories"] == [
        {"name": "db", "tags": {"v1": str(shipped["db"].manifest)}},
        {"name": "team/app", "tags": {"v1": str(shipped["app"].manifest)}},
    ]
    # Deterministic: a second inventory is the same bytes.
    again = run_cli("inventory", "--data-dir", str(site))
    assert again.stdout == (tmp_path / "site.json").read_text()


class NoBlobReads(LocalDriver):
    """A local driver that fails any read of blob bytes: an inventory must only list."""

    def get_content(self, path: str) -> bytes:
        assert not path.startswith(layout.BLOBS_ROOT), path
        return super().get_content(path)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        assert not path.startswith(layout.BLOBS_ROOT), path
        return super().reader(path, offset)


def test_inventory_reads_no_blob(
    shipped: dict[str, SyntheticImage],
    tmp_path: Path,
) -> None:
    driver = CheckedDriver(NoBlobReads(tmp_path / "site", read_only=True), read_only=True)
    held = inventory.take_inventory(driver)
    assert set(map(str, held.blobs)) == stored_blobs(tmp_path / "site")
    assert held.errors == []


def test_inventory_of_an_empty_storage(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    document = take_inventory(tmp_path / "empty", tmp_path / "empty.json")
    assert document["blobs"] == [] and document["repositories"] == []


@pytest.fixture
def delta_shipped(shipped: dict[str, SyntheticImage], tmp_path: Path) -> None:
    """After ``shipped``: ``site`` inventoried (site.json), a delta against it in ``delta``."""
    take_inventory(tmp_path / "site", tmp_path / "site.json")
    assert ship_delta(tmp_path).exit_code == 0


def ship_delta(tmp_path: Path, *extra: str) -> Result:
    return copy(
        tmp_path / "data",
        tmp_path / "delta",
        "--have",
        str(tmp_path / "site.json"),
        "team/app:v1",
        "team/app:v2",
        "db:v1",
        "tools/new:v1",
        *extra,
    )


def test_delta_leaves_out_what_the_site_has_and_imports(
    shipped: dict[str, SyntheticImage],
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    have = take_inventory(site, tmp_path / "site.json")
    site_blobs = {entry["digest"] for entry in have["blobs"]}
    preview = ship_delta(tmp_path, "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "delta: would leave out 8 blobs" in preview.stderr
    result = ship_delta(tmp_path)
    assert result.exit_code == 0, result.output
    delta = tmp_path / "delta"
    shipped_blobs = stored_blobs(delta)
    assert shipped_blobs.isdisjoint(site_blobs)
    new = {str(d) for key in ("app2", "new") for d in shipped[key].blobs} - site_blobs
    assert shipped_blobs == new
    receipt = receipt_of(delta)
    assert {entry["digest"] for entry in receipt["relies_on"]} == site_blobs
    assert {entry["digest"] for entry in receipt["blobs"]} == shipped_blobs
    # Links and tags of every requested image are in the delta.
    for image in shipped.values():
        for tag in image.tags:
            link = delta / layout.tag_current_link_path(image.name, tag).lstrip("/")
            assert link.read_text() == str(image.manifest)

    before = snapshot(delta)
    imported = copy(delta, site, "--all-tags", "**")
    assert imported.exit_code == 0, imported.output
    assert snapshot(delta) == before
    assert "4 of 4 images copied" in imported.stderr
    verified = run_cli("verify", "--data-dir", str(site))
    assert verified.exit_code == 0, verified.output
    assert "4 tags in 3 repositories" in verified.stderr
    assert "0 orphan blobs" in verified.stderr


def test_left_out_blobs_are_never_read(
    shipped: dict[str, SyntheticImage],
    tmp_path: Path,
) -> None:
    take_inventory(tmp_path / "site", tmp_path / "site.json")
    # The db layer the site has is corrupted in the source (same size): a delta that read
    # it would fail on its digest.
    layer = shipped["db"].layers[0]
    data = blob_file(tmp_path / "data", layer)
    data.write_bytes(os.urandom(data.stat().st_size))
    result = ship_delta(tmp_path)
    assert result.exit_code == 0, result.output


def test_a_receipt_works_as_have(
    shipped: dict[str, SyntheticImage],
    tmp_path: Path,
) -> None:
    [site_receipt] = (tmp_path / "site" / "scrape-receipts").iterdir()
    shutil.copy(site_receipt, tmp_path / "site.json")
    result = ship_delta(tmp_path)
    assert result.exit_code == 0, result.output
    assert stored_blobs(tmp_path / "delta").isdisjoint(stored_blobs(tmp_path / "site"))
    assert "delta: left out 8 blobs" in result.stderr


def test_a_size_mismatch_is_shipped(
    shipped: dict[str, SyntheticImage],
    tmp_path: Path,
) -> None:
    have = take_inventory(tmp_path / "site", tmp_path / "site.json")
    for entry in have["blobs"]:
        entry["size"] += 1
    (tmp_path / "site.json").write_text(json.dumps(have))
    result = ship_delta(tmp_path)
    assert result.exit_code == 0, result.output
    assert {str(d) for d in shipped["db"].blobs} <= stored_blobs(tmp_path / "delta")


@pytest.mark.parametrize(
    "content", ["", "{}", '{"format": "registry-scraper/inventory", "version": 1}', "[1]"]
)
def test_a_bad_have_file_is_one_line(
    shipped: dict[str, SyntheticImage], tmp_path: Path, content: str
) -> None:
    (tmp_path / "site.json").write_text(content)
    result = ship_delta(tmp_path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "site.json" in result.stderr
    assert not (tmp_path / "delta").exists()
    record("delta-bad-have-file")


@pytest.mark.usefixtures("delta_shipped")
def test_importing_a_delta_where_its_base_is_missing_is_refused(tmp_path: Path) -> None:
    relied = len(receipt_of(tmp_path / "delta")["relies_on"])
    empty = tmp_path / "empty"
    empty.mkdir()
    result = copy(tmp_path / "delta", empty, "--all-tags", "**")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: the source is a delta: {relied} of the {relied} blobs")
    assert f"and {relied - 3} more" in lines[0]
    assert list(empty.iterdir()) == []
    # One blob the site lacks is enough, and named.
    site = tmp_path / "site"
    missing = Digest.parse(receipt_of(tmp_path / "delta")["relies_on"][0]["digest"])
    blob_file(site, missing).unlink()
    before = snapshot(site)
    result = copy(tmp_path / "delta", site, "--all-tags", "**")
    assert result.exit_code == 2
    assert f"1 of the {relied} blobs it relies on are not at the destination: {missing};" in (
        result.stderr
    )
    assert snapshot(site) == before
    dry = copy(tmp_path / "delta", site, "--all-tags", "**", "--dry-run")
    assert dry.exit_code == 2
    record("delta-import-missing-base", runs=3)


def test_a_merged_site_migrates_with_its_receipts(
    shipped: dict[str, SyntheticImage],
    tmp_path: Path,
) -> None:
    """Receipts extracted onto the site rely on blobs the site itself holds: a migration of
    the whole site elsewhere is no delta import and is not refused."""
    site = tmp_path / "site"
    take_inventory(site, tmp_path / "site.json")
    assert ship_delta(tmp_path).exit_code == 0
    shutil.copytree(tmp_path / "delta", site, dirs_exist_ok=True)  # as `tar -x` would
    verified = run_cli("verify", "--data-dir", str(site))
    assert verified.exit_code == 0, verified.output
    result = copy(site, tmp_path / "moved", "--all-tags", "**")
    assert result.exit_code == 0, result.output
    assert stored_blobs(tmp_path / "moved") == stored_blobs(site)


@pytest.mark.usefixtures("delta_shipped")
def test_a_broken_receipt_in_the_source_stops_the_run(tmp_path: Path) -> None:
    [path] = (tmp_path / "delta" / "scrape-receipts").iterdir()
    path.write_text('{"format": "registry-scraper/receipt", "version": 1, "relies_on": "x"}')
    before = snapshot(tmp_path / "site")
    result = copy(tmp_path / "delta", tmp_path / "site", "--all-tags", "**")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and path.name in result.stderr
    assert snapshot(tmp_path / "site") == before
    record("delta-broken-receipt")


@pytest.mark.usefixtures("delta_shipped")
def test_a_relied_on_blob_of_another_size_is_missing(tmp_path: Path) -> None:
    entry = receipt_of(tmp_path / "delta")["relies_on"][0]
    data = blob_file(tmp_path / "site", entry["digest"])
    data.write_bytes(data.read_bytes()[:-1])
    result = copy(tmp_path / "delta", tmp_path / "site", "--all-tags", "**")
    assert result.exit_code == 2
    assert f"not at the destination: {entry['digest']};" in result.stderr
