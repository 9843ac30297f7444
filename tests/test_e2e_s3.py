"""End to end on S3: the registry's own s3 driver writes, scrape reads (and writes) buckets.

Runs on two real S3 implementations: moto (an HTTP S3 endpoint) and SeaweedFS (a distributed
object store). Images are pushed with skopeo into a registry 2.8 on S3 with a rootdirectory,
scraped S3 -> local, local -> S3 and S3 -> S3, served by a stock registry and pulled back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from s3_servers import S3Server

from tests.support.cli import run_cli
from tests.support.images import StandardImages
from tests.support.registry import RegistryFactory, RegistryServer, parse_gc_summary
from tests.support.skopeo import PopulatedRegistry, pull, push_standard
from tests.support.source_guard import SourceGuard, s3_snapshot

pytestmark = [pytest.mark.e2e, pytest.mark.s3]

WANTED = ("plain", "schema2", "multiarch", "schema1", "shared_a")


def s3_options(server: S3Server, flag: str = "--storage-option") -> list[str]:
    return [flag, f"endpoint_url={server.endpoint_url}"]


def pull_all(
    server: RegistryServer, populated: PopulatedRegistry, tmp_path: Path, keys: tuple[str, ...]
) -> None:
    for key in keys:
        pushed = populated.pushed[key]
        every = key == "multiarch"
        target = tmp_path / f"pull-{server.port}-{key}"
        assert pull(server.url, pushed.ref, target, all_platforms=every).digest == pushed.digest
        target = tmp_path / f"pull-{server.port}-{key}-digest"
        by_digest = pull(server.url, pushed.digest_ref, target, all_platforms=every)
        assert by_digest.digest == pushed.digest


def test_s3_to_local_with_rootdirectory(
    s3_server: S3Server,
    s3_registry: object,
    image_layout: StandardImages,
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
    source_unchanged: SourceGuard,
) -> None:
    bucket = s3_server.make_bucket()
    source = s3_registry(s3_server, bucket, "/prod")  # type: ignore[operator]
    pushed = push_standard(image_layout, source.url)
    populated = PopulatedRegistry(source, tmp_path, image_layout, pushed)
    output = tmp_path / "copy"
    refs = [pushed[key].ref for key in WANTED]
    source_unchanged.watch(f"s3://{bucket}", s3_snapshot(s3_server.client(), bucket))
    result = run_cli(
        "--storage", "s3", "--data-dir", f"{bucket}/prod", *s3_options(s3_server),
        "--output-dir", str(output), *refs,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "5 of 5 images copied" in result.stderr
    served = filesystem_registry(output)
    pull_all(served, populated, tmp_path, WANTED)
    not_wanted = pushed["shared_b"]
    assert served.get_manifest(not_wanted.repository, not_wanted.tag)[0] == 404
    _marked, blobs_eligible, manifests_eligible = parse_gc_summary(served.garbage_collect_dry_run())
    assert (blobs_eligible, manifests_eligible) == (0, 0)
    rerun = run_cli(
        "--storage", "s3", "--data-dir", f"{bucket}/prod", *s3_options(s3_server),
        "--output-dir", str(output), *refs,
    )  # fmt: skip
    assert rerun.exit_code == 0 and rerun.stdout.count(" 0 blobs copied") == len(WANTED)
    # The registry's own config.yml (s3 section with keys, endpoint, rootdirectory) suffices.
    by_config = run_cli(
        "--registry-config", str(source.config_path), "--output-dir", str(tmp_path / "c2"), *refs
    )
    assert by_config.exit_code == 0, by_config.output
    assert by_config.stdout.count(" 0 blobs copied") == 0


def test_local_to_s3_then_s3_to_s3(
    s3_server: S3Server,
    s3_registry: object,
    populated_registry: PopulatedRegistry,
    tmp_path: Path,
    source_unchanged: SourceGuard,
) -> None:
    bucket = s3_server.make_bucket()
    refs = [populated_registry.pushed[key].ref for key in WANTED]
    to_s3 = run_cli(
        "--data-dir", str(populated_registry.root),
        "--output-storage", "s3", "--output-dir", f"{bucket}/shipped",
        *s3_options(s3_server, "--output-storage-option"), *refs,
    )  # fmt: skip
    assert to_s3.exit_code == 0, to_s3.output
    served = s3_registry(s3_server, bucket, "/shipped")  # type: ignore[operator]
    pull_all(served, populated_registry, tmp_path, WANTED)
    assert served.get_manifest("shared/b", "1")[0] == 404

    # S3 -> S3 on the same endpoint: server-side copies, no blob byte through this machine.
    source_unchanged.watch(f"s3://{bucket}", s3_snapshot(s3_server.client(), bucket))
    other = s3_server.make_bucket()
    s3_to_s3 = run_cli(
        "--storage", "s3", "--data-dir", f"{bucket}/shipped", *s3_options(s3_server),
        "--output-storage", "s3", "--output-dir", other,
        *s3_options(s3_server, "--output-storage-option"), "-v", *refs[:2],
    )  # fmt: skip
    assert s3_to_s3.exit_code == 0, s3_to_s3.output
    assert "copied server-side" in s3_to_s3.stdout
    # Only the two manifests (verified while planning) are written from here.
    assert s3_to_s3.stdout.count("  copied sha256") == 2
    served_copy = s3_registry(s3_server, other)  # type: ignore[operator]
    pull_all(served_copy, populated_registry, tmp_path, WANTED[:2])
    assert served_copy.get_manifest("team/multiarch", "v1")[0] == 404
