"""Scale (issue 13): a repository of 30,000 tags on 4 manifests, and 10,000 repositories.

Planning must grow with distinct content, not with tags: `--all-tags --dry-run` of the big
repository within 2x of `scrape list` of it, a no-op rerun of its copy within 3x, peak RSS
under 150 MiB. Walking many repositories must cost about what walking their directory does:
`scrape list`, a glob over every repository and `--all-tags '*' --dry-run` within 3x of `find`
over `repositories/`. The trees are written straight to disk (bench.scaletree).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.measure import (
    SCRAPE,
    Action,
    Sample,
    clear,
    interleaved,
    peak_rss_mib,
    run_quiet,
    scrape_args,
)
from bench.report import Row, Target
from bench.scaletree import Tree, many_repositories, many_tags
from scraper_core import layout

REPOSITORY = "ci/app"
RSS_BUDGET_MIB = 150.0


@dataclass(frozen=True)
class ScalePlan:
    tags: int
    manifests: int
    repositories: int
    tags_each: int


FULL = ScalePlan(tags=30_000, manifests=4, repositories=10_000, tags_each=3)
QUICK = ScalePlan(tags=1_000, manifests=4, repositories=200, tags_each=3)


def _list(root: Path) -> list[str]:
    return [SCRAPE, "list", "--data-dir", str(root)]


def many_tags_rows(work: Path, plan: ScalePlan, repeat: int) -> list[Row]:
    root, out, nowhere = work / "tags-src", work / "tags-out", work / "tags-none"
    tree = many_tags(root, REPOSITORY, plan.tags, plan.manifests)
    dry = scrape_args(root, nowhere, ["--all-tags", REPOSITORY], "--dry-run")
    copy = scrape_args(root, out, ["--all-tags", REPOSITORY])
    run_quiet(copy)  # the no-op reruns below find everything in place
    samples = interleaved(
        {
            "list": (lambda: run_quiet(_list(root)), None),
            "dry": (lambda: run_quiet(dry), None),
            "noop": (lambda: run_quiet(copy), None),
        },
        repeat,
    )
    clear(out)
    peaks = {
        "dry run": peak_rss_mib(dry),
        "copy": peak_rss_mib(copy),
        "no-op rerun": peak_rss_mib(copy),
    }
    floor = peak_rss_mib(_list(root))
    clear(root, out)
    what = f"{tree.tags} tags on {tree.manifests} manifests"
    return [
        Row(
            f"--all-tags --dry-run, {what} vs scrape list",
            "s",
            samples["dry"],
            samples["list"],
            "scrape list of the same storage",
            Target("<=", 2.0),
            notes=[f"{tree.files} files in the source tree"],
        ),
        Row(
            f"no-op rerun, {what} vs scrape list",
            "s",
            samples["noop"],
            samples["list"],
            "scrape list of the same storage",
            Target("<=", 3.0),
        ),
        Row(
            f"peak RSS, {what}",
            "MiB",
            Sample(tuple(peaks.values())),
            Sample.of(floor),
            "peak RSS of scrape list",
            Target("<=", RSS_BUDGET_MIB, absolute=True, unit="MiB"),
            notes=["samples: " + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in peaks.items())],
        ),
    ]


def _runner(args: list[str]) -> Action:
    return lambda: run_quiet(args)


def _find(tree: Tree) -> list[str]:
    return ["find", str(tree.root / layout.REPOSITORIES_ROOT.lstrip("/"))]


def many_repositories_rows(work: Path, plan: ScalePlan, repeat: int) -> list[Row]:
    root, nowhere = work / "repos-src", work / "repos-none"
    tree = many_repositories(root, plan.repositories, plan.tags_each)
    commands = {
        "list": _list(root),
        "glob": scrape_args(root, nowhere, ["branch-*"], "--dry-run"),
        "all": scrape_args(root, nowhere, ["--all-tags", "*"], "--dry-run"),
    }
    actions: dict[str, tuple[Action, Action | None]] = {
        name: (_runner(args), None) for name, args in commands.items()
    }
    actions["find"] = (_runner(_find(tree)), None)
    samples = interleaved(actions, repeat)
    clear(root)
    what = f"{tree.repositories} repositories"
    baseline = "find over repositories/ (prints every path)"
    titles = {
        "list": f"scrape list, {what} vs find",
        "glob": f"glob 'branch-*' --dry-run, {what} vs find",
        "all": f"--all-tags '*' --dry-run, {what} vs find",
    }
    return [
        Row(
            titles[name],
            "s",
            samples[name],
            samples["find"],
            baseline,
            Target("<=", 3.0),
            notes=[f"{tree.tags} tags, {tree.files} files"] if name == "list" else [],
        )
        for name in commands
    ]


def scale_rows(work: Path, repeat: int, quick: bool) -> list[Row]:
    plan = QUICK if quick else FULL
    return many_tags_rows(work, plan, repeat) + many_repositories_rows(work, plan, repeat)
