"""A running registry as the destination, in the terms a registry thinks in.

The core calls this object (from several threads at once: one per ``--jobs`` copy) to push an
image: blobs first (HEAD, else a cross-repository mount, else an upload), then manifests by
digest, children before their index, then tags. It never sends what the registry has.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Self

from registry_scraper_registry.credentials import find_credentials
from registry_scraper_registry.location import RegistryLocation, parse_location
from registry_scraper_registry.transport import Answer, NotAuthorizedError, Transport
from registry_scraper_registry.upload import BlobUpload, OpenStream
from scraper_core.digest import Digest
from scraper_core.errors import ScraperError, StorageError

#: Every manifest type: without it a registry may convert or refuse to show what it holds.
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
    ]
)
SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
    }
)
#: A manifest is a small JSON document; distribution refuses more than 4 MiB too.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024


class RegistryDestination:
    """Push blobs and manifests into repositories of one registry (under a namespace).
    Registered through :class:`~registry_scraper_registry.plugin.RegistryDestinationClass`."""

    def __init__(self, location: RegistryLocation, transport: Transport) -> None:
        self.location = location
        self._transport = transport

    @classmethod
    def open(cls, location: str, options: Mapping[str, str]) -> Self:
        """Parse, find credentials and check them against the registry: a wrong password is a
        :class:`ConfigurationError` here, before any blob is sent."""
        where = parse_location(location, options)
        files = [where.auth_file] if where.auth_file else None
        credentials = find_credentials(where.host, where.namespace, files)
        transport = Transport(where, credentials)
        try:
            transport.login()
        except BaseException:
            transport.close()
            raise
        return cls(where, transport)

    # Blobs ------------------------------------------------------------------------------------

    def has_blob(self, repository: str, digest: str) -> int | None:
        """The blob's size in the repository, or None when it is not there."""
        name, checked = self._name(repository), Digest.parse(digest)
        what = self._what(name, f"@{checked.short}")
        answer = self._request("HEAD", f"/v2/{name}/blobs/{checked}", name, what)
        if answer.status == 404:
            return None
        length = answer.headers.get("Content-Length", "")
        if answer.status != 200 or not length.isdigit():
            raise self._transport.fail(what, answer)
        return int(length)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Link a blob the registry holds in ``from_repository``; False: not done, upload it."""
        name, source = self._name(repository), self._name(from_repository)
        checked = Digest.parse(digest)
        what = self._what(name, f"@{checked.short}")
        scopes = (f"repository:{name}:pull,push", f"repository:{source}:pull")
        path = f"/v2/{name}/blobs/uploads/?mount={checked}&from={source}"
        try:
            answer = self._transport.request("POST", path, scopes=scopes, what=what, body=b"")
        except NotAuthorizedError:
            return False  # no right to read the source repository: an upload will do
        if answer.status == 201:
            return True
        if answer.status == 202 and answer.headers.get("Location"):
            # The registry opened an upload session instead: close it (best effort: the
            # registry purges what is left, and may want a "delete" right), the caller uploads.
            with contextlib.suppress(ScraperError):
                location = answer.headers["Location"]
                self._transport.request("DELETE", location, scopes=scopes, what=what)
            return False
        raise self._transport.fail(what, answer)

    def put_blob(self, repository: str, digest: str, size: int, open_stream: OpenStream) -> None:
        """Upload ``size`` bytes from ``open_stream(offset)``; committed only if they are the
        digest's (:class:`DigestMismatchError` otherwise)."""
        name, checked = self._name(repository), Digest.parse(digest)
        if size < 0:
            raise ValueError(f"negative blob size {size}")
        upload = BlobUpload(
            self._transport, name, checked, size, open_stream, self.location.chunk_size
        )
        upload.run()

    # Manifests --------------------------------------------------------------------------------

    def has_manifest(self, repository: str, reference: str) -> str | None:
        """The digest ``reference`` (a tag or digest) names in the repository, or None."""
        name = self._name(repository)
        what = self._what(name, _shown(reference))
        answer = self._request(
            "HEAD", f"/v2/{name}/manifests/{reference}", name, what, accept=MANIFEST_TYPES
        )
        if answer.status == 404:
            return None
        digest = answer.headers.get("Docker-Content-Digest")
        if answer.status != 200 or not digest:
            raise self._transport.fail(what, answer)
        return digest

    def put_manifest(self, repository: str, reference: str, media_type: str, body: bytes) -> None:
        """Store a manifest by digest or tag; its blobs and children must be there first."""
        name = self._name(repository)
        what = self._what(name, _shown(reference))
        if len(body) > MAX_MANIFEST_SIZE:
            raise StorageError("registry", what, "manifest larger than 4MiB")
        answer = self._transport.request(
            "PUT",
            f"/v2/{name}/manifests/{reference}",
            scopes=(f"repository:{name}:pull,push",),
            what=what,
            headers={"Content-Type": media_type},
            body=body,
        )
        if answer.status == 201:
            return
        if media_type in SCHEMA1_TYPES and answer.status in (400, 415):
            raise StorageError(
                "registry", what, f"the registry refuses schema1 manifests ({answer.error_text()})"
            )
        raise self._transport.fail(what, answer)

    def close(self) -> None:
        self._transport.close()

    # Helpers ----------------------------------------------------------------------------------

    def _name(self, repository: str) -> str:
        return self.location.repository(repository)

    def _what(self, name: str, suffix: str) -> str:
        return f"{self.location.host}/{name}{suffix}"

    def _request(
        self, method: str, path: str, name: str, what: str, accept: str | None = None
    ) -> Answer:
        headers = {"Accept": accept} if accept else None
        return self._transport.request(
            method, path, scopes=(f"repository:{name}:pull,push",), what=what, headers=headers
        )


def _shown(reference: str) -> str:
    """``@sha256:0123456789ab`` for a digest, ``:tag`` for a tag: how messages name it."""
    return f"@{Digest.parse(reference).short}" if ":" in reference else f":{reference}"
