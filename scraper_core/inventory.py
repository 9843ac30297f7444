"""``scrape inventory``: what a storage holds, as a JSON document a delta run can take.

Cheap by design: blobs come from a walk (a listing) of ``blobs/``, sizes included, and no
blob byte is read; repositories from the same walk ``scrape list`` does, and each tag's
``current/link`` is read (71 bytes). The document is deterministic (sorted, no clock in it),
so two inventories of one storage compare equal byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import PathNotFoundError, ScraperError
from scraper_core.listing import list_repositories, list_tags

INVENTORY_FORMAT = "registry-scraper/inventory"
INVENTORY_VERSION = 1


@dataclass
class Inventory:
    blobs: dict[Digest, int] = field(default_factory=dict)
    #: repository -> tag -> digest its current link names
    repositories: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {
            "format": INVENTORY_FORMAT,
            "version": INVENTORY_VERSION,
            "blobs": [
                {"digest": str(d), "size": self.blobs[d]} for d in sorted(self.blobs, key=str)
            ],
            "repositories": [
                {"name": name, "tags": dict(sorted(tags.items()))}
                for name, tags in sorted(self.repositories.items())
            ],
            "totals": {
                "blobs": len(self.blobs),
                "bytes": sum(self.blobs.values()),
                "repositories": len(self.repositories),
                "tags": sum(len(tags) for tags in self.repositories.values()),
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=1, sort_keys=True) + "\n"


def list_blobs(driver: CheckedDriver, errors: list[str]) -> dict[Digest, int]:
    found: dict[Digest, int] = {}
    try:
        for info in driver.walk(layout.BLOBS_ROOT):
            if info.is_dir:
                continue
            digest = layout.blob_digest_of(info.path)
            if digest is not None:
                found[digest] = info.size
    except PathNotFoundError as exc:
        if exc.path != layout.BLOBS_ROOT:
            errors.append(str(exc))
    except ScraperError as exc:
        errors.append(str(exc))
    return found


def take_inventory(driver: CheckedDriver) -> Inventory:
    inventory = Inventory()
    inventory.blobs = list_blobs(driver, inventory.errors)
    for name in list_repositories(driver, inventory.errors):
        tags: dict[str, str] = {}
        try:
            for tag in list_tags(driver, name):
                tags[tag] = str(driver.read_link(layout.tag_current_link_path(name, tag)))
        except ScraperError as exc:
            inventory.errors.append(str(exc))
        inventory.repositories[name] = tags
    inventory.errors = list(dict.fromkeys(inventory.errors))
    return inventory
