"""Shipping through the real components: registry 2.8 storage, scrape, tar, skopeo.

Two images are shipped as an archive (each format, and split into volumes), extracted on a
"site" with ``cat | tar -x``, served by a stock registry and pulled back with skopeo (every
digest compared); ``garbage-collect --dry-run`` finds nothing to delete. The same archive is
also imported with ``--storage tar`` into a fresh tree, and once into S3 (moto).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from s3_servers import MotoServer

from tests.support.archives import extract
from tests.support.cli import run_cli
from tests.support.registry import RegistryFactory, RegistryServer, parse_gc_summary
from tests.support.reliability import record
from tests.support.skopeo import PopulatedRegistry, pull

pytestmark = pytest.mark.e2e

SHIPPED = ("multiarch", "shared_a")
CASES = [(".tar", None), (".tar.gz", None), (".tar.zst", None), (".tar", "16K"), (".tar.zst", "8K")]


def ship(populated: PopulatedRegistry, archive: Path, split: str | None) -> list[Path]:
    refs = [populated.pushed[key].ref for key in SHIPPED]
    extra = ["--split-size", split] if split else []
    result = run_cli("--data-dir", str(populated.root), "--output-tar", str(archive), *extra, *refs)
    assert result.exit_code == 0, result.output
    if split is None:
        return [archive]
    volumes = sorted(archive.parent.glob(f"{archive.name}.[0-9][0-9][0-9]"))
    assert len(volumes) > 1
    return volumes


def pull_shipped(server: RegistryServer, populated: PopulatedRegistry, into: Path) -> None:
    into.mkdir()
    for key in SHIPPED:
        pushed = populated.pushed[key]
        every = key == "multiarch"
        assert pull(server.url, pushed.ref, into / key, all_platforms=every).digest == pushed.digest
        by_digest = pull(server.url, pushed.digest_ref, into / f"{key}-d", all_platforms=every)
        assert by_digest.digest == pushed.digest
    # Only what was shipped: an image left behind is not served.
    plain = populated.pushed["plain"]
    assert server.get_manifest(plain.repository, plain.tag)[0] == 404


def assert_gc_keeps_everything(server: RegistryServer, root: Path) -> None:
    marked, blobs, manifests = parse_gc_summary(server.garbage_collect_dry_run())
    stored = len(list((root / "docker/registry/v2/blobs").rglob("data")))
    assert marked == stored and (blobs, manifests) == (0, 0)


@pytest.mark.parametrize(("suffix", "split"), CASES)
def test_shipped_archive_extracts_and_imports_to_a_site_that_serves(
    populated_registry: PopulatedRegistry,
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
    suffix: str,
    split: str | None,
) -> None:
    shipment = tmp_path / "shipment"
    shipment.mkdir()
    archive = shipment / f"ship{suffix}"
    files = ship(populated_registry, archive, split)
    check = subprocess.run(["sha256sum", "-c", f"{archive.name}.sha256"], cwd=shipment)
    assert check.returncode == 0

    site = tmp_path / "site"
    extract(files, site, suffix)
    served = filesystem_registry(site)
    pull_shipped(served, populated_registry, tmp_path / "pulled-extracted")
    assert_gc_keeps_everything(served, site)

    imported = tmp_path / "imported"
    refs = [populated_registry.pushed[key].ref for key in SHIPPED]
    result = run_cli(
        "--storage", "tar", "--data-dir", str(files[0]), "--output-dir", str(imported), *refs
    )
    assert result.exit_code == 0, result.output
    served_import = filesystem_registry(imported)
    pull_shipped(served_import, populated_registry, tmp_path / "pulled-imported")
    assert_gc_keeps_everything(served_import, imported)
    record("archive-ship-and-serve")


@pytest.mark.s3
def test_archive_imports_straight_into_a_bucket(
    populated_registry: PopulatedRegistry,
    moto: MotoServer,
    s3_registry: Callable[..., RegistryServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    archive = tmp_path / "ship.tar.gz"
    files = ship(populated_registry, archive, "8K")
    bucket = moto.make_bucket()
    refs = [populated_registry.pushed[key].ref for key in SHIPPED]
    result = run_cli(
        "--storage", "tar", "--data-dir", str(archive),
        "--output-storage", "s3", "--output-dir", f"{bucket}/site/registry",
        "--output-storage-option", f"endpoint_url={moto.endpoint_url}", *refs,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(files) > 1
    served = s3_registry(moto, bucket, "/site/registry")
    pull_shipped(served, populated_registry, tmp_path / "pulled")

    # And on from that bucket: S3 -> archive -> S3.
    again = tmp_path / "again.tar.zst"
    s3_options = ["--storage-option", f"endpoint_url={moto.endpoint_url}"]
    shipped = run_cli(
        "--storage", "s3", "--data-dir", f"{bucket}/site/registry", *s3_options,
        "--output-tar", str(again), *refs,
    )  # fmt: skip
    assert shipped.exit_code == 0, shipped.output
    other = moto.make_bucket()
    imported = run_cli(
        "--storage", "tar", "--data-dir", str(again), "--output-storage", "s3",
        "--output-dir", other, "--output-storage-option", f"endpoint_url={moto.endpoint_url}",
        *refs,
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    pull_shipped(s3_registry(moto, other), populated_registry, tmp_path / "pulled-again")
    record("archive-import-s3")
