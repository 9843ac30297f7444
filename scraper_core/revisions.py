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
    """The digests of repository ``name``'s manifest revisions, sorted; one walk.

    Only a revision whose ``link`` is there counts: a registry's DELETE of a manifest leaves
    its revision directory behind without a link, and serves it no more (404). A walk finds
    the link files in one listing of a bucket, where a look into each directory would cost a
    request per revision.
    """
    base = layout.join(layout.revisions_path(name), "sha256")
    found: set[Digest] = set()
    try:
        for path in driver.walk_names(base):
            digest = layout.link_digest_of(path)
            if digest and path == layout.revision_link_path(name, digest):
                found.add(digest)
    except PathNotFoundError:
        return []
    return sorted(found, key=str)


def untagged_note(name: str, count: int) -> str:
    """The one wording of what a run over a whole repository left out without the flag."""
    manifests = "manifest" if count == 1 else "manifests"
    return (
        f"{name}: left out {count} untagged {manifests} the source serves by digest "
        "(--all-manifests copies them)"
    )
