"""Tags a destination holds that the source no longer has, within what a run stands for.

A run stands for whole repositories only when it was asked for every tag of them (its
*scope*, see :mod:`scraper_core.shipment`); an import stands for what the shipment it
imports was asked for, too. A tag at the destination in such a repository that the source
no longer lists is *gone*: reported, and removed under ``--prune`` (its tag directory, the
links only: the registry's garbage-collect frees what nothing else needs).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.listing import list_tags, resolves, tag_names
from scraper_core.reference import TAG_RE

#: A message names this many tags, then says how many more.
NAMED_TAGS = 20
#: Signature and referrer tags (``sha256-<hex>[.sig]``) follow their subject's digest, not a
#: tag: a shipment cut without signatures must not make them look deleted.
_ARTIFACT_PREFIX = "sha256-"
#: Tag directories the source lacks that are looked into one by one (a stat each); past this
#: many, one walk of the repository's tags answers for all of them.
LOOKUPS_BEFORE_WALK = 32


def gone_tags(dest: CheckedDriver, at_source: Mapping[str, Collection[str]]) -> list[str]:
    """``name:tag`` of each tag at ``dest``, in the repositories ``at_source`` maps to the
    tags the source has (as the run listed them), that the source does not have; sorted, one
    repository's tags in memory at a time."""
    gone: list[str] = []
    for name in sorted(at_source):
        gone.extend(f"{name}:{tag}" for tag in _gone_from(dest, name, at_source[name]))
    return gone


def _gone_from(dest: CheckedDriver, name: str, there: Collection[str]) -> list[str]:
    """The tags of ``name`` at ``dest`` that ``there`` lacks. The tag directories' names come
    from one listing; only the names the source lacks are looked into, as a tag is one only
    with a ``current/link``: a no-op rerun of 30,000 tags reads one directory, not 30,000."""
    missing = [
        tag
        for tag in tag_names(dest, name)
        if tag not in there and not tag.startswith(_ARTIFACT_PREFIX) and TAG_RE.fullmatch(tag)
    ]
    if len(missing) > LOOKUPS_BEFORE_WALK:
        resolving = set(list_tags(dest, name))
        return [tag for tag in missing if tag in resolving]
    return [tag for tag in missing if resolves(dest, name, tag)]


def prune(dest: CheckedDriver, tags: Sequence[str]) -> None:
    """Remove the tag directories of ``tags`` (``name:tag``) at ``dest``."""
    for text in tags:
        name, _, tag = text.rpartition(":")
        dest.delete(layout.tag_path(name, tag))


def described(tags: Sequence[str]) -> str:
    """``tags`` for a message: the first :data:`NAMED_TAGS`, then how many more."""
    more = f" and {len(tags) - NAMED_TAGS} more" if len(tags) > NAMED_TAGS else ""
    return ", ".join(tags[:NAMED_TAGS]) + more
