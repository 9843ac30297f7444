"""``scrape --output-storage registry`` end to end: a source tree written by registry 2.8 (skopeo
pushes), read from its storage, an archive or S3, and pushed into a registry 2.8 with auth
behind the counting proxy; what lands is read back with skopeo."""

from __future__ import annotations

import base64
import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from s3_servers import MotoServer

from tests.support import skopeo
from tests.support.cli import run_cli
from tests.support.images import build_standard_images
from tests.support.registry import RegistryServer
from tests.support.skopeo import PushedImage, push_standard
from tests.support.trees import V2, snapshot

pytestmark = pytest.mark.e2e

#: Pushed from the tree: an OCI image, a docker schema2 image, a two-platform index and two
#: images sharing a layer in two repositories (the second repository mounts it).
WANTED = ("plain", "schema2", "multiarch", "shared_a", "shared_b")


@dataclass(frozen=True)
class SourceTree:
    root: Path
    pushed: dict[str, PushedImage]

    def refs(self, *keys: str) -> list[str]:
        return [self.pushed[key].ref for key in keys]


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceTree]:
    """A registry's storage holding the standard images, as skopeo pushed them; read-only."""
    images = build_standard_images(tmp_path_factory.mktemp("layout"))
    base = tmp_path_factory.mktemp("source")
    server = RegistryServer.filesystem(base / "storage", workdir=base / "run")
    try:
        server.start()
        pushed = push_standard(images, server.url)
    finally:
        server.close()
    yield SourceTree(base / "storage", pushed)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    """moto's S3 server for this module (the host's tests have theirs in their conftest)."""
    with MotoServer() as server:
        yield server


def push(
    target: Any,
    *args: str,
    namespace: str = "/mirror",
    auth_file: Path | None = None,
    options: tuple[str, ...] = (),
) -> Result:
    """``scrape ... --output-storage registry`` into ``target`` (through its proxy)."""
    return run_cli(
        *args,
        *target.output_args(namespace, auth_file),
        *(part for option in options for part in ("--output-storage-option", option)),
    )


def from_tree(tree: SourceTree, *refs: str) -> list[str]:
    return ["--data-dir", str(tree.root), *refs]


def manifest_puts(target: Any) -> list[str]:
    """The references manifests were PUT as, in order (``name/manifests/REF``)."""
    return [
        path.rsplit("/manifests/", 1)[1]
        for method, path in target.proxy.writes()
        if method == "PUT" and "/manifests/" in path
    ]


def manifest_heads(target: Any) -> list[str]:
    """The references manifests were asked for (HEAD), in order."""
    with target.proxy.lock:
        requests = list(target.proxy.requests)
    return [
        path.rsplit("/manifests/", 1)[1]
        for method, path in requests
        if method == "HEAD" and "/manifests/" in path
    ]


def assert_served(target: Any, tree: SourceTree, keys: tuple[str, ...]) -> None:
    """Each image is served by tag and by digest at its source digest, bytes as pushed."""
    for key in keys:
        pushed = tree.pushed[key]
        assert target.skopeo_digest(f"mirror/{pushed.ref}") == pushed.digest
        raw = target.served(f"mirror/{pushed.digest_ref}")
        assert skopeo.manifest_digest(raw) == pushed.digest


def test_push_from_a_tree_in_order_mounting_shared_blobs_and_a_rerun_sends_nothing(
    htpasswd_target: Any, source_tree: SourceTree
) -> None:
    target = htpasswd_target
    before = snapshot(source_tree.root, own_too=True)
    preview = push(target, *from_tree(source_tree, *source_tree.refs(*WANTED)), "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "5 of 5 images would be pushed" in preview.stderr
    assert target.proxy.writes() == []

    result = push(target, *from_tree(source_tree, *source_tree.refs(*WANTED)))

    assert result.exit_code == 0, result.output
    assert "5 of 5 images pushed" in result.stderr and " blobs pushed (" in result.stdout
    assert_served(target, source_tree, WANTED)
    # The index: both children by digest, then the index by digest, then its tag.
    index = source_tree.pushed["multiarch"]
    raw = target.served(f"mirror/{index.digest_ref}")
    children = {child["digest"] for child in json.loads(raw)["manifests"]}
    puts = manifest_puts(target)
    assert children <= set(puts)
    assert max(puts.index(child) for child in children) < puts.index(index.digest)
    assert puts.index(index.digest) < puts.index(index.tag)
    # Manifests were absent by digest, so no tag could name them: no tag was asked for.
    assert [ref for ref in manifest_heads(target) if not ref.startswith("sha256:")] == []
    # The shared layer went to mirror/shared/a once, and was mounted into mirror/shared/b.
    writes = target.proxy.writes()
    mounts = [path for method, path in writes if method == "POST" and "mount=" in path]
    assert len(mounts) == 1 and "from=mirror%2Fshared%2Fa" in mounts[0].replace("/", "%2F")

    target.proxy.clear()
    again = push(target, *from_tree(source_tree, *source_tree.refs(*WANTED)))
    assert again.exit_code == 0, again.output
    assert target.proxy.writes() == []
    # The source is read, never written: not even a receipt (a registry keeps none of ours).
    assert snapshot(source_tree.root, own_too=True) == before


def test_push_from_an_archive_with_every_tag(
    token_target: Any, source_tree: SourceTree, tmp_path: Path
) -> None:
    archive = tmp_path / "ship.tar.zst"
    keys = ("plain", "multiarch")
    shipped = run_cli(
        *from_tree(source_tree, *source_tree.refs(*keys)), "--output-tar", str(archive)
    )
    assert shipped.exit_code == 0, shipped.output

    args = ["--storage", "tar", "--data-dir", str(archive), "--all-tags", "**"]
    result = push(token_target, *args)

    assert result.exit_code == 0, result.output
    assert_served(token_target, source_tree, keys)


def test_push_from_s3(
    htpasswd_target: Any,
    source_tree: SourceTree,
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moto.use_environment(monkeypatch)
    bucket = moto.make_bucket()
    endpoint = f"endpoint_url={moto.endpoint_url}"
    keys = ("schema2", "shared_a")
    refs = source_tree.refs(*keys)
    copied = run_cli(
        *from_tree(source_tree, *refs),
        "--output-storage",
        "s3",
        "--output-dir",
        f"{bucket}/site",
        "--output-storage-option",
        endpoint,
    )
    assert copied.exit_code == 0, copied.output

    s3 = ["--storage", "s3", "--data-dir", f"{bucket}/site", "--storage-option", endpoint]
    result = push(htpasswd_target, *s3, *refs)

    assert result.exit_code == 0, result.output
    assert_served(htpasswd_target, source_tree, keys)


def test_an_upload_cut_mid_chunk_resumes_from_where_the_registry_stands(
    htpasswd_target: Any, source_tree: SourceTree
) -> None:
    target = htpasswd_target
    target.proxy.cut(nth=2, after=100)  # the second chunk of the first chunked upload
    keys = ("schema2",)
    result = push(target, *from_tree(source_tree, *source_tree.refs(*keys)), "--jobs", "1",
                  options=("chunk-size=1KiB",))  # fmt: skip

    assert result.exit_code == 0, result.output
    assert target.proxy.cut_done.is_set()
    assert_served(target, source_tree, keys)


def test_a_wrong_password_is_one_line_exit_2_and_nothing_is_pushed(
    token_target: Any, source_tree: SourceTree
) -> None:
    wrong = token_target.wrong_auth_file("not-the-password")
    result = push(
        token_target, *from_tree(source_tree, *source_tree.refs("plain")), auth_file=wrong
    )

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "not-the-password" not in result.output
    assert token_target.proxy.writes() == []


def _secrets_shown(target: Any, result: Result, caplog: pytest.LogCaptureFixture) -> list[str]:
    """The target's secrets found in the run's output or in urllib3's log."""
    shown = result.output + "\n".join(record.getMessage() for record in caplog.records)
    return [secret for secret in target.secrets() if secret in shown]


def test_an_identity_token_is_exchanged_for_tokens_and_never_shown(
    token_target: Any, source_tree: SourceTree, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # As `docker login` writes it against an OAuth2 token service (no password in the file).
    auth_file = tmp_path / "docker-config.json"
    entry = {
        "auth": base64.b64encode(b"<token>:").decode(),
        "identitytoken": token_target.refresh_token,
    }
    auth_file.write_text(json.dumps({"auths": {token_target.proxy.address: entry}}))
    caplog.set_level(logging.DEBUG, logger="urllib3")
    keys = ("plain",)
    args = ("--debug", *from_tree(source_tree, *source_tree.refs(*keys)))
    result = push(token_target, *args, auth_file=auth_file)

    assert result.exit_code == 0, result.output
    assert token_target.issuer.refreshed > 0 and token_target.issuer.refused == 0
    assert_served(token_target, source_tree, keys)
    assert any("/token" in record.getMessage() for record in caplog.records), "urllib3 logged"
    assert _secrets_shown(token_target, result, caplog) == []


def test_a_refused_identity_token_is_one_line_exit_2_and_nothing_is_pushed(
    token_target: Any, source_tree: SourceTree, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    auth_file = tmp_path / "docker-config.json"
    entry = {"identitytoken": "not-" + token_target.refresh_token}
    auth_file.write_text(json.dumps({"auths": {token_target.proxy.address: entry}}))
    caplog.set_level(logging.DEBUG, logger="urllib3")
    result = push(
        token_target, *from_tree(source_tree, *source_tree.refs("plain")), auth_file=auth_file
    )

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the credentials" in lines[0], result.stderr
    assert token_target.proxy.writes() == []
    assert _secrets_shown(token_target, result, caplog) == []


def test_a_wrong_password_under_debug_shows_no_secret(
    htpasswd_target: Any, source_tree: SourceTree, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3")
    wrong = htpasswd_target.wrong_auth_file("n0t-the-Pa55")
    result = push(
        htpasswd_target,
        "--debug",
        *from_tree(source_tree, *source_tree.refs("plain")),
        auth_file=wrong,
    )
    good = push(htpasswd_target, "--debug", *from_tree(source_tree, *source_tree.refs("plain")))

    assert result.exit_code != 0 and good.exit_code == 0, good.output
    assert "n0t-the-Pa55" not in result.output + caplog.text
    assert _secrets_shown(htpasswd_target, good, caplog) == []


def test_schema1_refused_is_one_line_naming_the_image_and_the_others_are_pushed(
    schema1_refusing_target: Any, source_tree: SourceTree
) -> None:
    target = schema1_refusing_target
    result = push(target, *from_tree(source_tree, *source_tree.refs("schema1", "plain")))

    assert result.exit_code == 1, result.output
    refused = [line for line in result.stderr.splitlines() if "schema1" in line.lower()]
    assert refused and "legacy/schema1" in refused[0], result.stderr
    assert_served(target, source_tree, ("plain",))


def test_a_damaged_source_blob_fails_its_image_and_nothing_of_it_is_committed(
    htpasswd_target: Any, source_tree: SourceTree, tmp_path: Path
) -> None:
    root = tmp_path / "damaged"
    shutil.copytree(source_tree.root, root)
    plain = source_tree.pushed["plain"]
    raw = skopeo_raw_manifest(root, plain.digest)
    layer = json.loads(raw)["layers"][0]["digest"].removeprefix("sha256:")
    data = root / V2 / "blobs" / "sha256" / layer[:2] / layer / "data"
    damaged = bytearray(data.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # same size: only the digest tells
    data.write_bytes(bytes(damaged))
    damaged_tree = SourceTree(root, source_tree.pushed)

    result = push(htpasswd_target, *from_tree(damaged_tree, *damaged_tree.refs("plain", "schema2")))

    assert result.exit_code == 1, result.output
    assert "corrupt" in result.stderr and plain.repository in result.stderr
    assert_served(htpasswd_target, source_tree, ("schema2",))
    destination = htpasswd_target.open("/mirror")
    try:
        assert destination.has_blob(plain.repository, f"sha256:{layer}") is None
        assert destination.has_manifest(plain.repository, plain.digest) is None
        assert destination.has_manifest(plain.repository, plain.tag) is None
    finally:
        destination.close()


def skopeo_raw_manifest(root: Path, digest: str) -> bytes:
    hex_digest = digest.removeprefix("sha256:")
    return (root / V2 / "blobs" / "sha256" / hex_digest[:2] / hex_digest / "data").read_bytes()


@pytest.mark.parametrize("flag", ["--link", "--prune", "--recheck", "--allow-older"])
def test_options_meaningless_for_a_registry_are_refused_in_one_line(
    htpasswd_target: Any, source_tree: SourceTree, flag: str
) -> None:
    result = push(htpasswd_target, *from_tree(source_tree, *source_tree.refs("plain")), flag)

    assert result.exit_code == 2, result.output
    assert result.stderr.strip().count("\n") == 0 and flag in result.stderr
    assert htpasswd_target.proxy.writes() == []


def test_an_index_with_platforms_left_out_is_refused_in_one_line_saying_why(
    htpasswd_target: Any, source_tree: SourceTree
) -> None:
    # distribution checks that an index's manifests are there: --platform leaves some out.
    index = source_tree.pushed["multiarch"]
    args = [*from_tree(source_tree, index.ref), "--platform", "linux/arm64"]
    result = push(htpasswd_target, *args)

    assert result.exit_code == 1, result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert index.ref in line and "left out (by --platform" in line
    raw = json.loads(skopeo_raw_manifest(source_tree.root, index.digest))
    [arm] = [m["digest"] for m in raw["manifests"] if m["platform"]["architecture"] == "arm64"]
    assert skopeo.manifest_digest(htpasswd_target.served(f"mirror/{index.repository}@{arm}")) == arm


def test_a_delta_shipment_is_refused_before_anything_is_sent(
    htpasswd_target: Any, source_tree: SourceTree, tmp_path: Path
) -> None:
    inventory = run_cli("inventory", "--data-dir", str(source_tree.root))
    assert inventory.exit_code == 0, inventory.output
    site = tmp_path / "site.json"
    site.write_text(inventory.stdout)
    delta = tmp_path / "delta.tar"
    refs = source_tree.refs("plain")
    made = run_cli(*from_tree(source_tree, *refs), "--have", str(site), "--output-tar", str(delta))
    assert made.exit_code == 0, made.output

    result = push(htpasswd_target, "--storage", "tar", "--data-dir", str(delta), *refs)

    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "the source is a delta" in result.stderr
    assert htpasswd_target.proxy.writes() == []
