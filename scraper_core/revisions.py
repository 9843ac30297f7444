"""The manifest revisions a repository holds (``_manifests/revisions/sha256/*``).

A registry serves by digest every revision it holds, tagged or not (pushed by digest, or left
behind when its tag moved): a migration that copies only what tags reach loses those.
"""

from __future__ import annotations

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import PathNotFoundError


def list_revisions(driver: CheckedDriver, name: str) -> list[Digest]:
    """The digests of repository ``name``'s manifest revisions, sorted; one listing."""
    base = layout.join(layout.revisions_path(name), "sha256")
    try:
        entries = driver.list_dir(base)
    except PathNotFoundError:
        return []
    found = {digest for digest in map(layout.link_directory_digest_of, entries) if digest}
    return sorted(found, key=str)


def untagged_note(name: str, count: int) -> str:
    """The one wording of what a run over a whole repository left out without the flag."""
    manifests = "manifest" if count == 1 else "manifests"
    return (
        f"{name}: left out {count} untagged {manifests} the source serves by digest "
        "(--all-manifests copies them)"
    )
