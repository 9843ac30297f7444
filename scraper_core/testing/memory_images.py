"""An image destination held in memory: the contract of :mod:`scraper_core.imagedest` met by
the smallest implementation, for the push engine's tests and as a model for a third party's
(an OCI layout, a vendor API). Every write is recorded in :attr:`writes`, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Self

from scraper_core.digest import Digest
from scraper_core.errors import ConfigurationError, DigestMismatchError, StorageError
from scraper_core.imagedest import OpenStream
from scraper_core.manifest import DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, parse_manifest

SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})
#: Read size: small, so a test's blobs take several reads.
READ_SIZE = 4096


@dataclass
class MemoryImageStore:
    """What a :class:`MemoryImageDestination` holds: blobs and manifests per repository."""

    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], bytes] = field(default_factory=dict)
    #: (repository, reference) -> digest, for digests and tags alike.
    references: dict[tuple[str, str], str] = field(default_factory=dict)


class MemoryImageDestination:
    """Options: ``schema1=false`` refuses schema1 manifests, as registries since 2.8 may."""

    name: ClassVar[str] = "memory-images"
    description: ClassVar[str] = "images held in memory, for tests"
    _stores: ClassVar[dict[str, MemoryImageStore]] = {}

    def __init__(self, store: MemoryImageStore, *, schema1: bool = True) -> None:
        self.store = store
        self.schema1 = schema1
        #: ("blob"|"mount"|"manifest", repository, reference), in the order they happened.
        self.writes: list[tuple[str, str, str]] = []
        self.closed = False
        self._lock = threading.Lock()

    @classmethod
    def open(cls, location: str, options: Mapping[str, str]) -> Self:
        unknown = sorted(set(options) - {"schema1"})
        if unknown:
            raise ConfigurationError(f"memory-images: unknown option {unknown[0]!r}")
        store = cls._stores.setdefault(location, MemoryImageStore())
        return cls(store, schema1=options.get("schema1", "true") != "false")

    def has_blob(self, repository: str, digest: str) -> int | None:
        with self._lock:
            data = self.store.blobs.get((repository, digest))
        return None if data is None else len(data)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        with self._lock:
            data = self.store.blobs.get((from_repository, digest))
            if data is None:
                return False
            self.store.blobs[(repository, digest)] = data
            self.writes.append(("mount", repository, digest))
        return True

    def put_blob(self, repository: str, digest: str, size: int, open_stream: OpenStream) -> None:
        pieces: list[bytes] = []
        with open_stream(0) as stream:
            # To the end of the stream before anything is kept: the engine's stream raises
            # there when the bytes are not the blob.
            while piece := stream.read(READ_SIZE):
                pieces.append(piece)
        data = b"".join(pieces)
        if len(data) != size or Digest.of(data) != Digest.parse(digest):
            raise DigestMismatchError(f"memory-images: {repository}@{digest}: not the blob")
        with self._lock:
            self.store.blobs[(repository, digest)] = data
            self.writes.append(("blob", repository, digest))

    def has_manifest(self, repository: str, reference: str) -> str | None:
        with self._lock:
            return self.store.references.get((repository, reference))

    def put_manifest(self, repository: str, reference: str, media_type: str, body: bytes) -> None:
        if media_type in SCHEMA1_TYPES and not self.schema1:
            raise StorageError(
                "memory-images", f"{repository}:{reference}", "schema1 manifests refused"
            )
        digest = str(Digest.of(body))
        named = parse_manifest(body, f"{repository}:{reference}")
        with self._lock:
            # A registry refuses a manifest naming what it lacks: the engine's order is checked.
            missing = [
                str(child.digest)
                for child in named.children
                if (repository, str(child.digest)) not in self.store.manifests
            ] + [
                str(blob.digest)
                for blob in named.blobs
                if not blob.foreign and (repository, str(blob.digest)) not in self.store.blobs
            ]
            if missing:
                raise StorageError(
                    "memory-images", f"{repository}:{reference}", f"names missing {missing[0]}"
                )
            self.store.manifests[(repository, digest)] = body
            self.store.references[(repository, digest)] = digest
            self.store.references[(repository, reference)] = digest
            self.writes.append(("manifest", repository, reference))

    def close(self) -> None:
        self.closed = True
