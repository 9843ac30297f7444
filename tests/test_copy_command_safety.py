"""The copy command's guards: the source never written, one line for anything, Ctrl-C anywhere.

Fast checks through the real CLI (CliRunner): an output the destination driver says overlaps
the source is refused before the destination is opened; a dry run refuses bad destination
options as a real run does; an interrupt while opening, listing or planning is exit 130 in
one line; an unexpected exception is one line, its traceback only with --debug.
"""

from __future__ import annotations

import errno
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import Result

from scraper_core import plugins, selection
from scraper_core.bucket.options import flag, option, parse_options
from scraper_core.checked import CheckedDriver
from scraper_core.errors import LocationNotFoundError
from scraper_core.plugins import DriverInfo, DriverRegistry, PluginInfo
from scraper_core.scrape import Scrape
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.tree import TreeWriter
from scraper_core.transfer import Transfer
from tests.support.cli import run_cli
from tests.support.reliability import record
from tests.support.trees import local_writer, snapshot


class OverlapAwareDriver(MemoryDriver):
    """A memory driver whose class says when an output lies inside another store."""

    name: ClassVar[str] = "overlap-aware"
    opened: ClassVar[list[tuple[str, bool]]] = []
    seen_other: ClassVar[list[object]] = []

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> MemoryDriver:
        cls.opened.append((location, read_only))
        return super().open(location, options, read_only=read_only)

    @classmethod
    def overlaps(cls, location: str, other: object) -> str | None:
        cls.seen_other.append(other)
        assert isinstance(other, MemoryDriver)
        root = other.store.location
        if location == root or location.startswith(root + "/"):
            return f"lies inside the source {root}"
        if root.startswith(location + "/"):
            return f"holds the source {root}"
        if location.endswith("/unknowable"):
            raise RuntimeError("the backend would not say")
        return None


class PlainMemoryDriver(MemoryDriver):
    """No ``overlaps``: only the spelling check guards it."""

    name: ClassVar[str] = "plain-memory"


@dataclass(frozen=True)
class FsyncOptions:
    fsync: bool = option(flag, False)


class NewLocationDriver(MemoryDriver):
    """Says LocationNotFoundError, after checking its options, for a store not made yet."""

    name: ClassVar[str] = "new-location"

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> MemoryDriver:
        parse_options(cls.name, FsyncOptions, options)
        if read_only and location not in cls._named_stores:
            raise LocationNotFoundError(f"{cls.name}: nothing at {location} yet")
        return super().open(location, {}, read_only=read_only)


BIG_LAYER = 50_000


class FillingDriver(MemoryDriver):
    """Takes small files at once; a big one fills the disk, a second later (by then the small
    image beside it is complete)."""

    name: ClassVar[str] = "filling"

    def put_content(self, path: str, data: bytes) -> None:
        if len(data) >= BIG_LAYER:
            time.sleep(1.0)
            raise OSError(errno.ENOSPC, "No space left on device")
        super().put_content(path, data)


class FillingArchive(FillingDriver):
    """The same, standing in for ``--output-tar``: written anew as a whole, as the tar
    driver declares with ``check_output``."""

    name: ClassVar[str] = "tar"

    @classmethod
    def check_output(cls, location: str, options: Mapping[str, str]) -> None:
        pass


FAKE_DRIVERS: dict[str, type[MemoryDriver]] = {
    driver.name: driver
    for driver in (
        OverlapAwareDriver,
        PlainMemoryDriver,
        NewLocationDriver,
        FillingDriver,
        FillingArchive,
    )
}


class FakeRegistry(DriverRegistry):
    """The installed drivers plus the fakes above."""

    def __init__(self) -> None:
        super().__init__()

    def driver(self, name: str) -> DriverInfo:
        fake = FAKE_DRIVERS.get(name)
        if fake is None:
            return super().driver(name)
        return DriverInfo(name, "", PluginInfo(name, "tests", "tests", "0"), fake)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI imports the registry when a command runs (a fast --help): patch it at home.
    monkeypatch.setattr(plugins, "DriverRegistry", FakeRegistry)
    OverlapAwareDriver.opened.clear()
    OverlapAwareDriver.seen_other.clear()


def memory_source(location: str) -> None:
    store = MemoryDriver.open(location, {}, read_only=False)
    TreeWriter(CheckedDriver(store, read_only=False)).image("app", "v1")


def copy(storage: str, source: str, output: str, *args: str) -> Result:
    command = ["--storage", storage, "--data-dir", source, "--output-storage", storage]
    return run_cli(*command, "--output-dir", output, *args, "app:v1")


def one_error_line(result: Result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("where", ["inside", "holds"])
def test_an_overlapping_output_is_refused_before_it_is_opened(
    fakes: None, tmp_path: Path, where: str
) -> None:
    source = f"{tmp_path}/registry/src"
    memory_source(source)
    output = {"inside": f"{source}/copy", "holds": f"{tmp_path}/registry"}[where]
    result = copy("overlap-aware", source, output)
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert line.startswith(f"error: --output-dir {output}: ")
    assert line.endswith("; the source is never written")
    # Asked with the opened, unwrapped source driver; the output was never opened.
    assert isinstance(OverlapAwareDriver.seen_other[-1], MemoryDriver)
    assert (output, False) not in OverlapAwareDriver.opened
    record("output-overlaps-source")


def test_an_output_beside_the_source_is_copied(fakes: None, tmp_path: Path) -> None:
    source = f"{tmp_path}/src"
    memory_source(source)
    result = copy("overlap-aware", source, f"{tmp_path}/src-copy")
    assert result.exit_code == 0, result.output
    assert (f"{tmp_path}/src-copy", False) in OverlapAwareDriver.opened


def test_an_overlap_that_cannot_be_checked_is_refused(fakes: None, tmp_path: Path) -> None:
    source = f"{tmp_path}/src"
    memory_source(source)
    result = copy("overlap-aware", source, f"{tmp_path}/unknowable")
    assert result.exit_code == 2
    assert "cannot tell whether it overlaps the source" in one_error_line(result)


def test_drivers_without_overlaps_keep_the_spelling_check(fakes: None, tmp_path: Path) -> None:
    source = f"{tmp_path}/src"
    memory_source(source)
    result = copy("plain-memory", source, f"{tmp_path}/./src")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        "error: --output-dir is the source storage; the source is never written"
    )


class UnfinishableArchive(FillingArchive):
    """An archive that cannot even be finished once the disk is full."""

    name: ClassVar[str] = "tar"

    def close(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    ("output", "small_kept"),
    [("directory", True), ("archive", True), ("unfinishable-archive", False)],
)
def test_a_full_destination_keeps_finished_images(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, small_kept: bool
) -> None:
    """Images finished before the disk filled stay: in a directory, and in an archive when it
    can still be finished; an archive that cannot be finished is not written at all."""
    if output == "unfinishable-archive":
        monkeypatch.setitem(FAKE_DRIVERS, "tar", UnfinishableArchive)
    source = f"{tmp_path}/src"
    store = MemoryDriver.open(source, {}, read_only=False)
    writer = TreeWriter(CheckedDriver(store, read_only=False))
    writer.image("small", "v1")
    writer.image("big", "v1", layer_sizes=(BIG_LAYER,))
    destination = (
        ["--output-storage", "filling", "--output-dir", f"{tmp_path}/copy"]
        if output == "directory"
        else ["--output-tar", f"{tmp_path}/copy.tar"]
    )
    command = ["--storage", "plain-memory", "--data-dir", source, *destination, "-j", "2"]
    result = run_cli(*command, "--json", "small:v1", "big:v1")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    ok = {image["reference"]: image["ok"] for image in json.loads(result.stdout)["images"]}
    assert ok == {"small:v1": small_kept, "big:v1": False}
    assert (f"{tmp_path}/copy.tar was not written" in result.stderr) == (not small_kept)
    assert "No space left on device" in result.stderr


# Dry runs and destination options.


@pytest.fixture
def local_source(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    local_writer(root).image("app", "v1")
    return root


def scrape(source: Path, *args: str) -> Result:
    return run_cli("--data-dir", str(source), *args, "app:v1")


@pytest.mark.parametrize("existing", [False, True])
def test_dry_run_refuses_bad_destination_options(
    local_source: Path, tmp_path: Path, existing: bool
) -> None:
    output = tmp_path / "copy"
    if existing:
        output.mkdir()
    result = scrape(
        local_source, "--output-dir", str(output), "--dry-run", "--output-storage-option", "bogus=1"
    )
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == "error: local: unknown option(s): bogus (known: fsync)"
    assert output.exists() == existing
    real = scrape(local_source, "--output-dir", str(output), "--output-storage-option", "bogus=1")
    assert (real.exit_code, real.stderr) == (result.exit_code, result.stderr)
    record("dry-run-bad-options")


def test_dry_run_into_a_new_destination_with_good_options(
    local_source: Path, tmp_path: Path
) -> None:
    output = tmp_path / "copy"
    result = scrape(
        local_source, "--output-dir", str(output), "--dry-run", "--output-storage-option", "fsync=1"
    )
    assert result.exit_code == 0, result.output
    assert "4 blobs would copy" in result.stdout
    assert not output.exists()


def test_dry_run_archive_refuses_options(local_source: Path, tmp_path: Path) -> None:
    archive = tmp_path / "copy.tar"
    result = scrape(
        local_source, "--output-tar", str(archive), "--dry-run", "--output-storage-option", "a=b"
    )
    assert result.exit_code == 2
    assert "tar: unknown option(s): a" in one_error_line(result)
    assert not archive.exists()


def test_dry_run_trusts_a_location_not_found(fakes: None, tmp_path: Path) -> None:
    source = f"{tmp_path}/src"
    memory_source(source)
    result = run_cli(
        "--storage",
        "new-location",
        "--data-dir",
        source,
        "--output-storage",
        "new-location",
        "--output-dir",
        f"{tmp_path}/not-yet",
        "--dry-run",
        "app:v1",
    )
    assert result.exit_code == 0, result.output
    assert "4 blobs would copy" in result.stdout


# Interrupts and unexpected errors.


def _raise(exc: BaseException) -> object:
    def raising(*_args: object, **_kwargs: object) -> object:
        raise exc

    return raising


@pytest.mark.parametrize("where", ["opening", "listing", "planning", "copying"])
def test_ctrl_c_anywhere_is_130_in_one_line(
    local_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    target = {
        "opening": (DriverRegistry, "open"),
        "listing": (selection, "select"),
        "planning": (Scrape, "plan"),
        # Blobs are in (the staging directory exists), links not yet.
        "copying": (Transfer, "write_link"),
    }[where]
    monkeypatch.setattr(*target, _raise(KeyboardInterrupt()))
    before = snapshot(local_source)
    output = tmp_path / "copy"
    result = scrape(local_source, "--output-dir", str(output))
    assert result.exit_code == 130, result.output
    assert result.stderr == "interrupted: nothing partial was left at a final path\n"
    assert not [path for path in output.rglob("*") if ".scrape-tmp" in path.name]
    assert snapshot(local_source) == before
    record(
        f"interrupt-while-{where}",
        title=f"Ctrl-C while {where}",
        how="KeyboardInterrupt raised inside the copy command (CliRunner)",
        outcome="exit 130, one line, no staging left",
    )


@pytest.mark.parametrize("where", ["listing", "planning"])
def test_an_unexpected_error_is_one_line_unless_debug(
    local_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    target = (selection, "select") if where == "listing" else (Scrape, "plan")
    monkeypatch.setattr(*target, _raise(RuntimeError("boom\nsecond line")))
    output = tmp_path / "copy"
    result = scrape(local_source, "--output-dir", str(output))
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "error: unexpected RuntimeError: boom second line (--debug shows where)"
    )
    debug = scrape(local_source, "--output-dir", str(output), "--debug")
    assert isinstance(debug.exception, RuntimeError)


# Source drivers are let go too.


class ClosingSource(MemoryDriver):
    """Remembers whether a read-only open of it was closed."""

    name: ClassVar[str] = "closing-source"
    closed: ClassVar[list[bool]] = []

    def close(self) -> None:
        if self.read_only:
            ClosingSource.closed.append(True)


@pytest.mark.parametrize("command", [[], ["--dry-run"], ["verify"], ["list"], ["inventory"]])
def test_source_drivers_are_closed(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setitem(FAKE_DRIVERS, "closing-source", ClosingSource)
    ClosingSource.closed.clear()
    source = f"{tmp_path}/src"
    memory_source(source)
    if command and command[0] != "--dry-run":
        args = [*command, "--storage", "closing-source", "--data-dir", source]
    else:
        args = ["--storage", "closing-source", "--data-dir", source, *command]
        args += ["--output-storage", "plain-memory", "--output-dir", f"{tmp_path}/out", "app:v1"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert ClosingSource.closed == [True]
