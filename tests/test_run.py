"""The copy use case without the command line: a request in, an outcome out; and the command
line kept to parsing and rendering."""

from __future__ import annotations

import ast
import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from registry_scraper_local.driver import LocalDriver
from scraper_core import run as run_module
from scraper_core.checked import CheckedDriver
from scraper_core.errors import ConfigurationError, DestinationUnusableError
from scraper_core.plan import BlobCopy
from scraper_core.run import (
    CopyRequest,
    CopyRun,
    OutputOverlapsSourceError,
    SourceRequest,
    StorageRequest,
)
from scraper_core.transfer import BlobOutcome, ImageResult, Transfer
from tests.support.trees import local_writer

CLI = Path(__file__).resolve().parents[1] / "scraper_core" / "cli.py"
ENGINE = {"plan", "transfer", "selection", "inventory", "scrape", "verify", "layout"}


def test_the_cli_imports_no_engine_module() -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(CLI.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    core = {name.removeprefix("scraper_core.") for name in imported if "scraper_core" in name}
    assert core, imported
    assert not core & ENGINE, core & ENGINE


class Recorder:
    """Hears what a run says, as the report module would."""

    def __init__(self) -> None:
        self.totals: list[int] = []
        self.images: list[ImageResult] = []
        self.entries: list[tuple[str, str]] = []
        self.warnings: list[str] = []
        self.unusable: list[DestinationUnusableError] = []

    def bytes_done(self, size: int) -> None:
        pass

    def blob_done(self, blob: BlobCopy, outcome: BlobOutcome) -> None:
        pass

    def image_done(self, result: ImageResult) -> None:
        self.images.append(result)

    def entry_failed(self, entry: str, message: str) -> None:
        self.entries.append((entry, message))

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def destination_unusable(self, error: DestinationUnusableError) -> None:
        self.unusable.append(error)

    def progress(self, total_bytes: int) -> AbstractContextManager[Any]:
        self.totals.append(total_bytes)
        return nullcontext()

    def finish_progress(self) -> None:
        pass


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Three images, two sharing a layer (and one of them tagged twice)."""
    root = tmp_path / "data"
    writer = local_writer(root)
    shared = os.urandom(5000)
    writer.image("a", "v1", layers=[shared, os.urandom(700)])
    image = writer.image("b", "v1", layers=[shared, os.urandom(900)])
    writer.tag("b", "v2", image.manifest)
    writer.image("c", "v1", layer_sizes=(300,))
    return root


def request(source: Path, output: Path, *entries: str, **options: Any) -> CopyRequest:
    return CopyRequest(
        source=SourceRequest("local", str(source)),
        destination=StorageRequest("local", str(output)),
        entries=entries,
        **options,
    )


def run_copy(copy_request: CopyRequest) -> tuple[run_module.CopyOutcome, Recorder]:
    events = Recorder()
    copy_run = CopyRun(copy_request)
    copy_run.open()
    return copy_run.execute(events), events


def test_a_shared_blob_counts_once_in_preview_copy_and_progress(
    source: Path, tmp_path: Path
) -> None:
    entries = ("a:v1", "b:v1", "b:v2", "c:v1", "zz*:v1")
    output = tmp_path / "copy"
    preview, _ = run_copy(request(source, output, *entries, dry_run=True))
    copied, events = run_copy(request(source, output, *entries))
    stored = sum(path.stat().st_size for path in (source / "docker").rglob("data"))
    on_disk = sum(path.stat().st_size for path in (output / "docker").rglob("data"))
    assert stored == on_disk
    for outcome in (preview, copied):
        assert sum(result.bytes_copied for result in outcome.results) == stored
        assert [str(result.reference) for result in outcome.results] == list(entries[:4])
        assert outcome.unresolved and outcome.unresolved[0][0] == "zz*:v1"
        assert not outcome.ok
    assert events.totals == [stored]
    assert events.entries == copied.unresolved
    # b:v2 is b:v1 again: all present by then, in the preview as in the copy.
    assert [r.blobs_copied for r in preview.results] == [r.blobs_copied for r in copied.results]
    assert copied.results[2].blobs_copied == 0


def test_a_dry_run_into_nothing_yet_writes_nothing(source: Path, tmp_path: Path) -> None:
    output = tmp_path / "not-yet"
    outcome, events = run_copy(request(source, output, "a:v1", dry_run=True))
    assert outcome.ok and outcome.results[0].blobs_copied == 4
    assert events.images == outcome.results and not events.totals
    assert not output.exists()


def test_a_dry_run_refuses_bad_destination_options(source: Path, tmp_path: Path) -> None:
    bad = CopyRequest(
        source=SourceRequest("local", str(source)),
        destination=StorageRequest("local", str(tmp_path / "not-yet"), {"bogus": "1"}),
        entries=("a:v1",),
        dry_run=True,
    )
    with pytest.raises(ConfigurationError, match="bogus"):
        CopyRun(bad).open()


def test_an_output_inside_the_source_is_refused_unopened(source: Path) -> None:
    inside = source / "docker" / "copy"
    with pytest.raises(OutputOverlapsSourceError) as caught:
        CopyRun(request(source, inside, "a:v1")).open()
    assert caught.value.reason and caught.value.location == str(inside)
    assert not inside.exists()
    with pytest.raises(OutputOverlapsSourceError) as same:
        CopyRun(request(source, source / ".", "a:v1")).open()
    assert same.value.reason is None


def test_an_interrupt_discards_the_staging_before_it_leaves(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(Transfer, "write_link", interrupted)
    output = tmp_path / "copy"
    copy_run = CopyRun(request(source, output, "a:v1"))
    copy_run.open()
    with pytest.raises(KeyboardInterrupt):
        copy_run.execute(Recorder())
    assert copy_run.cleanup_problem is None
    assert not [path for path in output.rglob("*") if ".scrape-tmp" in path.name]
    assert not list(output.rglob("link"))


def test_an_archive_is_a_destination_like_any_other(source: Path, tmp_path: Path) -> None:
    archive = tmp_path / "ship.tar"
    copy_request = CopyRequest(
        source=SourceRequest("local", str(source)),
        destination=StorageRequest("tar", str(archive)),
        entries=("a:v1", "b:v1"),
    )
    outcome, events = run_copy(copy_request)
    assert outcome.ok and not outcome.output_missing and archive.is_file()
    stored = sum(r.bytes_copied for r in outcome.results)
    # Read once and archived once: the archive driver reports the second half.
    assert events.totals == [2 * stored]


def test_an_archive_no_image_made_it_into_is_not_published(source: Path, tmp_path: Path) -> None:
    archive = tmp_path / "ship.tar"
    copy_request = CopyRequest(
        source=SourceRequest("local", str(source)),
        destination=StorageRequest("tar", str(archive)),
        entries=("missing:v1",),
    )
    outcome, _ = run_copy(copy_request)
    assert outcome.output_missing and not outcome.ok
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_a_delta_counts_only_what_it_ships(source: Path, tmp_path: Path) -> None:
    from scraper_core.inventory import take_inventory

    first = tmp_path / "first"
    run_copy(request(source, first, "a:v1"))
    held = take_inventory(CheckedDriver(LocalDriver(first, read_only=True), read_only=True))
    have = tmp_path / "have.json"
    have.write_text(held.to_json())
    with have.open("rb") as stream:
        outcome, events = run_copy(request(source, tmp_path / "delta", "b:v1", have=[stream]))
    assert outcome.ok and outcome.relied_on
    shipped = sum(result.bytes_copied for result in outcome.results)
    assert events.totals == [shipped]
    assert shipped + sum(outcome.relied_on.values()) > shipped
