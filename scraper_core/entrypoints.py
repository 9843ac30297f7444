"""Installed entry points and distribution versions, read from the ``*.dist-info`` folders on
``sys.path`` the way ``importlib.metadata`` finds them, without importing it.

``importlib.metadata`` pulls the email parser, zipfile and csv in at import and parses every
distribution's whole METADATA to learn a name: a third of a no-op rerun's start-up. Here a
scan lists each ``sys.path`` folder once, reads ``entry_points.txt`` where there is one, and
reads only the ``Name``/``Version`` headers of the distributions that have the group asked for.
The first distribution of a name on ``sys.path`` wins, as with ``importlib.metadata``; zipped
folders on ``sys.path`` and legacy ``*.egg-info`` files (not folders) are not searched.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce
from importlib import import_module
from typing import NamedTuple

_INFO_SUFFIXES = (".dist-info", ".egg-info")
#: The metadata file of each kind of folder.
_METADATA = {".dist-info": "METADATA", ".egg-info": "PKG-INFO"}
#: Headers beyond this are not read: Name and Version come first in every metadata version.
_HEADER_LIMIT = 64 * 1024
# Named tuples, not frozen dataclasses: built at every start, they cost a quarter as much.


class EntryPoint(NamedTuple):
    """One ``name = module:attr`` line of a distribution's ``entry_points.txt``."""

    name: str
    #: ``module`` or ``module:attr.attr``, perhaps with extras (``[...]``).
    value: str
    distribution: str
    version: str

    def load(self) -> object:
        """Import the module and return the object the entry point names."""
        module, _, attrs = self.value.split("[")[0].partition(":")
        found: object = import_module(module.strip())
        return reduce(getattr, filter(None, attrs.strip().split(".")), found)


def normalized(name: str) -> str:
    """A distribution name as packaging compares it (PEP 503), ``_`` for ``-``."""
    return re.sub(r"[-_.]+", "_", name).lower()


class _Distribution(NamedTuple):
    key: str
    folder: str
    kind: str

    def text(self, name: str, limit: int = 1024 * 1024) -> str | None:
        try:
            with open(os.path.join(self.folder, name), encoding="utf-8") as stream:
                return stream.read(limit)
        except (OSError, UnicodeDecodeError):
            return None

    def headers(self) -> tuple[str, str]:
        """``Name`` and ``Version`` from the metadata's headers ("?" when absent)."""
        found = {"name": "?", "version": "?"}
        for line in (self.text(_METADATA[self.kind], _HEADER_LIMIT) or "").splitlines():
            if not line.strip():
                break  # the body starts
            key, colon, value = line.partition(":")
            if colon and key.strip().lower() in found and found[key.strip().lower()] == "?":
                found[key.strip().lower()] = value.strip()
        return found["name"], found["version"]


def _distributions() -> list[_Distribution]:
    """Every distribution on ``sys.path``, the first of each name only."""
    seen: dict[str, _Distribution] = {}
    for entry in sys.path:
        folder = entry or "."
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue  # a zip, a missing folder, a file
        for name in names:
            if not name.endswith(_INFO_SUFFIXES):
                continue
            kind = ".dist-info" if name.endswith(".dist-info") else ".egg-info"
            # name-version.dist-info, name.egg-info (a development install)
            key = normalized(name.removesuffix(kind).partition("-")[0])
            if key not in seen:
                seen[key] = _Distribution(key, os.path.join(folder, name), kind)
    return list(seen.values())


def _pairs(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of section ``[group]`` of an entry_points.txt."""
    pairs: list[tuple[str, str]] = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group:
            name, equals, value = line.partition("=")
            if equals:
                pairs.append((name.strip(), value.strip()))
    return pairs


class _Scope:
    """What one :func:`scanned_once` span found, by ``sys.path``."""

    def __init__(self) -> None:
        self.distributions: dict[tuple[str, ...], list[_Distribution]] = {}
        self.entry_points: dict[tuple[str, tuple[str, ...]], list[EntryPoint]] = {}


_scope: _Scope | None = None


@contextmanager
def scanned_once() -> Iterator[None]:
    """Within, sys.path is listed and each group's entry points are read once: the span of one
    command, while which nothing gets installed, and which builds several plugin hosts and
    may write a receipt naming the tool's version."""
    global _scope
    outer = _scope
    _scope = _Scope() if outer is None else outer
    try:
        yield
    finally:
        _scope = outer


def _installed() -> list[_Distribution]:
    if _scope is None:
        return _distributions()
    path = tuple(sys.path)
    if path not in _scope.distributions:
        _scope.distributions[path] = _distributions()
    return _scope.distributions[path]


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group`` of every installed distribution, in ``sys.path`` order."""
    asked = (group, tuple(sys.path))
    if _scope is not None and asked in _scope.entry_points:
        return list(_scope.entry_points[asked])
    found: list[EntryPoint] = []
    for dist in _installed():
        text = dist.text("entry_points.txt")
        if text is None or f"[{group}]" not in text.replace(" ", ""):
            continue
        pairs = _pairs(text, group)
        if pairs:
            name, version = dist.headers()
            found.extend(EntryPoint(entry, value, name, version) for entry, value in pairs)
    if _scope is not None:
        _scope.entry_points[asked] = found
    return list(found)


def version(distribution: str) -> str | None:
    """The version of the installed distribution ``distribution``; None when not installed."""
    key = normalized(distribution)
    for dist in _installed():
        if dist.key == key:
            return dist.headers()[1]
    return None
