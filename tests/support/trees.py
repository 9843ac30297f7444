"""Registry trees on local disk: writing one (through the kit's TreeWriter) and reading back
what a tree holds, for the tests that copy, verify or damage them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.testing.tree import SyntheticImage, TreeWriter

#: The registry's own folder below a storage root.
V2 = Path("docker/registry/v2")
#: What scrape adds beside the registry tree at a destination's root: run receipts and an
#: archive's member index (each writing run adds one; their own tests check them).
SCRAPE_OWN_DIRECTORIES = ("scrape-receipts", "scrape-archive")


def local_writer(root: Path) -> TreeWriter:
    """A TreeWriter on a writable local tree at ``root`` (made, with its parents, if missing)."""
    root.mkdir(parents=True, exist_ok=True)
    return TreeWriter(CheckedDriver(LocalDriver(root, read_only=False), read_only=False))


def local_tree(root: Path, images: dict[str, tuple[int, ...]]) -> Path:
    """``root`` holding an image per ``"name:tag"`` with layers of those sizes."""
    tree = local_writer(root)
    for reference, layer_sizes in images.items():
        name, tag = reference.split(":")
        tree.image(name, tag, layer_sizes=layer_sizes)
    return root


def snapshot(root: Path, *, own_too: bool = False) -> dict[str, tuple[bytes, int]]:
    """Every file under root with its bytes and mtime: proves a tree was not touched.

    scrape's own directories (:data:`SCRAPE_OWN_DIRECTORIES`: receipts, an archive's index)
    are left out unless ``own_too``: each writing run adds to them, and their own tests check
    them."""
    files: dict[str, tuple[bytes, int]] = {}
    for directory, dirs, names in os.walk(root):
        if directory == str(root) and not own_too:
            dirs[:] = [name for name in dirs if name not in SCRAPE_OWN_DIRECTORIES]
        for name in names:
            path = Path(directory, name)
            files[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return files


def expected_files(image: SyntheticImage, tag: str | None) -> set[str]:
    """The files (relative to the root) a copy of ``image`` (by ``tag``, or by digest) holds."""
    paths = {layout.blob_data_path(d) for d in image.blobs}
    paths |= {layout.layer_link_path(image.name, d) for d in [image.config, *image.layers]}
    paths.add(layout.revision_link_path(image.name, image.manifest))
    if tag:
        paths.add(layout.tag_current_link_path(image.name, tag))
        paths.add(layout.tag_index_link_path(image.name, tag, image.manifest))
    return {path.lstrip("/") for path in paths}


def blob_file(root: Path, digest: Digest | str) -> Path:
    """Where the blob ``digest`` lies in the local tree at ``root``."""
    return root / layout.blob_data_path(Digest.parse(str(digest))).lstrip("/")


def stored_blobs(root: Path) -> set[str]:
    """The digests of every blob the local tree at ``root`` holds."""
    return {f"sha256:{path.parent.name}" for path in (root / V2 / "blobs").rglob("data")}


def temp_files(output: Path) -> list[Path]:
    """scrape's temporary files left anywhere under ``output``."""
    return [path for path in output.rglob("*") if ".scrape-tmp" in str(path)]


def assert_tree_verifies(output: Path) -> None:
    """Every blob at its final path hashes to its name; every link names a stored blob."""
    blobs = list((output / V2 / "blobs").rglob("data"))
    for blob in blobs:
        digest = hashlib.sha256(blob.read_bytes()).hexdigest()
        assert digest == blob.parent.name, f"corrupt blob at a final path: {blob}"
    stored = {blob.parent.name for blob in blobs}
    for link in (output / V2 / "repositories").rglob("link"):
        content = link.read_bytes()
        assert len(content) == 71, link
        assert content.decode().removeprefix("sha256:") in stored, f"dangling {link}"


def one_image_tree(root: Path) -> Path:
    """A local tree at ``root`` with the one image ``team/app:v1``."""
    local_writer(root).image("team/app", "v1")
    return root


def images_sharing_a_layer(writer: TreeWriter, repository: str, count: int) -> list[SyntheticImage]:
    """``count`` untagged images of one repository, one per platform (``arch<n>``), each with
    a layer of its own over a base layer they all share."""
    shared = b"a base layer every image has"
    return [
        writer.image(repository, None, layers=[shared, f"own {n}".encode()], arch=f"arch{n}")
        for n in range(count)
    ]


def repositories_tree(root: Path, names: Iterable[str], layer_size: int = 100) -> Path:
    """A local tree at ``root`` with one small image ``NAME:v1`` in each repository named."""
    writer = local_writer(root)
    for name in names:
        writer.image(name, "v1", layer_sizes=(layer_size,))
    return root


def big_images(root: Path, count: int, layer_mib: int) -> list[SyntheticImage]:
    """A local tree at ``root`` with ``count`` images ``big/appN:v1``, each two random layers
    of ``layer_mib`` MiB over a 3 MiB one they share: runs long enough to interrupt."""
    writer = local_writer(root)
    shared = os.urandom(3 << 20)
    return [
        writer.image(
            f"big/app{number}",
            "v1",
            layers=[shared, *(os.urandom(layer_mib << 20) for _ in range(2))],
        )
        for number in range(count)
    ]
