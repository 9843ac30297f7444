"""Quiet reruns: a run that copies nothing and changes no link writes nothing, receipt
included; a run that writes anything, or an archive (always written anew), keeps its receipt."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
from click.testing import Result

from scraper_core.testing.tree import TreeWriter
from tests.support.cli import run_cli
from tests.support.trees import local_writer, snapshot

RECEIPTS = "scrape-receipts"


def receipts(root: Path) -> list[str]:
    return sorted(os.listdir(root / RECEIPTS))


@pytest.fixture
def source(tmp_path: Path) -> TreeWriter:
    return local_writer(tmp_path / "data")


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real clock: with a fixed time, two receipts could share a name and hide a write.
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def scrape(tmp_path: Path, *args: str) -> Result:
    return run_cli("--storage", "local", "--data-dir", str(tmp_path / "data"), *args)


def test_rerun_leaves_every_file_and_mtime_receipts_included(
    tmp_path: Path, source: TreeWriter
) -> None:
    source.image("app", "v1")
    source.image("team/web", "1.0")
    copy = str(tmp_path / "copy")
    first = scrape(tmp_path, "--output-dir", copy, "--all-tags", "**")
    assert first.exit_code == 0, first.output
    before = snapshot(tmp_path / "copy", own_too=True)
    assert len(receipts(tmp_path / "copy")) == 1
    again = scrape(tmp_path, "--output-dir", copy, "--all-tags", "**")
    assert again.exit_code == 0, again.output
    assert "0 blobs copied" in again.stdout
    assert snapshot(tmp_path / "copy", own_too=True) == before


def test_a_moved_tag_alone_is_a_change_and_leaves_a_receipt(
    tmp_path: Path, source: TreeWriter
) -> None:
    source.image("app", "v1")
    newer = source.image("app", None)
    copy = str(tmp_path / "copy")
    assert scrape(tmp_path, "--output-dir", copy, "app:v1").exit_code == 0
    assert scrape(tmp_path, "--output-dir", copy, f"app@{newer.manifest}").exit_code == 0
    assert len(receipts(tmp_path / "copy")) == 2
    # Every blob is there already: only the tag's links change.
    source.tag("app", "v1", newer.manifest)
    moved = scrape(tmp_path, "--output-dir", copy, "app:v1")
    assert moved.exit_code == 0, moved.output
    assert "0 blobs copied" in moved.stdout
    assert len(receipts(tmp_path / "copy")) == 3


def test_a_missing_link_rewritten_is_a_change(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app", "v1")
    copy = tmp_path / "copy"
    assert scrape(tmp_path, "--output-dir", str(copy), "app:v1").exit_code == 0
    tag_link = copy / "docker/registry/v2/repositories/app/_manifests/tags/v1/current/link"
    tag_link.unlink()
    again = scrape(tmp_path, "--output-dir", str(copy), "app:v1")
    assert again.exit_code == 0, again.output
    assert tag_link.is_file()
    assert len(receipts(copy)) == 2


def test_an_archive_of_nothing_new_keeps_its_receipt(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app", "v1")
    for name in ("one.tar", "two.tar"):
        result = scrape(tmp_path, "--output-tar", str(tmp_path / name), "app:v1")
        assert result.exit_code == 0, result.output
        with tarfile.open(tmp_path / name) as archive:
            names = archive.getnames()
        assert sum(1 for member in names if member.startswith(f"{RECEIPTS}/")) == 1
