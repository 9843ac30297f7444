"""Spike (issue 22, second round): the no-op rerun, old code against new, beside skopeo.

    python -m bench.noop_ab --old DIR [--rounds N] [--s3] [--dry-run | --link]

``DIR`` holds an older commit's sources (``git archive COMMIT | tar -x -C DIR``); its core and
plugins go first on PYTHONPATH, ahead of this checkout's editable installs. Two small images
(a config and two layers each), copied once; then, round-robin, the same command again
(nothing to do) with the old and the new code, and skopeo copying them again between two
registries that have them (the bench's row), and ``scrape --help`` (the baseline of the bench's
start-up rows). Wall and CPU time (the child's rusage), medians; the load average before and
after. ``--s3``: the source is a SeaweedFS bucket and skopeo is left out. ``--link``: a fresh
copy made of hardlinks each time (the bench's ``--link`` row) instead of the rerun. Not part
of ``make bench``; its figures are in bench/NOTES.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.measure import SCRAPE, wall_and_children_cpu
from bench.run import own_bytecode_cache
from bench.source import copy_images
from bench.startup import SDKS, imports_of, slowest
from tests.support.registry import RegistryServer

Command = tuple[list[str], dict[str, str]]
_PLUGINS = ("local", "s3", "gcs", "azure", "registry")


def _old_environ(old: Path) -> dict[str, str]:
    paths = [str(old), *(str(old / "plugins" / name) for name in _PLUGINS)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _timed(command: Command, fresh: Path | None = None) -> tuple[float, float]:
    """``fresh``: removed first, untimed (a copy that must start from nothing)."""
    args, env = command
    if fresh is not None:
        shutil.rmtree(fresh, ignore_errors=True)
    return wall_and_children_cpu(
        lambda: subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, timeout=600)
    )


def _imports(args: list[str]) -> str:
    """The slowest imports of one rerun with the new code, and which SDK modules it loaded."""
    found = imports_of(args)
    loaded = sorted({item.module.split(".")[0] for item in found} & set(SDKS))
    return f"{len(found)} modules; SDKs: {', '.join(loaded)}; slowest: {slowest(found, 8)}"


def _images(driver: object) -> list[str]:
    from scraper_core.testing.tree import TreeWriter

    writer = TreeWriter(driver)  # type: ignore[arg-type]
    sizes = (200_000, 300_000)
    return [f"app:{writer.image('app', f't{n}', layer_sizes=sizes).tags[0]}" for n in range(2)]


@contextmanager
def _local(work: Path) -> Iterator[tuple[list[str], list[str], Sequence[str] | None]]:
    """The scrape arguments of a local source, and skopeo's re-copy of the same images."""
    from registry_scraper_local.driver import LocalDriver

    source = work / "src"
    source.mkdir()
    refs = _images(LocalDriver.open(str(source), {}, read_only=False))
    with ExitStack() as stack:
        served = stack.enter_context(RegistryServer.filesystem(source, workdir=work / "reg-a"))
        dest = stack.enter_context(RegistryServer.filesystem(work / "dest", workdir=work / "reg-b"))
        copy_images(served.url, dest.url, refs)
        yield ["--data-dir", str(source)], refs, (served.url, dest.url)


@contextmanager
def _s3(work: Path) -> Iterator[tuple[list[str], list[str], Sequence[str] | None]]:
    from s3_servers import SeaweedServer

    from registry_scraper_s3.driver import S3Driver

    with SeaweedServer() as server:
        os.environ.update(server.aws_environ(dict(os.environ)))
        bucket = server.make_bucket()
        options = {"endpoint_url": server.endpoint_url}
        refs = _images(S3Driver.open(bucket, options, read_only=False))
        source = ["--storage", "s3", "--data-dir", bucket, "-o"]
        yield [*source, f"endpoint_url={server.endpoint_url}"], refs, None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--s3", action="store_true")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--dry-run", action="store_true", help="time `--dry-run` reruns")
    modes.add_argument("--link", action="store_true", help="time fresh `--link` copies")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        own_bytecode_cache(work)
        setup = _s3(work) if options.s3 else _local(work)
        with setup as (source, refs, registries):
            out = work / "out"
            first = [SCRAPE, *source, "--output-dir", str(out), "-q", *refs]
            subprocess.run(first, check=True, timeout=600)
            mode = ["--dry-run"] if options.dry_run else ["--link"] if options.link else []
            args = [*first[: -len(refs)], *mode, *refs]
            fresh = out if options.link else None
            commands: dict[str, Command] = {
                "old": (args, _old_environ(options.old.resolve())),
                "new": (args, dict(os.environ)),
                "help": ([SCRAPE, "--help"], dict(os.environ)),
            }
            for command in commands.values():
                _timed(command, fresh)  # the bytecode caches filled
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
            if registries is not None:
                samples["skopeo"] = []
            print(f"load average at start: {os.getloadavg()}")
            for _ in range(options.rounds):
                for name, command in commands.items():
                    samples[name].append(_timed(command, fresh))
                if registries is not None:
                    samples["skopeo"].append(
                        wall_and_children_cpu(
                            lambda: copy_images(registries[0], registries[1], refs)
                        )
                    )
            print(f"load average at end: {os.getloadavg()}")
            print(_imports(args))
    for name, values in samples.items():
        wall = statistics.median(value[0] for value in values)
        cpu = statistics.median(value[1] for value in values)
        print(f"{name:6} wall {wall * 1000:.0f} ms, cpu {cpu * 1000:.0f} ms ({len(values)} runs)")


if __name__ == "__main__":
    main()
