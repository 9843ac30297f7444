""" "Did you mean": the close names a user may have meant, for the lines that refuse a name.

One rule (difflib's closeness, a few candidates) for drivers, ``-o`` keys, repositories and
tags, and the names to choose from for each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: How close a name must be to be offered (difflib's ratio), and how many are offered.
CUTOFF = 0.6
OFFERED = 3


def _close(word: str, choices: Iterable[str]) -> list[str]:
    # Imported here: only a refusal asks, and every command would pay for the import.
    import difflib

    return difflib.get_close_matches(word, list(dict.fromkeys(choices)), OFFERED, CUTOFF)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X or Y?)`` with the choices close to ``word``, or ``""``."""
    close = _close(word, choices)
    if not close:
        return ""
    return f" (did you mean {' or '.join(close)}?)"


def unknown_option(driver: str, known: Sequence[str], keys: Iterable[str]) -> str | None:
    """A line for the ``keys`` not ``known`` to the driver, with the close ones; None when
    all are known, or the driver declares none (it refuses them itself)."""
    unknown = [key for key in keys if key not in known]
    if not known or not unknown:
        return None
    hints = "".join(did_you_mean(key, known) for key in unknown)
    return f"{driver}: unknown option(s): {', '.join(unknown)}{hints} (known: {', '.join(known)})"


def pattern_hint(pattern: str, names: Iterable[str]) -> str:
    """For a repository pattern that matched nothing: the same pattern with its leading
    literal components replaced by close ones that exist (``tem/*``: ``team/*``)."""
    from scraper_core.globstar import literal_prefix

    prefix = literal_prefix(pattern.split("/"))
    if not prefix:
        return ""
    depth = prefix.count("/") + 1
    prefixes = ["/".join(name.split("/")[:depth]) for name in names]
    close = _close(prefix, prefixes)
    return did_you_mean(pattern, [close_one + pattern[len(prefix) :] for close_one in close])
