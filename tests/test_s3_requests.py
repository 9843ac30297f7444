"""S3 requests a copy makes, counted on a real endpoint (moto): what each image costs.

A copy takes blob sizes from the manifests (the stream checks them), reads a manifest without a
stat first, and looks signatures up in one listing of a repository's tags once it has several
images to look up there; a dry run still stats every blob, to name a missing one up front.
Layer and revision links are checked from a listing of their directory once a run has read
LISTING_MIN of them (registry_scraper_s3.linklisting): per image, what is left is the tag link,
the manifest and one GET per blob, as s5cmd or rclone make.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from s3_servers import MotoServer

from registry_scraper_s3.linklisting import LISTING_MIN
from scraper_core import layout
from scraper_core.scrape import SIGNATURE_LISTING_MIN
from scraper_core.testing.tree import SyntheticImage, TreeWriter
from tests.support.cli import run_cli
from tests.support.s3calls import Calls, by_operation, counting_requests

pytestmark = [pytest.mark.e2e, pytest.mark.s3]


def _bucket_with(moto: MotoServer, images: int, name: str = "crowd") -> tuple[str, list[Any]]:
    from registry_scraper_s3.driver import S3Driver

    bucket = moto.make_bucket()
    driver = S3Driver.open(bucket, {"endpoint_url": moto.endpoint_url}, read_only=False)
    writer = TreeWriter(driver)
    made = [writer.image(name, f"t{number}", layer_sizes=(700, 900)) for number in range(images)]
    return bucket, [writer, *made]


def _copy(moto: MotoServer, bucket: str, out: Path, *args: str) -> tuple[Calls, str]:
    source = ["--storage", "s3", "--data-dir", bucket, "-o", f"endpoint_url={moto.endpoint_url}"]
    environ = moto.aws_environ()
    with mock.patch.dict("os.environ", environ, clear=True), counting_requests() as calls:
        result = run_cli(*source, "--output-dir", str(out), *args)
    assert result.exit_code == 0, result.output
    return calls, result.output


def test_a_copy_of_many_images_costs_a_get_per_object_it_needs(
    moto: MotoServer, tmp_path: Path
) -> None:
    count = SIGNATURE_LISTING_MIN + 2
    bucket, (_writer, *images) = _bucket_with(moto, count)
    refs = [f"crowd:{image.tags[0]}" for image in images]
    calls, _ = _copy(moto, bucket, tmp_path / "out", "-q", *refs)
    ops = by_operation(calls)
    # Per image: tag link, manifest; per config and layer: its bytes. The first
    # LISTING_MIN - 1 layer links and revision links are read; then each directory is listed
    # once and vouches for the rest. No HEAD of a blob, no stat of a missing signature tag:
    # one listing of the tags.
    needed = sum(2 + 1 + len(image.layers) for image in images)
    assert ops["GetObject"] == needed + 2 * (LISTING_MIN - 1)
    assert ops["HeadObject"] == 0
    tags_prefix = layout.tags_path("crowd").lstrip("/")
    assert calls["ListObjectsV2", f"{tags_prefix}/"] == 1
    assert calls["ListObjectsV2", layout.layers_path("crowd").lstrip("/") + "/"] == 1
    assert calls["ListObjectsV2", layout.revisions_path("crowd").lstrip("/") + "/"] == 1
    # Besides those, only the source's receipts are listed (what it was made from).
    assert ops["ListObjectsV2"] == 4 and calls["ListObjectsV2", "scrape-receipts/"] == 1
    verify = run_cli("verify", "--data-dir", str(tmp_path / "out"), *refs)
    assert verify.exit_code == 0, verify.output


def test_many_images_of_a_repository_cost_a_get_per_blob_and_two(
    moto: MotoServer, tmp_path: Path
) -> None:
    """The tools copying the same objects make a GET of each: tag link, revision link,
    manifest, and a link and the bytes of each blob (9 an image here)."""
    count = 40
    bucket, (_writer, *images) = _bucket_with(moto, count)
    refs = [f"crowd:{image.tags[0]}" for image in images]
    calls, _ = _copy(moto, bucket, tmp_path / "out", "-q", *refs)
    ops = by_operation(calls)
    blobs = 1 + len(images[0].layers)
    tools = count * (3 + 2 * blobs)
    ours = ops["GetObject"] + ops["ListObjectsV2"] + ops["HeadObject"]
    # The tag link, the manifest and the blobs, plus a fixed cost per repository.
    assert ours == count * (2 + blobs) + 2 * (LISTING_MIN - 1) + 4
    assert ours / count < 6 < tools / count == 9
    verify = run_cli("verify", "--data-dir", str(tmp_path / "out"), *refs)
    assert verify.exit_code == 0, verify.output


def test_a_few_images_look_signatures_up_tag_by_tag(moto: MotoServer, tmp_path: Path) -> None:
    bucket, (_writer, image) = _bucket_with(moto, 1)
    calls, _ = _copy(moto, bucket, tmp_path / "out", "-q", "crowd:t0")
    # Four candidate tags (.sig, .att, .sbom, the referrers tag), none there: a stat each,
    # rather than a listing of a repository that may hold 30,000 tags.
    stats = [key for (op, key) in calls if op == "HeadObject"]
    assert len(stats) == 4 and all(f"sha256-{image.manifest.hex}" in key for key in stats)
    blob_keys = {layout.blob_data_path(digest).lstrip("/") for digest in image.blobs}
    assert not blob_keys & set(stats)


def test_a_signature_is_found_in_the_listing(moto: MotoServer, tmp_path: Path) -> None:
    bucket, (writer, *images) = _bucket_with(moto, SIGNATURE_LISTING_MIN)
    signed: SyntheticImage = images[3]
    signature = writer.image("crowd", f"sha256-{signed.manifest.hex}.sig")
    refs = [f"crowd:{image.tags[0]}" for image in images]
    calls, _ = _copy(moto, bucket, tmp_path / "out", *refs)
    assert by_operation(calls)["HeadObject"] == 0
    copied = tmp_path / "out" / layout.tag_current_link_path("crowd", signature.tags[0])[1:]
    assert copied.read_text() == str(signature.manifest)


def test_a_dry_run_stats_every_blob(moto: MotoServer, tmp_path: Path) -> None:
    bucket, (_writer, *images) = _bucket_with(moto, 2)
    (tmp_path / "out").mkdir()
    calls, _ = _copy(moto, bucket, tmp_path / "out", "-q", "--dry-run", "crowd:t0", "crowd:t1")
    heads = {key for (op, key) in calls if op == "HeadObject"}
    for image in images:
        for digest in (image.config, *image.layers):
            assert layout.blob_data_path(digest).lstrip("/") in heads


def test_a_blob_missing_from_the_bucket_fails_its_image_only(
    moto: MotoServer, tmp_path: Path
) -> None:
    bucket, (_writer, broken, good) = _bucket_with(moto, 2)
    moto.client().delete_object(
        Bucket=bucket, Key=layout.blob_data_path(broken.layers[1]).lstrip("/")
    )
    source = ["--storage", "s3", "--data-dir", bucket, "-o", f"endpoint_url={moto.endpoint_url}"]
    with mock.patch.dict("os.environ", moto.aws_environ(), clear=True):
        result = run_cli(*source, "--output-dir", str(tmp_path / "out"), "crowd:t0", "crowd:t1")
    assert result.exit_code == 1
    assert f"crowd:t0: blob missing from source: {broken.layers[1]}" in result.output
    out = tmp_path / "out"
    assert (out / layout.tag_current_link_path("crowd", "t1")[1:]).exists()
    assert not (out / layout.tag_current_link_path("crowd", "t0")[1:]).exists()
    assert str(good.manifest) in (out / layout.tag_current_link_path("crowd", "t1")[1:]).read_text()


def test_many_tags_of_one_image_are_not_a_reason_to_list(moto: MotoServer, tmp_path: Path) -> None:
    bucket, (writer, image) = _bucket_with(moto, 1)
    tags = [f"also{number}" for number in range(SIGNATURE_LISTING_MIN * 2)]
    for tag in tags:
        writer.tag("crowd", tag, image.manifest)
    calls, _ = _copy(moto, bucket, tmp_path / "out", "-q", *(f"crowd:{tag}" for tag in tags))
    # One manifest: its four candidate signature tags are stat'ed once each, never listed.
    assert by_operation(calls)["HeadObject"] == 4
    assert calls["ListObjectsV2", layout.tags_path("crowd").lstrip("/") + "/"] == 0
