"""``--platform`` through an index of indexes (containers/image's test layouts nest them)."""

from __future__ import annotations

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import ImageNotFoundError
from scraper_core.manifest import OCI_INDEX, OCI_MANIFEST
from scraper_core.plan import Planner, PlatformFilter
from scraper_core.reference import Reference
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.tree import TreeWriter


def _size(driver: CheckedDriver, digest: Digest) -> int:
    return driver.stat(layout.blob_data_path(digest)).size


def _index(writer: TreeWriter, entries: list[dict[str, object]]) -> Digest:
    return writer.manifest(
        "nest", {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    )


def _nested_tree() -> tuple[CheckedDriver, dict[str, Digest], Digest]:
    """``nest:v1``: an index of two indexes, one per architecture, each of one image."""
    driver = CheckedDriver(MemoryDriver(), read_only=False)
    writer = TreeWriter(driver)
    images = {arch: writer.image("nest", None, arch=arch).manifest for arch in ("amd64", "arm64")}
    inner = {
        arch: _index(
            writer,
            [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": str(digest),
                    "size": _size(driver, digest),
                    "platform": {"os": "linux", "architecture": arch},
                }
            ],
        )
        for arch, digest in images.items()
    }
    outer = _index(
        writer,
        [
            {"mediaType": OCI_INDEX, "digest": str(digest), "size": _size(driver, digest)}
            for digest in inner.values()
        ],
    )
    writer.tag("nest", "v1", outer)
    return driver, images, outer


def test_platform_descends_into_nested_indexes() -> None:
    driver, images, outer = _nested_tree()
    planner = Planner(driver, [PlatformFilter.parse("linux/amd64")])

    plan = planner.plan(Reference("nest", "v1"))

    assert plan.manifest_digests[0] == outer
    assert images["amd64"] in plan.manifest_digests
    assert images["arm64"] not in plan.manifest_digests
    # The outer index, the amd64 index and the amd64 image: the arm64 index is left out.
    assert len(plan.manifest_digests) == 3


def test_a_platform_no_nested_index_has_names_those_it_has() -> None:
    driver, _images, _outer = _nested_tree()
    planner = Planner(driver, [PlatformFilter.parse("linux/s390x")])

    with pytest.raises(ImageNotFoundError, match=r"it has: linux/amd64, linux/arm64\)"):
        planner.plan(Reference("nest", "v1"))
