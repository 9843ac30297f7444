"""Signatures and referrers pushed with their image into a real registry 2.8.

The source is a registry's storage that skopeo wrote from an OCI layout made here: an image,
a cosign signature (the tag ``sha256-<hex>.sig`` on an OCI manifest whose layer is the
simple-signing payload, as cosign writes it; ``skopeo copy --sign-by`` makes GPG signatures,
not these) and a referrers index (the OCI 1.1 tag schema ``sha256-<hex>``) naming an artifact
whose ``subject`` is the image. What lands at the target is read back with skopeo.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import skopeo
from tests.support.cli import run_cli
from tests.support.images import OCILayout, build_image
from tests.support.registry import RegistryServer

pytestmark = pytest.mark.e2e

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
REPOSITORY = "signed/app"


@dataclass(frozen=True)
class SignedTree:
    root: Path  # the storage tree skopeo's pushes left
    image: str  # the image's digest
    signature: str  # the digest of the manifest its .sig tag names
    referrers: str  # the digest of the index its sha256-<hex> tag names
    artifact: str  # the referrer the index lists

    @property
    def tags(self) -> dict[str, str]:
        """Tag -> digest, for every tag pushed."""
        hex_digest = self.image.removeprefix("sha256:")
        return {
            "v1": self.image,
            f"sha256-{hex_digest}.sig": self.signature,
            f"sha256-{hex_digest}": self.referrers,
        }


def _manifest(layout: OCILayout, document: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(document).encode()
    return {"mediaType": document["mediaType"], "digest": layout.put_blob(raw), "size": len(raw)}


def _cosign_signature(layout: OCILayout, subject: str) -> dict[str, Any]:
    """A signature manifest laid out as cosign's (its signature bytes are not checked here)."""
    payload = json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": REPOSITORY},
                "image": {"docker-manifest-digest": subject},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    ).encode()
    payload_digest = layout.put_blob(payload)
    config = json.dumps(
        {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [payload_digest]},
        }
    ).encode()
    signature = base64.b64encode(b"signature bytes").decode()
    return _manifest(
        layout,
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": layout.put_blob(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": payload_digest,
                    "size": len(payload),
                    "annotations": {"dev.cosignproject.cosign/signature": signature},
                }
            ],
        },
    )


def _referrers_index(layout: OCILayout, subject: dict[str, Any]) -> dict[str, Any]:
    """An index listing one artifact about ``subject``, as oras pushes the tag schema."""
    note = b"an SBOM, say"
    artifact = _manifest(
        layout,
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/example.sbom",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": layout.put_blob(b"{}"),
                "size": 2,
            },
            "layers": [
                {"mediaType": "text/plain", "digest": layout.put_blob(note), "size": len(note)}
            ],
            "subject": subject,
        },
    )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [artifact]}
    return _manifest(layout, index)


@pytest.fixture(scope="module")
def signed_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedTree]:
    work = tmp_path_factory.mktemp("signed")
    directory = work / "layout"
    image = build_image(directory, "app", seed="signed")
    layout = OCILayout(directory)
    subject = {
        "mediaType": OCI_MANIFEST,
        "digest": image.manifest_digest,
        "size": image.manifest_size,
    }
    layout.add_ref("sig", _cosign_signature(layout, image.manifest_digest))
    index = _referrers_index(layout, subject)
    layout.add_ref("referrers", index)
    artifact = json.loads(layout.blob(index["digest"]))["manifests"][0]["digest"]
    server = RegistryServer.filesystem(work / "storage", workdir=work / "run")
    hex_digest = image.manifest_digest.removeprefix("sha256:")
    try:
        server.start()
        pushed = skopeo.push(directory, "app", server.url, f"{REPOSITORY}:v1")
        signature = skopeo.push(
            directory, "sig", server.url, f"{REPOSITORY}:sha256-{hex_digest}.sig"
        )
        # skopeo 1.9 writes the index again (without the descriptors' artifactType): the
        # digest it reports is the one stored.
        referrers = skopeo.push(
            directory, "referrers", server.url, f"{REPOSITORY}:sha256-{hex_digest}",
            all_platforms=True,
        )  # fmt: skip
    finally:
        server.close()
    assert pushed == image.manifest_digest
    yield SignedTree(work / "storage", pushed, signature, referrers, artifact)


def test_a_signature_and_a_referrers_index_are_pushed_with_their_image(
    target: Any, signed_tree: SignedTree
) -> None:
    result = run_cli(
        "--data-dir", str(signed_tree.root), *target.output_args(), f"{REPOSITORY}:v1"
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "3 of 3 images pushed" in result.stderr
    name = f"mirror/{REPOSITORY}"
    for tag, digest in signed_tree.tags.items():
        # --raw: skopeo 1.9 inspects no artifact, so the bytes served are hashed here.
        assert skopeo.manifest_digest(target.served(f"{name}:{tag}")) == digest, tag
    index = json.loads(target.served(f"{name}@{signed_tree.referrers}"))
    assert [child["digest"] for child in index["manifests"]] == [signed_tree.artifact]
    artifact = json.loads(target.served(f"{name}@{signed_tree.artifact}"))
    assert artifact["subject"]["digest"] == signed_tree.image

    target.proxy.clear()
    again = run_cli("--data-dir", str(signed_tree.root), *target.output_args(), f"{REPOSITORY}:v1")
    assert again.exit_code == 0, again.output
    assert target.proxy.writes() == []
