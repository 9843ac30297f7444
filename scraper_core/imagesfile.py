"""``--images-file``: one IMAGE entry a line, or skopeo sync's YAML (``skopeo sync --src yaml``).

Which one a file is, is told by its content: a plain file is one reference per line, and no
reference ends with ``:`` or holds ``": "``, which the first line of a YAML mapping does.

The YAML is skopeo's: registry keys, each with ``images`` (repository -> tags or digests; an
empty list, every tag), ``images-by-tag-regex`` (repository -> regular expression) and
``images-by-semver`` (repository -> constraint), see :mod:`scraper_core.tagrules`. Its other
keys (``tls-verify``, ``credentials``, ``cert-dir``...) are for reaching a registry, which the
storage is not: ignored. So is the registry key, unless ``registry`` is given: then entries
under other registries are left out, with a note each.

The file is capped by :mod:`scraper_core.optfile` before it comes here; aliases are refused
(an alias bomb expands a few KB into billions of entries), and so is nesting too deep to read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from scraper_core.errors import ConfigurationError, ScraperError
from scraper_core.reference import parse_reference, validate_name
from scraper_core.registry_config import _yaml_problem as yaml_problem
from scraper_core.tagrules import Entry, regex_rule, semver_rule

_IMAGES = "images"
_RULES = {"images-by-tag-regex": regex_rule, "images-by-semver": semver_rule}
#: Every tag of a repository, as a tag glob (``--all-tags`` for one repository).
_EVERY_TAG = "*"


class ImagesFileError(ConfigurationError):
    """An images file that cannot be read; the message names the file and the place."""


@dataclass
class ImagesFile:
    entries: list[Entry] = field(default_factory=list)
    #: What was left out on purpose (entries under another registry), one line each.
    notes: list[str] = field(default_factory=list)


def parse_images_file(text: str, where: str, registry: str | None = None) -> ImagesFile:
    """The entries of an images file (plain or skopeo YAML, told apart by content); ``where``
    names it in errors; ``registry`` keeps only that registry's entries of a YAML file."""
    if is_yaml(text):
        return _from_yaml(text, where, registry)
    return ImagesFile(entries=list(plain_entries(text)))


def plain_entries(text: str) -> list[str]:
    """Entries of a plain images file: one a line; blank lines and ``#`` comments ignored."""
    entries = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(entry)
    return entries


def is_yaml(text: str) -> bool:
    """Whether the first line that is not blank or a comment opens a YAML mapping (a key with
    a value below or after it), a flow mapping, or a YAML document."""
    for line in text.splitlines():
        first = line.split("#", 1)[0].strip()
        if first:
            return first.endswith(":") or ": " in first or first.startswith(("{", "---"))
    return False


class _NoAliasLoader(yaml.SafeLoader):  # type: ignore[misc]
    """A safe loader that refuses aliases: what is read is what the file spells out."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases are not accepted in an images file", event.start_mark
            )
        return super().compose_node(parent, index)


def _load(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ImagesFileError(f"{where}: invalid YAML: {yaml_problem(exc)}") from None


def _from_yaml(text: str, where: str, registry: str | None) -> ImagesFile:
    document = _load(text, where)
    if not isinstance(document, Mapping):
        raise ImagesFileError(f"{where}: expected registries as keys (skopeo sync's YAML)")
    found = ImagesFile()
    for host, section in document.items():
        if not isinstance(host, str) or not isinstance(section, Mapping):
            raise ImagesFileError(f"{where}: registry {str(host)[:100]!r}: expected a mapping")
        if registry is not None and host.lower() != registry.lower():
            found.notes.append(f"{where}: left out the images of {host} (not {registry})")
            continue
        try:
            found.entries.extend(_section_entries(section))
        except ScraperError as exc:
            raise ImagesFileError(f"{where}: {host}: {exc}") from None
    return found


def _section_entries(section: Mapping[Any, Any]) -> list[Entry]:
    entries: list[Entry] = []
    for name, value in _repositories(section, _IMAGES):
        entries.extend(_listed(name, value))
    for key, make_rule in _RULES.items():
        for name, value in _repositories(section, key):
            if not isinstance(value, str):
                raise ImagesFileError(f"{key}: {name}: expected a string, got {_kind(value)}")
            entries.append(make_rule(name, value))
    return entries


def _repositories(section: Mapping[Any, Any], key: str) -> list[tuple[str, Any]]:
    """(repository, value) pairs under ``key``; none when the key is absent."""
    repositories = section.get(key)
    if repositories is None:
        return []
    if not isinstance(repositories, Mapping):
        raise ImagesFileError(f"{key}: expected repositories as keys, got {_kind(repositories)}")
    pairs = []
    for name, value in repositories.items():
        if not isinstance(name, str):
            raise ImagesFileError(f"{key}: repository {name!r} is not a name")
        pairs.append((validate_name(name), value))
    return pairs


def _listed(name: str, value: Any) -> list[str]:
    """``images``: the tags and digests listed (each checked), or every tag for none."""
    if value is None or value == []:
        return [f"{name}:{_EVERY_TAG}"]
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ImagesFileError(f"images: {name}: expected a list of tags, got {_kind(value)}")
    entries = []
    for item in value:
        if not isinstance(item, str):
            # 1.10 unquoted is the number 1.1: the tag it meant is lost, so it is refused.
            raise ImagesFileError(f"images: {name}: {item!r} is {_kind(item)}, not a tag; quote it")
        separator = "@" if ":" in item else ":"
        entry = f"{name}{separator}{item}"
        parse_reference(entry)
        entries.append(entry)
    return entries


def _kind(value: Any) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a map"}
    return next((kinds[t] for t in kinds if type(value) is t), type(value).__name__)
