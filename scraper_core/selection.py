"""Turn what a user asked for into references: names, tags, digests, globs, files of them.

``team/app:1.*`` (tag glob), ``team/*`` (repository glob, per path component), ``--all-tags``
and the tag rules of an images file (:mod:`scraper_core.tagrules`) all resolve by listing only
the directories they need. A pattern that matches nothing is an error for that entry alone; a
repository that cannot be listed is an error of its own, and the entry's others still resolve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scraper_core.checked import CheckedDriver
from scraper_core.errors import InvalidReferenceError, ScraperError
from scraper_core.listing import (
    is_pattern,
    list_tags,
    match_repositories,
    no_match,
    tags_matching,
    validate_tag_pattern,
)
from scraper_core.reference import DEFAULT_TAG, Reference, parse_reference, validate_name

if TYPE_CHECKING:
    # An entry that is not a str is a tag rule (Entry = str | TagRule): a copy of plain
    # references does not import the rules (their classes and patterns are built at import).
    from scraper_core.tagrules import Entry, TagRule


@dataclass
class Selection:
    references: list[Reference] = field(default_factory=list)
    #: (entry, message) for entries that resolved to nothing, and for each part of an entry
    #: that could not be listed (a repository, a directory).
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: Every tag (with a ``current/link``) of each repository whose tags were listed
    #: (``--all-tags``, a tag glob): where signature tags are looked up without a stat.
    tag_listings: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Repositories chosen whole (every tag: ``--all-tags``), whose untagged manifest
    #: revisions ``--all-manifests`` brings too (and a run without it counts).
    whole_repositories: list[str] = field(default_factory=list)


def _split(entry: str) -> tuple[str, str | None]:
    """Name part and tag part of a pattern (no digests: those are never patterns)."""
    slash = entry.rfind("/")
    colon = entry.rfind(":")
    if colon > slash:
        return entry[:colon], entry[colon + 1 :]
    return entry, None


def needs_storage(entries: Iterable[Entry], all_tags: bool) -> bool:
    """Whether resolving needs listings (else references parse without any I/O)."""
    return all_tags or any(not isinstance(entry, str) or is_pattern(entry) for entry in entries)


def _tags(
    driver: CheckedDriver,
    name: str,
    tag_part: str | None,
    all_tags: bool,
    listings: dict[str, frozenset[str]],
    whole: list[str],
) -> list[str]:
    if tag_part is None and not all_tags:
        return [DEFAULT_TAG]
    if tag_part is not None and not is_pattern(tag_part):
        return [tag_part]
    listed = list_tags(driver, name)
    listings[name] = frozenset(listed)
    if tag_part is None:
        whole.append(name)
        return listed
    return tags_matching(listed, tag_part)


def _resolve_rule(
    driver: CheckedDriver, rule: TagRule, listings: dict[str, frozenset[str]]
) -> list[Reference]:
    """The tags of the rule's repository it chooses, listed as ``--all-tags`` lists them."""
    tags = [tag for tag in _tags(driver, rule.name, None, True, listings, []) if rule.matches(tag)]
    if not tags:
        raise InvalidReferenceError(f"no tag of {rule.name} matches {rule.kind} {rule.text!r}")
    return [parse_reference(f"{rule.name}:{tag}") for tag in tags]


def _resolve(
    driver: CheckedDriver,
    entry: Entry,
    all_tags: bool,
    errors: list[str],
    listings: dict[str, frozenset[str]],
    whole: list[str],
) -> list[Reference]:
    """The references ``entry`` names; what could not be listed goes to ``errors``."""
    if not isinstance(entry, str):
        return _resolve_rule(driver, entry, listings)
    if "@" in entry or not needs_storage([entry], all_tags):
        return [parse_reference(entry)]
    name_part, tag_part = _split(entry)
    if tag_part is not None and is_pattern(tag_part):
        validate_tag_pattern(tag_part)
    if is_pattern(name_part):
        names = match_repositories(driver, name_part, errors)
        if not names and not errors:
            raise InvalidReferenceError(no_match(driver, name_part))
    else:
        names = [validate_name(name_part)]
    references: list[Reference] = []
    for name in names:
        try:
            tags = _tags(driver, name, tag_part, all_tags, listings, whole)
        except ScraperError as exc:
            # This repository alone: the others the pattern matched still resolve.
            errors.append(str(exc))
            continue
        references.extend(parse_reference(f"{name}:{tag}") for tag in tags)
    if not references and not errors:
        raise InvalidReferenceError(f"no tag matches {entry!r}")
    return references


def select(driver: CheckedDriver, entries: Iterable[Entry], *, all_tags: bool) -> Selection:
    selection = Selection()
    # A set beside the list: 30,000 tags checked against the list cost 450 million compares.
    seen: set[Reference] = set()
    whole: list[str] = []
    for entry in entries:
        errors: list[str] = []
        try:
            found = _resolve(driver, entry, all_tags, errors, selection.tag_listings, whole)
        except ScraperError as exc:
            errors.append(str(exc))
            found = []
        selection.errors.extend((str(entry), message) for message in errors)
        for reference in found:
            if reference not in seen:
                seen.add(reference)
                selection.references.append(reference)
    selection.whole_repositories = list(dict.fromkeys(whole))
    return selection
