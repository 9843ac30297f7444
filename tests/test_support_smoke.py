"""The end-to-end support works on its own, without the scraper: images built here push to a
real registry 2.8, pull back verified, and land in storage the way the scraper expects.

What these tests pin down about distribution 2.8.2 and skopeo 1.9.3 (the scraper relies on it):

- Every link file (tags/<tag>/current/link, tags/<tag>/index/sha256/<hex>/link,
  _manifests/revisions/sha256/<hex>/link, _layers/sha256/<hex>/link) is exactly 71 bytes,
  `sha256:<64 hex>`, no newline.
- Manifests of every kind (OCI, docker schema2, OCI index, schema1) are blobs under
  blobs/sha256/<2>/<hex>/data and revisions under _manifests/revisions; the stored bytes always
  hash to the revision digest. An index and each of its platform manifests get a revision link
  in the repository; only the index is tagged.
- Schema1: the registry stores the *canonical* payload (the JWS signatures stripped) and
  re-signs it with its own key on every GET, so served bytes differ on each request and never
  hash to the digest; the digest is sha256 of the stored bytes. A schema1 image has no config
  blob: _layers holds only its fsLayers blobs.
- The config blob of an OCI or schema2 image is linked under _layers like a layer; the
  manifest itself is not.
- `--format v2s2` keeps config and layer bytes; only the manifest changes. Pushing OCI without
  --format keeps the manifest byte for byte (digest unchanged); so does an index with --all.
- With schema1 compatibility on and no Accept header, GET of a schema2 manifest returns an
  on-the-fly schema1 conversion (another digest) and GET of an OCI manifest or index is 404
  MANIFEST_UNKNOWN; clients must send Accept (ACCEPT_ALL_MANIFESTS).
- garbage-collect --dry-run prints `<repo>: marking manifest|blob <digest>` lines on stdout and a
  summary `N blobs marked, B blobs and M manifests eligible for deletion`; on a freshly pushed
  tree every blob on disk is marked.
- The s3 driver of 2.8 has no forcepathstyle key; regionendpoint alone gives path-style
  requests, which moto needs. The Go AWS SDK panics when AWS_CA_BUNDLE is set, so the registry
  runs without it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import socket
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import components, skopeo
from tests.support.images import (
    FIXED_MTIME,
    BuiltImage,
    StandardImages,
    build_image,
    build_index,
    make_layer,
    sha256_digest,
    unpack_with_umoci,
)
from tests.support.registry import (
    ACCEPT_ALL_MANIFESTS,
    RegistryError,
    RegistryFactory,
    RegistryServer,
    S3Endpoint,
    parse_gc_summary,
)
from tests.support.skopeo import PopulatedRegistry
from tests.support.trees import V2

pytestmark = pytest.mark.e2e

LINK_RE = re.compile(rb"sha256:[0-9a-f]{64}")


def blob_path(root: Path, digest: str) -> Path:
    hex_ = digest.removeprefix("sha256:")
    return root / V2 / "blobs" / "sha256" / hex_[:2] / hex_ / "data"


def repo_dir(root: Path, repository: str) -> Path:
    return root / V2 / "repositories" / repository


def read_link(path: Path) -> str:
    content = path.read_bytes()
    assert len(content) == 71 and LINK_RE.fullmatch(content), (path, content)
    return content.decode()


# Images, without any server -------------------------------------------------------------------


def test_images_are_deterministic_and_valid(
    tmp_path: Path, image_layout: StandardImages, umoci_binary: str
) -> None:
    again = build_image(tmp_path / "again", "plain", seed="plain")
    assert again.manifest == image_layout.plain.manifest
    index = build_index(tmp_path / "again", "multiarch", seed="multiarch", layer_sizes=(5000,))
    assert index.digest == image_layout.multiarch.digest

    plain = image_layout.plain
    for layer, diff_id in zip(plain.layers, plain.diff_ids, strict=True):
        assert sha256_digest(gzip.decompress(layer.data)) == diff_id
        assert layer.size > 4000  # random payload: gzip cannot shrink it
    config = json.loads(plain.config)
    assert config["rootfs"]["diff_ids"] == plain.diff_ids
    assert (config["architecture"], config["os"]) == ("amd64", "linux")
    platforms = [json.loads(i.config).get("variant") for i in image_layout.multiarch.images]
    assert platforms == [None, "v8"]

    shared = image_layout.shared_layer.digest
    assert (
        image_layout.shared_a.layer_digests[0] == shared == image_layout.shared_b.layer_digests[0]
    )
    assert make_layer("shared", 12000) == image_layout.shared_layer

    # umoci, an independent implementation, checks every digest and diff_id while unpacking.
    rootfs = unpack_with_umoci(umoci_binary, image_layout.layout, "plain", tmp_path / "bundle")
    assert sorted(p.name for p in (rootfs / "data").iterdir()) == ["plain_0.bin", "plain_1.bin"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(plain.layers[0].data))) as tar:
        assert [(m.name, m.mtime, m.uid) for m in tar.getmembers()] == [
            ("data/plain_0.bin", FIXED_MTIME, 0)
        ]


def test_missing_component_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        components.require_binary("no-such-binary-registry-scraper")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        components.require_binary("no-such-binary-registry-scraper")
    assert components.require_binary("sh").endswith("/sh")


# Push and pull back, each kind ---------------------------------------------------------------


def _pull_both_ways(
    server: RegistryServer, ref: str, digest_ref: str, tmp_path: Path, *, all_platforms: bool
) -> tuple[skopeo.PullResult, skopeo.PullResult]:
    by_tag = skopeo.pull(server.url, ref, tmp_path / "by-tag", all_platforms=all_platforms)
    by_digest = skopeo.pull(
        server.url, digest_ref, tmp_path / "by-digest", all_platforms=all_platforms
    )
    return by_tag, by_digest


def test_push_pull_oci(
    tmp_path: Path, image_layout: StandardImages, registry_server: RegistryServer
) -> None:
    built = image_layout.plain
    digest = skopeo.push(image_layout.layout, "plain", registry_server.url, "t/plain:1", fmt="oci")
    assert digest == built.manifest_digest  # no conversion: the registry keeps the bytes
    assert skopeo.inspect_digest(registry_server.url, "t/plain:1") == digest
    by_tag, by_digest = _pull_both_ways(
        registry_server, "t/plain:1", f"t/plain@{digest}", tmp_path, all_platforms=False
    )
    assert by_tag.digest == by_digest.digest == digest
    assert by_tag.manifest == built.manifest
    assert sorted(by_tag.blobs) == sorted([built.config_digest, *built.layer_digests])


def test_push_pull_docker_schema2(
    tmp_path: Path, image_layout: StandardImages, registry_server: RegistryServer
) -> None:
    built = image_layout.schema2
    url = registry_server.url
    digest = skopeo.push(image_layout.layout, "schema2", url, "t/s2:latest", fmt="v2s2")
    assert digest != built.manifest_digest
    manifest = json.loads(skopeo.inspect_raw(url, "t/s2:latest"))
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    # Conversion keeps every blob byte for byte: same config and layer digests.
    assert manifest["config"]["digest"] == built.config_digest
    assert [layer["digest"] for layer in manifest["layers"]] == built.layer_digests
    by_tag, by_digest = _pull_both_ways(
        registry_server, "t/s2:latest", f"t/s2@{digest}", tmp_path, all_platforms=False
    )
    assert by_tag.digest == by_digest.digest == digest


def test_push_pull_index_all_platforms(
    tmp_path: Path, image_layout: StandardImages, registry_server: RegistryServer
) -> None:
    built = image_layout.multiarch
    url = registry_server.url
    digest = skopeo.push(image_layout.layout, "multiarch", url, "t/multi:v1", all_platforms=True)
    assert digest == built.digest
    assert skopeo.inspect_digest(url, "t/multi:v1") == digest
    children = {image.manifest_digest for image in built.images}
    for child in children:  # every platform manifest is addressable by digest
        assert skopeo.inspect_digest(url, f"t/multi@{child}") == child
    by_tag, by_digest = _pull_both_ways(
        registry_server, "t/multi:v1", f"t/multi@{digest}", tmp_path, all_platforms=True
    )
    assert by_tag.digest == by_digest.digest == digest
    assert set(by_tag.instances) == set(by_digest.instances) == children
    oci = skopeo.pull(url, "t/multi:v1", tmp_path / "oci", all_platforms=True, transport="oci")
    assert oci.digest == digest and set(oci.instances) == children


def test_push_pull_docker_schema1(
    tmp_path: Path,
    image_layout: StandardImages,
    filesystem_registry: RegistryFactory,
    skopeo_binary: str,
) -> None:
    root = tmp_path / "storage"
    server = filesystem_registry(root)
    built = image_layout.schema1
    digest = skopeo.push(image_layout.layout, "schema1", server.url, "t/s1:old", fmt="v2s1")

    status, headers, served = server.get_manifest("t/s1", "old")
    assert status == 200
    assert headers["Content-Type"] == skopeo.SCHEMA1_SIGNED
    assert headers["Docker-Content-Digest"] == digest
    assert sha256_digest(served) != digest  # signed bytes; the digest excludes signatures
    assert skopeo.manifest_digest(served) == digest
    assert server.get_manifest("t/s1", "old")[2] != served  # re-signed on every GET
    # Cross-check the pure-Python schema1 digest with skopeo's own.
    (tmp_path / "served.json").write_bytes(served)
    assert skopeo.run("manifest-digest", str(tmp_path / "served.json")).strip() == digest

    # Stored: the canonical payload, hashing to the revision digest, without signatures.
    stored = blob_path(root, digest).read_bytes()
    assert sha256_digest(stored) == digest
    assert b'"signatures"' not in stored and json.loads(stored)["schemaVersion"] == 1
    revision = repo_dir(root, "t/s1") / "_manifests/revisions/sha256" / digest[7:] / "link"
    assert read_link(revision) == digest
    layers = {p.name for p in (repo_dir(root, "t/s1") / "_layers/sha256").iterdir()}
    assert layers == {d[7:] for d in built.layer_digests}  # schema1: no config blob

    by_tag, by_digest = _pull_both_ways(
        server, "t/s1:old", f"t/s1@{digest}", tmp_path, all_platforms=False
    )
    assert by_tag.digest == by_digest.digest == digest
    assert sorted(by_tag.blobs) == sorted(built.layer_digests)


def test_unknown_references_answer_404(registry_server: RegistryServer) -> None:
    for path in (
        "/v2/nobody/manifests/latest",
        "/v2/nobody/manifests/sha256:" + "0" * 64,
        "/v2/nobody/blobs/sha256:" + "0" * 64,
    ):
        status, _headers, body = registry_server.http_get(path, accept=ACCEPT_ALL_MANIFESTS)
        assert status == 404, (path, body)
    assert registry_server.tags("nobody") == []
    assert registry_server.catalog() == []


def test_no_accept_header_hides_oci_and_rewrites_schema2(
    populated_registry: PopulatedRegistry,
) -> None:
    server, pushed = populated_registry.server, populated_registry.pushed
    plain = pushed["plain"]
    status, _headers, body = server.http_get(f"/v2/{plain.repository}/manifests/{plain.tag}")
    assert status == 404 and b"MANIFEST_UNKNOWN" in body
    schema2 = pushed["schema2"]
    status, headers, _body = server.http_get(f"/v2/{schema2.repository}/manifests/{schema2.tag}")
    assert status == 200 and headers["Content-Type"] == skopeo.SCHEMA1_SIGNED
    assert headers["Docker-Content-Digest"] != schema2.digest
    status, headers, _body = server.get_manifest(schema2.repository, schema2.tag)
    assert status == 200 and headers["Docker-Content-Digest"] == schema2.digest


# The storage tree ---------------------------------------------------------------------------


def test_storage_tree_layout(populated_registry: PopulatedRegistry) -> None:
    root, pushed = populated_registry.root, populated_registry.pushed
    server = populated_registry.server
    assert server.catalog() == sorted(p.repository for p in pushed.values())
    for image in pushed.values():
        assert server.tags(image.repository) == [image.tag]
        tag_dir = repo_dir(root, image.repository) / "_manifests/tags" / image.tag
        assert read_link(tag_dir / "current/link") == image.digest
        assert read_link(tag_dir / "index/sha256" / image.digest[7:] / "link") == image.digest
        revisions = repo_dir(root, image.repository) / "_manifests/revisions/sha256"
        assert read_link(revisions / image.digest[7:] / "link") == image.digest

    links = list((root / V2 / "repositories").rglob("link"))
    assert len(links) > 20
    for link in links:
        digest = read_link(link)
        assert link.parent.name == digest[7:] or link.parent.name == "current"
        assert blob_path(root, digest).is_file(), link

    blobs = list((root / V2 / "blobs/sha256").glob("*/*/data"))
    for data in blobs:
        assert hashlib.sha256(data.read_bytes()).hexdigest() == data.parent.name
        assert data.parent.parent.name == data.parent.name[:2]

    # An index: one tag, revisions for the index and each platform manifest.
    multi = pushed["multiarch"]
    revisions = repo_dir(root, multi.repository) / "_manifests/revisions/sha256"
    children = [i.manifest_digest for i in populated_registry.images.multiarch.images]
    assert {p.name for p in revisions.iterdir()} == {d[7:] for d in [multi.digest, *children]}

    # Shared layer: one blob, linked from both repositories.
    shared = populated_registry.images.shared_layer.digest
    for key in ("shared_a", "shared_b"):
        layer_link = repo_dir(root, pushed[key].repository) / "_layers/sha256" / shared[7:]
        assert read_link(layer_link / "link") == shared

    # Config blobs are linked under _layers; manifests are not.
    plain = populated_registry.images.plain
    layer_dir = repo_dir(root, pushed["plain"].repository) / "_layers/sha256"
    assert {p.name for p in layer_dir.iterdir()} == {
        d[7:] for d in [plain.config_digest, *plain.layer_digests]
    }


def test_garbage_collect_dry_run(populated_registry: PopulatedRegistry) -> None:
    output = populated_registry.server.garbage_collect_dry_run()
    marked, blobs, manifests = parse_gc_summary(output)
    on_disk = list((populated_registry.root / V2 / "blobs/sha256").glob("*/*/data"))
    assert (marked, blobs, manifests) == (len(on_disk), 0, 0)
    multi = populated_registry.pushed["multiarch"]
    assert f"{multi.repository}: marking manifest {multi.digest}" in output


def test_layout_images_match_what_was_pushed(populated_registry: PopulatedRegistry) -> None:
    images, pushed = populated_registry.images, populated_registry.pushed
    built: dict[str, BuiltImage] = {"plain": images.plain, "shared_a": images.shared_a}
    for key, image in built.items():
        assert pushed[key].digest == image.manifest_digest
        blob = blob_path(populated_registry.root, image.manifest_digest)
        assert blob.read_bytes() == image.manifest
    assert pushed["multiarch"].digest == images.multiarch.digest


# S3 ----------------------------------------------------------------------------------------


@pytest.mark.s3
def test_registry_on_s3(
    tmp_path: Path,
    image_layout: StandardImages,
    s3_registry: Callable[..., RegistryServer],
    skopeo_binary: str,
) -> None:
    from s3_servers import MotoServer

    with MotoServer() as moto:
        bucket = moto.make_bucket()
        endpoint: S3Endpoint = moto
        server = s3_registry(endpoint, bucket, "/registry")
        built = image_layout.multiarch
        url = server.url
        digest = skopeo.push(
            image_layout.layout, "multiarch", url, "t/multi:v1", all_platforms=True
        )
        assert digest == built.digest
        pulled = skopeo.pull(url, f"t/multi@{digest}", tmp_path / "pull", all_platforms=True)
        assert pulled.digest == digest
        keys = {
            obj["Key"]: obj["Size"]
            for obj in moto.client().list_objects_v2(Bucket=bucket, Prefix="registry/")["Contents"]
        }
        current = f"registry/{V2}/repositories/t/multi/_manifests/tags/v1/current/link"
        assert keys[current] == 71
        assert f"registry/{V2}/blobs/sha256/{digest[7:9]}/{digest[7:]}/data" in keys
        assert parse_gc_summary(server.garbage_collect_dry_run())[1:] == (0, 0)


def _process_env_keys(server: RegistryServer) -> set[str]:
    # The running registry's real environment, read from /proc.
    environ = Path(f"/proc/{server.pid}/environ").read_bytes()
    return {entry.split(b"=", 1)[0].decode() for entry in environ.split(b"\0") if entry}


def test_registry_environment_is_clean(
    tmp_path: Path, filesystem_registry: RegistryFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AWS_CA_BUNDLE panics the s3 driver; REGISTRY_* would override the config file (this
    # address would make the registry listen elsewhere and never answer).
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing-ca.pem"))
    monkeypatch.setenv("REGISTRY_HTTP_ADDR", "127.0.0.1:1")
    server = filesystem_registry()
    keys = _process_env_keys(server)
    assert "AWS_CA_BUNDLE" not in keys and "REGISTRY_HTTP_ADDR" not in keys
    assert server.http_get("/v2/")[0] == 200


def test_start_retries_when_the_port_was_taken(
    tmp_path: Path, registry_binary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # free_port() can hand out a port another process grabs before the registry binds it.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        ports = iter([taken_port, components.free_port()])
        monkeypatch.setattr("tests.support.registry.free_port", lambda: next(ports))
        with RegistryServer.filesystem(tmp_path / "storage", binary=registry_binary) as server:
            assert server.port != taken_port
            assert server.http_get("/v2/")[0] == 200
        assert not server.running


def test_start_reports_why_the_registry_died(tmp_path: Path, registry_binary: str) -> None:
    broken = RegistryServer(
        "  nosuchdriver: {}\n", workdir=tmp_path / "broken", binary=registry_binary
    )
    with pytest.raises(RegistryError, match="nosuchdriver"):
        broken.start()
    assert not broken.running
