"""What a storage holds: repositories and tags, found by listing only what is needed.

A directory under ``repositories/`` is a repository when it has a ``_manifests`` child;
repositories nest (``team/app`` and ``team/app/sub``). Patterns match one path component at
a time (``*`` never crosses ``/``), so ``team/*`` lists ``team`` and nothing else.
"""

from __future__ import annotations

import fnmatch
import re

from scraper_core import layout
from scraper_core.driver import CheckedDriver
from scraper_core.errors import InvalidReferenceError, PathNotFoundError

_PATTERN_COMPONENT = re.compile(r"[a-z0-9._\-*?\[\]]+")
_TAG_PATTERN = re.compile(r"[A-Za-z0-9_.\-*?\[\]]{1,128}")
GLOB_CHARACTERS = frozenset("*?[")


def is_pattern(text: str) -> bool:
    return any(char in GLOB_CHARACTERS for char in text)


def _children(driver: CheckedDriver, path: str) -> list[str]:
    try:
        return [child.rsplit("/", 1)[1] for child in driver.list_dir(path)]
    except PathNotFoundError:
        return []


def _is_repository(driver: CheckedDriver, name: str) -> bool:
    return driver.exists(f"{layout.repository_path(name)}/_manifests")


def list_repositories(driver: CheckedDriver, under: str = "") -> list[str]:
    """Every repository name (below ``under``, a name prefix), sorted."""
    found: list[str] = []
    base = f"{layout.REPOSITORIES_ROOT}/{under}" if under else layout.REPOSITORIES_ROOT
    for child in _children(driver, base):
        if child.startswith("_"):
            continue
        name = f"{under}/{child}" if under else child
        if _is_repository(driver, name):
            found.append(name)
        found.extend(list_repositories(driver, name))
    return sorted(found)


def list_tags(driver: CheckedDriver, name: str) -> list[str]:
    """The tags of repository ``name``, sorted."""
    return sorted(_children(driver, layout.tags_path(name)))


def validate_repository_pattern(pattern: str) -> list[str]:
    components = pattern.split("/")
    for component in components:
        if component in ("", ".", "..") or not _PATTERN_COMPONENT.fullmatch(component):
            raise InvalidReferenceError(f"invalid repository pattern: {pattern[:200]!r}")
    return components


def match_repositories(driver: CheckedDriver, pattern: str) -> list[str]:
    """Repository names matching a per-component glob, listing only what the pattern needs."""
    candidates = [""]
    for component in validate_repository_pattern(pattern):
        next_candidates: list[str] = []
        for prefix in candidates:
            if not is_pattern(component):
                next_candidates.append(f"{prefix}/{component}" if prefix else component)
                continue
            base = f"{layout.REPOSITORIES_ROOT}/{prefix}" if prefix else layout.REPOSITORIES_ROOT
            for child in _children(driver, base):
                if not child.startswith("_") and fnmatch.fnmatchcase(child, component):
                    next_candidates.append(f"{prefix}/{child}" if prefix else child)
        candidates = next_candidates
    return sorted(name for name in candidates if _is_repository(driver, name))


def match_tags(driver: CheckedDriver, name: str, pattern: str) -> list[str]:
    if not _TAG_PATTERN.fullmatch(pattern):
        raise InvalidReferenceError(f"invalid tag pattern: {pattern[:200]!r}")
    return [tag for tag in list_tags(driver, name) if fnmatch.fnmatchcase(tag, pattern)]
