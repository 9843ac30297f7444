"""End to end on GCS and Azure: a tree the real registry wrote, read from a bucket/container.

The registry 2.8 of this project has no gcs or azure driver that could run against the
emulators, so the tree is written by the registry on local storage (skopeo pushes), then
uploaded object by object with the cloud SDK itself, under the names distribution's gcs and
azure drivers use. scrape reads it from fake-gcs-server or Azurite, a stock registry serves
the copy, and skopeo pulls every image back by tag and by digest, verifying every byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import run_cli
from tests.support.cloud import CloudSource, azure_source, gcs_source, source_args
from tests.support.registry import RegistryFactory, RegistryServer, parse_gc_summary
from tests.support.reliability import measuring
from tests.support.skopeo import PopulatedRegistry, pull
from tests.support.source_guard import SourceGuard

pytestmark = pytest.mark.e2e

WANTED = ("plain", "schema2", "multiarch", "schema1", "shared_a")
NOT_WANTED = "shared_b"


# Each backend carries its marker, so `make test-gcs` / `make test-azure` run its cases and
# `make test-local` (which installs neither emulator) runs none.
@pytest.fixture(
    params=[
        pytest.param("gcs", marks=pytest.mark.gcs),
        pytest.param("azure", marks=pytest.mark.azure),
        pytest.param("azure-legacy", marks=pytest.mark.azure),
    ]
)
def cloud_source(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    populated_registry: PopulatedRegistry,
) -> CloudSource:
    if request.param == "gcs":
        server = request.getfixturevalue("gcs_server")
        return gcs_source(server, monkeypatch, populated_registry.root)
    azurite = request.getfixturevalue("azurite_server")
    legacy = request.param == "azure-legacy"
    return azure_source(azurite, monkeypatch, populated_registry.root, legacy=legacy)


def scrape_from(source: CloudSource, output: Path, *refs: str) -> Result:
    return run_cli(*source_args(source), "--output-dir", str(output), *refs)


def pull_back(server: RegistryServer, populated: PopulatedRegistry, tmp_path: Path) -> None:
    for key in WANTED:
        pushed = populated.pushed[key]
        every = key == "multiarch"
        by_tag = pull(server.url, pushed.ref, tmp_path / f"pull-{key}", all_platforms=every)
        assert by_tag.digest == pushed.digest
        target = tmp_path / f"pull-{key}-digest"
        assert pull(server.url, pushed.digest_ref, target, all_platforms=every).digest == (
            pushed.digest
        )


def test_cloud_to_local_serves_and_pulls(
    cloud_source: CloudSource,
    populated_registry: PopulatedRegistry,
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
    source_unchanged: SourceGuard,
) -> None:
    with measuring("cloud-end-to-end"):
        output = tmp_path / "copy"
        refs = [populated_registry.pushed[key].ref for key in WANTED]
        assert cloud_source.snapshot(), "the tree was not uploaded"
        source_unchanged.watch(cloud_source.location, cloud_source.snapshot)

        result = scrape_from(cloud_source, output, *refs)

        assert result.exit_code == 0, result.output
        assert f"{len(WANTED)} of {len(WANTED)} images copied" in result.stderr
        served = filesystem_registry(output)
        pull_back(served, populated_registry, tmp_path)
        not_wanted = populated_registry.pushed[NOT_WANTED]
        assert served.get_manifest(not_wanted.repository, not_wanted.tag)[0] == 404
        _marked, blobs_eligible, manifests_eligible = parse_gc_summary(
            served.garbage_collect_dry_run()
        )
        assert (blobs_eligible, manifests_eligible) == (0, 0)
        rerun = scrape_from(cloud_source, output, *refs)
        assert rerun.exit_code == 0, rerun.output
        assert rerun.stdout.count(" 0 blobs copied") == len(WANTED)
        # The registry's own config.yml says the same as the flags did.
        config = tmp_path / "config.yml"
        config.write_text(cloud_source.registry_config)
        by_config = run_cli(
            "--registry-config", str(config), "--output-dir", str(tmp_path / "c2"), *refs
        )
        assert by_config.exit_code == 0, by_config.output
        assert f"{len(WANTED)} of {len(WANTED)} images copied" in by_config.stderr


def test_list_and_verify_read_the_bucket_as_a_registry_would(
    cloud_source: CloudSource, populated_registry: PopulatedRegistry, source_unchanged: SourceGuard
) -> None:
    source_unchanged.watch(cloud_source.location, cloud_source.snapshot)
    listed = run_cli("list", *source_args(cloud_source))
    assert listed.exit_code == 0, listed.output
    for pushed in populated_registry.pushed.values():
        assert pushed.repository in listed.stdout
    verified = run_cli("verify", *source_args(cloud_source), "--json")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.stdout)
    assert report["ok"] and report["problems"] == [] and report["orphans"] == []
    assert (report["repositories"], report["tags"]) == (6, 6)
    on_disk = list(populated_registry.root.rglob("blobs/**/data"))
    assert len(on_disk) > 10
    assert report["blobs_verified"] == len(on_disk)


def test_local_to_cloud_and_back(
    cloud_source: CloudSource,
    populated_registry: PopulatedRegistry,
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
    source_unchanged: SourceGuard,
) -> None:
    """scrape writes a bucket/container the same driver then reads back into a servable tree."""
    refs = [populated_registry.pushed[key].ref for key in ("schema2", "multiarch")]
    # A fresh root beside the uploaded one: written by scrape only.
    location = cloud_source.location.split("/", 1)[0] + "/scraped"
    writes = run_cli(
        "--storage", "local", "--data-dir", str(populated_registry.root),
        "--output-storage", cloud_source.storage, "--output-dir", location, *refs,
    )  # fmt: skip
    assert writes.exit_code == 0, writes.output
    back = CloudSource(cloud_source.storage, location, (), cloud_source.snapshot)
    # From here the bucket is the source of the second scrape.
    source_unchanged.watch(location, cloud_source.snapshot)
    output = tmp_path / "copy"
    result = scrape_from(back, output, *refs)
    assert result.exit_code == 0, result.output
    served = filesystem_registry(output)
    for key in ("schema2", "multiarch"):
        pushed = populated_registry.pushed[key]
        target = tmp_path / f"pull-{key}"
        assert pull(served.url, pushed.ref, target, all_platforms=True).digest == pushed.digest
