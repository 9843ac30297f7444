"""What shaped a shipment, as its receipt's ``shaped_by`` records it.

A site reading a shipment months later learns from it what was asked for (patterns or the
images file, by its digest), which platforms it holds (a platform subset is imported without
repeating ``--platform``: the children its images lack were left out by choice, in those
images only), whether signatures came along, whether untagged manifests did, and which
inventories or receipts (``--have``, by digest) it was cut against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scraper_core.digest import Digest
from scraper_core.errors import InvalidReferenceError

#: A key only ``shaped_by`` has: how the compact receipt reader (bloblist) knows it.
SHAPE_MARK = "all_manifests"
#: The key of a receipt's image entry whose index holds only some of its children (a
#: ``--platform`` shipment, or one made from it): the compact reader keeps those entries.
SUBSET_MARK = "platform_subset"


@dataclass(frozen=True)
class Shape:
    #: The IMAGE arguments as given (an images file is recorded by its digest instead).
    patterns: tuple[str, ...] = ()
    images_file_sha256: str | None = None
    all_tags: bool = False
    all_manifests: bool = False
    #: ``os/arch[/variant]`` chosen; empty: every platform.
    platforms: tuple[str, ...] = ()
    signatures: bool = True
    #: The sha256 of each ``--have`` file, in the order given.
    have_sha256: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        images_file = None
        if self.images_file_sha256 is not None:
            images_file = {"sha256": self.images_file_sha256}
        return {
            "patterns": list(self.patterns),
            "images_file": images_file,
            "all_tags": self.all_tags,
            SHAPE_MARK: self.all_manifests,
            "platforms": list(self.platforms),
            "signatures": self.signatures,
            "have": [{"sha256": digest} for digest in self.have_sha256],
        }


def is_platform_subset(shaped_by: object) -> bool:
    """Whether a receipt's ``shaped_by`` says the shipment holds only some platforms."""
    if not isinstance(shaped_by, Mapping):
        return False
    platforms = shaped_by.get("platforms")
    return isinstance(platforms, list) and bool(platforms)


def platform_subset_images(receipt: Mapping[str, Any]) -> frozenset[Digest]:
    """The images (by digest) a receipt says hold only some children of their index: the only
    ones a storage holding it may lack index children of, by choice. Another run's images (a
    later whole shipment into the same tree) are checked whole. An entry without a valid
    digest is not one of them: its missing children fail rather than pass unseen."""
    images = receipt.get("images")
    found: set[Digest] = set()
    for entry in images if isinstance(images, list) else ():
        if not isinstance(entry, Mapping) or entry.get(SUBSET_MARK) is not True:
            continue
        text = entry.get("digest")
        if isinstance(text, str):
            try:
                found.add(Digest.parse(text))
            except InvalidReferenceError:
                continue
    return frozenset(found)
