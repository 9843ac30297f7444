"""Storage paths as object names, the way distribution's object-store drivers map them.

For plugin authors of bucket-like backends (s3, gcs, azure, and any third party's): a
location ``BUCKET[/ROOTDIRECTORY]`` as the registry config has it, and the mapping between
storage paths and object names. Pure: no I/O, no SDK.

distribution's s3, gcs and azure (3.x) drivers all compute
``TrimLeft(TrimRight(rootdirectory, "/") + path, "/")``: with ``rootdirectory: /prod``,
``/docker/registry/v2/x`` is ``prod/docker/registry/v2/x``; with none, ``docker/registry/v2/x``.
distribution 2.x's azure driver used the path itself, leading slash included: a ``prefix`` of
``"/"`` gives those names back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scraper_core.contract import is_valid_path
from scraper_core.errors import ConfigurationError

# Lenient on purpose: S3-compatible stores and emulators accept names the clouds refuse;
# the clouds themselves then answer 400 or 404, which the drivers report.
BUCKET_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class KeyMap:
    """Storage path <-> object name under one root directory."""

    #: The root directory without leading or trailing slashes; "" for the bucket's top.
    root: str = ""
    #: Put before every name ("/" for distribution 2.x's azure names).
    prefix: str = ""

    @classmethod
    def from_rootdirectory(cls, rootdirectory: str, *, prefix: str = "") -> KeyMap:
        return cls(rootdirectory.strip("/"), prefix)

    @property
    def base(self) -> str:
        """The prefix every object name of this root starts with."""
        return self.prefix + (f"{self.root}/" if self.root else "")

    def key(self, path: str) -> str:
        """The object name of an absolute storage path (``/`` gives :attr:`base`)."""
        return self.base + path.lstrip("/")

    def dir_prefix(self, path: str) -> str:
        """The name prefix of everything below directory ``path``.

        Always ending in "/": directory ``/a`` must not take in ``/ab``.
        """
        key = self.key(path)
        return key if not key or key.endswith("/") else key + "/"

    def path(self, key: str) -> str | None:
        """The storage path of an object name; None outside the root or for the root itself."""
        if not key.startswith(self.base) or len(key) == len(self.base):
            return None
        return "/" + key[len(self.base) :]

    def listed_path(self, key: str) -> str | None:
        """The storage path to list for an object name; None for names no storage path
        gives: outside the root, "dir/" placeholders other tools create, "a//b", or names
        outside distribution's path grammar. Those cannot be read back through a path, so
        listing them would only make the caller fail on them."""
        path = self.path(key)
        return path if path is not None and is_valid_path(path) else None


@dataclass(frozen=True)
class BucketLocation:
    """A bucket (or container) and the root directory inside it."""

    bucket: str
    keys: KeyMap

    def __str__(self) -> str:
        """``BUCKET[/ROOT]``: what opens this same root again."""
        return f"{self.bucket}/{self.keys.root}" if self.keys.root else self.bucket


def parse_bucket_location(
    driver: str,
    location: str,
    *,
    scheme: str = "",
    bucket_re: re.Pattern[str] = BUCKET_NAME_RE,
    what: str = "BUCKET",
    prefix: str = "",
) -> BucketLocation:
    """``BUCKET[/ROOTDIRECTORY]``, as a registry config's ``bucket`` and ``rootdirectory``.

    ``bucket: reg`` with ``rootdirectory: /prod`` is written ``reg/prod``; ``scheme`` (such
    as ``s3://``) may be put in front.
    """
    text = location.strip()
    if scheme and text.startswith(scheme):
        text = text[len(scheme) :]
    bucket, _, rootdirectory = text.partition("/")
    if not bucket_re.fullmatch(bucket):
        raise ConfigurationError(
            f"{driver}: location must be {what}[/ROOTDIRECTORY], got {location!r}"
        )
    return BucketLocation(bucket, KeyMap.from_rootdirectory(rootdirectory, prefix=prefix))
