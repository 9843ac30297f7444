"""What a storage holds: repositories and tags, found by listing only what is needed.

A directory under ``repositories/`` is a repository when it has a ``_manifests`` child (as in
distribution's catalog walk); repositories nest (``team/app`` and ``team/app/sub``). Names
starting with ``_`` (``_manifests``, ``_layers``, ``_uploads``) are never entered.

Patterns match one path component at a time (``*`` never crosses ``/``), so ``team/*`` lists
``repositories/team`` and nothing above or beside it; a ``**`` component matches any depth
(see :mod:`scraper_core.globstar`).

A directory that cannot be listed (a symlink out of the root or in a loop, a dangling one, no
permission) spoils only what is below it: given an ``errors`` list, the walks add one line
naming it there and go on with the rest; without one, they raise.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from scraper_core import globstar, layout
from scraper_core.checked import CheckedDriver
from scraper_core.contract import FileInfo
from scraper_core.errors import (
    InvalidReferenceError,
    PathNotFoundError,
    ScraperError,
    StorageError,
)
from scraper_core.reference import MAX_NAME_LENGTH, NAME_RE, TAG_RE, validate_name
from scraper_core.suggest import pattern_hint

GLOB_CHARACTERS = frozenset("*?[")
#: distribution's name characters plus the glob ones; ``!`` (negation) is not among them.
_REPOSITORY_PATTERN_COMPONENT = re.compile(r"[a-z0-9._\-*?\[\]]+")
_TAG_PATTERN = re.compile(r"[A-Za-z0-9_.\-*?\[\]]{1,255}")


def is_pattern(text: str) -> bool:
    return any(char in GLOB_CHARACTERS for char in text)


def _join(prefix: str, child: str) -> str:
    return layout.join(prefix, child) if prefix else child


def _report(errors: list[str] | None, error: ScraperError) -> None:
    if errors is None:
        raise error
    errors.append(str(error))


def _child_names(
    driver: CheckedDriver, path: str, errors: list[str] | None, *, listed: bool = False
) -> list[str]:
    """Names of the children of ``path``; none when it is missing, empty or a file.

    ``listed``: its parent's listing named it, so if it cannot be found now it is no missing
    directory but an entry that cannot be opened (a dangling symlink), and reported.
    """
    try:
        return [child.rsplit("/", 1)[1] for child in driver.list_dir(path)]
    except StorageError as exc:
        failure = exc
    try:
        info: FileInfo | None = driver.stat(path)
    except PathNotFoundError:
        info = None
    except ScraperError as exc:
        _report(errors, exc)
        return []
    if info is not None and not info.is_dir:
        # A stray file where a directory could be holds no repository.
        return []
    if not isinstance(failure, PathNotFoundError):
        _report(errors, failure)
    elif listed and info is None:
        _report(errors, StorageError(driver.name, path, "listed, but it cannot be opened"))
    return []


def _is_name_component(child: str) -> bool:
    # A directory outside distribution's grammar cannot be pulled, so it is no repository.
    return NAME_RE.fullmatch(child) is not None


@dataclass(frozen=True)
class _Visit:
    """A directory of the repository walk, with the way down to it."""

    name: str
    children: tuple[str, ...]
    parent: _Visit | None


def _loops_back(driver: CheckedDriver, visit: _Visit) -> str | None:
    """The ancestor ``visit`` is again, reached through a symlink inside the root (``a -> .``),
    or None. Each such link would double the walk at every level: never ending in practice.

    No driver says which directories are one, so: the same children and the same modification
    time, and the same way down once more leads to the same children again (a loop repeats
    forever; a nested repository laid out like its parent, written within one clock tick,
    ends: ``x``, ``x/x``, ``x/x/x``). Listings are compared first, so a walk without a
    repeated listing costs no stat.
    """
    ancestor = visit.parent
    while ancestor is not None:
        if ancestor.children == visit.children:
            try:
                here = driver.stat(layout.repositories_path(visit.name)).mod_time
                there = driver.stat(layout.repositories_path(ancestor.name)).mod_time
            except ScraperError:
                return None
            if here is not None and here == there and _repeats(driver, visit, ancestor):
                return ancestor.name
        ancestor = ancestor.parent
    return None


def _repeats(driver: CheckedDriver, visit: _Visit, ancestor: _Visit) -> bool:
    """Whether the way from ``ancestor`` down to ``visit``, taken again from ``visit``, lists
    what ``visit`` lists."""
    way_down = visit.name[len(ancestor.name) :].lstrip("/")
    again = _join(visit.name, way_down)
    return tuple(_child_names(driver, layout.repositories_path(again), None)) == visit.children


def list_repositories(
    driver: CheckedDriver, errors: list[str] | None = None, under: str = ""
) -> list[str]:
    """Every repository name in the storage (``under`` and below it, if given), sorted."""
    found: list[str] = []
    pending: list[tuple[str, _Visit | None]] = [(under, None)]
    while pending:
        prefix, parent = pending.pop()
        path = layout.repositories_path(prefix)
        children = _child_names(driver, path, errors, listed=parent is not None)
        visit = _Visit(prefix, tuple(children), parent)
        if parent is not None and (again := _loops_back(driver, visit)) is not None:
            shown = layout.repositories_path(again)
            _report(errors, StorageError(driver.name, path, f"a loop back to {shown}; skipped"))
            continue
        if prefix and layout.MANIFESTS_DIR in children:
            found.append(prefix)
        for child in children:
            name = _join(prefix, child)
            if _is_name_component(child) and len(name) <= MAX_NAME_LENGTH:
                pending.append((name, visit))
    return sorted(found)


def tag_directories(driver: CheckedDriver, name: str) -> dict[str, bool]:
    """Every directory under the repository's ``_manifests/tags``, sorted, mapped to whether
    it holds a ``current/link`` (without one, the registry lists the tag but cannot serve it).

    One walk rather than a listing and a stat per tag: on an object store a walk is a page
    per thousand objects, where a stat per tag is a request per tag.
    """
    base = layout.tags_path(validate_name(name))
    found: dict[str, bool] = {}
    try:
        for path in driver.walk_names(base):
            entry = layout.tag_entry_in(name, path)
            if entry is None:
                raise StorageError(driver.name, base, f"walk gave {path[:400]!r}, not below")
            found[entry.tag] = found.get(entry.tag, False) or entry.is_current_link
    except PathNotFoundError as exc:
        if exc.path != base:
            raise
        _no_file_on_the_way(driver, name)
        return {}
    return dict(sorted(found.items()))


def _no_file_on_the_way(driver: CheckedDriver, name: str) -> None:
    """No tags, unless ``_manifests`` or ``tags`` is a file: then the registry cannot list
    them either, and neither can we."""
    for path in (layout.tags_path(name), layout.manifests_path(name)):
        try:
            if not driver.stat(path).is_dir:
                raise StorageError(driver.name, path, "not a directory")
            return
        except PathNotFoundError:
            continue


def tag_names(driver: CheckedDriver, name: str) -> list[str]:
    """The names of the directories under the repository's ``_manifests/tags``, sorted: one
    listing (a page per thousand tags on an object store), without looking into any of them,
    so a name may lack a ``current/link`` (see :func:`tag_directories`)."""
    base = layout.tags_path(validate_name(name))
    try:
        children = driver.list_dir(base)
    except PathNotFoundError as exc:
        if exc.path != base:
            raise
        _no_file_on_the_way(driver, name)
        return []
    return sorted(child.rsplit("/", 1)[1] for child in children)


def resolves(driver: CheckedDriver, name: str, tag: str) -> bool:
    """Whether tag directory ``tag`` holds a ``current/link`` file (the registry serves it)."""
    try:
        return not driver.stat(layout.tag_current_link_path(name, tag)).is_dir
    except PathNotFoundError:
        return False


def list_tags(driver: CheckedDriver, name: str) -> list[str]:
    """The tags of repository ``name`` that resolve (have a ``current/link``), sorted."""
    return [
        tag
        for tag, has_current in tag_directories(driver, name).items()
        if has_current and TAG_RE.fullmatch(tag)
    ]


def validate_repository_pattern(pattern: str) -> list[str]:
    """The pattern's components; :class:`InvalidReferenceError` unless each is a name
    component or a glob over name characters."""
    components = pattern.split("/")
    for component in components:
        # A literal must be a name component, which also rules out "", "." and "..".
        grammar = _REPOSITORY_PATTERN_COMPONENT if is_pattern(component) else NAME_RE
        if not grammar.fullmatch(component):
            raise InvalidReferenceError(f"invalid repository pattern: {pattern[:200]!r}")
    return components


def _expand(
    driver: CheckedDriver, prefix: str, component: str, errors: list[str] | None
) -> list[str]:
    """Names ``prefix/<child>`` matching one pattern component; a literal needs no listing."""
    if not is_pattern(component):
        return [_join(prefix, component)]
    return [
        _join(prefix, child)
        for child in _child_names(driver, layout.repositories_path(prefix), errors)
        if _is_name_component(child) and fnmatch.fnmatchcase(child, component)
    ]


def _is_repository(driver: CheckedDriver, name: str, errors: list[str] | None) -> bool:
    try:
        return driver.exists(layout.manifests_path(name))
    except ScraperError as exc:
        _report(errors, exc)
        return False


def match_repositories(
    driver: CheckedDriver, pattern: str, errors: list[str] | None = None
) -> list[str]:
    """Repository names matching a per-component glob, sorted, listing only what it needs.
    A ``**`` component matches any depth: the walk starts below the literal prefix."""
    components = validate_repository_pattern(pattern)
    if globstar.has_globstar(components):
        under = globstar.literal_prefix(components)
        names = list_repositories(driver, errors, under)
        return [name for name in names if globstar.matches(components, name)]
    candidates = [""]
    for component in components:
        candidates = [
            name for prefix in candidates for name in _expand(driver, prefix, component, errors)
        ]
    return sorted(name for name in candidates if _is_repository(driver, name, errors))


def no_match(driver: CheckedDriver, pattern: str) -> str:
    """The line for a repository pattern that matched nothing, with close ones if any (the
    repositories are listed for them: a miss only)."""
    return f"no repository matches {pattern!r}{pattern_hint(pattern, list_repositories(driver))}"


@dataclass
class Listing:
    """What ``scrape list`` shows: repositories with their tags, and what could not be read."""

    #: (repository, its tags), sorted within each pattern, patterns in the order given.
    repositories: list[tuple[str, list[str]]]
    #: One line per directory or repository that could not be listed, each once.
    errors: list[str]


def take_listing(driver: CheckedDriver, patterns: Sequence[str] = ()) -> Listing:
    """Repositories matching any of ``patterns`` (all of them without one) and their tags.

    Every pattern is checked before anything is listed (:class:`InvalidReferenceError`).
    """
    for pattern in patterns:
        validate_repository_pattern(pattern)
    errors: list[str] = []
    names: dict[str, None] = {}
    for pattern in patterns or [""]:
        if pattern:
            before = len(errors)
            matched = match_repositories(driver, pattern, errors)
            if not matched and len(errors) == before:
                # As a copy says it: a pattern that names nothing is an error, not silence.
                errors.append(no_match(driver, pattern))
            names.update(dict.fromkeys(matched))
        else:
            names.update(dict.fromkeys(list_repositories(driver, errors)))
    repositories: list[tuple[str, list[str]]] = []
    for name in names:
        try:
            repositories.append((name, list_tags(driver, name)))
        except ScraperError as exc:
            errors.append(str(exc))
    # Overlapping patterns meet the same broken directory: one line for it.
    return Listing(repositories, list(dict.fromkeys(errors)))


def validate_tag_pattern(pattern: str) -> None:
    """:class:`InvalidReferenceError` unless ``pattern`` is a tag or a glob over tag
    characters."""
    if not _TAG_PATTERN.fullmatch(pattern):
        raise InvalidReferenceError(f"invalid tag pattern: {pattern[:200]!r}")


def match_tags(driver: CheckedDriver, name: str, pattern: str) -> list[str]:
    """Tags of ``name`` matching a glob (fnmatch, case-sensitive), sorted."""
    validate_tag_pattern(pattern)
    return tags_matching(list_tags(driver, name), pattern)


def tags_matching(tags: Sequence[str], pattern: str) -> list[str]:
    """Those of ``tags`` a glob matches (fnmatch, case-sensitive), in their order; the
    pattern checked by the caller (:func:`validate_tag_pattern`), before any listing."""
    return [tag for tag in tags if fnmatch.fnmatchcase(tag, pattern)]
