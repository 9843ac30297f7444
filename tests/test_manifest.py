"""Manifest kinds worked out from stored bytes, and broken manifests refused by name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scraper_core import manifest as m
from scraper_core.digest import Digest
from scraper_core.errors import ManifestError

A = Digest.of(b"a")
B = Digest.of(b"b")
C = Digest.of(b"c")


def _bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def _image(media_type: str | None = m.OCI_MANIFEST) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "config": {"mediaType": "x", "digest": str(A), "size": 1},
        "layers": [{"mediaType": "y", "digest": str(B), "size": 1}],
    }
    if media_type:
        document["mediaType"] = media_type
    return document


@pytest.mark.parametrize("media_type", [m.OCI_MANIFEST, m.DOCKER_SCHEMA2])
def test_image_manifest(media_type: str) -> None:
    parsed = m.parse_manifest(_bytes(_image(media_type)), "t")
    assert parsed.media_type == media_type
    assert [d.digest for d in parsed.blobs] == [A, B]
    assert not parsed.is_index


def test_oci_manifest_without_media_type_is_detected() -> None:
    assert m.parse_manifest(_bytes(_image(None)), "t").media_type == m.OCI_MANIFEST


@pytest.mark.parametrize("media_type", [m.OCI_INDEX, m.DOCKER_MANIFEST_LIST, None])
def test_index(media_type: str | None) -> None:
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "manifests": [
            {"digest": str(A), "size": 3, "platform": {"os": "linux", "architecture": "amd64"}},
            {
                "digest": str(B),
                "size": 4,
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
        ],
    }
    if media_type:
        document["mediaType"] = media_type
    parsed = m.parse_manifest(_bytes(document), "t")
    assert parsed.is_index
    assert [str(c.platform) for c in parsed.children] == ["linux/amd64", "linux/arm64/v8"]


def test_schema1_deduplicates_layers() -> None:
    document = {
        "schemaVersion": 1,
        "fsLayers": [{"blobSum": str(A)}, {"blobSum": str(B)}, {"blobSum": str(A)}],
        "signatures": [],
    }
    parsed = m.parse_manifest(_bytes(document), "t")
    assert parsed.media_type == m.DOCKER_SCHEMA1_SIGNED
    assert [d.digest for d in parsed.blobs] == [A, B]
    assert all(d.size is None for d in parsed.blobs)


def test_foreign_layer_is_marked() -> None:
    document = _image()
    document["layers"].append(
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": str(C),
            "size": 9,
            "urls": ["https://example.invalid/layer"],
        }
    )
    parsed = m.parse_manifest(_bytes(document), "t")
    assert [d.foreign for d in parsed.blobs] == [False, False, True]


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b"\xff\xfe",
        _bytes({"schemaVersion": 3}),
        _bytes({"schemaVersion": 2, "mediaType": "application/x-unknown"}),
        _bytes({"schemaVersion": 2}),
        _bytes({"schemaVersion": 2, "mediaType": m.OCI_MANIFEST, "layers": []}),
        _bytes({"schemaVersion": 2, "config": {"digest": str(A)}, "layers": "x"}),
        _bytes({"schemaVersion": 2, "config": {"size": 1}, "layers": []}),
        _bytes({"schemaVersion": 2, "config": {"digest": "sha256:../x"}, "layers": []}),
        _bytes({"schemaVersion": 2, "config": {"digest": str(A), "size": -1}, "layers": []}),
        _bytes({"schemaVersion": 2, "manifests": [7]}),
        _bytes({"schemaVersion": 1}),
        _bytes({"schemaVersion": 1, "fsLayers": [{}]}),
        b"{" + b" " * (m.MAX_MANIFEST_SIZE + 1) + b"}",
    ],
)
def test_broken_manifests_name_the_manifest(data: bytes) -> None:
    with pytest.raises(ManifestError, match=r"^manifest-x"):
        m.parse_manifest(data, "manifest-x")
