"""Big registry trees for the scale rows: many tags on few manifests, many small repositories.

Written straight to disk in the layout a registry writes (the same paths as
:mod:`scraper_core.layout`, the same link bytes), not through a registry: pushing 30,000 tags
would take an hour and prove nothing more about how scrape walks them. Blobs are tiny: these
trees measure walking and planning, not copying.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from scraper_core import layout
from scraper_core.digest import Digest, link_content
from scraper_core.testing.tree import image_manifest


@dataclass(frozen=True)
class Tree:
    root: Path
    repositories: int
    tags: int
    manifests: int
    files: int


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0
        self._made: set[str] = set()

    def put(self, path: str, data: bytes) -> None:
        target = f"{self.root}{path}"
        parent = target.rsplit("/", 1)[0]
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        with open(target, "wb") as file:
            file.write(data)
        self.files += 1

    def blob(self, data: bytes) -> Digest:
        digest = Digest.of(data)
        self.put(layout.blob_data_path(digest), data)
        return digest

    def link(self, path: str, digest: Digest) -> None:
        self.put(path, link_content(digest))


@dataclass(frozen=True)
class _Image:
    manifest: Digest
    blobs: tuple[Digest, ...]


def _image(writer: _Writer, seed: str) -> _Image:
    config_data = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    layer_data = f"layer of {seed}".encode() * 8
    config, layer = writer.blob(config_data), writer.blob(layer_data)
    document = image_manifest((config, len(config_data)), [(layer, len(layer_data))])
    manifest = writer.blob(json.dumps(document, indent=3).encode())
    return _Image(manifest, (config, layer))


def _link_image(writer: _Writer, name: str, image: _Image) -> None:
    writer.link(layout.revision_link_path(name, image.manifest), image.manifest)
    for digest in image.blobs:
        writer.link(layout.layer_link_path(name, digest), digest)


def _tag(writer: _Writer, name: str, tag: str, digest: Digest) -> None:
    writer.link(layout.tag_index_link_path(name, tag, digest), digest)
    writer.link(layout.tag_current_link_path(name, tag), digest)


def many_tags(root: Path, name: str, tags: int, manifests: int) -> Tree:
    """One repository ``name`` with ``tags`` tags spread round-robin over ``manifests`` images
    (CI tagging every build of a few distinct images)."""
    writer = _Writer(root)
    images = [_image(writer, f"{name}-{number}") for number in range(manifests)]
    for image in images:
        _link_image(writer, name, image)
    for number in range(tags):
        _tag(writer, name, f"build-{number:06d}", images[number % manifests].manifest)
    return Tree(root, 1, tags, manifests, writer.files)


def many_repositories(root: Path, repositories: int, tags_each: int, prefix: str = "") -> Tree:
    """``repositories`` repositories ``<prefix>branch-NNNNN`` (one per CI branch), each with
    its own image tagged ``latest`` and ``tags_each - 1`` more names for it."""
    writer = _Writer(root)
    for number in range(repositories):
        name = f"{prefix}branch-{number:05d}"
        image = _image(writer, name)
        _link_image(writer, name, image)
        _tag(writer, name, "latest", image.manifest)
        for tag in range(1, tags_each):
            _tag(writer, name, f"build-{tag}", image.manifest)
    return Tree(root, repositories, repositories * tags_each, repositories, writer.files)
