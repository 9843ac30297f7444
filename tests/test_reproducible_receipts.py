"""Reproducible receipts (issue 18, item 4): with ``SOURCE_DATE_EPOCH`` set, the same content
and command give the same receipt, name and bytes; a bad value is a one-line error, exit 2,
before anything is copied."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.errors import ConfigurationError
from scraper_core.plan import Planner
from scraper_core.receipt import SOURCE_DATE_EPOCH, RunRecord, fixed_time, write_receipt
from scraper_core.reference import parse_reference
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import run_cli
from tests.support.trees import local_writer

EPOCH = 1764468816  # 2025-11-30T02:13:36Z


def source(root: Path) -> TreeWriter:
    writer = local_writer(root)
    writer.image("app", "v1")
    return writer


def receipt_files(root: Path) -> dict[str, bytes]:
    folder = root / layout.RECEIPTS_ROOT.lstrip("/")
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_same_content_gives_the_same_receipt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = source(tmp_path / "data")
    plan = Planner(writer.driver).plan(parse_reference("app:v1"))
    record = RunRecord("local", "/data", [plan])
    monkeypatch.setenv(SOURCE_DATE_EPOCH, str(EPOCH))
    written = []
    for now in (datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 6, 2, 3, 4, 5, tzinfo=UTC)):
        dest = CheckedDriver(MemoryDriver(), read_only=False)
        path = write_receipt(dest, record.document(now), now)
        written.append((path, dest.get_content(path)))

    (path, content), other = written
    assert other == (path, content)
    token = hashlib.sha256(content).hexdigest()[:8]
    assert path == layout.receipt_path(f"20251130T021336Z-{token}.json")
    assert b'"created": "2025-11-30T02:13:36Z"' in content


def test_without_it_the_clock_and_a_random_token_name_the_receipt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SOURCE_DATE_EPOCH, raising=False)
    writer = source(tmp_path / "data")
    record = RunRecord("local", "/data", [Planner(writer.driver).plan(parse_reference("app:v1"))])
    now = datetime(2030, 1, 1, tzinfo=UTC)
    document = record.document(now)
    assert document["created"] == "2030-01-01T00:00:00Z"
    dest = CheckedDriver(MemoryDriver(), read_only=False)
    assert write_receipt(dest, document, now) != write_receipt(dest, document, now)


@pytest.mark.parametrize(
    "value", ["soon", "1.5", "-1", " 1", "1_000", "١٢", "9" * 13, "253402300800", "9" * 5000]
)
def test_a_value_that_is_no_time_is_refused_by_name(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SOURCE_DATE_EPOCH, value)
    with pytest.raises(ConfigurationError, match=f"^{SOURCE_DATE_EPOCH}=") as caught:
        fixed_time()
    assert len(str(caught.value)) < 120


def test_empty_means_unset_and_the_range_ends_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOURCE_DATE_EPOCH, "")
    assert fixed_time() is None
    monkeypatch.setenv(SOURCE_DATE_EPOCH, "0")
    assert fixed_time() == datetime(1970, 1, 1, tzinfo=UTC)
    monkeypatch.setenv(SOURCE_DATE_EPOCH, "253402300799")
    assert fixed_time() == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def scrape(tmp_path: Path, output: str, epoch: str) -> Result:
    args = ["--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / output), "app:v1"]
    return run_cli(*args, env={SOURCE_DATE_EPOCH: epoch})


def test_two_runs_write_the_same_receipt_and_a_bad_value_stops_the_run(tmp_path: Path) -> None:
    source(tmp_path / "data")
    first = scrape(tmp_path, "one", str(EPOCH))
    second = scrape(tmp_path, "two", str(EPOCH))
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    receipts = receipt_files(tmp_path / "one")
    assert len(receipts) == 1 and receipt_files(tmp_path / "two") == receipts

    bad = scrape(tmp_path, "three", "yesterday")
    assert bad.exit_code == 2
    assert bad.output.strip() == (
        f"error: {SOURCE_DATE_EPOCH}='yesterday': expected seconds since 1970 (0 to 253402300799)"
    )
    assert not (tmp_path / "three").exists()
