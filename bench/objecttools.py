"""S3 rows against the tools S3 users copy buckets with: s5cmd and rclone (issue 13, item 3).

All on one SeaweedFS, side by side in one run (round-robin), on the same blob keys:

- S3 -> local, large (the big images, ~1 GiB; quick: ~100 MiB) and small (2,000 blobs of
  2 to 6 KiB): scrape (verifying every sha256, writing the links too) against `s5cmd run`
  and `rclone copy --files-from` of the blob keys. The baseline of a round is the faster of
  the two tools in that round.
- The verified floor, for both: each tool's copy followed by `sha256sum` of every blob it
  wrote (what a user of the tool runs to know what scrape checks while it streams); the
  baseline of a round is the faster of the two.
- S3 -> S3 on one endpoint: scrape's server-side copy into a fresh bucket against `s5cmd run`
  of the same copies (s5cmd copies bucket to bucket with CopyObject too).

The keys and the s5cmd commands are scrape's own plan (`--dry-run --plan-format keys` and
`s5cmd`), so the tools copy exactly the blobs scrape copies. The buckets are filled by s5cmd
from trees in the registry's layout (the big images' registry root, and a generated tree of
small images), untimed.

Tool settings (each as its docs advise for many objects / big objects on a fast link):

- s5cmd `--numworkers 64` (its global worker pool; default 256, more than two cores and one
  server use) and, for big objects, `cp --concurrency 8 --part-size 16` per line (parts in
  parallel, MiB; defaults 5 and 50).
- rclone `--transfers 16 --checkers 16` (defaults 4 and 8), `--no-traverse` and
  `--no-check-dest` (do not list or stat the destination: it is empty), `--fast-list`,
  `--multi-thread-streams 8 --multi-thread-cutoff 16M` (ranged parallel download of big
  objects; defaults 4 and 256M), `--s3-upload-concurrency 8` (S3 -> S3 multipart), and its
  own checksum check left on (MD5 of the ETag: it verifies what it can, as scrape does).
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from s3_servers import SeaweedServer, find_weed

from bench.measure import (
    SCRAPE,
    Sample,
    clear,
    interleaved,
    run_quiet,
    s3_driver_missing,
    tree_bytes,
    tree_files,
)
from bench.report import Row, Target, skipped
from bench.source import Source
from tests.support.bulktools import (
    find_rclone,
    find_s5cmd,
    rclone_environ,
    s5cmd_command,
    s5cmd_environ,
)

LARGE = "S3 -> local, large blobs, vs s5cmd/rclone"
SMALL = "S3 -> local, small blobs, vs s5cmd/rclone"
#: The verified floor (issue 22): what a tool's user runs to get what scrape guarantees.
LARGE_FLOOR = "S3 -> local, large blobs, vs copy then sha256sum"
SMALL_FLOOR = "S3 -> local, small blobs, vs copy then sha256sum"
S3_TO_S3 = "S3 -> S3 one endpoint vs s5cmd cp"
SMALL_BLOBS = 2000
QUICK_SMALL_BLOBS = 300
#: Blobs of a small image: a config, three layers, the manifest.
BLOBS_PER_SMALL_IMAGE = 5
S5CMD_WORKERS = ("--numworkers", "64")
S5CMD_LARGE = ("--concurrency", "8", "--part-size", "16")
RCLONE_FLAGS = (
    "--transfers", "16",
    "--checkers", "16",
    "--no-traverse",
    "--no-check-dest",
    "--fast-list",
    "--multi-thread-streams", "8",
    "--multi-thread-cutoff", "16M",
    "--s3-upload-concurrency", "8",
)  # fmt: skip
SMALL_REPOSITORY = "small/many"


def unavailable() -> str | None:
    missing = [
        name
        for name, found in (
            ("weed", find_weed()),
            ("s5cmd", find_s5cmd()),
            ("rclone", find_rclone()),
        )
        if found is None
    ]
    if missing:
        return f"not installed: {', '.join(missing)} (the dev dependencies)"
    return s3_driver_missing()


@dataclass
class _Tools:
    server: SeaweedServer
    s5cmd: str
    rclone: str

    def s5cmd_run(self, plan: Path) -> list[str]:
        return s5cmd_command(self.s5cmd, self.server, *S5CMD_WORKERS, "run", str(plan))

    def upload(self, root: Path, bucket: str) -> None:
        args = s5cmd_command(
            self.s5cmd, self.server, *S5CMD_WORKERS, "cp", f"{root}/*", f"s3://{bucket}/"
        )
        run_quiet(args, env=s5cmd_environ(self.server))

    def rclone_copy(self, bucket: str, keys: Path, target: Path) -> list[str]:
        return [
            self.rclone, "copy", "--files-from", str(keys), *RCLONE_FLAGS,
            f"seaweed:{bucket}", str(target),
        ]  # fmt: skip


def _scrape_source(server: SeaweedServer, bucket: str) -> list[str]:
    return [SCRAPE, "--storage", "s3", "--data-dir", bucket,
            "--storage-option", f"endpoint_url={server.endpoint_url}"]  # fmt: skip


def _plan(
    server: SeaweedServer, bucket: str, dest: Sequence[str], refs: Sequence[str], fmt: str
) -> list[str]:
    args = [*_scrape_source(server, bucket), *dest, "--dry-run", "-q", "--plan-format", fmt, *refs]
    return run_quiet(args, env=server.aws_environ()).splitlines()


def write_small_tree(root: Path, blobs: int) -> list[str]:
    """Images of ``BLOBS_PER_SMALL_IMAGE`` blobs of 2 to 6 KiB (random bytes) in one
    repository, a tag each, in the registry's layout; returns the references."""
    from scraper_core import layout
    from scraper_core.digest import Digest, link_content
    from scraper_core.manifest import OCI_MANIFEST

    rng = random.Random(13)

    def put(path: str, data: bytes) -> None:
        target = Path(f"{root}{path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def blob(data: bytes) -> Digest:
        digest = Digest.of(data)
        put(layout.blob_data_path(digest), data)
        return digest

    refs = []
    for number in range(max(1, blobs // BLOBS_PER_SMALL_IMAGE)):
        config_data = json.dumps({"architecture": "amd64", "os": "linux", "n": number}).encode()
        layers = [rng.randbytes(rng.randint(2048, 6144)) for _ in range(BLOBS_PER_SMALL_IMAGE - 2)]
        config = blob(config_data)
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": str(config), "size": len(config_data)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": str(blob(data)), "size": len(data)} for data in layers],
        }  # fmt: skip
        manifest = blob(json.dumps(document).encode())
        name, tag = SMALL_REPOSITORY, f"t{number:05d}"
        put(layout.revision_link_path(name, manifest), link_content(manifest))
        for digest in [config, *(Digest.of(data) for data in layers)]:
            put(layout.layer_link_path(name, digest), link_content(digest))
        put(layout.tag_index_link_path(name, tag, manifest), link_content(manifest))
        put(layout.tag_current_link_path(name, tag), link_content(manifest))
        refs.append(f"{name}:{tag}")
    return refs


def _then_sha256sum(copy: Callable[[], object], target: Path) -> Callable[[], None]:
    """``copy``, then ``sha256sum`` of every file it wrote, as a user's shell would list
    them (find | xargs: as many per call as fit), the listing timed with the hashing."""
    script = 'find "$1" -type f -print0 | xargs -0 sha256sum >/dev/null'

    def action() -> None:
        copy()
        subprocess.run(["sh", "-c", script, "sh", str(target)], check=True)

    return action


def _local_row(
    name: str,
    tools: _Tools,
    work: Path,
    bucket: str,
    refs: Sequence[str],
    repeat: int,
    large: bool,
) -> list[Row]:
    server = tools.server
    env = server.aws_environ()
    out, by_s5cmd, by_rclone = (
        work / f"{name}-scrape",
        work / f"{name}-s5cmd",
        work / f"{name}-rclone",
    )
    for directory in (out, by_s5cmd, by_rclone):
        directory.mkdir()
    keys = _plan(server, bucket, ["--output-dir", str(out)], refs, "keys")
    keys_file = work / f"{name}-keys.txt"
    keys_file.write_text("\n".join(keys) + "\n")
    lines = _plan(server, bucket, ["--output-dir", str(by_s5cmd)], refs, "s5cmd")
    if large:
        lines = [line.replace("cp ", f"cp {' '.join(S5CMD_LARGE)} ", 1) for line in lines]
    s5cmd_plan = work / f"{name}-s5cmd.txt"
    s5cmd_plan.write_text("\n".join(lines) + "\n")
    scrape = [*_scrape_source(server, bucket), "--output-dir", str(out), "-q", *refs]
    s5cmd = tools.s5cmd_run(s5cmd_plan)
    rclone = tools.rclone_copy(bucket, keys_file, by_rclone)
    s5cmd_env, rclone_env = s5cmd_environ(server), rclone_environ(server)

    def remake(path: Path) -> Callable[[], None]:
        def action() -> None:
            clear(path)
            path.mkdir()

        return action

    # One untimed run of each: the store's caches are then as warm for all three.
    run_quiet(s5cmd, env=s5cmd_env)
    size = tree_bytes(by_s5cmd, tree_files(by_s5cmd))
    for command, environ, target in ((scrape, env, out), (rclone, rclone_env, by_rclone)):
        remake(target)()
        run_quiet(command, env=environ)
    remake(by_s5cmd)()

    def run_s5cmd() -> None:
        run_quiet(s5cmd, env=s5cmd_env)

    def run_rclone() -> None:
        run_quiet(rclone, env=rclone_env)

    samples = interleaved(
        {
            "scrape": (lambda: run_quiet(scrape, env=env), remake(out)),
            "s5cmd": (run_s5cmd, remake(by_s5cmd)),
            "rclone": (run_rclone, remake(by_rclone)),
            "s5cmd+sha256sum": (_then_sha256sum(run_s5cmd, by_s5cmd), remake(by_s5cmd)),
            "rclone+sha256sum": (_then_sha256sum(run_rclone, by_rclone), remake(by_rclone)),
        },
        repeat,
    )
    rclone_size = tree_bytes(by_rclone, tree_files(by_rclone))
    clear(out, by_s5cmd, by_rclone)
    if rclone_size != size:
        raise RuntimeError(f"rclone copied {rclone_size} bytes, s5cmd {size}: not the same keys")

    def rate(seconds: float) -> float:
        return size / 2**20 / seconds

    ours, s5, rc, s5_sum, rc_sum = (
        samples[key].map(rate)
        for key in ("scrape", "s5cmd", "rclone", "s5cmd+sha256sum", "rclone+sha256sum")
    )
    faster = Sample(tuple(max(a, b) for a, b in zip(s5.values, rc.values, strict=True)))
    floor = Sample(tuple(max(a, b) for a, b in zip(s5_sum.values, rc_sum.values, strict=True)))
    title = LARGE if large else SMALL
    floor_row = Row(
        LARGE_FLOOR if large else SMALL_FLOOR,
        "MiB/s",
        ours,
        floor,
        "the faster of s5cmd run and rclone copy, each followed by sha256sum of every blob",
        # issue 22: scrape hashes while it streams, so it should be well ahead of the floor.
        Target(">=", 1.5 if large else 1.0),
        notes=[
            f"s5cmd then sha256sum {s5_sum.median:.1f} MiB/s, rclone then sha256sum "
            f"{rc_sum.median:.1f} MiB/s"
        ],
    )
    return [
        Row(
            title,
            "MiB/s",
            ours,
            faster,
            "the faster of s5cmd run and rclone copy, each round",
            Target(">=", 0.7),  # issue 22 (issue 13 asked 1x)
            notes=[
                f"{len(keys)} blobs, {size / 2**20:.1f} MiB; the ratio is of throughputs, all "
                "three timed as processes; scrape also verifies every sha256 and writes the links",
                f"s5cmd {s5.median:.1f} MiB/s ({s5.low:.1f}..{s5.high:.1f}), rclone "
                f"{rc.median:.1f} MiB/s ({rc.low:.1f}..{rc.high:.1f})",
            ],
        ),
        floor_row,
    ]


def _s3_row(tools: _Tools, work: Path, bucket: str, refs: Sequence[str], repeat: int) -> Row:
    server = tools.server
    env, s5cmd_env = server.aws_environ(), s5cmd_environ(server)
    template = server.make_bucket()
    dest_option = ["--output-storage", "s3",
                   "--output-storage-option", f"endpoint_url={server.endpoint_url}"]  # fmt: skip
    lines = _plan(server, bucket, [*dest_option, "--output-dir", template], refs, "s5cmd")
    size = 0
    for key in _plan(server, bucket, [*dest_option, "--output-dir", template], refs, "keys"):
        size += int(server.client().head_object(Bucket=bucket, Key=key)["ContentLength"])
    buckets: dict[str, str] = {}

    def fresh(who: str) -> Callable[[], None]:
        def action() -> None:
            buckets[who] = server.make_bucket()

        return action

    def scrape() -> None:
        args = [*_scrape_source(server, bucket), *dest_option, "--output-dir", buckets["scrape"],
                "-q", *refs]  # fmt: skip
        run_quiet(args, env=env)

    def s5cmd() -> None:
        plan = work / "s3-s5cmd.txt"
        plan.write_text(
            "\n".join(
                line.replace(f"s3://{template}/", f"s3://{buckets['s5cmd']}/") for line in lines
            )
            + "\n"
        )
        run_quiet(tools.s5cmd_run(plan), env=s5cmd_env)

    # Untimed warm-up of both.
    for who, action in (("scrape", scrape), ("s5cmd", s5cmd)):
        fresh(who)()
        action()
    samples = interleaved(
        {"scrape": (scrape, fresh("scrape")), "s5cmd": (s5cmd, fresh("s5cmd"))}, repeat
    )

    def rate(seconds: float) -> float:
        return size / 2**20 / seconds

    return Row(
        S3_TO_S3,
        "MiB/s",
        samples["scrape"].map(rate),
        samples["s5cmd"].map(rate),
        "s5cmd run of the same cp s3:// s3:// lines (CopyObject)",
        Target(">=", 1.0),
        notes=[
            f"{len(lines)} blobs, {size / 2**20:.0f} MiB into a fresh bucket each sample; scrape "
            "copies server-side too, and writes the links"
        ],
    )


def object_tool_rows(work: Path, source: Source, repeat: int, quick: bool) -> list[Row]:
    reason = unavailable()
    if reason is not None:
        names = (LARGE, LARGE_FLOOR, SMALL, SMALL_FLOOR, S3_TO_S3)
        return [skipped(name, reason) for name in names]
    s5cmd, rclone = find_s5cmd(), find_rclone()
    assert s5cmd is not None and rclone is not None
    small_root = work / "tools-small-tree"
    small_refs = write_small_tree(small_root, QUICK_SMALL_BLOBS if quick else SMALL_BLOBS)
    with SeaweedServer() as server:
        tools = _Tools(server, s5cmd, rclone)
        large_bucket, small_bucket = server.make_bucket(), server.make_bucket()
        tools.upload(source.root, large_bucket)
        tools.upload(small_root, small_bucket)
        clear(small_root)
        rows = _local_row("large", tools, work, large_bucket, source.big_refs, repeat, True)
        rows += _local_row("small", tools, work, small_bucket, small_refs, repeat, False)
        rows.append(_s3_row(tools, work, large_bucket, source.big_refs, repeat))
        return rows
