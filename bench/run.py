"""`make bench`: scrape measured side by side with what users do today, same data, one run.

    .venv/bin/python -m bench.run [--size-mib N] [--repeat R] [--json FILE] [--quick]
                                  [--markdown BENCHMARKS.md]

Builds its own source storage with the real registry 2.8 and skopeo, reads it once to warm
the page cache, then times scrape and each baseline R times (round-robin where they share
data) and prints one table of medians and ratios against the targets, plus the spreads;
with --markdown it also writes BENCHMARKS.md from this run (bench.markdown).
It reports; it does not judge a test run: the exit status is 0 whether targets are met or not.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import copiers, local, objecttools, push, s3, startup
from bench.machine import describe_code, describe_machine
from bench.measure import SCRAPE, TRASH, CommandError, read_all, run_quiet
from bench.report import Row, notes, ratio_table, skipped, spread_table
from bench.source import Source, SourcePlan, build_source, describe, plan_source

SECTIONS = (
    "local", "copiers", "push", "s3", "tools", "rss", "startup", "calls", "scale", "scalecalls"
)  # fmt: skip
NEEDS_SOURCE = {"local", "copiers", "push", "s3", "tools"}
RSS_LAYER = 1 << 30
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    work: Path
    repeat: int
    quick: bool = False
    source: Source | None = None
    verified: local.VerifiedCopy | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    #: 1-minute load average at the start and the end: a busy machine shows here.
    load: str = ""

    def need_source(self) -> Source:
        assert self.source is not None, "the source storage was not built"
        return self.source

    def verified_copy(self) -> local.VerifiedCopy:
        if self.verified is None:
            source = self.need_source()
            self.verified = local.verified_copy(
                self.work, source.root, source.big_refs, self.repeat
            )
        return self.verified


def section_local(ctx: Context) -> list[Row]:
    source = ctx.need_source()
    rows = local.verified_copy_rows(ctx.verified_copy())
    rows.append(local.noop_row(ctx.work, source.root, source.big_refs, ctx.repeat))
    rows.append(local.link_row(ctx.work, source.root, source.big_refs, ctx.repeat))
    return rows


def section_copiers(ctx: Context) -> list[Row]:
    source = ctx.need_source()
    scrape = ctx.verified_copy().scrape
    return [
        copiers.skopeo_copy_row(ctx.work, source, scrape, ctx.repeat),
        copiers.skopeo_sync_row(ctx.work, source, ctx.repeat),
        copiers.skopeo_noop_row(ctx.work, source, ctx.repeat),
    ]


# These two import the core into this process: late, so that a core that does not import
# (an edit in progress in the shared tree) is reported by preflight, not by a traceback here.
def section_rss(ctx: Context) -> list[Row]:
    from bench import rss

    return [rss.rss_row(ctx.work, RSS_LAYER, ctx.repeat)]


def section_calls(ctx: Context) -> list[Row]:
    from bench import calls

    return [calls.calls_row(ctx.work)]


def section_scale(ctx: Context) -> list[Row]:
    from bench import scale

    return scale.scale_rows(ctx.work, ctx.repeat, ctx.quick)


def section_scale_calls(ctx: Context) -> list[Row]:
    from bench import scalecalls

    return scalecalls.calls_rows(ctx.work, 5 if ctx.quick else 200)


RUNNERS: dict[str, Callable[[Context], list[Row]]] = {
    "local": section_local,
    "copiers": section_copiers,
    "push": lambda ctx: [push.push_row(ctx.work, ctx.need_source(), ctx.repeat)],
    "s3": lambda ctx: s3.s3_rows(ctx.work, ctx.need_source(), ctx.repeat),
    "tools": lambda ctx: objecttools.object_tool_rows(
        ctx.work, ctx.need_source(), ctx.repeat, ctx.quick
    ),
    "rss": section_rss,
    "startup": lambda ctx: startup.startup_rows(ctx.repeat),
    "calls": section_calls,
    "scale": section_scale,
    "scalecalls": section_scale_calls,
}


def log(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


def run_section(name: str, ctx: Context, started: float) -> list[Row]:
    """One section's rows; a section that breaks becomes a skipped row, the others go on."""
    log(f"{name} ...", started)
    begin = time.monotonic()
    try:
        rows = RUNNERS[name](ctx)
    except Exception as exc:
        traceback.print_exc()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        rows = [skipped(name, f"failed: {reason}")]
    ctx.timings[name] = time.monotonic() - begin
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--quick", action="store_true", help="about 100 MiB, 20 small images")
    parser.add_argument("--size-mib", type=int, help="big images in all (default 1024; quick 100)")
    parser.add_argument("--small-images", type=int, help="small images (default 200; quick 20)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--json", default="bench-results.json", help="where to write results")
    parser.add_argument("--markdown", help="also write the results as BENCHMARKS.md there")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)"
    )
    options = parser.parse_args(argv)
    for name in ("repeat", "size_mib", "small_images"):
        value = getattr(options, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return options


def source_plan(options: argparse.Namespace) -> SourcePlan:
    size = options.size_mib or (100 if options.quick else 1024)
    small = options.small_images or (20 if options.quick else 200)
    return plan_source(size, small)


def run_all(options: argparse.Namespace, work: Path, started: float) -> tuple[list[Row], Context]:
    ctx = Context(work, options.repeat, options.quick)
    sections = [name for name in SECTIONS if not options.only or name in options.only]
    if NEEDS_SOURCE & set(sections):
        plan = source_plan(options)
        log(f"building the source with registry 2.8 and skopeo: {describe(plan)}", started)
        begin = time.monotonic()
        ctx.source = build_source(work, plan)
        ctx.timings["build"] = time.monotonic() - begin
        log(f"warm-up read of the source: {read_all(ctx.source.root) >> 20} MiB", started)
    rows: list[Row] = []
    load_at_start = os.getloadavg()[0]
    try:
        for name in sections:
            rows += run_section(name, ctx, started)
    finally:
        if ctx.source is not None:
            ctx.source.server.close()
    ctx.load = f"{load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    return rows, ctx


def document(options: argparse.Namespace, rows: list[Row], ctx: Context) -> dict[str, Any]:
    plan = ctx.source.plan if ctx.source else None
    return {
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "started": ctx.started,
        "load": ctx.load,
        "machine": describe_machine(ctx.work),
        "code": describe_code(REPO),
        "source": describe(plan) if plan else None,
        "repeat": options.repeat,
        "quick": options.quick,
        "seconds": ctx.timings,
        "rows": [row.as_json() for row in rows],
    }


def own_bytecode_cache(work: Path) -> None:
    """Measured interpreters get a bytecode cache of their own, in ``work``.

    An installed tool runs from compiled bytecode; with PYTHONDONTWRITEBYTECODE set (as it may
    be in CI or a sandbox) every start would compile any module whose .pyc is stale (one a
    colleague is editing, say) and bill it to scrape. A private prefix also keeps this harness
    from writing into the shared work tree.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")


def contain_temp_files(work: Path) -> None:
    """Every temporary file of the run goes below ``work``, and goes with it.

    The test support makes its own temporary directories and removes them at exit, but the
    build's worker processes end without running exit handlers, so theirs would be left in
    /tmp; skopeo and the registries honour TMPDIR too.
    """
    scratch = work / "tmp"
    scratch.mkdir()
    os.environ["TMPDIR"] = str(scratch)
    tempfile.tempdir = str(scratch)


def preflight() -> str | None:
    """Fill that cache; say why scrape cannot run at all (a broken edit in the tree), or None."""
    warm_ups = [
        [SCRAPE, "--help"],
        [SCRAPE, "drivers"],
        [sys.executable, "-c", "import click, pluggy"],
    ]
    if importlib.util.find_spec("boto3") is not None:
        warm_ups.append([sys.executable, "-c", "import boto3, botocore.config"])
    try:
        for command in warm_ups:
            run_quiet(command)
    except (CommandError, OSError) as exc:
        return str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="scrape-bench-") as scratch:
        work = Path(scratch)
        own_bytecode_cache(work)
        contain_temp_files(work)
        problem = preflight()
        if problem is not None:
            print(f"scrape does not start; nothing measured:\n{problem}", file=sys.stderr)
            return 2
        code = describe_code(REPO)
        log(f"measuring commit {code['commit']}, uncommitted: {code['uncommitted']}", started)
        TRASH.keep_in(work / "trash")
        try:
            rows, ctx = run_all(options, work, started)
        finally:
            TRASH.empty()
        result = document(options, rows, ctx)
    log("done", started)
    result["seconds"]["total"] = time.monotonic() - started
    print(f"\n{ratio_table(rows)}\n\n{spread_table(rows)}\n")
    print("\n".join(notes(rows)))
    Path(options.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {options.json}")
    if options.markdown:
        from bench.markdown import render

        Path(options.markdown).write_text(render(result))
        print(f"tables written to {options.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
