"""The delta flow in one pass: receipts read once, plans trimmed once, and the check that tags
never go back reading the newest receipts, not the site's history.

Reads are counted on the real local driver (a subclass, or its class patched for one CLI run).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry_scraper_local.driver import LocalDriver
from scraper_core import bloblist, layout, run, scrape
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.have import load_have_paths
from scraper_core.plan import ImagePlan
from scraper_core.receipt import RECEIPT_FORMAT, RECEIPT_VERSION, SourceRead
from scraper_core.reference import parse_reference
from scraper_core.shipment import tags_going_back
from tests.support.cli import scrape_ok
from tests.support.drivers import LocalDouble
from tests.support.trees import local_writer

SOURCE = "sha256:" + "5" * 64
WEEKS = 30


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def read_at(week: int) -> str:
    return f"2024-01-{week:02d}T00:00:00Z"


def receipt_document(week: int, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "format": RECEIPT_FORMAT,
        "version": RECEIPT_VERSION,
        "images": [{"reference": tag, "digest": found} for tag, found in tags.items()],
        "blobs": [],
        "relies_on": [],
        "shipment": {"source": SOURCE, "read_at": read_at(week), "scope": []},
    }


def write_receipt(site: Path, stamp: str, token: str, document: dict[str, Any]) -> None:
    path = site / layout.receipt_path(f"{stamp}-{token}.json").lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))


def set_tag(site: Path, tag: str, found: str) -> None:
    name, _, short = tag.rpartition(":")
    path = site / layout.tag_current_link_path(name, short).lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(found)


class CountingReads(LocalDouble):
    """The local driver, counting each receipt it reads whole."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.receipts_read: list[str] = []

    def get_content(self, path: str) -> bytes:
        if layout.receipt_name_of(path) is not None:
            self.receipts_read.append(path)
        content: bytes = self.inner.get_content(path)
        return content


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site that imported a read of one source every week: ``team/app:latest`` moved each
    week, and other repositories came and went."""
    root = tmp_path / "site"
    for week in range(1, WEEKS + 1):
        tags = {"team/app:latest": digest(week), f"team/old{week}:v1": digest(1000 + week)}
        write_receipt(root, f"202401{week:02d}T120000Z", "0000abcd", receipt_document(week, tags))
    set_tag(root, "team/app:latest", digest(WEEKS))
    return root


def going_back(site: Path, week: int, plans: dict[str, str]) -> tuple[list[str], list[str]]:
    """What a run carrying ``week``'s read of the source would move back, and the receipts
    that took to find it."""
    driver = CountingReads(site)
    planned = [ImagePlan(parse_reference(tag), Digest.parse(found)) for tag, found in plans.items()]
    found = tags_going_back(
        CheckedDriver(driver, read_only=True), SourceRead(SOURCE, read_at(week)), planned
    )
    return found, driver.receipts_read


def test_an_older_read_is_refused_from_the_newest_receipt_alone(site: Path) -> None:
    found, read = going_back(site, WEEKS - 1, {"team/app:latest": digest(WEEKS - 1)})
    assert found == ["team/app:latest"]
    assert [path.rsplit("/", 1)[1][:8] for path in read] == [f"202401{WEEKS}"]


def test_a_later_read_moves_the_tag_after_one_receipt(site: Path) -> None:
    found, read = going_back(site, WEEKS + 1, {"team/app:latest": digest(WEEKS + 1)})
    assert found == [] and len(read) == 1


def test_a_tag_new_at_the_site_does_not_send_the_check_through_every_receipt(
    site: Path,
) -> None:
    plans = {"team/app:latest": digest(WEEKS + 1), "team/new:v1": digest(7)}
    found, read = going_back(site, WEEKS + 1, plans)
    assert found == [] and len(read) == 1


def test_receipts_of_one_second_are_read_as_one(site: Path) -> None:
    # SOURCE_DATE_EPOCH names every run's receipt with the same second: their order is not
    # known, so any later read among them settles the tag.
    stamp = f"202401{WEEKS + 1}T120000Z"
    later = receipt_document(WEEKS + 5, {"team/app:latest": digest(99)})
    earlier = receipt_document(2, {"team/app:latest": digest(99)})
    write_receipt(site, stamp, "00000001", later)
    write_receipt(site, stamp, "ffffffff", earlier)
    set_tag(site, "team/app:latest", digest(99))
    found, read = going_back(site, WEEKS + 2, {"team/app:latest": digest(WEEKS + 2)})
    assert found == ["team/app:latest"] and len(read) == 2


def count_calls(
    monkeypatch: pytest.MonkeyPatch, owner: object, attribute: str
) -> list[tuple[Any, ...]]:
    """Every call of ``owner.attribute`` from now on (arguments recorded), still made."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(owner, attribute, _recording(getattr(owner, attribute), calls))
    return calls


@pytest.fixture
def shipment(tmp_path: Path) -> Iterator[Path]:
    """A tree holding one image and the receipt of the run that wrote it."""
    data = tmp_path / "data"
    local_writer(data).image("team/app", "v1")
    scrape_ok("--data-dir", str(data), "--output-dir", str(tmp_path / "shipment"), "team/app:v1")
    yield tmp_path / "shipment"


def test_a_copy_reads_each_receipt_of_its_source_once(
    shipment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch, LocalDriver, "get_content")
    scrape_ok("--data-dir", str(shipment), "--output-dir", str(tmp_path / "site"), "team/app:v1")
    read = [args[1] for args in calls if layout.receipt_name_of(args[1]) is not None]
    assert len(read) == 1, read


def test_a_delta_copy_trims_its_plans_once(
    shipment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    have = tmp_path / "have.json"
    have.write_text(scrape_ok("inventory", "--data-dir", str(shipment)).stdout)
    trims: list[tuple[Any, ...]] = []
    # Wherever the copy takes leave_out from, each call lands in one list.
    for module in (scrape, run):
        if hasattr(module, "leave_out"):
            monkeypatch.setattr(module, "leave_out", _recording(module.leave_out, trims))
    scrape_ok("--data-dir", str(shipment), "--output-dir", str(tmp_path / "delta"),
              "--have", str(have), "team/app:v1")  # fmt: skip
    assert len(trims) == 1


def _recording(original: Callable[..., Any], calls: list[tuple[Any, ...]]) -> Callable[..., Any]:
    def recorded(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    return recorded


def test_a_have_receipt_is_decoded_once(
    shipment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [receipt] = (shipment / layout.RECEIPTS_ROOT.lstrip("/")).iterdir()
    calls = count_calls(monkeypatch, bloblist, "decode_utf8")
    held = load_have_paths([str(receipt)])
    assert len(held) > 0 and len(calls) == 1
