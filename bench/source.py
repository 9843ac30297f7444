"""The source storage: images built in pure Python, pushed by skopeo into a real registry 2.8.

Big images follow one pattern of layer sizes (4 KiB to 256 MiB) and all share one layer; a run
of small images (one 2 KiB layer each) stands for a registry of many little repositories.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.support.images import Layer, build_image, make_layer
from tests.support.registry import RegistryServer
from tests.support.skopeo import push, run

KIB = 1024
MIB = 1024 * KIB

#: One round of big images: about 965 MiB with the shared layer, the largest layer 256 MiB.
PATTERN: tuple[tuple[int, ...], ...] = (
    (4 * KIB, 1 * MIB),
    (8 * MIB, 32 * MIB),
    (256 * MIB,),
    (64 * MIB, 16 * MIB),
    (256 * MIB, 128 * MIB),
    (192 * MIB, 4 * KIB),
)
SHARED_LAYER = 12 * MIB
SMALL_LAYER = 2 * KIB
PATTERN_BYTES = sum(map(sum, PATTERN)) + SHARED_LAYER
#: Pushes are mostly waiting on skopeo and the registry, so more than one per core.
PUSH_THREADS = 4


@dataclass(frozen=True)
class ImageSpec:
    repository: str
    seed: str
    layer_sizes: tuple[int, ...]

    @property
    def ref(self) -> str:
        return f"{self.repository}:1"


@dataclass(frozen=True)
class SourcePlan:
    big: tuple[ImageSpec, ...]
    shared_layer: int
    small: tuple[ImageSpec, ...]

    @property
    def big_bytes(self) -> int:
        return sum(sum(spec.layer_sizes) for spec in self.big) + self.shared_layer


def plan_source(size_mib: int, small_count: int) -> SourcePlan:
    """Big images of about ``size_mib`` MiB in all: the pattern scaled down, or repeated.

    Below one round every layer shrinks in proportion (4 KiB layers stay 4 KiB); above it the
    pattern repeats with fresh seeds, so no layer ever exceeds 256 MiB.
    """
    wanted = size_mib * MIB
    rounds = max(1, round(wanted / PATTERN_BYTES))
    scale = min(1.0, wanted / (PATTERN_BYTES * rounds))

    def scaled(size: int) -> int:
        return size if size <= 4 * KIB else max(4 * KIB, int(size * scale))

    big = [
        ImageSpec(f"bench/big{n}", f"big{n}", tuple(scaled(size) for size in sizes))
        for n, sizes in enumerate(PATTERN * rounds)
    ]
    small = [ImageSpec(f"small/app{n}", f"small{n}", (SMALL_LAYER,)) for n in range(small_count)]
    return SourcePlan(tuple(big), scaled(SHARED_LAYER), tuple(small))


@dataclass
class Source:
    """A running registry over a filesystem root holding the pushed images."""

    server: RegistryServer
    root: Path
    plan: SourcePlan

    @property
    def big_refs(self) -> list[str]:
        return [spec.ref for spec in self.plan.big]

    @property
    def small_refs(self) -> list[str]:
        return [spec.ref for spec in self.plan.small]


def _build_and_push(layout: Path, spec: ImageSpec, shared: Layer, registry_url: str) -> str:
    # One layout per big image: building is CPU-bound (gzip), so images build in parallel
    # processes, and a layout's index.json must not be rewritten by two of them at once.
    build_image(
        layout,
        spec.repository,
        seed=spec.seed,
        layer_sizes=spec.layer_sizes,
        shared_layers=[shared],
    )
    push(layout, spec.repository, registry_url, spec.ref, fmt="oci")
    shutil.rmtree(layout)
    return spec.ref


def _push_big(work: Path, plan: SourcePlan, registry_url: str) -> None:
    shared = make_layer("bench-shared", plan.shared_layer)
    workers = os.cpu_count() or 1
    with ProcessPoolExecutor(workers) as pool:
        futures = [
            pool.submit(_build_and_push, work / f"layout-{n}", spec, shared, registry_url)
            for n, spec in enumerate(plan.big)
        ]
        for future in futures:
            future.result()


def _push_small(work: Path, specs: Sequence[ImageSpec], registry_url: str) -> None:
    if not specs:
        return
    layout = work / "layout-small"
    for spec in specs:
        build_image(layout, spec.repository, seed=spec.seed, layer_sizes=spec.layer_sizes)
    with ThreadPoolExecutor(PUSH_THREADS) as pool:
        pushes = [
            pool.submit(push, layout, spec.repository, registry_url, spec.ref, fmt="oci")
            for spec in specs
        ]
        for future in pushes:
            future.result()
    shutil.rmtree(layout)


def build_source(work: Path, plan: SourcePlan) -> Source:
    """Start a registry on ``work/source`` and push every image of ``plan`` into it."""
    server = RegistryServer.filesystem(work / "source", workdir=work / "source-registry")
    server.start()
    try:
        _push_big(work, plan, server.url)
        _push_small(work, plan.small, server.url)
    except BaseException:
        server.close()
        raise
    assert server.rootdir is not None
    return Source(server, server.rootdir, plan)


def copy_images(source_url: str, dest_url: str, refs: Sequence[str]) -> None:
    """`skopeo copy` each image, one after another, as a user's script would."""
    for ref in refs:
        run(
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-no-creds",
            "--dest-no-creds",
            f"docker://{source_url}/{ref}",
            f"docker://{dest_url}/{ref}",
            timeout=1800,
        )


def sync_images(work: Path, source_url: str, dest_url: str, refs: Sequence[str]) -> None:
    """`skopeo sync --src yaml --dest docker`: every image in one skopeo process.

    Without ``--scoped`` skopeo 1.9.3 names each destination repository by the last path
    component of the source (``small/app7`` -> ``app7``); the names here stay unique.
    """
    tags: dict[str, list[str]] = {}
    for ref in refs:
        name, _, tag = ref.partition(":")
        tags.setdefault(name, []).append(tag)
    lines = [f"{source_url}:", "  tls-verify: false", "  images:"]
    lines += [f"    {name}: {json.dumps(values)}" for name, values in tags.items()]
    config = work / "sync.yml"
    config.write_text("\n".join(lines) + "\n")
    run(
        "sync",
        "--src",
        "yaml",
        "--dest",
        "docker",
        "--src-no-creds",
        "--dest-no-creds",
        "--dest-tls-verify=false",
        str(config),
        dest_url,
        timeout=1800,
    )


def describe(plan: SourcePlan) -> str:
    layers = sorted({size for spec in plan.big for size in spec.layer_sizes})
    return (
        f"{len(plan.big)} images, {plan.big_bytes / MIB:.0f} MiB, layers "
        f"{_size(layers[0])}..{_size(layers[-1])}, one {_size(plan.shared_layer)} layer shared "
        f"by all; {len(plan.small)} small images"
    )


def _size(count: int) -> str:
    if count >= MIB:
        return f"{count / MIB:.0f} MiB" if count % MIB == 0 else f"{count / MIB:.1f} MiB"
    return f"{math.ceil(count / KIB)} KiB"
