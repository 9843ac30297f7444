"""What an archive stores, checked against its member index (:mod:`archive_index`).

Every entry of the index must be stored once, with the size the index gives; a blob's entry
must carry the digest its path names; a storage member the index does not list, or one
stored twice, is an error naming it. Members outside the storage tree that the index does not
list (a README, anything ``tar -r`` added) are left out. Digests already known (a member
hashed on its way into the spool) are compared here; the others are left for the reader to
check, and so travel with each file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from registry_scraper_local.archive_index import INDEX_MEMBER, IndexEntry
from scraper_core.contract import is_valid_path
from scraper_core.layout import RECEIPTS_ROOT, V2_ROOT, blob_digest_of

INDEX_PATH = "/" + INDEX_MEMBER
_STORAGE_TREES = (V2_ROOT + "/", RECEIPTS_ROOT + "/", "/" + INDEX_MEMBER.split("/")[0] + "/")


class ContentsError(ValueError):
    """The archive does not hold what its index says (read after the archive's name)."""


@dataclass(frozen=True)
class Stored:
    """One member as found: where its data is, its size, its sha256 when already known."""

    offset: int
    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class File:
    """A member exposed as a storage file."""

    offset: int
    size: int
    #: The sha256 its bytes must have, still to be checked when they are read (None: checked).
    unchecked_sha256: str | None = None


def is_storage_path(path: str) -> bool:
    """Whether ``path`` falls where a scrape writes (so an index must account for it)."""
    return is_valid_path(path) and path.startswith(_STORAGE_TREES)


def member_path(name: str) -> str:
    """The storage path a member name stands for (``./a/b`` and ``a/b/`` are ``/a/b``)."""
    return "/" + name.removeprefix("./").strip("/")


def check_against_index(
    stored: dict[str, Stored], twice: set[str], entries: Iterable[IndexEntry]
) -> dict[str, File]:
    """The files of an indexed archive: see the module docstring."""
    files: dict[str, File] = {}
    for entry in entries:
        path = "/" + entry.name
        if not is_storage_path(path) or path == INDEX_PATH:
            raise ContentsError(f"has an index listing {entry.name!r}, not a storage path")
        if path in files:
            raise ContentsError(f"has an index listing {path} twice")
        member = stored.get(path)
        if member is None:
            raise ContentsError(f"lacks {path}, which its index lists")
        if path in twice:
            raise ContentsError(f"stores {path} twice")
        if member.size != entry.size:
            raise ContentsError(f"has {path} of {member.size} bytes; its index says {entry.size}")
        named = blob_digest_of(path)
        if named is not None and named.algorithm == "sha256" and named.hex != entry.sha256:
            raise ContentsError(f"has an index giving {path} another digest than its name's")
        if member.sha256 is not None and member.sha256 != entry.sha256:
            raise ContentsError(f"has {path} damaged: its sha256 is not the one its index lists")
        files[path] = File(member.offset, member.size, None if member.sha256 else entry.sha256)
    for path in stored:
        if path not in files and is_storage_path(path):
            raise ContentsError(f"stores {path}, which its index does not list")
    return files
