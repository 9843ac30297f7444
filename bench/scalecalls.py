"""S3 requests against repositories + tags (issue 13): on SeaweedFS, trees of N and 2N
repositories (a few tags each) are listed and dry-run with `--all-tags '*'`; every S3 API call
the driver makes is counted (tests.support.s3calls, on the clients it builds).
Proportional means the calls per (repository + tag) stay the same when the tree doubles.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

from click.testing import CliRunner
from s3_servers import SeaweedServer

from bench.measure import CommandError, Sample, clear
from bench.report import Row, Target, skipped
from bench.s3 import unavailable
from bench.scaletree import Tree, many_repositories
from scraper_core.cli import main
from tests.support.s3calls import by_operation, counting_requests

NAME = "S3 calls per repository + tag"
UPLOAD_THREADS = 16


def _upload(server: SeaweedServer, bucket: str, tree: Tree) -> None:
    client = server.client()
    files = [path for path in tree.root.rglob("*") if path.is_file()]

    def put(path: Path) -> None:
        key = "/" + str(path.relative_to(tree.root))
        client.put_object(Bucket=bucket, Key=key.lstrip("/"), Body=path.read_bytes())

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(put, files))


def _calls(server: SeaweedServer, bucket: str, args: list[str]) -> Counter[str]:
    source = ["--storage", "s3", "--data-dir", bucket, "-o", f"endpoint_url={server.endpoint_url}"]
    environ = server.aws_environ()
    with mock.patch.dict(os.environ, environ, clear=True), counting_requests() as calls:
        result = CliRunner().invoke(main, [args[0], *source, *args[1:]])
    if result.exit_code != 0:
        raise CommandError(f"in-process scrape {args[0]} failed: {result.output[-500:]}")
    return by_operation(calls)


def _commands(work: Path) -> dict[str, list[str]]:
    dry = ["copy", "--output-dir", str(work / "calls-none"), "--dry-run", "-q"]
    return {"scrape list": ["list"], "--all-tags '*' --dry-run": [*dry, "--all-tags", "*"]}


def calls_rows(work: Path, repositories: int) -> list[Row]:
    reason = unavailable()
    if reason is not None:
        return [skipped(NAME, reason)]
    found: dict[int, dict[str, Counter[str]]] = {}
    units: dict[int, int] = {}
    with SeaweedServer() as server:
        for count in (repositories, 2 * repositories):
            root = work / f"calls-s3-{count}"
            tree = many_repositories(root, count, 3)
            bucket = server.make_bucket()
            _upload(server, bucket, tree)
            clear(root)
            units[count] = tree.repositories + tree.tags
            found[count] = {
                name: _calls(server, bucket, args) for name, args in _commands(work).items()
            }
    small, big = repositories, 2 * repositories
    rows = []
    for name in _commands(work):
        per_unit = {n: sum(found[n][name].values()) / units[n] for n in (small, big)}
        detail = ", ".join(f"{op} {n}" for op, n in sorted(found[big][name].items()))
        rows.append(
            Row(
                f"{NAME}, {name}: {big} vs {small} repos",
                "calls/unit",
                Sample.of(per_unit[big]),
                Sample.of(per_unit[small]),
                f"S3 calls per repository + tag with {small} repositories",
                Target("<=", 1.1),
                notes=[
                    f"{sum(found[small][name].values())} / {sum(found[big][name].values())} "
                    f"calls for {units[small]} / {units[big]} repositories + tags; "
                    f"by operation at {big}: {detail}"
                ],
            )
        )
    return rows
