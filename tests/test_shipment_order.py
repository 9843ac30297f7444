"""Tags never go back: week 1 and week 2 archives imported in turn, then week 1 replayed.

Through the real CLI on trees and archives; the final site is served by registry 2.8."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import Result

from scraper_core import layout
from scraper_core.digest import Digest
from tests.support.cli import run_cli
from tests.support.registry import RegistryFactory
from tests.support.trees import local_writer, snapshot

WEEK_1, WEEK_2 = "1700000000", "1700604800"
RECEIPTS = "scrape-receipts"


def cli(*args: str, epoch: str | None = None) -> Result:
    env = {"SOURCE_DATE_EPOCH": epoch} if epoch else {"SOURCE_DATE_EPOCH": ""}
    return run_cli(*args, env=env)


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
    source = local_writer(data)
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
    first = site_import(tmp_path / "week1.tar", site)
    assert first.exit_code == 0, first.output
    assert "no longer at the source" not in first.output
    second = site_import(tmp_path / "week2.tar", site)
    assert second.exit_code == 0, second.output
    assert (
        "warning: 1 tags at the destination are no longer at the source: team/app:old "
        "(--prune removes them)"
    ) in second.stderr
    assert tag_of(site, "team/app", "old") == str(doomed.manifest)
    assert tag_of(site, "team/app", "latest") == str(moved.manifest)
    assert tag_of(site, "team/app", "new") == str(fresh.manifest)

    # Week 1 again: latest would go back. Refused before any write, naming it.
    before = snapshot(site, own_too=True)
    replay = site_import(tmp_path / "week1.tar", site)
    assert replay.exit_code == 2, replay.output
    assert "team/app:latest" in replay.stderr and "--allow-older" in replay.stderr
    assert "team/app:stable" not in replay.stderr and "Traceback" not in replay.output
    assert snapshot(site, own_too=True) == before
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
    # The deleted tag: listed under --dry-run, removed by --prune (its links only).
    unpruned = snapshot(site, own_too=True)
    preview = site_import(tmp_path / "week2.tar", site, "--prune", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "--prune would remove 1 tags no longer at the source: team/app:old" in preview.stdout
    assert snapshot(site, own_too=True) == unpruned
    receipts_before = len(list((site / RECEIPTS).iterdir()))
    pruned = site_import(tmp_path / "week2.tar", site, "--prune")
    assert pruned.exit_code == 0, pruned.output
    # Removing tags is a change: the run leaves its receipt.
    assert len(list((site / RECEIPTS).iterdir())) == receipts_before + 1
    assert "removed 1 tags no longer at the source: team/app:old" in pruned.stdout
    assert not (site / layout.tag_path("team/app", "old").lstrip("/")).exists()
    assert (site / layout.blob_data_path(doomed.manifest).lstrip("/")).is_file()
    # Re-importing the same shipment changes nothing and writes no receipt.
    settled = snapshot(site, own_too=True)
    again = site_import(tmp_path / "week2.tar", site, "--prune")
    assert again.exit_code == 0, again.output
    assert "no longer at the source" not in again.output
    assert snapshot(site, own_too=True) == settled

    server = filesystem_registry(site)
    assert server.get_manifest("team/app", "old")[0] == 404
    assert server.tags("team/app") == ["latest", "new", "stable"]
    for tag, image in (("latest", moved), ("new", fresh)):
        status, _headers, body = server.get_manifest("team/app", tag)
        assert (status, Digest.of(body)) == (200, image.manifest), tag
    assert server.get_manifest("team/app", "stable")[0] == 200


def test_shipments_record_their_source_hashed_and_the_read_time(tmp_path: Path, data: Path) -> None:
    source = local_writer(data)
    source.image("app", "v1")
    ship(data, tmp_path / "one.tar", WEEK_1)
    document = json.loads(shipment_receipt(tmp_path / "one.tar"))
    shipment = document["shipment"]
    assert shipment["read_at"] == "2023-11-14T22:13:20Z"
    assert shipment["source"].startswith("sha256:") and str(data) not in json.dumps(shipment)
    assert "imported_from" not in document


def test_a_one_image_shipment_never_prunes_anything_else(tmp_path: Path, data: Path) -> None:
    source = local_writer(data)
    source.image("team/app", "v1")
    source.image("team/app", "v2")
    ship(data, tmp_path / "all.tar", WEEK_1)
    shutil.rmtree(data / layout.tag_path("team/app", "v2").lstrip("/"))
    one = cli("--data-dir", str(data), "--output-tar", str(tmp_path / "one.tar"), "team/app:v1",
              epoch=WEEK_2)  # fmt: skip
    assert one.exit_code == 0, one.output
    site = tmp_path / "site"
    assert site_import(tmp_path / "all.tar", site).exit_code == 0
    result = site_import(tmp_path / "one.tar", site, "--prune")
    assert result.exit_code == 0, result.output
    assert "no longer at the source" not in result.output and "removed" not in result.output
    assert tag_of(site, "team/app", "v2")


def test_a_copy_of_whole_repositories_reports_and_prunes_deleted_tags(
    tmp_path: Path, data: Path
) -> None:
    source = local_writer(data)
    source.image("app", "v1")
    source.image("app", "v2")
    site = str(tmp_path / "site")
    copy = ("--data-dir", str(data), "--output-dir", site)
    assert cli(*copy, "--all-tags", "app").exit_code == 0
    shutil.rmtree(data / layout.tag_path("app", "v2").lstrip("/"))
    # One image asked for: the run stands for no whole repository.
    assert "no longer" not in cli(*copy, "app:v1", "--prune").output
    reported = cli(*copy, "--all-tags", "app")
    assert "1 tags at the destination are no longer at the source: app:v2" in reported.stderr
    pruned = cli(*copy, "--all-tags", "app", "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert not (tmp_path / "site" / layout.tag_path("app", "v2").lstrip("/")).exists()
