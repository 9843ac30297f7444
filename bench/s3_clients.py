"""Spike (issue 22): which HTTP client should carry the s3 driver's GETs.

    python -m bench.s3_clients [--rounds N] [--small N] [--large-mib N]

Starts SeaweedFS, fills a bucket with small objects (2-6 KiB, as config blobs and small layers
are) and a few large ones, then fetches them with each client in turn, round-robin, each
object hashed (sha256) while it streams and written to a file, as the driver's caller does.
Reports wall time and the process's CPU time (all threads; ``time.process_time``), and CPU
per GET for the small objects. Not part of ``make bench``: its figures are in bench/NOTES.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from s3_servers import SeaweedServer

THREADS = 16
CHUNK = 1 << 20
LARGE_THREADS = 4

Fetch = Callable[[str, Path], str]


def _boto3(server: SeaweedServer, bucket: str) -> Fetch:
    from bench import boto_download

    s3 = boto_download.client(
        server.endpoint_url, server.access_key, server.secret_key, server.region
    )

    def fetch(key: str, path: Path) -> str:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        return _drain(iter(lambda: body.read(CHUNK), b""), path)

    return fetch


def _obstore(server: SeaweedServer, bucket: str) -> Fetch:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        bucket,
        endpoint=server.endpoint_url,
        region=server.region,
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        client_options={"allow_http": True},
    )

    def fetch(key: str, path: Path) -> str:
        result = obstore.get(store, key)
        return _drain((bytes(chunk) for chunk in result.stream(CHUNK)), path)

    return fetch


def _obstore_memoryview(server: SeaweedServer, bucket: str) -> Fetch:
    """As _obstore, hashing and writing the Rust buffers without copying them to ``bytes``."""
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        bucket,
        endpoint=server.endpoint_url,
        region=server.region,
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        client_options={"allow_http": True},
    )

    def fetch(key: str, path: Path) -> str:
        result = obstore.get(store, key)
        return _drain((memoryview(chunk) for chunk in result.stream(CHUNK)), path)

    return fetch


def _presigned(server: SeaweedServer, bucket: str) -> Fetch:
    import urllib3

    from bench import boto_download

    s3 = boto_download.client(
        server.endpoint_url, server.access_key, server.secret_key, server.region
    )
    pool = urllib3.PoolManager(maxsize=THREADS * 2)

    def fetch(key: str, path: Path) -> str:
        url = s3.generate_presigned_url("get_object", {"Bucket": bucket, "Key": key}, 600)
        response = pool.request("GET", url, preload_content=False)
        if response.status != 200:
            raise OSError(f"GET {key}: {response.status}")
        try:
            return _drain(response.stream(CHUNK), path)
        finally:
            response.release_conn()

    return fetch


def _awscrt(server: SeaweedServer, bucket: str) -> Fetch:
    from urllib.parse import urlsplit

    from awscrt.auth import AwsCredentialsProvider
    from awscrt.http import HttpHeaders, HttpRequest
    from awscrt.s3 import S3Client, S3RequestTlsMode, S3RequestType

    host = urlsplit(server.endpoint_url).netloc
    client = S3Client(
        region=server.region,
        tls_mode=S3RequestTlsMode.DISABLED,
        credential_provider=AwsCredentialsProvider.new_static(server.access_key, server.secret_key),
        part_size=8 * CHUNK,
        throughput_target_gbps=10.0,
    )

    def fetch(key: str, path: Path) -> str:
        digest = hashlib.sha256()
        done = threading.Event()
        with path.open("wb") as file:

            def on_body(chunk: bytes, offset: int, **_: Any) -> None:
                # awscrt delivers a GET's parts in order, so offset is the file's end.
                digest.update(chunk)
                file.write(chunk)

            def on_done(error: Exception | None = None, **_: Any) -> None:
                # The request's future may be set before on_done runs: wait for this.
                done.set()

            headers = HttpHeaders([("Host", host)])
            request = HttpRequest("GET", f"/{bucket}/{key}", headers)
            s3_request = client.make_request(
                type=S3RequestType.GET_OBJECT,
                request=request,
                on_body=on_body,
                on_done=on_done,
            )
            s3_request.finished_future.result(600)
            if not done.wait(600):
                raise TimeoutError(key)
        return digest.hexdigest()

    return fetch


def _drain(chunks: Any, path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for chunk in chunks:
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


CLIENTS: dict[str, Callable[[SeaweedServer, str], Fetch]] = {
    "boto3": _boto3,
    "presigned+urllib3": _presigned,
    "awscrt": _awscrt,
    "obstore": _obstore,
    "obstore (memoryview)": _obstore_memoryview,
}


def _fill(server: SeaweedServer, bucket: str, small: int, large_mib: int) -> dict[str, str]:
    s3 = server.client()
    expected: dict[str, str] = {}
    rng = random.Random(22)

    def put(key: str, data: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=data)
        expected[key] = hashlib.sha256(data).hexdigest()

    with ThreadPoolExecutor(THREADS) as pool:
        list(
            pool.map(
                lambda n: put(f"small/{n:05}", rng.randbytes(rng.randint(2048, 6144))),
                range(small),
            )
        )
    per_object = large_mib // LARGE_THREADS
    for n in range(LARGE_THREADS):
        put(f"large/{n}", os.urandom(per_object << 20))
    return expected


def _time(
    fetch: Fetch, keys: list[str], expected: dict[str, str], target: Path
) -> tuple[float, float]:
    target.mkdir(parents=True, exist_ok=True)
    threads = THREADS if len(keys) > LARGE_THREADS else LARGE_THREADS

    def one(key: str) -> None:
        got = fetch(key, target / key.replace("/", "_"))
        if got != expected[key]:
            raise AssertionError(f"{key}: digest {got} != {expected[key]}")

    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, keys))
    result = time.perf_counter() - wall, time.process_time() - cpu
    shutil.rmtree(target)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", type=int, default=1200)
    parser.add_argument("--large-mib", type=int, default=256)
    # awscrt is no dependency of the project: `pip install awscrt` to include it.
    present = [name for name in CLIENTS if name != "awscrt" or find_spec("awscrt") is not None]
    parser.add_argument("--only", nargs="*", default=present)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with SeaweedServer() as server, tempfile.TemporaryDirectory() as work:
        bucket = server.make_bucket()
        expected = _fill(server, bucket, args.small, args.large_mib)
        small = sorted(key for key in expected if key.startswith("small/"))
        large = sorted(key for key in expected if key.startswith("large/"))
        fetchers = {name: CLIENTS[name](server, bucket) for name in args.only}
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for fetch in fetchers.values():  # warm-up: connections, caches
            _time(fetch, small[:64], expected, Path(work) / "warm")
        for _round in range(args.rounds):
            for name, fetch in fetchers.items():
                for kind, keys in (("small", small), ("large", large)):
                    results.setdefault((name, kind), []).append(
                        _time(fetch, keys, expected, Path(work) / "out")
                    )
        print(f"load average at end: {os.getloadavg()}")
        for (name, kind), samples in results.items():
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            keys = small if kind == "small" else large
            extra = (
                f"{cpu / len(keys) * 1000:.2f} ms CPU a GET"
                if kind == "small"
                else f"{args.large_mib / wall:.0f} MiB/s"
            )
            walls = " ".join(f"{s[0]:.2f}" for s in samples)
            print(f"{name:22} {kind:5} wall {wall:.2f} s cpu {cpu:.2f} s  {extra}  [{walls}]")


if __name__ == "__main__":
    main()
