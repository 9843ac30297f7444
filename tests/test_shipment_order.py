"""Tags never go back: week 1 and week 2 archives imported in turn, then week 1 replayed.

Through the real CLI on trees and archives; the final site is served by registry 2.8."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.cli import main
from scraper_core.digest import Digest
from scraper_core.driver import CheckedDriver
from tests.support.registry import RegistryFactory
from tests.synthetic import TreeWriter

WEEK_1, WEEK_2 = "1700000000", "1700604800"
RECEIPTS = "scrape-receipts"


def whole_tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``, receipts included, with its bytes and mtime."""
    files: dict[str, tuple[bytes, int]] = {}
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            files[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return files


def cli(*args: str, epoch: str | None = None) -> Result:
    env = {"SOURCE_DATE_EPOCH": epoch} if epoch else {"SOURCE_DATE_EPOCH": ""}
    return CliRunner().invoke(main, list(args), env=env)


def ship(data: Path, archive: Path, epoch: str) -> None:
    result = cli("--data-dir", str(data), "--output-tar", str(archive), "--all-tags", "**",
                 epoch=epoch)  # fmt: skip
    assert result.exit_code == 0, result.output


def site_import(archive: Path, site: Path, *extra: str) -> Result:
    return cli("--storage", "tar", "--data-dir", str(archive), "--output-dir", str(site),
               "--all-tags", "**", *extra)  # fmt: skip


def tag_of(site: Path, name: str, tag: str) -> str:
    return (site / layout.tag_current_link_path(name, tag).lstrip("/")).read_text()


def shipment_receipt(archive: Path) -> bytes:
    with tarfile.open(archive) as opened:
        [member] = [m for m in opened.getmembers() if m.name.startswith(f"{RECEIPTS}/")]
        extracted = opened.extractfile(member)
        assert extracted is not None
        return extracted.read()


def newest_receipt(site: Path) -> dict[str, object]:
    paths = sorted((site / RECEIPTS).iterdir(), key=lambda path: path.stat().st_mtime_ns)
    document: dict[str, object] = json.loads(paths[-1].read_bytes())
    return document


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    return root


def test_week_1_replayed_is_refused_unless_allowed(
    tmp_path: Path, data: Path, filesystem_registry: RegistryFactory
) -> None:
    source = TreeWriter(CheckedDriver(LocalDriver(data, read_only=False), read_only=False))
    moving = source.image("team/app", "latest")
    source.image("team/app", "stable")
    doomed = source.image("team/app", "old")
    ship(data, tmp_path / "week1.tar", WEEK_1)
    # Week 2: latest moves, old is deleted, new appears.
    moved = source.image("team/app", "latest")
    fresh = source.image("team/app", "new")
    shutil.rmtree(data / layout.tag_path("team/app", "old").lstrip("/"))
    ship(data, tmp_path / "week2.tar", WEEK_2)

    site = tmp_path / "site"
    for week in ("week1.tar", "week2.tar"):
        result = site_import(tmp_path / week, site)
        assert result.exit_code == 0, result.output
    assert tag_of(site, "team/app", "latest") == str(moved.manifest)
    assert tag_of(site, "team/app", "new") == str(fresh.manifest)

    # Week 1 again: latest would go back. Refused before any write, naming it.
    before = whole_tree(site)
    replay = site_import(tmp_path / "week1.tar", site)
    assert replay.exit_code == 2, replay.output
    assert "team/app:latest" in replay.stderr and "--allow-older" in replay.stderr
    assert "team/app:stable" not in replay.stderr and "Traceback" not in replay.output
    assert whole_tree(site) == before
    # The same under --dry-run.
    assert site_import(tmp_path / "week1.tar", site, "--dry-run").exit_code == 2

    allowed = site_import(tmp_path / "week1.tar", site, "--allow-older")
    assert allowed.exit_code == 0, allowed.output
    assert tag_of(site, "team/app", "latest") == str(moving.manifest)
    assert tag_of(site, "team/app", "old") == str(doomed.manifest)
    receipt = newest_receipt(site)
    week1 = shipment_receipt(tmp_path / "week1.tar")
    assert receipt["imported_from"] == {
        "receipt": "sha256:" + hashlib.sha256(week1).hexdigest(),
        "source": json.loads(week1)["shipment"]["source"],
        "read_at": "2023-11-14T22:13:20Z",
    }

    # Week 2 again moves latest forward (no refusal: it is the later read).
    forward = site_import(tmp_path / "week2.tar", site)
    assert forward.exit_code == 0, forward.output
    assert tag_of(site, "team/app", "latest") == str(moved.manifest)
    # Re-importing the same shipment changes nothing and writes no receipt.
    settled = whole_tree(site)
    again = site_import(tmp_path / "week2.tar", site)
    assert again.exit_code == 0, again.output
    assert whole_tree(site) == settled

    server = filesystem_registry(site)
    for tag, image in (("latest", moved), ("new", fresh)):
        status, _headers, body = server.get_manifest("team/app", tag)
        assert (status, Digest.of(body)) == (200, image.manifest), tag
    assert server.get_manifest("team/app", "stable")[0] == 200


def test_shipments_record_their_source_hashed_and_the_read_time(tmp_path: Path, data: Path) -> None:
    source = TreeWriter(CheckedDriver(LocalDriver(data, read_only=False), read_only=False))
    source.image("app", "v1")
    ship(data, tmp_path / "one.tar", WEEK_1)
    document = json.loads(shipment_receipt(tmp_path / "one.tar"))
    shipment = document["shipment"]
    assert shipment["read_at"] == "2023-11-14T22:13:20Z"
    assert shipment["source"].startswith("sha256:") and str(data) not in json.dumps(shipment)
    assert "imported_from" not in document
