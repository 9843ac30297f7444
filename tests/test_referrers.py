"""OCI 1.1 referrers travel with their image: the ``sha256-<hex>`` tag schema (issue 14, 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.manifest import OCI_INDEX, OCI_MANIFEST
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import copy_under, run_cli
from tests.support.trees import stored_blobs

EMPTY = "application/vnd.oci.empty.v1+json"


def referrer(writer: TreeWriter, name: str, subject: Digest, kind: str) -> tuple[Digest, Digest]:
    """An artifact manifest about ``subject`` (and its one layer), as oras/cosign push it."""
    config = writer.blob(b"{}")
    content = json.dumps({"kind": kind, "of": str(subject)}).encode()
    layer = writer.blob(content)
    for digest in (config, layer):
        writer.link(layout.layer_link_path(name, digest), digest)
    subject_size = writer.driver.stat(layout.blob_data_path(subject)).size
    manifest = writer.manifest(
        name,
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": f"application/example.{kind}",
            "config": {"mediaType": EMPTY, "digest": str(config), "size": 2},
            "layers": [{"mediaType": "text/plain", "digest": str(layer), "size": len(content)}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": str(subject), "size": subject_size},
        },
    )
    return manifest, layer


def referrers_index(writer: TreeWriter, name: str, subject: Digest, refs: list[Digest]) -> Digest:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": str(ref),
                "size": writer.driver.stat(layout.blob_data_path(ref)).size,
                "artifactType": "application/example",
            }
            for ref in refs
        ],
    }
    digest = writer.manifest(name, document)
    writer.tag(name, f"sha256-{subject.hex}", digest)
    return digest


@pytest.fixture
def source(tmp_path: Path) -> TreeWriter:
    (tmp_path / "data").mkdir()
    driver = LocalDriver(tmp_path / "data", read_only=False)
    return TreeWriter(CheckedDriver(driver, read_only=False))


def test_referrers_come_along_unless_refused(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app", "v1")
    source.image("app", "v2")
    sbom, sbom_layer = referrer(source, "app", image.manifest, "sbom")
    vuln, vuln_layer = referrer(source, "app", image.manifest, "vuln")
    index = referrers_index(source, "app", image.manifest, [sbom, vuln])
    # The SBOM is signed in turn (cosign's tag next to the referrer): that comes too.
    signature = source.image("app", f"sha256-{sbom.hex}.sig", layer_sizes=(50,))

    refused = copy_under(tmp_path, "--no-signatures", "app:v1")
    assert refused.exit_code == 0, refused.output
    assert stored_blobs(tmp_path / "copy") == {str(d) for d in image.blobs}

    result = copy_under(tmp_path, "--platform", "linux/amd64", "app:v1")
    assert result.exit_code == 0, result.output
    assert f"app:sha256-{image.manifest.hex} " in result.stdout
    wanted = {str(d) for d in [*image.blobs, index, sbom, sbom_layer, vuln, vuln_layer]}
    wanted |= {str(Digest.of(b"{}"))} | {str(d) for d in signature.blobs}
    assert stored_blobs(tmp_path / "copy") == wanted
    link = layout.tag_current_link_path("app", f"sha256-{image.manifest.hex}")
    tag = tmp_path / "copy" / link.lstrip("/")
    assert tag.read_text() == str(index)
    verified = run_cli("verify", "--data-dir", str(tmp_path / "copy"))
    assert verified.exit_code == 0, verified.output
