"""Registry storage trees written straight through any driver (a push, as a registry does it).

:class:`TreeWriter` writes blobs, links, manifests, tags and indexes with the paths and bytes a
registry push leaves (distribution's layout: the host project's end-to-end tests check that
against the real registry 2.8). A driver's tests use it to put a registry tree into the
driver's own storage and scrape it; a test can also break one object on purpose and watch
what happens.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.contract import StorageDriver
from scraper_core.digest import Digest, link_content
from scraper_core.manifest import OCI_INDEX, OCI_MANIFEST


def image_manifest(
    config: tuple[Digest, int], layers: list[tuple[Digest, int]]
) -> dict[str, object]:
    """An OCI image manifest naming ``config`` and ``layers`` (digest, size), as pushed."""
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": str(config[0]),
            "size": config[1],
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": str(digest),
                "size": size,
            }
            for digest, size in layers
        ],
    }


@dataclass
class SyntheticImage:
    name: str
    manifest: Digest
    config: Digest
    layers: list[Digest]
    tags: list[str] = field(default_factory=list)

    @property
    def blobs(self) -> list[Digest]:
        return [self.manifest, self.config, *self.layers]


class TreeWriter:
    """Writes blobs, links and manifests into a driver the way a registry push does.

    ``driver`` is any writable driver: a raw one (a plugin's, as its ``open`` returns it) is
    wrapped in :class:`~scraper_core.checked.CheckedDriver`, so every path is checked as the
    core checks it.
    """

    def __init__(self, driver: CheckedDriver | StorageDriver) -> None:
        self.driver = (
            driver if isinstance(driver, CheckedDriver) else CheckedDriver(driver, read_only=False)
        )

    def blob(self, data: bytes) -> Digest:
        digest = Digest.of(data)
        self.driver.put_content(layout.blob_data_path(digest), data)
        return digest

    def link(self, path: str, digest: Digest) -> None:
        self.driver.put_content(path, link_content(digest))

    def manifest(self, name: str, document: dict[str, object]) -> Digest:
        digest = self.blob(json.dumps(document, indent=3).encode())
        self.link(layout.revision_link_path(name, digest), digest)
        return digest

    def tag(self, name: str, tag: str, digest: Digest) -> None:
        self.link(layout.tag_index_link_path(name, tag, digest), digest)
        self.link(layout.tag_current_link_path(name, tag), digest)

    def image(
        self,
        name: str,
        tag: str | None = "latest",
        *,
        layer_sizes: tuple[int, ...] = (1000, 3000),
        layers: list[bytes] | None = None,
        arch: str = "amd64",
    ) -> SyntheticImage:
        contents = layers if layers is not None else [os.urandom(n) for n in layer_sizes]
        stored = [(self.blob(data), len(data)) for data in contents]
        return self.image_of_stored_layers(name, tag, stored, arch=arch)

    def image_of_stored_layers(
        self,
        name: str,
        tag: str | None,
        layers: list[tuple[Digest, int]],
        *,
        arch: str = "amd64",
    ) -> SyntheticImage:
        """An image over layers (digest, size) already in the store, written another way: in
        pieces, or as a sparse file whose digest is not its content's."""
        config_data = json.dumps({"architecture": arch, "os": "linux", "seed": os.urandom(4).hex()})
        config = self.blob(config_data.encode())
        layer_digests = [digest for digest, _size in layers]
        for digest in (config, *layer_digests):
            self.link(layout.layer_link_path(name, digest), digest)
        manifest = self.manifest(name, image_manifest((config, len(config_data)), layers))
        image = SyntheticImage(name, manifest, config, layer_digests)
        if tag is not None:
            self.tag(name, tag, manifest)
            image.tags.append(tag)
        return image

    def index(self, name: str, tag: str, children: list[SyntheticImage]) -> Digest:
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": str(child.manifest),
                    "size": self.driver.stat(layout.blob_data_path(child.manifest)).size,
                    "platform": {"os": "linux", "architecture": f"arch{number}"},
                }
                for number, child in enumerate(children)
            ],
        }
        digest = self.manifest(name, document)
        self.tag(name, tag, digest)
        return digest
