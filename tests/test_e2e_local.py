"""End to end through the real components: registry 2.8 on local storage, skopeo, scrape.

Images are pushed with skopeo into a registry (OCI, docker schema2, a multi-arch index,
schema1), a subset is scraped from its storage, a second registry serves the copy, and skopeo
pulls every image back by tag and by digest, verifying every byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import run_cli
from tests.support.images import build_image
from tests.support.registry import RegistryFactory, parse_gc_summary
from tests.support.reliability import measuring
from tests.support.skopeo import PopulatedRegistry, PushedImage, pull, push
from tests.support.source_guard import SourceGuard
from tests.support.trees import V2, snapshot, stored_blobs

pytestmark = pytest.mark.e2e

WANTED = ("plain", "schema2", "multiarch", "schema1", "shared_a")


def scrape(source: Path, output: Path, *images: str) -> Result:
    args = ["--storage", "local", "--data-dir", str(source), "--output-dir", str(output)]
    return run_cli(*args, *images)


def schema1_layers(root: Path, digest: str) -> set[str]:
    hex_digest = digest.removeprefix("sha256:")
    data = root / V2 / "blobs" / "sha256" / hex_digest[:2] / hex_digest / "data"
    return {layer["blobSum"] for layer in json.loads(data.read_bytes())["fsLayers"]}


def expected_blobs(populated: PopulatedRegistry, key: str) -> set[str]:
    """Every blob a registry must hold to serve the pushed image, from what was built."""
    pushed = populated.pushed[key]
    images = populated.images
    if key == "multiarch":
        return set(images.multiarch.blob_digests)
    if key == "schema1":
        return {pushed.digest} | schema1_layers(populated.root, pushed.digest)
    built = getattr(images, key)
    # Pushing as schema2 rewrites the manifest only; config and layers keep their bytes.
    return {pushed.digest, built.config_digest, *built.layer_digests}


@pytest.fixture(scope="module")
def scraped(
    populated_registry: PopulatedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Result, dict[str, tuple[bytes, int]]]:
    output = tmp_path_factory.mktemp("copy")
    # Module-wide, so set up before any test's own guard: the same check, by hand.
    guard = SourceGuard()
    guard.watch_local(populated_registry.root)
    before = snapshot(populated_registry.root)
    refs = [populated_registry.pushed[key].ref for key in WANTED]
    # No tag means latest: team/schema2 was pushed as :latest.
    refs[1] = populated_registry.pushed["schema2"].repository
    result = scrape(populated_registry.root, output, *refs)
    guard.assert_unchanged()
    return output, result, before


def test_scrape_succeeds(scraped: tuple[Path, Result, object]) -> None:
    _output, result, _before = scraped
    assert result.exit_code == 0, result.output
    assert "5 of 5 images copied" in result.stderr


def test_copy_holds_exactly_the_blobs_asked_for(
    populated_registry: PopulatedRegistry, scraped: tuple[Path, Result, object]
) -> None:
    output = scraped[0]
    wanted: set[str] = set()
    for key in WANTED:
        wanted |= expected_blobs(populated_registry, key)
    assert stored_blobs(output) == wanted
    # shared_b's own layer is not there, the layer it shares with shared_a is.
    assert populated_registry.images.shared_layer.digest in wanted
    assert (
        not set(populated_registry.images.shared_b.layer_digests)
        - {populated_registry.images.shared_layer.digest}
        & wanted
    )


def test_copy_is_byte_identical_to_the_source_where_it_overlaps(
    populated_registry: PopulatedRegistry, scraped: tuple[Path, Result, dict[str, tuple]]
) -> None:
    output, _result, source = scraped
    copy = snapshot(output)
    for path, (content, _mtime) in copy.items():
        assert content == source[path][0], path
        if path.endswith("/link"):
            assert len(content) == 71 and content.startswith(b"sha256:"), path
    assert not [path for path in copy if "_uploads" in path or ".scrape-tmp" in path]
    repositories = {path.split("/_")[0] for path in copy if "/repositories/" in path}
    assert {path.split("repositories/")[1] for path in repositories} == {
        populated_registry.pushed[key].repository for key in WANTED
    }


def test_served_copy_pulls_by_tag_and_digest(
    populated_registry: PopulatedRegistry,
    scraped: tuple[Path, Result, object],
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
) -> None:
    server = filesystem_registry(scraped[0])
    for key in WANTED:
        pushed: PushedImage = populated_registry.pushed[key]
        every = key == "multiarch"
        by_tag = pull(server.url, pushed.ref, tmp_path / f"{key}-tag", all_platforms=every)
        assert by_tag.digest == pushed.digest, key
        by_digest = pull(
            server.url, pushed.digest_ref, tmp_path / f"{key}-digest", all_platforms=every
        )
        assert by_digest.digest == pushed.digest, key


def test_images_not_asked_for_answer_404(
    populated_registry: PopulatedRegistry,
    scraped: tuple[Path, Result, object],
    filesystem_registry: RegistryFactory,
) -> None:
    server = filesystem_registry(scraped[0])
    not_wanted = populated_registry.pushed["shared_b"]
    status, _headers, _body = server.get_manifest(not_wanted.repository, not_wanted.tag)
    assert status == 404
    status, _headers, _body = server.get_manifest(not_wanted.repository, not_wanted.digest)
    assert status == 404
    own_layer = populated_registry.images.shared_b.layer_digests[-1]
    status, _headers, _body = server.http_get(f"/v2/shared/a/blobs/{own_layer}")
    assert status == 404
    plain = populated_registry.pushed["plain"]
    assert server.get_manifest(plain.repository, "nosuchtag")[0] == 404


def test_garbage_collect_finds_nothing_to_delete(
    scraped: tuple[Path, Result, object], filesystem_registry: RegistryFactory
) -> None:
    server = filesystem_registry(scraped[0])
    marked, blobs_eligible, manifests_eligible = parse_gc_summary(server.garbage_collect_dry_run())
    assert marked == len(stored_blobs(scraped[0]))
    assert (blobs_eligible, manifests_eligible) == (0, 0)
    # Our own check agrees: every tag resolves, every byte verifies, nothing orphaned.
    verified = run_cli("verify", "--data-dir", str(scraped[0]), "--json")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.stdout)
    assert report["ok"] and report["orphans"] == [] and report["tags"] == len(WANTED)


def test_rerun_is_a_no_op(
    populated_registry: PopulatedRegistry, scraped: tuple[Path, Result, object]
) -> None:
    output = scraped[0]
    before = snapshot(output)
    refs = [populated_registry.pushed[key].ref for key in WANTED]
    result = scrape(populated_registry.root, output, *refs)
    assert result.exit_code == 0, result.output
    assert result.stdout.count(" 0 blobs copied") == len(WANTED)
    assert snapshot(output) == before


def test_odd_names_and_a_tag_pushed_twice(
    filesystem_registry: RegistryFactory, tmp_path: Path, source_unchanged: SourceGuard
) -> None:
    layout = tmp_path / "layout"
    first = build_image(layout, "first", seed="twice-1", layer_sizes=(3000,))
    second = build_image(layout, "second", seed="twice-2", layer_sizes=(4000,))
    source = filesystem_registry()
    name = "my.team/some-app__x/a-b"
    push(layout, "first", source.url, f"{name}:v-1.0", fmt="v2s2")
    digest = push(layout, "second", source.url, f"{name}:v-1.0", fmt="oci")
    assert source.rootdir is not None
    tag_index = source.rootdir / V2 / "repositories" / name / "_manifests/tags/v-1.0/index/sha256"
    assert len(list(tag_index.iterdir())) == 2, "the tag's history should hold both pushes"

    output = tmp_path / "copy"
    source_unchanged.watch_local(source.rootdir)
    result = scrape(source.rootdir, output, f"{name}:v-1.0")
    assert result.exit_code == 0, result.output
    copied_index = output / V2 / "repositories" / name / "_manifests/tags/v-1.0/index/sha256"
    assert [p.name for p in copied_index.iterdir()] == [digest.removeprefix("sha256:")]
    assert stored_blobs(output) == {digest, second.config_digest, *second.layer_digests}
    assert not set(first.layer_digests) & stored_blobs(output)

    served = filesystem_registry(output)
    assert pull(served.url, f"{name}:v-1.0", tmp_path / "pulled").digest == digest


def test_corrupt_source_blob_fails_only_that_image(
    populated_registry: PopulatedRegistry,
    tmp_path: Path,
    filesystem_registry: RegistryFactory,
    source_unchanged: SourceGuard,
) -> None:
    source = tmp_path / "source"
    shutil.copytree(populated_registry.root, source)
    bad_layer = populated_registry.images.plain.layer_digests[0].removeprefix("sha256:")
    blob = source / V2 / "blobs" / "sha256" / bad_layer[:2] / bad_layer / "data"
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    os.sync()
    source_unchanged.watch_local(source)
    plain = populated_registry.pushed["plain"]
    good = populated_registry.pushed["shared_a"]
    output = tmp_path / "copy"
    result = scrape(source, output, plain.ref, good.ref)
    assert result.exit_code == 1
    assert f"blob sha256:{bad_layer} is corrupt in the source" in result.stderr
    assert "Traceback" not in result.output
    # Not even an empty directory: writes are staged outside the tree.
    assert not (output / V2 / "blobs" / "sha256" / bad_layer[:2] / bad_layer).exists()
    assert not (output / ".scrape-tmp").exists()
    assert not (output / V2 / "repositories" / plain.repository).exists()
    served = filesystem_registry(output)
    assert pull(served.url, good.ref, tmp_path / "pulled").digest == good.digest
    assert served.get_manifest(plain.repository, plain.tag)[0] == 404


def test_scrape_while_the_source_receives_pushes(
    filesystem_registry: RegistryFactory, tmp_path: Path, source_unchanged: SourceGuard
) -> None:
    """Pushes of other tags into the live source registry do not disturb a scrape."""
    with measuring("scrape-during-pushes") as measured:
        layout = tmp_path / "layout"
        wanted = build_image(layout, "wanted", seed="live-wanted", layer_sizes=(2_000_000, 500_000))
        extra = [
            build_image(layout, f"extra{n}", seed=f"live-{n}", layer_sizes=(300_000,))
            for n in range(6)
        ]
        source = filesystem_registry()
        digest = push(layout, "wanted", source.url, "live/app:stable", fmt="oci")
        assert source.rootdir is not None
        pusher = threading.Thread(
            target=lambda: [
                push(layout, f"extra{n}", source.url, f"live/app:v{n}", fmt="oci") for n in range(6)
            ]
        )
        output = tmp_path / "copy"
        # The pushes add files; nothing that was there may change.
        source_unchanged.watch_local(source.rootdir, only_existing=True)
        pusher.start()
        results = [scrape(source.rootdir, output, "live/app:stable") for _ in range(5)]
        pusher.join()
        measured.figures.update({"scrapes": len(results), "pushes": len(extra)})
        for result in results:
            assert result.exit_code == 0, result.output
        assert stored_blobs(output) == {digest, wanted.config_digest, *wanted.layer_digests}
        assert not {d for image in extra for d in image.layer_digests} & stored_blobs(output)
        served = filesystem_registry(output)
        assert pull(served.url, "live/app:stable", tmp_path / "pulled").digest == digest


def test_platform_filtered_copy_serves_only_that_platform(
    populated_registry: PopulatedRegistry, filesystem_registry: RegistryFactory, tmp_path: Path
) -> None:
    multi = populated_registry.pushed["multiarch"]
    amd64, arm64 = populated_registry.images.multiarch.images
    output = tmp_path / "copy"
    result = run_cli(
        "--data-dir", str(populated_registry.root), "--output-dir", str(output),
        "--platform", "linux/arm64", multi.ref,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    served = filesystem_registry(output)
    # The index itself is served unchanged; the chosen child pulls, the other is absent.
    assert served.get_manifest(multi.repository, multi.tag)[0] == 200
    arm = pull(served.url, f"{multi.repository}@{arm64.manifest_digest}", tmp_path / "arm")
    assert arm.digest == arm64.manifest_digest
    assert served.get_manifest(multi.repository, amd64.manifest_digest)[0] == 404
    assert not set(amd64.layer_digests) & stored_blobs(output)


def test_archive_extracts_to_a_tree_a_registry_serves(
    populated_registry: PopulatedRegistry, filesystem_registry: RegistryFactory, tmp_path: Path
) -> None:
    archive = tmp_path / "ship.tar.gz"
    refs = [populated_registry.pushed[key].ref for key in ("plain", "schema1")]
    result = run_cli(
        "--data-dir", str(populated_registry.root), "--output-tar", str(archive), *refs
    )
    assert result.exit_code == 0, result.output
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(extracted)], check=True)
    served = filesystem_registry(extracted)
    for key in ("plain", "schema1"):
        pushed = populated_registry.pushed[key]
        assert pull(served.url, pushed.ref, tmp_path / key).digest == pushed.digest
