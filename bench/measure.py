"""Timing and memory probes: samples with median and spread, quiet subprocesses, peak RSS."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
SCRAPE = str(BIN / "scrape")

Action = Callable[[], object]


@dataclass(frozen=True)
class Sample:
    """Repeated measurements of one quantity (seconds, MiB/s, MiB, calls)."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, *values: float) -> Sample:
        return cls(tuple(values))

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def map(self, function: Callable[[float], float]) -> Sample:
        return Sample(tuple(function(value) for value in self.values))


class CommandError(RuntimeError):
    """A measured command failed: its numbers would mean nothing."""


def run_quiet(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800.0,
) -> str:
    """Run a command, keep its output off the table; stdout, or CommandError with stderr."""
    result = subprocess.run(
        list(args),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise CommandError(f"{' '.join(args[:3])} ... exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def s3_driver_missing() -> str | None:
    """Why ``scrape`` cannot write to S3 here (its s3 driver plugin is not installed), or None."""
    drivers = run_quiet([SCRAPE, "drivers"])
    if not any(line.split()[:1] == ["s3"] for line in drivers.splitlines()):
        return "the s3 storage driver plugin is not installed"
    return None


def settle() -> None:
    """Flush dirty pages so one sample's writeback is not billed to the next one."""
    os.sync()


class _Trash:
    """Where :func:`clear` puts trees of many files between samples: deleted at the run's end.

    This machine's ext4 has no journal, and such an ext4 skips, at every inode it allocates,
    each inode freed in the last minute (five while the inode table is dirty; the kernel's
    ``recently_deleted``), reading its table block each time. A sample that creates files just
    after the previous sample's tree was deleted then pays for that deletion, whoever made
    the tree: copying the small tree spent 60% of its time there (perf), more every sample.
    Moving a tree aside (a rename) frees no inode. A tree of few files (large blobs) is deleted
    at once: freeing a few inodes costs nothing later, and keeping a gigabyte of its pages
    cached made the next sample's writes copy into fresh memory (perf: half the samples in
    ``copy_folio_from_iter_atomic``, the large-blob copy 1.7 -> 2.9 s).
    """

    FEW_FILES = 1000

    def __init__(self) -> None:
        self.root: Path | None = None
        self._count = 0

    def keep_in(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root

    def take(self, path: Path) -> None:
        if self.root is None or not path.exists() or self._few_files(path):
            shutil.rmtree(path, ignore_errors=True)
            return
        self._count += 1
        try:
            path.rename(self.root / str(self._count))
        except OSError:  # another filesystem: deleted after all
            shutil.rmtree(path, ignore_errors=True)

    def _few_files(self, path: Path) -> bool:
        files = (entry for entry in path.rglob("*") if entry.is_file())
        return sum(1 for _ in zip(files, range(self.FEW_FILES), strict=False)) < self.FEW_FILES

    def empty(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


TRASH = _Trash()


def clear(*paths: Path) -> None:
    """Remove ``paths`` from where they were (into :data:`TRASH` once it has a root)."""
    for path in paths:
        TRASH.take(path)


def wall_and_children_cpu(action: Action) -> tuple[float, float]:
    """``action``'s wall time and the CPU time of the child processes it ran."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    action()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_once(action: Action, before: Action | None = None) -> float:
    if before is not None:
        before()
    settle()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def interleaved(
    actions: Mapping[str, tuple[Action, Action | None]], repeat: int
) -> dict[str, Sample]:
    """Time each (action, untimed set-up) ``repeat`` times, round-robin.

    Round-robin rather than one action's repetitions in a row: a slow spell of the machine
    then lands on every contender alike instead of on whichever ran during it.
    """
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, (action, before) in actions.items():
            samples[name].append(time_once(action, before))
    return {name: Sample(tuple(values)) for name, values in samples.items()}


# A fresh, small interpreter runs the command and reports RUSAGE_CHILDREN: ru_maxrss of a child
# counts the pages it had before exec, so spawning from this (large) process would inflate it.
_RSS_PROBE = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_rss_mib(args: Sequence[str], *, env: Mapping[str, str] | None = None) -> float:
    """Peak resident set size of one run of ``args``, in MiB."""
    output = run_quiet([sys.executable, "-c", _RSS_PROBE, *args], env=env)
    return int(output.strip()) / 1024


def scrape_args(source: Path | str, output: Path, images: Sequence[str], *extra: str) -> list[str]:
    """A local -> local scrape of ``images`` (quiet: the bar and per-image lines cost time)."""
    return [SCRAPE, "--data-dir", str(source), "--output-dir", str(output), "-q", *extra, *images]


def tree_files(root: Path) -> list[str]:
    """Files below ``root``, relative and sorted. Neither the staging area nor the run's
    receipts (``scrape-receipts/``, written by scrape only) are part of the registry tree."""
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        top = relative.parts[0]
        if path.is_file() and not top.startswith(".scrape-tmp") and top != "scrape-receipts":
            found.append(str(relative))
    return sorted(found)


def tree_bytes(root: Path, files: Sequence[str]) -> int:
    return sum((root / name).stat().st_size for name in files)


def read_all(root: Path) -> int:
    """Read every file once (the page-cache warm-up); the bytes read."""
    total = 0
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as file:
                while chunk := file.read(1 << 24):
                    total += len(chunk)
    return total
