"""Spike (issue 22): where a no-op rerun from S3 spends its time.

    python -m bench.s3_startup [--rounds N]

Two small images in a SeaweedFS bucket, copied once to a local directory; then the same
command again (nothing to do), timed as a process: wall and CPU time (the child's rusage),
beside `scrape --help`. Then the slowest imports of one rerun (``-X importtime``). Not part
of ``make bench``; its figures are in bench/NOTES.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from s3_servers import SeaweedServer

from bench.measure import SCRAPE, wall_and_children_cpu
from bench.startup import Import, imports_of, slowest


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    return wall_and_children_cpu(
        lambda: subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    )


def _imports(args: list[str], env: dict[str, str]) -> list[Import]:
    code = f"import sys; sys.argv = {args!r}\nfrom scraper_core.cli import main\nmain()\n"
    return imports_of(["-c", code], env)


def main() -> None:
    from registry_scraper_s3.driver import S3Driver
    from scraper_core.testing.tree import TreeWriter

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with SeaweedServer() as server, tempfile.TemporaryDirectory() as work:
        env = server.aws_environ(dict(os.environ))
        os.environ.update(env)
        bucket = server.make_bucket()
        driver = S3Driver.open(bucket, {"endpoint_url": server.endpoint_url}, read_only=False)
        writer = TreeWriter(driver)
        refs = [f"app:{writer.image('app', f't{n}').tags[0]}" for n in range(2)]
        source = ["--storage", "s3", "--data-dir", bucket, "-o"]
        args = [SCRAPE, *source, f"endpoint_url={server.endpoint_url}"]
        args += ["--output-dir", str(Path(work) / "out"), "-q", *refs]
        subprocess.run(args, env=env, check=True)
        samples: dict[str, list[tuple[float, float]]] = {"noop": [], "help": []}
        for _ in range(options.rounds):
            samples["noop"].append(_timed(args, env))
            samples["help"].append(_timed([SCRAPE, "--help"], env))
        print(f"load average at end: {os.getloadavg()}")
        for name, values in samples.items():
            wall = statistics.median(value[0] for value in values)
            cpu = statistics.median(value[1] for value in values)
            print(f"{name:5} wall {wall * 1000:.0f} ms, cpu {cpu * 1000:.0f} ms")
        imports = _imports(["scrape", *args[1:]], env)
        print(f"{len(imports)} modules; slowest: {slowest(imports, 8)}")


if __name__ == "__main__":
    main()
