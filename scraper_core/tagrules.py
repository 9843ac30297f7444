"""Tags chosen by a rule rather than named: a regular expression or a semver constraint, as
skopeo sync's ``images-by-tag-regex`` and ``images-by-semver`` choose them.

A regular expression must match a whole tag (``re.fullmatch``). A semver constraint is what
skopeo documents (the Masterminds/semver basic comparisons): comparisons joined by ``,`` (all
must hold), alternatives joined by ``||``. Only the comparisons are taken (``=``, ``!=``,
``>``, ``<``, ``>=``, ``<=``), strictly: a tilde, caret, wildcard or hyphen range is refused
rather than guessed at. A partial version (``2``, ``1.2``) is taken where its meaning is plain,
after ``<`` and ``>=`` (``< 2`` is ``< 2.0.0``); elsewhere skopeo reads it as a wildcard, and
it is refused. Tags are read as skopeo reads them: a leading ``v`` and missing minor or patch
allowed (``v1.2`` is 1.2.0); a tag that is no version is not chosen. A pre-release tag is
chosen only by an alternative that names a pre-release itself, as skopeo does.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scraper_core.errors import InvalidReferenceError

if TYPE_CHECKING:
    # semver is imported by the semver rules only: every copy imports this module.
    from semver import Version

_Compare = Callable[["Version", "Version"], bool]
#: Longest operators first: ``>=`` before ``>``.
_OPERATORS: tuple[tuple[str, _Compare], ...] = (
    ("!=", operator.ne),
    (">=", operator.ge),
    ("=>", operator.ge),
    ("<=", operator.le),
    ("=<", operator.le),
    ("==", operator.eq),
    ("=", operator.eq),
    (">", operator.gt),
    ("<", operator.lt),
)
#: The comparisons whose partial version means the same padded with zeros.
_PARTIAL_OK = frozenset({operator.lt, operator.ge})
_FULL = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
_PARTIAL = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class _Comparison:
    compare: _Compare
    version: Version

    def holds(self, version: Version) -> bool:
        return self.compare(version, self.version)


@dataclass(frozen=True)
class SemverConstraint:
    """``||`` alternatives, each a list of comparisons that must all hold."""

    text: str
    alternatives: tuple[tuple[_Comparison, ...], ...]

    @classmethod
    def parse(cls, text: str) -> SemverConstraint:
        alternatives = tuple(
            tuple(_comparison(part, text) for part in _parts(alternative, text))
            for alternative in text.split("||")
        )
        return cls(text, alternatives)

    def matches(self, tag: str) -> bool:
        version = tag_version(tag)
        if version is None:
            return False
        return any(_allows(alternative, version) for alternative in self.alternatives)


def _parts(alternative: str, text: str) -> list[str]:
    parts = [part.strip() for part in alternative.split(",")]
    if not all(parts):
        raise InvalidReferenceError(f"semver constraint {text!r}: an empty comparison")
    return parts


def _comparison(part: str, text: str) -> _Comparison:
    name, compare = next(
        ((name, compare) for name, compare in _OPERATORS if part.startswith(name)),
        ("", operator.eq),
    )
    written = part[len(name) :].strip()
    from semver import Version

    if _FULL.fullmatch(written):
        return _Comparison(compare, Version.parse(written))
    if _PARTIAL.fullmatch(written) and compare in _PARTIAL_OK:
        return _Comparison(compare, Version.parse(written, optional_minor_and_patch=True))
    why = (
        "give a full version (MAJOR.MINOR.PATCH) here"
        if _PARTIAL.fullmatch(written)
        else "expected =, !=, >, <, >= or <= and a version; ranges and wildcards are not taken"
    )
    raise InvalidReferenceError(f"semver constraint {text!r}: {part!r}: {why}")


def _allows(alternative: tuple[_Comparison, ...], version: Version) -> bool:
    if version.prerelease and not any(c.version.prerelease for c in alternative):
        return False
    return all(comparison.holds(version) for comparison in alternative)


def tag_version(tag: str) -> Version | None:
    """The version a tag names, as skopeo reads it; None when it names none."""
    text = tag[1:] if tag[:1] in ("v", "V") else tag
    if not text[:1].isdigit():
        return None
    from semver import Version

    try:
        return Version.parse(text, optional_minor_and_patch=True)
    except ValueError:
        return None


@dataclass(frozen=True)
class TagRule:
    """The tags of repository ``name`` a rule chooses; how an images file names it in
    messages is ``str()``."""

    name: str
    #: The images file's key for the rule: ``images-by-tag-regex`` or ``images-by-semver``.
    kind: str
    text: str
    matches: Callable[[str], bool]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind} {self.text!r})"


#: What a user asked for: a reference or pattern as typed, or tags a rule chooses.
Entry = str | TagRule


def regex_rule(name: str, pattern: str) -> TagRule:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidReferenceError(f"tag regex {pattern!r} of {name}: {exc}") from None
    return TagRule(name, "images-by-tag-regex", pattern, lambda tag: bool(compiled.fullmatch(tag)))


def semver_rule(name: str, constraint: str) -> TagRule:
    parsed = SemverConstraint.parse(constraint)
    return TagRule(name, "images-by-semver", constraint, parsed.matches)
