"""``**`` in a repository pattern: any number of path components (``*`` never crosses ``/``).

``**`` alone is every repository; ``team/**`` is ``team`` and every repository below it;
``**/app`` is every repository named ``app`` at any depth. Only a whole component ``**`` is
special: ``a**`` is an ordinary glob within one component. Pure functions: no I/O.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

GLOBSTAR = "**"
# The same glob characters as :mod:`scraper_core.listing` (which imports this module).
_GLOB_CHARACTERS = frozenset("*?[")


def has_globstar(components: Sequence[str]) -> bool:
    return GLOBSTAR in components


def literal_prefix(components: Sequence[str]) -> str:
    """The leading components without a glob: where a walk for the pattern can start."""
    prefix: list[str] = []
    for component in components:
        if any(char in _GLOB_CHARACTERS for char in component):
            break
        prefix.append(component)
    return "/".join(prefix)


def matches(components: Sequence[str], name: str) -> bool:
    return _match(tuple(components), tuple(name.split("/")))


def _match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == GLOBSTAR:
        # Consecutive ``**`` mean what one does; collapsing them bounds the search.
        while rest and rest[0] == GLOBSTAR:
            rest = rest[1:]
        return any(_match(rest, parts[skip:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _match(rest, parts[1:])
