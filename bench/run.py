"""`make bench`: scrape measured side by side with what users do today, same data, one run.

    .venv/bin/python -m bench.run [--quick] [--repeat R] [--json bench-results.json]

Builds its own source storage with the real registry and skopeo, warms the page cache, then
times each pair R times and prints medians, spreads and ratios against the targets of the
performance issue. Nothing here is an assertion: it reports, it does not judge a test run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.images import build_image, make_layer  # noqa: E402
from tests.support.registry import RegistryServer  # noqa: E402
from tests.support.s3server import SeaweedServer  # noqa: E402
from tests.support.skopeo import push, run  # noqa: E402

BIN = Path(sys.executable).parent
SCRAPE = str(BIN / "scrape")
V2 = Path("docker/registry/v2")


@dataclass
class Row:
    name: str
    ours: float
    baseline: float
    baseline_name: str
    target: str
    met: bool | None
    unit: str = "s"
    spread: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")


def timed(
    action: Callable[[], object], repeat: int, before: Callable[[], object] = lambda: None
) -> tuple[float, float, float]:
    samples = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples), max(samples)


def sh(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def warm(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as file:
                while file.read(1 << 24):
                    pass


def scraped_files(output: Path) -> list[str]:
    return sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file())


def build_source(work: Path, quick: bool) -> tuple[RegistryServer, list[str], list[str]]:
    """Several images (4 KiB .. 256 MiB layers, one shared) and a run of small images."""
    layout = work / "layout"
    # About 1 GiB in all, layers from 4 KiB to 256 MiB, one 12 MiB layer in every image.
    sizes = [
        (4096, 1 << 20),
        (8 << 20, 32 << 20),
        (256 << 20,),
        (64 << 20, 16 << 20),
        (256 << 20, 128 << 20),
        (192 << 20, 4096),
    ]
    small_count = 200
    if quick:
        sizes = [(4096, 1 << 20), (8 << 20, 16 << 20), (48 << 20,)]
        small_count = 20
    shared = make_layer("bench-shared", 12 << 20 if not quick else 2 << 20)
    server = RegistryServer.filesystem(work / "source", workdir=work / "source-run").start()
    big = []
    for number, layer_sizes in enumerate(sizes):
        build_image(
            layout,
            f"big{number}",
            seed=f"big{number}",
            layer_sizes=layer_sizes,
            shared_layers=[shared],
        )
        push(layout, f"big{number}", server.url, f"bench/big{number}:1", fmt="oci")
        big.append(f"bench/big{number}:1")
    small = []
    for number in range(small_count):
        build_image(layout, f"s{number}", seed=f"small{number}", layer_sizes=(2048,))
        push(layout, f"s{number}", server.url, f"small/app{number}:1", fmt="oci")
        small.append(f"small/app{number}:1")
    return server, big, small


def bench_local(work: Path, source: Path, big: list[str], repeat: int) -> list[Row]:
    out = work / "out"
    rows = []

    def fresh() -> None:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(work / "cp", ignore_errors=True)

    def scrape() -> None:
        sh(SCRAPE, "--data-dir", str(source), "--output-dir", str(out), "-q", *big)

    ours = timed(scrape, repeat, fresh)
    files = scraped_files(out)
    blobs = [str(source / f) for f in files if f.endswith("/data")]

    def cp() -> None:
        # Exactly the files the scrape wrote, with their tree.
        subprocess.run(["cp", "--parents", *files, str(work / "cp")], cwd=source, check=True)

    def cp_and_hash() -> None:
        copy = subprocess.Popen(["cp", "--parents", *files, str(work / "cp")], cwd=source)
        digest = subprocess.Popen(["openssl", "dgst", "-sha256", *blobs], stdout=subprocess.DEVNULL)
        copy.wait()
        digest.wait()

    def mkcp() -> None:
        fresh()
        (work / "cp").mkdir()

    floor = timed(cp, repeat, mkcp)
    verified_floor = timed(cp_and_hash, repeat, mkcp)
    rows.append(
        Row(
            "verified copy local->local",
            ours[0],
            floor[0],
            "cp of the same files",
            "-",
            None,
            spread=_spread(ours),
        )
    )
    rows.append(
        Row(
            "verified copy local->local",
            ours[0],
            verified_floor[0],
            "cp || openssl dgst",
            "<= 1.0x",
            ours[0] <= verified_floor[0],
            spread=_spread(ours),
        )
    )
    scrape()
    noop = timed(scrape, repeat)
    help_time = timed(lambda: sh(SCRAPE, "--help"), repeat)
    rows.append(
        Row(
            "rerun, everything present",
            noop[0],
            help_time[0],
            "scrape --help",
            "<= 2.0x",
            noop[0] <= 2 * help_time[0],
            spread=_spread(noop),
        )
    )

    def link() -> None:
        sh(SCRAPE, "--data-dir", str(source), "--output-dir", str(out), "-q", "--link", *big)

    linked = timed(link, repeat, fresh)
    rows.append(
        Row(
            "--link (hardlinks)",
            linked[0],
            help_time[0],
            "scrape --help",
            "<= 2.0x",
            linked[0] <= 2 * help_time[0],
            spread=_spread(linked),
        )
    )
    return rows


def _spread(sample: tuple[float, float, float]) -> str:
    return f"{sample[1]:.3f}..{sample[2]:.3f}"


def bench_skopeo(
    work: Path, server: RegistryServer, big: list[str], small: list[str], repeat: int
) -> list[Row]:
    source = server.rootdir
    assert source is not None
    rows = []
    for label, images, target, bound in (
        ("vs skopeo copy", big, "<= 0.3x", 0.3),
        ("small images vs skopeo sync", small, "<= 0.5x", 0.5),
    ):
        out = work / f"out-{bound}"

        def scrape(images: list[str] = images, out: Path = out) -> None:
            sh(SCRAPE, "--data-dir", str(source), "--output-dir", str(out), "-q", *images)

        def clear(out: Path = out) -> None:
            shutil.rmtree(out, ignore_errors=True)

        ours = timed(scrape, repeat, clear)
        theirs_samples = []
        for _ in range(repeat):
            with RegistryServer.filesystem(work / "dest", workdir=work / "dest-run") as dest:
                start = time.perf_counter()
                if label.startswith("small"):
                    _skopeo_sync(work, server.url, dest.url, images)
                else:
                    for image in images:
                        source_ref = f"docker://{server.url}/{image}"
                        run(
                            "copy",
                            "--src-tls-verify=false",
                            "--dest-tls-verify=false",
                            source_ref,
                            f"docker://{dest.url}/{image}",
                        )
                theirs_samples.append(time.perf_counter() - start)
            shutil.rmtree(work / "dest", ignore_errors=True)
        theirs = statistics.median(theirs_samples)
        name = "skopeo sync" if label.startswith("small") else "skopeo copy"
        rows.append(
            Row(
                f"scrape {label}",
                ours[0],
                theirs,
                name,
                target,
                ours[0] <= bound * theirs,
                spread=_spread(ours),
            )
        )
    return rows


def _skopeo_sync(work: Path, source: str, dest: str, images: list[str]) -> None:
    config = work / "sync.yml"
    repos: dict[str, list[str]] = {}
    for image in images:
        name, _, tag = image.partition(":")
        repos.setdefault(name, []).append(tag)
    lines = [f"{source}:", "  tls-verify: false", "  images:"]
    lines += [f"    {name}: [{', '.join(tags)}]" for name, tags in repos.items()]
    config.write_text("\n".join(lines) + "\n")
    run(
        "sync",
        "--src",
        "yaml",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        str(config),
        f"{dest}/",
    )


def bench_startup(repeat: int) -> list[Row]:
    ours = timed(lambda: sh(SCRAPE, "--help"), repeat * 3)
    base = timed(lambda: sh(sys.executable, "-c", "import click, pluggy"), repeat * 3)
    probe = (
        "import sys; from scraper_core.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('boto3', 'botocore', 'google', 'azure') if m in sys.modules]\n"
        "print('SDKS=' + ','.join(heavy))"
    )
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    marker = [line for line in heavy.stdout.splitlines() if line.startswith("SDKS=")]
    imported = marker[-1].removeprefix("SDKS=") if marker else "unknown"
    return [
        Row(
            f"scrape --help (SDKs imported: {imported or 'none'})",
            ours[0],
            base[0],
            "python -c 'import click, pluggy'",
            "<= 3.0x",
            ours[0] <= 3 * base[0] and not imported,
            spread=_spread(ours),
        )
    ]


def bench_rss(work: Path, quick: bool) -> list[Row]:
    """Peak RSS while copying one 1 GiB layer (written straight to a storage tree)."""
    size = (256 if quick else 1024) << 20
    root = work / "rss-source"
    blob_tmp = work / "rss-layer"
    hasher = hashlib.sha256()
    with blob_tmp.open("wb") as file:
        for _ in range(size >> 24):
            chunk = os.urandom(1 << 24)
            hasher.update(chunk)
            file.write(chunk)
    layer = hasher.hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{config_hex}",
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{layer}",
                    "size": size,
                }
            ],
        }
    ).encode()
    manifest_hex = hashlib.sha256(manifest).hexdigest()

    def blob_path(hex_digest: str) -> Path:
        path = root / V2 / "blobs/sha256" / hex_digest[:2] / hex_digest / "data"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    shutil.move(blob_tmp, blob_path(layer))
    blob_path(config_hex).write_bytes(config)
    blob_path(manifest_hex).write_bytes(manifest)
    repo = root / V2 / "repositories/big/layer"
    for hex_digest in (layer, config_hex):
        link = repo / "_layers/sha256" / hex_digest / "link"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(f"sha256:{hex_digest}")
    for link in (
        repo / f"_manifests/revisions/sha256/{manifest_hex}/link",
        repo / "_manifests/tags/1/current/link",
        repo / f"_manifests/tags/1/index/sha256/{manifest_hex}/link",
    ):
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(f"sha256:{manifest_hex}")
    code = (
        "import resource, subprocess, sys\n"
        f"subprocess.run([{SCRAPE!r}, '--data-dir', {str(root)!r}, '--output-dir', "
        f"{str(work / 'rss-out')!r}, '-q', 'big/layer:1'], check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    peak_kib = int(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    label = f"peak RSS copying a {size >> 20} MiB layer"
    return [
        Row(
            label,
            peak_kib / 1024,
            150,
            "150 MiB budget",
            "<= 1.0x",
            peak_kib / 1024 <= 150,
            unit="MiB",
        )
    ]


def bench_storage_calls(work: Path) -> list[Row]:
    """Storage calls to scrape one image from storages of 1, 100 and 1000 repositories."""
    from click.testing import CliRunner

    from registry_scraper_local.driver import LocalDriver
    from scraper_core import driver as driver_module
    from scraper_core.cli import main
    from tests.synthetic import TreeWriter

    counts: dict[int, int] = {}
    calls = {"n": 0}
    original: dict[str, Callable[..., object]] = {}
    for method in ("get_content", "reader", "stat", "list_dir", "walk"):
        original[method] = getattr(driver_module.CheckedDriver, method)

        def counting(self: object, *args: object, _m: str = method) -> object:
            if getattr(self, "read_only", False):
                calls["n"] += 1
            return original[_m](self, *args)

        setattr(driver_module.CheckedDriver, method, counting)
    try:
        for repositories in (1, 100, 1000):
            root = work / f"calls-{repositories}"
            root.mkdir()
            writer = TreeWriter(
                driver_module.CheckedDriver(LocalDriver(root, read_only=False), read_only=False)
            )
            for number in range(repositories):
                writer.image(f"repo{number}", layer_sizes=(100,))
            calls["n"] = 0
            CliRunner().invoke(
                main, ["--data-dir", str(root), "--output-dir", str(root) + "-out", "-q", "repo0"]
            )
            counts[repositories] = calls["n"]
    finally:
        for method, function in original.items():
            setattr(driver_module.CheckedDriver, method, function)
    same = counts[1] == counts[1000]
    return [
        Row(
            f"storage calls, 1 image ({counts[1]}/{counts[100]}/{counts[1000]} for 1/100/1000"
            " repos)",
            counts[1000],
            counts[1],
            "calls with 1 repository",
            "= 1.0x",
            same,
            unit="calls",
        )
    ]


def bench_s3(work: Path, big: list[str], layout_source: RegistryServer, repeat: int) -> list[Row]:
    from tests.support.skopeo import run as skopeo

    with SeaweedServer() as server:
        env = server.aws_environ()
        os.environ.update(env)
        bucket = server.make_bucket()
        with RegistryServer.on_s3_server(server, bucket, workdir=work / "s3-reg") as registry:
            for image in big:
                source_ref = f"docker://{layout_source.url}/{image}"
                skopeo(
                    "copy",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    source_ref,
                    f"docker://{registry.url}/{image}",
                )
        out = work / "s3-out"

        def scrape() -> None:
            sh(
                SCRAPE,
                "--storage",
                "s3",
                "--data-dir",
                bucket,
                "-o",
                f"endpoint_url={server.endpoint_url}",
                "--output-dir",
                str(out),
                "-q",
                *big,
                env=os.environ | env,
            )

        ours = timed(scrape, repeat, lambda: shutil.rmtree(out, ignore_errors=True))
        files = scraped_files(out)
        client = server.client(max_pool_connections=32)

        def boto_download() -> None:
            target = work / "boto-out"
            shutil.rmtree(target, ignore_errors=True)

            def fetch(key: str) -> None:
                path = target / key
                path.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket, key, str(path))

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(fetch, files))

        theirs = timed(boto_download, repeat)
    # Throughput ratio: same bytes, so theirs/ours time.
    return [
        Row(
            "S3 -> local throughput vs plain boto3 (16 threads)",
            theirs[0],
            ours[0],
            "(boto3 time / scrape time)",
            ">= 0.8x",
            theirs[0] / ours[0] >= 0.8,
            spread=_spread(ours),
        )
    ]


def machine() -> dict[str, str]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "memory_kib": memory,
        "python": sys.version.split()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 100 MiB, 20 small images")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default="bench-results.json")
    options = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="scrape-bench-") as scratch:
        work = Path(scratch)
        print("building the source storage with registry 2.8 and skopeo ...", flush=True)
        server, big, small = build_source(work, options.quick)
        try:
            source = server.rootdir
            assert source is not None
            warm(source)
            for step in (
                lambda: bench_local(work, source, big, options.repeat),
                lambda: bench_skopeo(work, server, big, small, options.repeat),
                lambda: bench_s3(work, big, server, options.repeat),
                lambda: bench_rss(work, options.quick),
                lambda: bench_startup(options.repeat),
                lambda: bench_storage_calls(work),
            ):
                rows.extend(step())
                print(f"  ... {rows[-1].name}", flush=True)
        finally:
            server.close()
    print_table(rows)
    document = {
        "machine": machine(),
        "quick": options.quick,
        "repeat": options.repeat,
        "rows": [asdict(row) | {"ratio": row.ratio} for row in rows],
    }
    Path(options.json).write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten: {options.json}")
    return 0


def print_table(rows: list[Row]) -> None:
    print(f"\n{'measurement':<58} {'ours':>9} {'baseline':>9} {'ratio':>7}  target   met")
    for row in rows:
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        print(
            f"{row.name:<58} {row.ours:>9.3f} {row.baseline:>9.3f} {row.ratio:>6.2f}x"
            f"  {row.target:<8} {met}   (baseline: {row.baseline_name}; {row.unit})"
        )


if __name__ == "__main__":
    sys.exit(main())
