"""Spike (issue 22): scrape S3 -> local with GETs through obstore against the same run with
botocore's GETs (the data plane before), paired round-robin.

    python -m bench.s3_ab [--rounds N] [--small N] [--large-mib N]

SeaweedFS holds small images (a config and two layers of 2-6 KiB each, in one repository) and
one large image; each round copies both trees with each variant into fresh directories, timed
as processes: wall time and CPU time (the children's rusage). The botocore variant is the
same command with the driver's native client turned off; then each one's peak RSS. Not part
of ``make bench``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from s3_servers import SeaweedServer

from bench.measure import peak_rss_mib, wall_and_children_cpu

_RUN = "from scraper_core.cli import main\nmain()\n"
_BOTOCORE = "import registry_scraper_s3.driver as d\nd.make_native = lambda *a: None\n"


def _timed(args: list[str], env: dict[str, str], out: Path) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    timed = wall_and_children_cpu(
        lambda: subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    )
    shutil.rmtree(out)
    return timed


def main() -> None:
    from registry_scraper_s3.driver import S3Driver
    from scraper_core.testing.tree import TreeWriter

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", type=int, default=150, help="small images")
    parser.add_argument("--large-mib", type=int, default=256, help="the large image's layers")
    options = parser.parse_args()
    rng = random.Random(22)
    print(f"load average at start: {os.getloadavg()}")
    with SeaweedServer() as server, tempfile.TemporaryDirectory() as work:
        env = server.aws_environ(dict(os.environ))
        os.environ.update(env)
        bucket = server.make_bucket()
        driver = S3Driver.open(bucket, {"endpoint_url": server.endpoint_url}, read_only=False)
        writer = TreeWriter(driver)
        small = []
        for number in range(options.small):
            sizes = (rng.randint(2048, 6144), rng.randint(2048, 6144))
            small.append(f"small:{writer.image('small', f't{number}', layer_sizes=sizes).tags[0]}")
        quarter = options.large_mib // 4 << 20
        large = [f"large:{writer.image('large', 'big', layer_sizes=(quarter,) * 4).tags[0]}"]
        out = Path(work) / "out"
        base = ["--storage", "s3", "--data-dir", bucket, "-o"]
        base += [f"endpoint_url={server.endpoint_url}", "--output-dir", str(out), "-q"]
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(options.rounds):
            for tree, refs in (("small", small), ("large", large)):
                for variant, prefix in (("obstore", ""), ("botocore", _BOTOCORE)):
                    argv = f"import sys; sys.argv = {['scrape', *base, *refs]!r}\n"
                    args = [sys.executable, "-c", argv + prefix + _RUN]
                    results.setdefault((tree, variant), []).append(_timed(args, env, out))
        for tree, refs in (("small", small), ("large", large)):
            for variant, prefix in (("obstore", ""), ("botocore", _BOTOCORE)):
                argv = f"import sys; sys.argv = {['scrape', *base, *refs]!r}\n"
                shutil.rmtree(out, ignore_errors=True)
                rss = peak_rss_mib([sys.executable, "-c", argv + prefix + _RUN], env=env)
                print(f"{tree:5} {variant:8} peak RSS {rss:.0f} MiB")
        shutil.rmtree(out, ignore_errors=True)
        print(f"load average at end: {os.getloadavg()}")
        for (tree, variant), samples in results.items():
            wall = statistics.median(sample[0] for sample in samples)
            cpu = statistics.median(sample[1] for sample in samples)
            walls = " ".join(f"{sample[0]:.2f}" for sample in samples)
            print(f"{tree:5} {variant:8} wall {wall:.2f} s cpu {cpu:.2f} s  [{walls}]")


if __name__ == "__main__":
    main()
