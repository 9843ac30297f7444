"""Pushing into a running registry: ``scrape --output-storage registry`` from the source's
storage against ``skopeo copy`` from a registry serving it, both into an empty registry 2.8."""

from __future__ import annotations

from pathlib import Path

from bench.copiers import _into_empty_registry
from bench.measure import SCRAPE, CommandError, Sample, run_quiet
from bench.report import Row, Target
from bench.source import Source, copy_images


def push_row(work: Path, source: Source, repeat: int) -> Row:
    refs = source.big_refs

    def ours(_source_url: str, dest_url: str) -> None:
        host = dest_url.removeprefix("http://").removeprefix("https://")
        run_quiet(
            [SCRAPE, "--data-dir", str(source.root), "--output-storage", "registry",
             "--output-dir", host, "--output-storage-option", "tls=false", "-q", *refs]
        )  # fmt: skip

    def theirs(source_url: str, dest_url: str) -> None:
        copy_images(source_url, dest_url, refs)

    samples: dict[str, list[float]] = {"ours": [], "theirs": []}
    for _ in range(repeat):
        # Round-robin, each into a fresh empty registry (its start-up not timed).
        for name, copy in (("ours", ours), ("theirs", theirs)):
            seconds, repositories = _into_empty_registry(work, copy, source.server.url)
            if repositories != len(refs):
                raise CommandError(f"{name}: {repositories} repositories, expected {len(refs)}")
            samples[name].append(seconds)
    return Row(
        "push into a registry vs skopeo copy",
        "s",
        Sample(tuple(samples["ours"])),
        Sample(tuple(samples["theirs"])),
        f"skopeo copy of the {len(refs)} images one after another from a registry serving the "
        "source, against one scrape pushing them from its storage; both into an empty registry",
        Target("<=", 1.0),
    )
