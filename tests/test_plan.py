"""The planner on synthetic trees: what one reference needs, each blob and link once."""

from __future__ import annotations

from pathlib import Path

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.plan import BlobCopy, ImagePlan, LinkWrite, Planner
from scraper_core.reference import Reference
from scraper_core.testing.tree import TreeWriter
from tests.support.trees import images_sharing_a_layer


def test_an_index_sharing_layers_lists_each_blob_and_link_once(tmp_path: Path) -> None:
    driver = CheckedDriver(LocalDriver(tmp_path, read_only=False), read_only=False)
    writer = TreeWriter(driver)
    children = images_sharing_a_layer(writer, "multi", 40)
    index = writer.index("multi", "v1", children)

    plan = Planner(driver).plan(Reference("multi", "v1"))

    digests = [blob.digest for blob in plan.blobs]
    expected = {index} | {digest for child in children for digest in child.blobs}
    assert len(digests) == len(set(digests)) == len(expected)
    assert set(digests) == expected
    paths = [link.path for link in plan.links]
    assert len(paths) == len(set(paths))
    # 41 revisions, and _layers links for the shared layer, 40 own layers and 40 configs.
    assert len(paths) == 41 + 1 + 40 + 40
    assert plan.manifest_digests[0] == index
    assert [link.path for link in plan.tag_links] == [
        layout.tag_index_link_path("multi", "v1", index),
        layout.tag_current_link_path("multi", "v1"),
    ]


def test_adding_a_blob_or_link_twice_keeps_the_first(tmp_path: Path) -> None:
    driver = CheckedDriver(LocalDriver(tmp_path, read_only=False), read_only=False)
    digest = TreeWriter(driver).blob(b"x")
    plan = ImagePlan(Reference("a", "b"), digest)
    plan.add_blob(BlobCopy(digest, 1, b"x"))
    plan.add_blob(BlobCopy(digest, 1))
    link = LinkWrite(layout.layer_link_path("a", digest), digest)
    plan.add_link(link)
    plan.add_link(LinkWrite(link.path, link.digest))
    assert plan.blobs == [BlobCopy(digest, 1, b"x")] and plan.links == [link]
    assert plan.has_blob(digest) and plan.total_bytes == 1
