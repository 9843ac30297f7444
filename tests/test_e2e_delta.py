"""Delta shipments end to end through registry 2.8 and skopeo (issue 14, items 4-7).

A full shipment of two images goes to a "site" tree that a registry serves; the source gets
a new tag of one image (sharing its layers) and a new image; the site's inventory drives a
delta holding none of the site's blobs; the delta, imported into the site with one command,
makes the site serve old and new tags byte for byte, and garbage-collect finds nothing to
delete. Importing the delta into an empty site is refused before anything is written. An
OCI 1.1 referrers index pushed through the HTTP API travels with its image.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import Result

from scraper_core.digest import Digest
from tests.support.cli import run_cli, take_inventory
from tests.support.registry import RegistryFactory, parse_gc_summary
from tests.support.reliability import record
from tests.support.skopeo import PushSource, inspect_digest, pull
from tests.support.trees import stored_blobs

pytestmark = pytest.mark.e2e

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def copy(source: Path, output: Path, *args: str) -> Result:
    return run_cli("--data-dir", str(source), "--output-dir", str(output), *args)


def verify_tar(tar: Path, *args: str) -> Result:
    return run_cli("verify", "--storage", "tar", "--data-dir", str(tar), *args)


def slug(ref: str) -> str:
    return ref.replace("/", "_").replace(":", "_")


def test_ship_reship_the_change_check_and_import(
    push_source: PushSource, filesystem_registry: RegistryFactory, tmp_path: Path
) -> None:
    source = push_source.root
    refs = {
        "shared/a:1": push_source.push("shared-a", "shared/a:1"),
        "library/plain:1.0": push_source.push("plain", "library/plain:1.0"),
    }
    site = tmp_path / "site"
    full = copy(source, site, *refs)
    assert full.exit_code == 0, full.output
    served = filesystem_registry(site)
    for ref, digest in refs.items():
        assert pull(served.url, ref, tmp_path / f"first-{slug(ref)}").digest == digest
    served.stop()

    # The source moves on: a new tag sharing a layer with shared/a:1, and a new image.
    refs["shared/a:2"] = push_source.push("shared-b", "shared/a:2")
    refs["team/multiarch:v1"] = push_source.push(
        "multiarch", "team/multiarch:v1", all_platforms=True
    )
    shared_layer = push_source.images.shared_layer.digest

    inventory = take_inventory(site, tmp_path / "site.json")
    site_blobs = {entry["digest"] for entry in inventory["blobs"]}
    assert site_blobs == stored_blobs(site) and shared_layer in site_blobs

    have = ("--have", str(tmp_path / "site.json"))
    delta = tmp_path / "delta"
    shipped = copy(source, delta, *have, "--all-tags", "**")
    assert shipped.exit_code == 0, shipped.output
    assert stored_blobs(delta).isdisjoint(site_blobs)
    assert stored_blobs(delta) == stored_blobs(source) - site_blobs
    [receipt_path] = (delta / "scrape-receipts").iterdir()
    receipt = json.loads(receipt_path.read_bytes())
    assert shared_layer in {entry["digest"] for entry in receipt["relies_on"]}

    # An empty site: refused before any write.
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = copy(delta, empty, "--all-tags", "**")
    assert refused.exit_code == 2
    assert len(refused.stderr.splitlines()) == 1
    assert "error: the source is a delta:" in refused.stderr
    assert list(empty.iterdir()) == []

    # Laid over a copy of the site as `tar -x` would, the delta serves every tag too.
    overlaid = tmp_path / "overlaid"
    shutil.copytree(site, overlaid)
    shutil.copytree(delta, overlaid, dirs_exist_ok=True)
    served = filesystem_registry(overlaid)
    for ref, digest in refs.items():
        assert inspect_digest(served.url, ref) == digest
    # Its shared layer came from the site, the rest from the delta.
    assert pull(served.url, "shared/a:2", tmp_path / "overlaid-pull").digest == refs["shared/a:2"]
    served.stop()

    # The same delta as an archive, checked on arrival against the site's inventory.
    tar = tmp_path / "delta.tar.gz"
    archived = run_cli(
        "--data-dir", str(source), "--output-tar", str(tar), *have, "--all-tags", "**"
    )
    assert archived.exit_code == 0, archived.output
    alone = verify_tar(tar)
    assert alone.exit_code == 0 and "delta: relies on" in alone.stderr, alone.output
    checked = verify_tar(tar, *have)
    assert checked.exit_code == 0 and "delta: completes the site" in checked.stderr, checked.output
    take_inventory(empty, tmp_path / "empty.json")
    lacking = verify_tar(tar, "--have", str(tmp_path / "empty.json"))
    assert lacking.exit_code == 1 and "does not complete the site" in lacking.stderr

    shipped_bytes = tar.read_bytes()
    imported = run_cli(
        "--storage", "tar", "--data-dir", str(tar), "--output-dir", str(site), "--all-tags", "**"
    )
    assert imported.exit_code == 0, imported.output
    assert tar.read_bytes() == shipped_bytes
    served = filesystem_registry(site)
    for ref, digest in refs.items():
        every = ref.startswith("team/multiarch")
        source_url = push_source.server.url
        assert inspect_digest(served.url, ref) == digest == inspect_digest(source_url, ref)
        pulled = pull(served.url, ref, tmp_path / f"pulled-{slug(ref)}", all_platforms=every)
        assert pulled.digest == digest
    _marked, blobs_eligible, manifests_eligible = parse_gc_summary(served.garbage_collect_dry_run())
    assert (blobs_eligible, manifests_eligible) == (0, 0)
    verified = run_cli("verify", "--data-dir", str(site))
    assert verified.exit_code == 0, verified.output
    record(
        "delta-shipment-e2e",
        outcome=f"delta held {len(stored_blobs(delta))} blobs, none of the site's "
        f"{len(site_blobs)}; every tag pulled; gc deletes nothing; empty site refused",
        figures={"delta_blobs": len(stored_blobs(delta)), "site_blobs": len(site_blobs)},
    )


def test_referrers_index_travels_with_its_image(
    push_source: PushSource, filesystem_registry: RegistryFactory, tmp_path: Path
) -> None:
    source = push_source.server
    digest = push_source.push("plain", "app:v1")
    subject_size = len(source.get_manifest("app", "v1")[2])
    empty = source.upload_blob("app", b"{}")
    sbom = source.upload_blob("app", b'{"sbom": true}')
    referrer = source.put_manifest(
        "app",
        "sbom-of-v1",
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
            "layers": [{"mediaType": "application/spdx+json", **sbom}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": digest, "size": subject_size},
        },
    )
    referrer_size = len(source.get_manifest("app", referrer)[2])
    tag = f"sha256-{digest.removeprefix('sha256:')}"
    index = source.put_manifest(
        "app",
        tag,
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": referrer,
                    "size": referrer_size,
                    "artifactType": "application/spdx+json",
                }
            ],
        },
    )
    result = copy(push_source.root, tmp_path / "copy", "app:v1")
    assert result.exit_code == 0, result.output
    served = filesystem_registry(tmp_path / "copy")
    assert served.tags("app") == sorted(["v1", tag])
    status, _headers, body = served.get_manifest("app", tag)
    assert status == 200 and str(Digest.of(body)) == index
    status, _headers, body = served.get_manifest("app", referrer)
    assert status == 200 and json.loads(body)["subject"]["digest"] == digest
    status, _headers, blob = served.http_get(f"/v2/app/blobs/{sbom['digest']}")
    assert status == 200 and blob == b'{"sbom": true}'
    # The sbom-of-v1 tag was not asked for: only what the referrers index names came along.
    assert "sbom-of-v1" not in served.tags("app")
