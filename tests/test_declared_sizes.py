"""Each image judged on its own manifests (issue 18, item 5), with in-memory drivers.

Two manifests may declare different sizes for one blob (one of them wrong; registries accept
and serve both). What a manifest declares is checked against that manifest only, the bytes
against the digest once: a sound image never fails because another declared something wrong,
in whatever order the images are named, in one repository or across repositories, and copy,
dry run and verify agree image by image. Each failure states the blob's true size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import BinaryIO

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.reference import parse_reference
from scraper_core.scrape import Scrape, ScrapeOptions
from scraper_core.testing.memory import MemoryDriver, MemoryStore
from scraper_core.testing.tree import SyntheticImage, TreeWriter, image_manifest
from scraper_core.transfer import ImageResult
from scraper_core.verify import verify_images

TRUE_SIZE = 584


class CountingSource(MemoryDriver):
    """Counts the bytes read from each path, to show no stream grows past what is declared."""

    def __init__(self, store: MemoryStore, bytes_read: dict[str, int]) -> None:
        super().__init__(store, read_only=True)
        self.bytes_read = bytes_read

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        stream = super().reader(path, offset)
        read = stream.read

        def counting(size: int = -1) -> bytes:
            data = read(size)
            self.bytes_read[path] = self.bytes_read.get(path, 0) + len(data)
            return data

        stream.read = counting  # type: ignore[method-assign]
        return stream


@dataclass
class Registry:
    """A source holding one shared layer of :data:`TRUE_SIZE` bytes."""

    writer: TreeWriter
    layer: Digest
    #: Bytes read from the source, by path.
    bytes_read: dict[str, int]

    @classmethod
    def new(cls) -> Registry:
        writer = TreeWriter(CheckedDriver(MemoryDriver(), read_only=False))
        return cls(writer, writer.blob(os.urandom(TRUE_SIZE)), {})

    def image(self, name: str, tag: str | None, declared: int) -> SyntheticImage:
        """An image whose manifest says the shared layer is ``declared`` bytes."""
        config = json.dumps({"os": "linux", "architecture": "amd64", "seed": os.urandom(4).hex()})
        config_digest = self.writer.blob(config.encode())
        for digest in (config_digest, self.layer):
            self.writer.link(layout.layer_link_path(name, digest), digest)
        document = image_manifest((config_digest, len(config)), [(self.layer, declared)])
        manifest = self.writer.manifest(name, document)
        if tag is not None:
            self.writer.tag(name, tag, manifest)
        return SyntheticImage(name, manifest, config_digest, [self.layer], [tag] if tag else [])

    def source(self) -> CheckedDriver:
        driver = self.writer.driver.driver
        assert isinstance(driver, MemoryDriver)
        return CheckedDriver(CountingSource(driver.store, self.bytes_read), read_only=True)

    def layer_bytes_read(self) -> int:
        return self.bytes_read.get(layout.blob_data_path(self.layer), 0)


def verdicts(results: list[ImageResult]) -> dict[str, str | None]:
    return {str(result.reference): result.error for result in results}


def copy(registry: Registry, refs: list[str], dest: MemoryDriver) -> dict[str, str | None]:
    scrape = Scrape(
        registry.source(),
        CheckedDriver(dest, read_only=False),
        ScrapeOptions(jobs=4, stat_blobs=False),
    )
    return verdicts(scrape.copy(scrape.plan([parse_reference(ref) for ref in refs])))


def dry_run(registry: Registry, refs: list[str]) -> dict[str, str | None]:
    scrape = Scrape(
        registry.source(), CheckedDriver(MemoryDriver(), read_only=False), ScrapeOptions()
    )
    return verdicts(scrape.preview(scrape.plan([parse_reference(ref) for ref in refs])))


def verified(driver: CheckedDriver, refs: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for ref in refs:
        report = verify_images(driver, [parse_reference(ref)])
        found[ref] = "; ".join(report.problems) or None
    return found


def wrong(registry: Registry, declared: int) -> str:
    return f"blob {registry.layer} is {TRUE_SIZE} bytes, its manifest says {declared}"


def two_images(registry: Registry, across: bool) -> tuple[str, str]:
    """A wrong image (declares one byte more) and a sound one; same repository or not."""
    registry.image("ci/multi", "1.0.0", TRUE_SIZE + 1)
    sound_name = "ci/other" if across else "ci/multi"
    registry.image(sound_name, "3", TRUE_SIZE)
    return "ci/multi:1.0.0", f"{sound_name}:3"


@pytest.mark.parametrize("across", [False, True], ids=["one-repository", "across"])
@pytest.mark.parametrize("sound_first", [False, True], ids=["wrong-first", "sound-first"])
def test_the_sound_image_copies_whatever_the_order(across: bool, sound_first: bool) -> None:
    registry = Registry.new()
    bad, good = two_images(registry, across)
    refs = [good, bad] if sound_first else [bad, good]
    dest = MemoryDriver()

    copied = copy(registry, refs, dest)

    expected = {good: None, bad: wrong(registry, TRUE_SIZE + 1)}
    assert copied == expected
    # One copy of the shared blob, never read past the largest size declared.
    assert registry.layer_bytes_read() == TRUE_SIZE
    assert dry_run(registry, refs) == expected
    assert verified(registry.source(), refs) == {
        good: None,
        bad: f"{bad}: {wrong(registry, TRUE_SIZE + 1)}",
    }
    copy_view = CheckedDriver(dest, read_only=True)
    assert verified(copy_view, [good]) == {good: None}
    assert copy_view.stat(layout.blob_data_path(registry.layer)).size == TRUE_SIZE


def test_an_index_whose_child_declares_a_wrong_size_fails_in_copy_dry_run_and_verify() -> None:
    registry = Registry.new()
    children = [
        registry.image("ci/multi", None, TRUE_SIZE),
        registry.image("ci/multi", None, TRUE_SIZE - 1),
    ]
    registry.writer.index("ci/multi", "index", children)
    registry.image("ci/single", "ok", TRUE_SIZE)
    refs = ["ci/multi:index", "ci/single:ok"]

    expected = {"ci/multi:index": wrong(registry, TRUE_SIZE - 1), "ci/single:ok": None}
    assert copy(registry, refs, MemoryDriver()) == expected
    assert copy(registry, refs[::-1], MemoryDriver()) == expected
    assert dry_run(registry, refs) == expected
    verdict = verified(registry.source(), refs)
    assert verdict["ci/single:ok"] is None
    assert verdict["ci/multi:index"] == f"ci/multi:index: {wrong(registry, TRUE_SIZE - 1)}"


def test_every_declaration_wrong_fails_each_image_with_the_true_size() -> None:
    registry = Registry.new()
    registry.image("a/short", "1", TRUE_SIZE - 10)
    registry.image("b/long", "1", TRUE_SIZE + 10)
    refs = ["a/short:1", "b/long:1"]
    dest = MemoryDriver()

    expected = {"a/short:1": wrong(registry, TRUE_SIZE - 10), "b/long:1": wrong(registry, 594)}
    assert copy(registry, refs, dest) == expected
    assert dry_run(registry, refs) == expected
    # Nobody declared the size the blob has: it is not kept at the destination.
    assert not CheckedDriver(dest, read_only=True).exists(layout.blob_data_path(registry.layer))


def test_a_blob_longer_than_any_declaration_is_read_no_further() -> None:
    registry = Registry.new()
    registry.image("a/short", "1", 100)
    registry.image("b/short", "1", 200)

    copied = copy(registry, ["a/short:1", "b/short:1"], MemoryDriver())

    # Both fail, each on its own declaration; the true size comes from a stat, not from
    # reading on.
    assert copied == {"a/short:1": wrong(registry, 100), "b/short:1": wrong(registry, 200)}
    assert registry.layer_bytes_read() <= 201


def test_an_index_declaring_a_wrong_child_size_fails() -> None:
    registry = Registry.new()
    child = registry.image("ci/multi", None, TRUE_SIZE)
    size = registry.writer.driver.stat(layout.blob_data_path(child.manifest)).size
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": str(child.manifest),
                "size": size + 1,
                "platform": {"os": "linux", "architecture": "amd64"},
            }
        ],
    }
    index = registry.writer.manifest("ci/multi", document)
    registry.writer.tag("ci/multi", "index", index)

    message = f"manifest {child.manifest} is {size} bytes, its index says {size + 1}"
    assert copy(registry, ["ci/multi:index"], MemoryDriver()) == {"ci/multi:index": message}
    assert dry_run(registry, ["ci/multi:index"]) == {"ci/multi:index": message}
