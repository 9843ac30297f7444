"""Image references as users type them: ``name``, ``name:tag``, ``name@sha256:<hex>``.

Validated against distribution's grammar before any storage is touched, so no reference can
build a path outside the repository tree (no ``..``, no ``/`` at either end, no upper case).
Registry host prefixes (``host:5000/name``) are refused: storage holds bare repository names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scraper_core.digest import Digest
from scraper_core.errors import InvalidReferenceError

DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Reference:
    """A repository name with a tag or a digest (a digest wins when both are given)."""

    name: str
    tag: str | None = None
    digest: Digest | None = None

    def __str__(self) -> str:
        if self.digest is not None:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}"


def validate_name(name: str) -> str:
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(
            f"repository name longer than {MAX_NAME_LENGTH} characters: {name[:60]}..."
        )
    if not NAME_RE.fullmatch(name):
        raise InvalidReferenceError(f"invalid repository name: {name[:300]!r}")
    return name


def validate_tag(tag: str) -> str:
    if not TAG_RE.fullmatch(tag):
        raise InvalidReferenceError(f"invalid tag: {tag[:200]!r}")
    return tag


def parse_reference(text: str) -> Reference:
    """Parse and validate one reference; no tag and no digest means ``latest``."""
    remainder, at, digest_text = text.partition("@")
    digest = Digest.parse(digest_text) if at else None
    # A ':' after the last '/' starts the tag; one before it would be a registry port.
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    tag: str | None = None
    name = remainder
    if colon > slash:
        name, tag = remainder[:colon], validate_tag(remainder[colon + 1 :])
    if ":" in name:
        raise InvalidReferenceError(
            f"invalid repository name: {name[:300]!r} (name repositories as stored, "
            "without a registry host)"
        )
    validate_name(name)
    if digest is None and tag is None:
        tag = DEFAULT_TAG
    return Reference(name, tag, digest)
