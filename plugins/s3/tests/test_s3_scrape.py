"""Whole scrapes through the core (planner and transfer engine) with S3 at either end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3_servers import S3Server

from registry_scraper_s3.driver import S3Driver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.testing import MemoryDriver, SyntheticImage, TreeWriter
from scraper_core.testing.scrapes import check_mirrored_in_store, scrape_images, stored_files
from scraper_core.transfer import BlobOutcome

pytestmark = pytest.mark.s3

OpenDriver = Callable[..., S3Driver]


@pytest.fixture
def source(open_driver: OpenDriver, bucket: str) -> tuple[CheckedDriver, SyntheticImage]:
    """A registry tree under root directory /registry of the test bucket, one image wanted."""
    writable = CheckedDriver(open_driver(f"{bucket}/registry"), read_only=False)
    tree = TreeWriter(writable)
    wanted = tree.image("team/app", "v1", layer_sizes=(300_000, 7000))
    tree.image("team/app", "v2")
    reader = CheckedDriver(open_driver(f"{bucket}/registry", read_only=True), read_only=True)
    return reader, wanted


def test_s3_to_local(source: tuple[CheckedDriver, SyntheticImage], tmp_path: Path) -> None:
    reader, wanted = source
    dest = CheckedDriver(MemoryDriver(), read_only=False)
    outcomes = scrape_images(reader, dest, "team/app:v1")
    assert outcomes.counts[BlobOutcome.COPIED] == len(wanted.blobs)
    copied = stored_files(dest)
    assert copied == {path: reader.get_content(path) for path in copied}
    # Each blob, a layer link for each blob but the manifest, the revision and two tag links.
    assert len(copied) == 2 * len(wanted.blobs) - 1 + 3


def test_s3_to_s3_copies_server_side(
    s3_server: S3Server, open_driver: OpenDriver, source: tuple[CheckedDriver, SyntheticImage]
) -> None:
    reader, wanted = source
    dest = CheckedDriver(open_driver(s3_server.make_bucket() + "/mirror"), read_only=False)
    check_mirrored_in_store(reader, dest, wanted, "team/app:v1")


def test_s3_to_s3_large_layer_goes_by_upload_part_copy(
    s3_server: S3Server, open_driver: OpenDriver, bucket: str, request_log: Any
) -> None:
    """Through the whole core: the large layer is copied part by part inside the store, and
    no byte of a layer or config is downloaded (only the manifest, read while planning)."""
    writable = CheckedDriver(open_driver(f"{bucket}/registry"), read_only=False)
    image = TreeWriter(writable).image("team/big", "v1", layer_sizes=(11 * 1024 * 1024, 5000))
    reader = CheckedDriver(open_driver(f"{bucket}/registry", read_only=True), read_only=True)
    raw_dest = open_driver(s3_server.make_bucket(), part_size="5MiB")
    raw_dest.multipart_copy_threshold = 5 * 1024 * 1024
    dest = CheckedDriver(raw_dest, read_only=False)
    request_log.watch(reader, dest)
    outcomes = scrape_images(reader, dest, "team/big:v1")
    assert outcomes.counts[BlobOutcome.SERVER_SIDE] == len(image.blobs) - 1
    big = layout.blob_data_path(image.layers[0])
    assert len(request_log.of("UploadPartCopy", big)) == 3
    for digest in (image.config, *image.layers):
        data = layout.blob_data_path(digest)
        assert request_log.of("GetObject", data) == [], f"{digest} was downloaded"
    assert request_log.of("UploadPart") == [] and request_log.of("PutObject", big) == []
    assert dest.get_content(big) == reader.get_content(big)
