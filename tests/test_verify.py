"""verify_storage / verify_images on synthetic trees through the real local driver, then on
trees broken one object at a time: each problem is one line naming what is broken."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.contract import FileInfo
from scraper_core.digest import Digest
from scraper_core.plan import PlatformFilter
from scraper_core.reference import Reference, parse_reference
from scraper_core.testing.tree import SyntheticImage, TreeWriter
from scraper_core.verify import HASH_CHUNK_SIZE, VerifyReport, verify_images, verify_storage
from tests.support.drivers import LocalDouble
from tests.support.trees import local_writer


class RecordingReader:
    def __init__(self, stream: Any, sizes: list[int]) -> None:
        self.stream = stream
        self.sizes = sizes

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        data: bytes = self.stream.read(size)
        return data

    def close(self) -> None:
        self.stream.close()


class RecordingDriver(LocalDouble):
    """The local driver, remembering every stream opened and every read size asked for."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.opened: list[str] = []
        self.read_sizes: list[int] = []

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        self.opened.append(path)
        return cast(BinaryIO, RecordingReader(self.inner.reader(path, offset), self.read_sizes))

    def read_head(self, path: str, size: int) -> bytes:
        # The local driver's one-read path for links and manifests: an open all the same.
        self.opened.append(path)
        head: bytes = self.inner.read_head(path, size)
        self.read_sizes.append(len(head))
        return head


@dataclass
class Tree:
    root: Path
    writer: TreeWriter
    app_v1: SyntheticImage
    app_v2: SyntheticImage
    other: SyntheticImage

    def path(self, storage_path: str) -> Path:
        return self.root / storage_path.lstrip("/")

    def blob(self, digest: Digest) -> Path:
        return self.path(layout.blob_data_path(digest))

    def reader(self) -> CheckedDriver:
        return CheckedDriver(LocalDriver(self.root, read_only=True), read_only=True)

    def blob_files(self) -> list[Path]:
        return list(self.path(layout.BLOBS_ROOT).rglob("data"))


SHARED_LAYER = os.urandom(3000)


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    root = tmp_path / "data"
    writer = local_writer(root)
    app_v1 = writer.image("team/app", "v1", layers=[SHARED_LAYER, os.urandom(1000)])
    app_v2 = writer.image("team/app", "v2", layers=[SHARED_LAYER, os.urandom(2000)])
    other = writer.image("other", "latest", layers=[SHARED_LAYER])
    return Tree(root, writer, app_v1, app_v2, other)


def verify(tree: Tree, **kwargs: Any) -> VerifyReport:
    return verify_storage(tree.reader(), **kwargs)


def only_problem(report: VerifyReport) -> str:
    assert len(report.problems) == 1, report.problems
    assert "\n" not in report.problems[0]
    return report.problems[0]


def test_a_sound_tree_verifies_every_blob_once(tree: Tree) -> None:
    report = verify(tree)
    assert report.ok and report.problems == [] and report.orphans == []
    assert (report.repositories, report.tags) == (2, 3)
    files = tree.blob_files()
    assert report.blobs_verified == len(files) == 9
    assert report.bytes_verified == sum(path.stat().st_size for path in files)


def test_shared_blobs_are_read_once_in_bounded_chunks(tree: Tree) -> None:
    big = tree.writer.image("big", "latest", layer_sizes=(3 * HASH_CHUNK_SIZE + 5,))
    recording = RecordingDriver(tree.root)
    report = verify_storage(CheckedDriver(recording, read_only=True))
    assert report.ok, report.problems
    opened_blobs = [path for path in recording.opened if path.startswith(layout.BLOBS_ROOT)]
    assert len(opened_blobs) == len(set(opened_blobs))
    assert layout.blob_data_path(big.layers[0]) in opened_blobs
    # Manifests were read and hashed by the planner: never streamed a second time.
    manifests = {layout.blob_data_path(i.manifest) for i in (tree.app_v1, tree.other, big)}
    assert manifests <= set(opened_blobs)
    assert max(recording.read_sizes) <= HASH_CHUNK_SIZE
    assert all(size > 0 for size in recording.read_sizes)


def test_a_flipped_byte_is_found(tree: Tree) -> None:
    target = tree.blob(tree.app_v1.layers[1])
    data = bytearray(target.read_bytes())
    data[500] ^= 0x01
    target.write_bytes(bytes(data))
    report = verify(tree)
    problem = only_problem(report)
    assert problem.startswith(f"blob {tree.app_v1.layers[1]} is corrupt")
    assert "team/app:v1" in problem
    assert report.blobs_verified == 8 and report.orphans == []


def test_a_truncated_blob_is_found(tree: Tree) -> None:
    tree.blob(tree.app_v2.config).write_bytes(b"{}")
    report = verify(tree)
    problem = only_problem(report)
    # The planner stats every blob against its descriptor, so this is caught before hashing.
    assert str(tree.app_v2.config) in problem and problem.startswith("team/app:v2: ")


def test_a_missing_blob_breaks_its_image_and_leaves_a_dangling_link(tree: Tree) -> None:
    missing = tree.app_v2.layers[1]
    tree.blob(missing).unlink()
    report = verify(tree)
    link = layout.layer_link_path("team/app", missing)
    assert report.problems == [
        f"team/app:v2: blob missing from source: {missing} (needed by team/app)"
    ]
    assert report.warnings == [f"dangling link {link}: blob {missing} is missing"]
    # The broken image's other blobs are still in use: not orphans.
    assert report.orphans == []
    # team/app:v1 and other still verify in full: 9 blobs less the missing one and the
    # broken image's manifest and config (never planned, so never hashed).
    assert report.blobs_verified == 6


def test_a_dangling_layer_link_is_a_warning_not_a_problem(tree: Tree) -> None:
    # What garbage-collect leaves: it deletes the blob, never the _layers link.
    ghost = Digest.of(b"never stored")
    tree.writer.link(layout.layer_link_path("other", ghost), ghost)
    report = verify(tree)
    assert report.ok and report.problems == []
    assert report.warnings == [
        f"dangling link {layout.layer_link_path('other', ghost)}: blob {ghost} is missing"
    ]


def test_a_dangling_revision_link_is_a_problem(tree: Tree) -> None:
    # A revision is pullable by digest: its manifest blob must exist.
    ghost = Digest.of(b"never stored manifest")
    tree.writer.link(layout.revision_link_path("other", ghost), ghost)
    report = verify(tree)
    path = layout.revision_link_path("other", ghost)
    assert only_problem(report) == f"dangling link {path}: blob {ghost} is missing"


@pytest.mark.parametrize("kind", ["layer", "revision"])
def test_a_link_with_a_newline_is_corrupt(tree: Tree, kind: str) -> None:
    if kind == "layer":
        path = layout.layer_link_path("other", tree.other.layers[0])
    else:
        path = layout.revision_link_path("other", tree.other.manifest)
    target = tree.path(path)
    target.write_bytes(target.read_bytes() + b"\n")
    report = verify(tree)
    assert len(report.problems) == 2, report.problems
    # The link itself, and the image that reads it.
    assert f"corrupt link file {path}" in report.problems[0]
    assert report.problems[0].startswith("other:latest: ")
    assert report.problems[1].startswith(f"corrupt link file {path}: ")


def test_a_tag_link_with_a_newline_breaks_the_tag(tree: Tree) -> None:
    path = layout.tag_current_link_path("team/app", "v1")
    tree.path(path).write_bytes(f"{tree.app_v1.manifest}\n".encode())
    problem = only_problem(verify(tree))
    assert problem.startswith(f"team/app:v1: corrupt link file {path}")


def test_a_link_naming_another_digest_is_reported(tree: Tree) -> None:
    path = layout.layer_link_path("team/app", tree.app_v1.layers[1])
    tree.path(path).write_bytes(str(tree.app_v2.layers[1]).encode())
    report = verify(tree)
    assert f"link {path} names {tree.app_v2.layers[1]}, not its directory's digest" in (
        report.problems
    )
    assert any(line.startswith("team/app:v1: ") for line in report.problems)


def test_a_tag_without_current_link_cannot_be_pulled(tree: Tree) -> None:
    tree.path(layout.tag_current_link_path("other", "latest")).unlink()
    report = verify(tree)
    assert only_problem(report) == "other:latest: tag has no current link (it cannot be pulled)"
    # The untagged revision is still an image (pullable by digest): checked, not orphaned.
    assert report.orphans == [] and report.blobs_verified == 9


def test_orphans_are_reported_not_failed(tree: Tree) -> None:
    orphan = tree.writer.blob(b"nobody links me")
    report = verify(tree)
    assert report.ok and report.orphans == [orphan]
    assert report.blobs_verified == 9


def test_a_blob_only_linked_from_layers_is_an_orphan(tree: Tree) -> None:
    # A push that never sent its manifest: garbage-collect would delete the blob.
    layer_only = tree.writer.blob(b"pushed, never used")
    tree.writer.link(layout.layer_link_path("other", layer_only), layer_only)
    report = verify(tree)
    assert report.ok and report.orphans == [layer_only]


def test_a_broken_untagged_revision_is_named_by_digest(tree: Tree) -> None:
    untagged = tree.writer.image("other", None, layer_sizes=(100,))
    tree.blob(untagged.layers[0]).unlink()
    report = verify(tree)
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].startswith(
        f"other@{untagged.manifest}: blob missing from source: {untagged.layers[0]}"
    )
    assert len(report.warnings) == 1 and report.warnings[0].startswith("dangling link ")


def test_a_stray_file_among_the_blobs_is_reported(tree: Tree) -> None:
    stray = f"{layout.BLOBS_ROOT}/sha256/ab/not-a-digest/data"
    tree.path(stray).parent.mkdir(parents=True)
    tree.path(stray).write_bytes(b"x")
    assert only_problem(verify(tree)) == f"unexpected file among the blobs: {stray!r}"


def test_names_read_from_storage_cannot_break_the_one_line_rule(tree: Tree) -> None:
    tags = tree.path(layout.tags_path("other"))
    (tags / "evil\nline" / "current").mkdir(parents=True)
    (tags / "evil\nline" / "current" / "link").write_bytes(str(tree.other.manifest).encode())
    odd_entry = f"{layout.repository_path('other')}/_layers/sha256/x\ny"
    tree.path(odd_entry).mkdir()
    tree.path(f"{odd_entry}/link").write_bytes(b"x")
    report = verify(tree)
    assert report.problems == [
        "other: invalid tag directory 'evil\\nline'",
        f"not a digest directory: {odd_entry!r}",
    ]


def test_problems_are_heard_as_they_are_found(tree: Tree) -> None:
    tree.blob(tree.other.config).write_bytes(b"x" * len(tree.blob(tree.other.config).read_bytes()))
    ghost = Digest.of(b"ghost")
    tree.writer.link(layout.revision_link_path("team/app", ghost), ghost)
    heard: list[str] = []
    report = verify(tree, on_problem=heard.append)
    assert len(heard) == 2 and heard == report.problems


def platform_copy(tree: Tree) -> tuple[SyntheticImage, SyntheticImage]:
    """An index of two images from which arch1 was left out, as ``--platform`` copies."""
    arch0 = tree.writer.image("multi", None, layer_sizes=(50,), arch="arch0")
    arch1 = tree.writer.image("multi", None, layer_sizes=(60,), arch="arch1")
    tree.writer.index("multi", "v1", [arch0, arch1])
    for digest in arch1.blobs:
        tree.blob(digest).unlink()
    for link in [
        *(layout.layer_link_path("multi", digest) for digest in (arch1.config, *arch1.layers)),
        layout.revision_link_path("multi", arch1.manifest),
    ]:
        shutil.rmtree(tree.path(link).parent)
    return arch0, arch1


def test_a_platform_filtered_copy_verifies_with_its_platforms(tree: Tree) -> None:
    _arch0, arch1 = platform_copy(tree)
    report = verify(tree)
    assert report.ok and report.orphans == [], report.problems
    assert report.notes == [f"multi:v1: left out linux/arch1 ({arch1.manifest}): not in multi"]
    filtered = verify(tree, platforms=[PlatformFilter("linux", "arch0")])
    assert filtered.ok and filtered.orphans == [], filtered.problems
    assert filtered.blobs_verified == 9 + 4  # the index, arch0's manifest, config and layer


def test_verify_images_checks_only_what_it_is_asked(tree: Tree) -> None:
    target = tree.blob(tree.app_v2.layers[1])
    target.write_bytes(bytes(len(target.read_bytes())))
    references = [
        parse_reference("team/app:v1"),
        parse_reference("other"),
        Reference("other", "latest"),
    ]
    report = verify_images(tree.reader(), [*references, parse_reference("team/app:v1")])
    assert report.ok, report.problems
    # Asked three times for other:latest and twice for team/app:v1: each checked once.
    assert (report.repositories, report.tags, report.blobs_verified) == (2, 2, 6)
    broken = verify_images(tree.reader(), [parse_reference("team/app:v2")])
    assert only_problem(broken).startswith(f"blob {tree.app_v2.layers[1]} is corrupt")


def test_verify_images_names_what_is_missing(tree: Tree) -> None:
    by_digest = Reference("other", digest=Digest.of(b"absent"))
    report = verify_images(tree.reader(), [parse_reference("other:nope"), by_digest])
    assert report.problems == [
        "other:nope: tag not found: other:nope",
        f"other@{by_digest.digest}: manifest not found: other@{by_digest.digest}",
    ]
    assert report.orphans == []


def test_an_emptied_link_directory_is_no_problem(tree: Tree) -> None:
    # The registry's own blob and manifest deletes remove the link file, not its directory.
    for path in (
        layout.layer_link_path("other", Digest.of(b"deleted layer")),
        layout.revision_link_path("other", Digest.of(b"deleted manifest")),
    ):
        tree.path(path).parent.mkdir(parents=True)
    report = verify(tree)
    assert report.ok and report.orphans == [] and report.blobs_verified == 9


class MisstatingDriver(RecordingDriver):
    """Gives one path a wrong size: a blob replaced between planning and hashing."""

    def __init__(self, root: Path, path: str, delta: int) -> None:
        super().__init__(root)
        self.path = path
        self.delta = delta

    def stat(self, path: str) -> FileInfo:
        info = self.inner.stat(path)
        return replace(info, size=info.size + self.delta) if path == self.path else info


@pytest.mark.parametrize(
    ("delta", "expected"), [(-1, "longer than 4999 bytes"), (1, "5000 bytes, expected 5001")]
)
def test_a_blob_whose_size_changed_since_planning(tree: Tree, delta: int, expected: str) -> None:
    # schema1 gives no sizes: the stored size is all the planner has to go on.
    layer = tree.writer.blob(os.urandom(5000))
    tree.writer.link(layout.layer_link_path("old", layer), layer)
    document = {"schemaVersion": 1, "fsLayers": [{"blobSum": str(layer)}]}
    tree.writer.tag("old", "v1", tree.writer.manifest("old", document))
    driver = MisstatingDriver(tree.root, layout.blob_data_path(layer), delta)
    report = verify_storage(CheckedDriver(driver, read_only=True))
    assert only_problem(report) == f"blob {layer} (needed by old:v1): {expected}"
