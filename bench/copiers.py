"""What users do today: `skopeo copy` and `skopeo sync` from a registry serving the source to
an empty registry, against scrape on the same images."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bench.measure import (
    CommandError,
    Sample,
    clear,
    interleaved,
    run_quiet,
    scrape_args,
    time_once,
)
from bench.report import Row, Target
from bench.source import Source, copy_images, sync_images
from tests.support.registry import RegistryServer

#: (source registry url, destination registry url) -> None
RegistryCopy = Callable[[str, str], None]


def _into_empty_registry(work: Path, copy: RegistryCopy, source_url: str) -> tuple[float, int]:
    """Time one copy into a fresh registry (its start-up not timed); the repositories it got."""
    root = work / "dest"
    clear(root)
    with RegistryServer.filesystem(root, workdir=work / "dest-registry") as dest:
        seconds = time_once(lambda: copy(source_url, dest.url))
        repositories = len(dest.catalog())
    clear(root, work / "dest-registry")
    return seconds, repositories


def _baseline(work: Path, copy: RegistryCopy, source: Source, expected: int) -> float:
    seconds, repositories = _into_empty_registry(work, copy, source.server.url)
    if repositories != expected:
        raise CommandError(f"skopeo left {repositories} repositories, expected {expected}")
    return seconds


def skopeo_copy_row(work: Path, source: Source, scrape: Sample, repeat: int) -> Row:
    """``scrape`` is the local -> local sample of the same images (timed with the floors)."""
    refs = source.big_refs

    def copy(source_url: str, dest_url: str) -> None:
        copy_images(source_url, dest_url, refs)

    theirs = [_baseline(work, copy, source, len(refs)) for _ in range(repeat)]
    return Row(
        "verified copy vs skopeo copy",
        "s",
        scrape,
        Sample(tuple(theirs)),
        f"skopeo copy of the {len(refs)} images one after another, source registry to an empty "
        "registry (ours: the local -> local scrape samples of the rows above)",
        Target("<=", 0.3),
    )


def skopeo_sync_row(work: Path, source: Source, repeat: int) -> Row:
    refs = source.small_refs
    out = work / "out-small"

    def sync(source_url: str, dest_url: str) -> None:
        sync_images(work, source_url, dest_url, refs)

    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        ours.append(_scrape_fresh(source.root, out, refs))
        theirs.append(_baseline(work, sync, source, len(refs)))
    return Row(
        f"{len(refs)} small images vs skopeo sync",
        "s",
        Sample(tuple(ours)),
        Sample(tuple(theirs)),
        "skopeo sync --src yaml --dest docker (one process), source registry to an empty one",
        Target("<=", 0.5),
    )


def _scrape_fresh(root: Path, out: Path, refs: Sequence[str]) -> float:
    seconds = time_once(lambda: run_quiet(scrape_args(root, out, refs)), lambda: clear(out))
    clear(out)
    return seconds


def skopeo_noop_row(work: Path, source: Source, repeat: int) -> Row:
    """Nothing to do: scrape rerun over its complete copy, against skopeo copying the same
    images again between two registries (it finds every blob there and writes the manifest)."""
    refs = source.big_refs
    out, root = work / "out-noop-skopeo", work / "dest-noop"
    with RegistryServer.filesystem(root, workdir=work / "dest-noop-registry") as dest:
        copy_images(source.server.url, dest.url, refs)
        args = scrape_args(source.root, out, refs)
        run_quiet(args)
        samples = interleaved(
            {
                "scrape": (lambda: run_quiet(args), None),
                "skopeo": (lambda: copy_images(source.server.url, dest.url, refs), None),
            },
            repeat,
        )
    clear(out, root, work / "dest-noop-registry")
    return Row(
        "no-op rerun vs skopeo no-op re-copy",
        "s",
        samples["scrape"],
        samples["skopeo"],
        f"skopeo copy of the {len(refs)} images again, registry to a registry that has them",
        Target("<=", 1.0),  # issue 22
        notes=["scrape: local -> local over its own complete copy (start-up, plan, compare)"],
    )
