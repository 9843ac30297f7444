"""The bench harness renders BENCHMARKS.md from a run's results: every row, its spread, target
and verdict, the machine and the commit; no line over 100 characters. A made-up result, no
timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.markdown import paired_ratios, render
from bench.measure import Sample
from bench.report import Row, Target, skipped


def _result(rows: list[Row]) -> dict[str, Any]:
    return {
        "command": "python -m bench.run --quick",
        "started": "2026-11-30 03:00 UTC",
        "load": "0.1 at the start, 0.2 at the end",
        "machine": {"cpus": "2", "cpu": "Test CPU", "python": "3.11.7"},
        "code": {"commit": "abc1234", "uncommitted": "none"},
        "repeat": 3,
        "quick": True,
        "seconds": {"total": 90.0},
        "rows": [row.as_json() for row in rows],
    }


ROWS = [
    Row(
        "--all-tags --dry-run, 30000 tags on 4 manifests vs scrape list",
        "s",
        Sample.of(2.0, 3.0, 4.0),
        Sample.of(2.0, 2.0, 1.0),
        "scrape list of the same storage",
        Target("<=", 2.0),
        notes=["a note long enough to need wrapping " * 5],
    ),
    Row(
        "peak RSS, 30000 tags",
        "MiB",
        Sample.of(90.0, 120.0, 160.0),
        Sample.of(30.0),
        "peak RSS of scrape list",
        Target("<=", 150.0, absolute=True, unit="MiB"),
    ),
    Row("S3 -> local", "MiB/s", Sample.of(300.0), Sample.of(250.0), "boto3", Target(">=", 1.0)),
    skipped("S3 calls per repository + tag", "SeaweedFS is not installed"),
]


def test_render_lists_every_row_with_spread_target_and_verdict() -> None:
    text = render(_result(ROWS))
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines), [line for line in lines if len(line) > 100]
    table = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert len(table) == len(ROWS)
    # Row 1: median ratio 3/2 = 1.5x, paired ratios 1.0, 1.5, 4.0; target met.
    assert table[0].split(" | ")[1:] == [
        "3.00",
        "2.00..4.00",
        "2.00",
        "1.00..2.00",
        "1.50x",
        "1.00..4.00x",
        "<= 2x",
        "yes |",
    ]
    # Row 2: a budget on the worst sample (160 MiB): missed although the median is under it.
    assert table[1].endswith("| <= 150 MiB | **no** |")
    assert table[2].endswith("| 1.20x | - | >= 1x | yes |")
    assert table[3].endswith("| skipped |")
    assert "4. S3 calls per repository + tag (skipped: SeaweedFS is not installed)" in text
    assert "1. --all-tags --dry-run, 30000 tags on 4 manifests vs scrape list" in text
    assert "Targets met: 2; missed: 1 (peak RSS, 30000 tags)." in " ".join(lines)
    assert "| commit | abc1234 (uncommitted: none) |" in text
    assert "| cpu | Test CPU |" in text
    assert "| load average | 0.1 at the start, 0.2 at the end |" in text
    assert "a note long enough" in text


def test_paired_ratios_need_the_same_number_of_samples() -> None:
    row = ROWS[0].as_json()
    assert paired_ratios(row) == [1.0, 1.5, 4.0]
    assert paired_ratios(ROWS[1].as_json()) == []


def test_the_harness_imports_outside_pytest() -> None:
    """`make bench` runs `python -m bench.run`: no pytest `pythonpath` helps it find the
    plugins' own test helpers (the S3 emulator), so they must import without it."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", "import bench.run, bench.scalecalls, bench.machine"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_many_uncommitted_files_keep_the_commit_line_within_the_limit() -> None:
    result = _result(ROWS)
    names = ", ".join(f"plugins/s3/registry_scraper_s3/module{n}.py" for n in range(3))
    result["code"] = {"commit": "abc1234", "uncommitted": names}
    lines = render(result).splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "| commit | abc1234 (uncommitted: 3 files, named in the JSON results) |" in lines
