"""The image-level destination contract: a destination that thinks in registry terms.

A storage driver (:mod:`scraper_core.contract`) takes files at paths; a running registry, an
OCI layout or a vendor's API takes *blobs into a repository* and *manifests by digest and by
tag*. Such a destination implements :class:`ImageDestination`; a plugin registers its class
(:class:`ImageDestinationClass`) through the ``registry_scraper_register_image_destinations``
hook, under its entry-point name, and users name it with ``--output-storage NAME``. The push
engine (:mod:`scraper_core.push`) calls it, from up to ``--jobs`` threads at once, so an
implementation must be thread-safe. It never sees the source: the engine opens every stream.

What the engine promises, so a destination need not check it again:

- blobs before the manifests that name them, child manifests before their index (each by
  digest), then tags; a present blob or manifest (``has_*``) is never sent;
- ``mount_blob`` is asked only for a blob this run put (or found) in ``from_repository``;
- the stream ``put_blob`` reads is *verified*: it raises
  :class:`~scraper_core.errors.DigestMismatchError` (or ShortReadError) on the read that
  completes (or overruns, or cuts short) the blob when the bytes are not ``size`` bytes of
  ``digest``, before that read returns. A destination that reads to the end of the stream
  (``read`` returning ``b""``) before it commits can therefore never commit a bad blob.

Repository names are the source's; a destination maps them (a namespace prefix, a directory).
Errors are :mod:`scraper_core.errors` types with one-line messages: ConfigurationError from
``open`` (bad location or options, credentials refused: exit 2, nothing written), StorageError
for one request refused (that image fails, the others go on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import BinaryIO, Protocol, runtime_checkable

__all__ = ["ImageDestination", "ImageDestinationClass", "OpenStream"]

#: ``open_stream(offset)``: the blob's bytes from ``offset`` on; the caller closes it. A
#: destination may call it again after a dropped connection, from where it stands.
OpenStream = Callable[[int], BinaryIO]


@runtime_checkable
class ImageDestination(Protocol):
    """Blobs into repositories, manifests by digest and by tag. Optional companion:
    :class:`~scraper_core.contract.Abortable` (``abort`` instead of ``close`` after an
    interrupt)."""

    def has_blob(self, repository: str, digest: str) -> int | None:
        """The blob's size in ``repository``, or None when it is not there."""
        ...

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Make the blob ``from_repository`` holds available in ``repository`` without
        sending it (a cross-repository mount, a hardlink); False: not done, nothing changed."""
        ...

    def put_blob(self, repository: str, digest: str, size: int, open_stream: OpenStream) -> None:
        """Store ``size`` bytes read from ``open_stream(offset)`` as ``digest``; visible only
        once they are all read and verified (the stream raises otherwise, see above)."""
        ...

    def has_manifest(self, repository: str, reference: str) -> str | None:
        """The digest ``reference`` (a tag, or ``sha256:...``) names, or None."""
        ...

    def put_manifest(self, repository: str, reference: str, media_type: str, body: bytes) -> None:
        """Store ``body`` (of ``media_type``) as ``reference``: its digest, or a tag. Every
        blob and child manifest it names is there already."""
        ...

    def close(self) -> None:
        """Called once, after the last call of a run (also a run where images failed)."""
        ...


class ImageDestinationClass(Protocol):
    """What a plugin registers: a class that opens an :class:`ImageDestination`.

    (Plain attributes, as :class:`~scraper_core.contract.DriverClass` has: a class object can
    only match a Protocol's instance members.)
    """

    name: str
    description: str

    @classmethod
    def open(cls, location: str, options: Mapping[str, str]) -> ImageDestination:
        """Connect to ``location`` (the ``--output-dir`` value) with ``options``
        (``--output-storage-option KEY=VALUE``; unknown keys refused). Check what can be
        checked before anything is written (credentials, reachability): ConfigurationError
        in one line. Heavy imports here, not when the plugin module is imported."""
        ...
