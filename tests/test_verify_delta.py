"""A delta checked on arrival (issue 19, item 5): ``verify`` of a delta passes on its own, and
``verify --have SITE-INVENTORY`` says whether it completes that site, before any import.

Synthetic trees through the real CLI: a site holds a full shipment, the source moves on, a
delta archive is cut against the site's inventory. test_e2e_delta does it all through
registry 2.8 and skopeo, and serves the site the delta was imported into.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import Result

from scraper_core.verify import SHOWN_SITE_GAPS
from tests.support.cli import run_cli as cli
from tests.support.cli import take_inventory
from tests.support.trees import local_writer

REFS = ("team/app:v1", "team/app:v2", "db:v1", "tools/new:v1")


def site_blobs(inventory: Path) -> dict[str, int]:
    """What the site holds: all of it is what the delta relies on (it re-ships every image)."""
    return {e["digest"]: e["size"] for e in json.loads(inventory.read_bytes())["blobs"]}


@pytest.fixture
def site_and_source(tmp_path: Path) -> Path:
    """``data`` shipped in full to ``site`` (inventory in ``site.json``), then moved on: a new
    tag of one image sharing its first layer, and a new image."""
    source = local_writer(tmp_path / "data")
    shared = os.urandom(5000)
    source.image("team/app", "v1", layers=[shared, os.urandom(3000)])
    source.image("db", "v1")
    full = cli(
        "--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "site"), *REFS[::2]
    )
    assert full.exit_code == 0, full.output
    take_inventory(tmp_path / "site", tmp_path / "site.json")
    source.image("team/app", "v2", layers=[shared, os.urandom(2000)])
    source.image("tools/new", "v1")
    return tmp_path


def cut_delta(tmp_path: Path, *output: str) -> None:
    have = ("--have", str(tmp_path / "site.json"))
    result = cli("--data-dir", str(tmp_path / "data"), *output, *have, *REFS)
    assert result.exit_code == 0, result.output


@pytest.fixture
def delta_tar(site_and_source: Path) -> Path:
    tar = site_and_source / "delta.tar"
    cut_delta(site_and_source, "--output-tar", str(tar))
    return tar


def verify_tar(tar: Path, *args: str) -> Result:
    return cli("verify", "--storage", "tar", "--data-dir", str(tar), *args)


def test_a_delta_archive_verifies_on_its_own(delta_tar: Path) -> None:
    result = verify_tar(delta_tar)
    assert result.exit_code == 0, result.output
    assert "delta: relies on 8 blobs" in result.stderr
    assert "the site must hold" in result.stderr
    assert "0 problems, 0 warnings" in result.stderr
    assert "error" not in result.stderr
    # Only the images asked for: their relied-on blobs are no problem either.
    some = verify_tar(delta_tar, "team/app:v1", "team/app:v2")
    assert some.exit_code == 0, some.output
    as_json = verify_tar(delta_tar, "--json")
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert document["ok"] is True and document["relies_on"]["blobs"] == 8
    assert "site" not in document


def test_a_delta_completes_the_site_it_was_cut_against(delta_tar: Path, tmp_path: Path) -> None:
    result = verify_tar(delta_tar, "--have", str(tmp_path / "site.json"))
    assert result.exit_code == 0, result.output
    assert "delta: completes the site" in result.stderr
    # A receipt of the site's own does as well as its inventory.
    [receipt] = (tmp_path / "site" / "scrape-receipts").iterdir()
    by_receipt = verify_tar(delta_tar, "--have", str(receipt))
    assert by_receipt.exit_code == 0, by_receipt.output


def without(inventory: Path, digests: set[str], resized: frozenset[str] = frozenset()) -> None:
    document = json.loads(inventory.read_text())
    kept = [entry for entry in document["blobs"] if entry["digest"] not in digests]
    for entry in kept:
        if entry["digest"] in resized:
            entry["size"] += 1
    document["blobs"] = kept
    inventory.write_text(json.dumps(document))


def test_a_site_lacking_a_blob_is_named(delta_tar: Path, tmp_path: Path) -> None:
    relied = site_blobs(tmp_path / "site.json")
    first, second = sorted(relied)[:2]
    site = tmp_path / "site.json"
    without(site, {first}, resized=frozenset({second}))
    result = verify_tar(delta_tar, "--have", str(site))
    assert result.exit_code == 1, result.output
    assert f"error: blob {first} ({relied[first]} bytes) the delta relies on is not in " in (
        result.stderr
    )
    assert f"--have {site}" in result.stderr
    size = relied[second]
    assert f"error: blob {second} the delta relies on is {size} bytes, {size + 1} in" in (
        result.stderr
    )
    assert "delta: does not complete the site: it lacks 2 of the 8 blobs" in result.stderr
    # Nothing else is wrong with the delta itself.
    assert "0 problems" in result.stderr


def test_many_gaps_are_counted_past_the_first_few(delta_tar: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.json"
    without(site, set(site_blobs(site)))
    result = verify_tar(delta_tar, "--have", str(site))
    assert result.exit_code == 1, result.output
    named = [line for line in result.stderr.splitlines() if line.startswith("error: blob ")]
    assert len(named) == SHOWN_SITE_GAPS
    assert f"error: and {8 - SHOWN_SITE_GAPS} more blobs the delta relies on" in result.stderr


def test_a_blob_the_delta_holds_missing_is_still_a_problem(
    site_and_source: Path, tmp_path: Path
) -> None:
    delta = tmp_path / "delta"
    cut_delta(tmp_path, "--output-dir", str(delta))
    assert cli("verify", "--data-dir", str(delta)).exit_code == 0
    [receipt] = (delta / "scrape-receipts").iterdir()
    shipped = json.loads(receipt.read_bytes())["blobs"]
    layer = max(shipped, key=lambda entry: entry["size"])["digest"]
    hex_digest = layer.removeprefix("sha256:")
    blob = delta / "docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest / "data"
    blob.unlink()
    result = cli("verify", "--data-dir", str(delta))
    assert result.exit_code == 1, result.output
    assert layer in result.stderr


def test_a_bad_have_file_is_one_line_before_any_read(delta_tar: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    result = verify_tar(delta_tar, "--have", str(bad))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: --have {bad}: neither a scrape inventory nor a receipt"
    ]


def test_a_damaged_receipt_is_a_problem_of_the_storage(
    site_and_source: Path, tmp_path: Path
) -> None:
    delta = tmp_path / "delta"
    cut_delta(tmp_path, "--output-dir", str(delta))
    [receipt] = (delta / "scrape-receipts").iterdir()
    receipt.write_text("{not json")
    result = cli("verify", "--data-dir", str(delta))
    assert result.exit_code == 1, result.output
    assert f"\nerror: /scrape-receipts/{receipt.name}: " in result.stderr
    assert "Traceback" not in result.output
