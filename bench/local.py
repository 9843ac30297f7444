"""Local -> local: scrape against the floors (`cp`, `cp` with `openssl dgst` beside it), the
no-op rerun and `--link` against `scrape --help`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.measure import (
    SCRAPE,
    Action,
    CommandError,
    Sample,
    clear,
    interleaved,
    run_quiet,
    scrape_args,
    tree_bytes,
    tree_files,
)
from bench.report import Row, Target, skipped

HELP = [SCRAPE, "--help"]


@dataclass
class VerifiedCopy:
    """Scrape and the two floors, timed round-robin on the same files."""

    scrape: Sample
    cp: Sample
    cp_and_hash: Sample
    files: list[str]
    bytes: int


def _cp_args(files: Sequence[str], dest: Path) -> list[str]:
    # --parents keeps docker/registry/v2/... below dest, as the scrape lays it out.
    return ["cp", "--parents", "--", *files, str(dest)]


def _cp_and_hash(source: Path, files: Sequence[str], dest: Path) -> None:
    blobs = [name for name in files if name.endswith("/data")]
    copy = subprocess.Popen(_cp_args(files, dest), cwd=source)
    digest = subprocess.Popen(
        ["openssl", "dgst", "-sha256", *blobs], cwd=source, stdout=subprocess.DEVNULL
    )
    if copy.wait() != 0 or digest.wait() != 0:
        raise CommandError("cp || openssl dgst failed")


def verified_copy(work: Path, source: Path, images: Sequence[str], repeat: int) -> VerifiedCopy:
    out, floor = work / "out-local", work / "out-cp"
    run_quiet(scrape_args(source, out, images))
    # The floors copy exactly what the scrape wrote: its blobs and link files, nothing else.
    files = tree_files(out)
    size = tree_bytes(out, files)

    def fresh_floor() -> None:
        clear(floor)
        floor.mkdir()

    samples = interleaved(
        {
            "scrape": (lambda: run_quiet(scrape_args(source, out, images)), lambda: clear(out)),
            "cp": (lambda: run_quiet(_cp_args(files, floor), cwd=source), fresh_floor),
            "cp_and_hash": (lambda: _cp_and_hash(source, files, floor), fresh_floor),
        },
        repeat,
    )
    if tree_files(out) != files or tree_files(floor) != files:
        raise CommandError("the scrapes and the copies did not all write the same files")
    clear(out, floor)
    return VerifiedCopy(samples["scrape"], samples["cp"], samples["cp_and_hash"], files, size)


def verified_copy_rows(result: VerifiedCopy) -> list[Row]:
    size = f"{len(result.files)} files, {result.bytes / 2**20:.0f} MiB"
    return [
        Row(
            "verified copy vs cp",
            "s",
            result.scrape,
            result.cp,
            "cp --parents of the same files",
            notes=[size],
        ),
        Row(
            "verified copy vs cp + openssl dgst",
            "s",
            result.scrape,
            result.cp_and_hash,
            "cp and openssl dgst -sha256, concurrently",
            Target("<=", 1.0),
        ),
    ]


def _copied_bytes(args: Sequence[str]) -> int:
    document = json.loads(run_quiet([*args, "--json"]))
    return int(document["bytes_copied"])


def noop_row(work: Path, source: Path, images: Sequence[str], repeat: int) -> Row:
    """Rerun over a complete copy, against `scrape --help` (the start-up floor)."""
    out = work / "out-noop"
    args = scrape_args(source, out, images)
    run_quiet(args)
    copied = _copied_bytes(args)
    samples = interleaved({"noop": (lambda: run_quiet(args), None), "help": _help()}, repeat)
    clear(out)
    return Row(
        "no-op rerun vs scrape --help",
        "s",
        samples["noop"],
        samples["help"],
        "scrape --help",
        Target("<=", 2.0),
        notes=[f"the rerun copied {copied} bytes"],
    )


def _help() -> tuple[Action, None]:
    return (lambda: run_quiet(HELP), None)


def has_link_flag() -> bool:
    return "--link" in run_quiet([SCRAPE, "copy", "--help"])


def link_row(work: Path, source: Path, images: Sequence[str], repeat: int) -> Row:
    """A fresh copy made of hardlinks, against `scrape --help`."""
    name = "--link vs scrape --help"
    if not has_link_flag():
        return skipped(name, "not measured: no --link flag yet")
    out = work / "out-link"
    args = scrape_args(source, out, images, "--link")
    samples = interleaved(
        {"link": (lambda: run_quiet(args), lambda: clear(out)), "help": _help()}, repeat
    )
    blobs = [out / name for name in tree_files(out) if name.endswith("/data")]
    linked = sum(1 for blob in blobs if blob.stat().st_nlink > 1)
    clear(out)
    return Row(
        name,
        "s",
        samples["link"],
        samples["help"],
        "scrape --help",
        Target("<=", 2.0),
        notes=[f"{linked} of {len(blobs)} blobs came out hardlinked"],
    )
