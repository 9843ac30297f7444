"""Inventories and receipts on a bucket (moto), written by registry 2.8's own s3 driver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from s3_servers import MotoServer

from tests.support.cli import run_cli
from tests.support.images import StandardImages
from tests.support.skopeo import inspect_digest, push

pytestmark = [pytest.mark.e2e, pytest.mark.s3]


def keys(server: MotoServer, bucket: str, prefix: str) -> dict[str, int]:
    found: dict[str, int] = {}
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            found[item["Key"]] = item["Size"]
    return found


def test_inventory_of_a_bucket_then_a_delta_into_one(
    moto: MotoServer,
    s3_registry: object,
    image_layout: StandardImages,
    skopeo_binary: str,
    tmp_path: Path,
) -> None:
    bucket = moto.make_bucket()
    source = s3_registry(moto, bucket, "/prod")  # type: ignore[operator]
    plain = push(image_layout.layout, "plain", source.url, "library/plain:1.0")
    shared = push(image_layout.layout, "shared-a", source.url, "shared/a:1")
    options = ["--storage-option", f"endpoint_url={moto.endpoint_url}"]
    taken = run_cli("inventory", "--storage", "s3", "--data-dir", f"{bucket}/prod", *options)
    assert taken.exit_code == 0, taken.output
    inventory = json.loads(taken.stdout)
    blob_keys = keys(moto, bucket, "prod/docker/registry/v2/blobs/")
    listed = {
        f"sha256:{key.split('/')[-2]}": size
        for key, size in blob_keys.items()
        if key.endswith("/data")
    }
    assert {entry["digest"]: entry["size"] for entry in inventory["blobs"]} == listed
    assert inventory["repositories"] == [
        {"name": "library/plain", "tags": {"1.0": plain}},
        {"name": "shared/a", "tags": {"1": shared}},
    ]
    assert inspect_digest(source.url, "shared/a:1") == shared
    (tmp_path / "site.json").write_text(taken.stdout)

    # The site (as inventoried) has everything but the new tag: a delta into a bucket holds
    # only the blobs that tag adds, and its receipt says what it relies on.
    push(image_layout.layout, "shared-b", source.url, "shared/a:2")
    shipped = run_cli(
        "--storage", "s3", "--data-dir", f"{bucket}/prod", *options,
        "--output-storage", "s3", "--output-dir", f"{bucket}/delta",
        "--output-storage-option", f"endpoint_url={moto.endpoint_url}",
        "--have", str(tmp_path / "site.json"), "shared/a:2",
    )  # fmt: skip
    assert shipped.exit_code == 0, shipped.output
    delta_keys = keys(moto, bucket, "delta/")
    delta_blobs = {f"sha256:{key.split('/')[-2]}" for key in delta_keys if key.endswith("/data")}
    assert delta_blobs and delta_blobs.isdisjoint(listed)
    [receipt_key] = [key for key in delta_keys if key.startswith("delta/scrape-receipts/")]
    body = moto.client().get_object(Bucket=bucket, Key=receipt_key)["Body"].read()
    receipt = json.loads(body)
    assert receipt["source"] == {"driver": "s3", "location": f"{bucket}/prod"}
    assert {entry["digest"] for entry in receipt["blobs"]} == delta_blobs
    assert receipt["relies_on"] and moto.endpoint_url not in body.decode()
