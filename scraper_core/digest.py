"""Content digests and the link files that hold them.

A link file holds exactly ``<algorithm>:<hex>`` with no newline (a registry answers 500 on a
trailing newline), so parsing is strict: anything else is corrupt, never "cleaned up".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from scraper_core.errors import InvalidLinkError, InvalidReferenceError

#: Algorithms distribution accepts, with their hex lengths.
HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_DIGEST_RE = re.compile(r"^(sha256|sha384|sha512):([a-f0-9]+)$")


@dataclass(frozen=True, order=True)
class Digest:
    """A validated content digest such as ``sha256:<64 hex>``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``algorithm:hex``; :class:`InvalidReferenceError` if malformed."""
        match = _DIGEST_RE.fullmatch(text)
        if not match or len(match.group(2)) != HEX_LENGTHS[match.group(1)]:
            raise InvalidReferenceError(f"invalid digest: {text[:140]!r}")
        return cls(match.group(1), match.group(2))

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        """``sha256:0123456789ab``: enough to tell digests apart in messages."""
        return f"{self.algorithm}:{self.hex[:12]}"


#: A valid link is 71 bytes (sha256) to 135 (sha512): link files are never read beyond this
#: (and one byte more, to tell a longer file apart).
MAX_LINK_SIZE = 256


def parse_link(content: bytes, where: str) -> Digest:
    """The digest in a link file's bytes; :class:`InvalidLinkError` naming ``where`` if not."""
    try:
        text = content.decode("ascii")
        return Digest.parse(text)
    except (UnicodeDecodeError, InvalidReferenceError):
        shown = content[:80]
        raise InvalidLinkError(f"corrupt link file {where}: {shown!r}") from None


def link_content(digest: Digest) -> bytes:
    """The exact bytes the registry writes into a link file."""
    return str(digest).encode("ascii")
