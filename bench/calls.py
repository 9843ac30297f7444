"""Storage calls to scrape one image from storages of 1, 100 and 1000 repositories.

The scrape runs in this process with CheckedDriver's methods wrapped by a counter: the core
reaches every driver through CheckedDriver, so this counts every call the core makes. The
storages are synthetic (TreeWriter through the local driver): pushing 1000 images would take
minutes and change nothing about what is counted.
"""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path

from click.testing import CliRunner

from bench.measure import CommandError, Sample, clear
from bench.report import Row, Target
from registry_scraper_local.driver import LocalDriver
from scraper_core.checked import CheckedDriver
from scraper_core.cli import main
from scraper_core.testing.tree import TreeWriter
from tests.support.counting import counting_calls

SIZES = (1, 100, 1000)
READS = ("get_content", "reader", "stat", "list_dir", "walk")
WRITES = ("put_content", "writer", "move", "delete", "link_blob", "start_copy")

Counts = Counter[tuple[str, str]]


def counting() -> AbstractContextManager[Counts]:
    """Count CheckedDriver calls by (source or dest, method) while the block runs."""
    return counting_calls(
        CheckedDriver,
        READS + WRITES,
        lambda driver, name, args: ("source" if driver.read_only else "dest", name),
    )


def _synthetic_storage(root: Path, repositories: int) -> None:
    driver = LocalDriver.open(str(root), {}, read_only=False)
    writer = TreeWriter(CheckedDriver(driver, read_only=False))
    for number in range(repositories):
        writer.image(f"team/repo{number:04d}", "1", layer_sizes=(100, 200))
    driver.close()


def _scrape_counts(root: Path, out: Path) -> Counts:
    with counting() as counts:
        result = CliRunner().invoke(
            main, ["--data-dir", str(root), "--output-dir", str(out), "-q", "team/repo0000:1"]
        )
    if result.exit_code != 0:
        raise CommandError(f"in-process scrape failed: {result.output}")
    return counts


def _describe(counts: Counts, side: str) -> str:
    found = [f"{method} {n}" for (where, method), n in sorted(counts.items()) if where == side]
    return f"{side}: {', '.join(found) or 'none'}"


def calls_row(work: Path) -> Row:
    found: dict[int, Counts] = {}
    for repositories in SIZES:
        root = work / f"calls-{repositories}"
        _synthetic_storage(root, repositories)
        found[repositories] = _scrape_counts(root, work / f"calls-{repositories}-out")
        clear(root, work / f"calls-{repositories}-out")

    def source_calls(repositories: int) -> float:
        return float(sum(n for (side, _), n in found[repositories].items() if side == "source"))

    identical = all(found[n] == found[SIZES[0]] for n in SIZES)
    per_size = " / ".join(f"{source_calls(n):.0f}" for n in SIZES)
    first = found[SIZES[0]]
    return Row(
        f"storage calls, one image: {SIZES[-1]} vs {SIZES[0]} repos",
        "calls",
        Sample.of(source_calls(SIZES[-1])),
        Sample.of(source_calls(SIZES[0])),
        f"source calls with {SIZES[0]} repository",
        Target("==", 1.0),
        notes=[
            f"source calls for {'/'.join(map(str, SIZES))} repos: {per_size}; every call by "
            f"method and side identical: {identical}",
            _describe(first, "source"),
            _describe(first, "dest"),
        ],
    )
