"""Spike (issue 22): one CopyObject against a multipart copy (UploadPartCopy) on SeaweedFS.

    python -m bench.s3_copy_parts [--rounds N] [--mib N]

Starts SeaweedFS, puts one object of ``--mib`` MiB, then copies it within the bucket by each
method in turn, round-robin: one CopyObject (what the s3 driver sends below 5 GiB, and what
s5cmd sends), and boto3's managed copy with parts of a few sizes copied in parallel. Reports
the median wall time and the server's CPU time (user + system, from /proc) a copy. A copy
whose parts run in parallel would pay only where the server has cores to spare. Not part of
``make bench``: its figures are in the commit that added it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from s3_servers import SeaweedServer

MIB = 1 << 20
#: (part size in MiB, parts at once) of the multipart copies tried.
PART_PLANS = ((16, 8), (32, 8), (64, 4))

Copy = Callable[[], None]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime, fields 14 and 15 of stat(5), counted from after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _copies(s3: Any, bucket: str, key: str) -> dict[str, Copy]:
    from boto3.s3.transfer import TransferConfig

    source = {"Bucket": bucket, "Key": key}

    def single() -> None:
        s3.copy_object(CopySource=source, Bucket=bucket, Key="copy")

    def multipart(part_mib: int, threads: int) -> Copy:
        config = TransferConfig(
            multipart_threshold=part_mib * MIB,
            multipart_chunksize=part_mib * MIB,
            max_concurrency=threads,
        )
        return lambda: s3.copy(source, bucket, "copy", Config=config)

    copies = {"CopyObject": single}
    for part_mib, threads in PART_PLANS:
        copies[f"UploadPartCopy {part_mib} MiB x {threads}"] = multipart(part_mib, threads)
    return copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    with SeaweedServer() as server:
        bucket = server.make_bucket()
        s3 = server.client(max_pool_connections=32)
        s3.put_object(Bucket=bucket, Key="source", Body=os.urandom(args.mib * MIB))
        pid = server._process.pid  # type: ignore[union-attr]
        copies = _copies(s3, bucket, "source")
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in copies}
        for _ in range(args.rounds):
            for name, copy in copies.items():
                cpu, start = _cpu_seconds(pid), time.perf_counter()
                copy()
                samples[name].append((time.perf_counter() - start, _cpu_seconds(pid) - cpu))
                s3.delete_object(Bucket=bucket, Key="copy")
    print(f"{args.mib} MiB, {args.rounds} rounds, load {os.getloadavg()[0]:.1f}")
    for name, rows in samples.items():
        wall = statistics.median(row[0] for row in rows)
        cpu = statistics.median(row[1] for row in rows)
        print(f"{name:28} wall {wall:5.2f} s  server CPU {cpu:5.2f} s")


if __name__ == "__main__":
    main()
