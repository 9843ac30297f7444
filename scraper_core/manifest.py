"""Manifests as a registry stores them: which objects each one needs.

The registry keeps no media type beside a manifest blob, so the kind is worked out from the
bytes, as distribution does on GET: schema1 by ``schemaVersion: 1``; otherwise the
``mediaType`` field, or for OCI documents without one, the presence of ``manifests`` (an
index) or ``config`` (an image manifest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import InvalidReferenceError, ManifestError

DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

INDEX_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
IMAGE_TYPES = frozenset({DOCKER_SCHEMA2, OCI_MANIFEST})

#: distribution refuses manifests above this size on push (``maxManifestBodySize``).
MAX_MANIFEST_SIZE = 4 * 1024 * 1024

#: Arrays and objects nested deeper than this are refused before decoding. Real manifests
#: nest five or six levels; a registry stores far deeper ones (Go's decoder allows 10,000),
#: where Python's recursive decoder would overflow its recursion limit, or a thread's stack.
MAX_JSON_DEPTH = 100

# Both kinds of bracket as one, everything else dropped: the depth is all that is left.
_ONE_BRACKET = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))

_FOREIGN_LAYER_TYPES = frozenset(
    {
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base


@dataclass(frozen=True)
class Descriptor:
    """One object a manifest points at."""

    digest: Digest
    media_type: str = ""
    size: int | None = None
    platform: Platform | None = None
    #: Foreign/non-distributable layers may legitimately be absent from storage.
    foreign: bool = False


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: its kind, child manifests (indexes) and blobs (images)."""

    media_type: str
    children: tuple[Descriptor, ...] = field(default=())
    blobs: tuple[Descriptor, ...] = field(default=())

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def _descriptor(raw: Any, where: str) -> Descriptor:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: descriptor is not an object")
    try:
        digest = Digest.parse(str(raw["digest"]))
    except KeyError:
        raise ManifestError(f"{where}: descriptor without a digest") from None
    except InvalidReferenceError as exc:
        raise ManifestError(f"{where}: {exc}") from None
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ManifestError(f"{where}: invalid size for {digest.short}: {size!r}")
    media_type = raw.get("mediaType", "")
    if not isinstance(media_type, str):
        raise ManifestError(f"{where}: invalid mediaType for {digest.short}")
    platform = None
    if isinstance(raw.get("platform"), dict):
        spec = raw["platform"]
        platform = Platform(
            str(spec.get("os", "")), str(spec.get("architecture", "")), spec.get("variant")
        )
    return Descriptor(digest, media_type, size, platform, media_type in _FOREIGN_LAYER_TYPES)


def _list_field(document: dict[str, Any], key: str, where: str) -> list[Any]:
    value = document.get(key)
    if not isinstance(value, list):
        raise ManifestError(f"{where}: missing or invalid {key!r}")
    return value


def _parse_schema1(document: dict[str, Any], where: str) -> Manifest:
    blobs: dict[Digest, Descriptor] = {}
    for layer in _list_field(document, "fsLayers", where):
        if not isinstance(layer, dict) or "blobSum" not in layer:
            raise ManifestError(f"{where}: fsLayers entry without blobSum")
        descriptor = _descriptor({"digest": layer["blobSum"]}, where)
        # schema1 repeats the empty layer many times; one copy is enough.
        blobs.setdefault(descriptor.digest, descriptor)
    kind = DOCKER_SCHEMA1_SIGNED if "signatures" in document else DOCKER_SCHEMA1
    return Manifest(kind, blobs=tuple(blobs.values()))


def _detect_media_type(document: dict[str, Any], where: str) -> str:
    media_type = document.get("mediaType")
    if isinstance(media_type, str):
        if media_type in INDEX_TYPES or media_type in IMAGE_TYPES:
            return media_type
        raise ManifestError(f"{where}: unknown manifest media type {media_type[:100]!r}")
    if media_type is not None:
        raise ManifestError(f"{where}: invalid mediaType field")
    if "manifests" in document:
        return OCI_INDEX
    if "config" in document:
        return OCI_MANIFEST
    raise ManifestError(f"{where}: not a manifest (no mediaType, manifests or config)")


def read_manifest_bytes(driver: CheckedDriver, path: str, size: int | None = None) -> bytes:
    """A stored manifest's bytes, never more than ``MAX_MANIFEST_SIZE + 1`` of them whatever
    the storage holds there (a device, a file that grew): :func:`parse_manifest` refuses the
    byte too many. ``size``, what a stat said, keeps the read short; a byte more than it is
    asked for, so content longer than that still shows (and fails its digest)."""
    limit = MAX_MANIFEST_SIZE if size is None else min(size, MAX_MANIFEST_SIZE)
    return driver.read_head(path, limit + 1)


def nesting_depth_exceeds(data: bytes, limit: int) -> bool:
    """Whether arrays and objects in UTF-8 JSON ``data`` may nest deeper than ``limit``.

    No recursion and no loop per byte: escapes removed, strings cut out (their brackets are
    text), then innermost pairs peeled one level per pass. Invalid JSON may be judged deeper
    than it is; it fails to decode all the same.
    """
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[0::2])
    brackets = outside_strings.translate(_ONE_BRACKET, _NOT_BRACKETS)
    levels = 0
    while brackets.count(b"[") + levels > limit:
        if b"[" * (limit + 1 - levels) in brackets or b"[]" not in brackets:
            # A run of openers that long nests too deep; unmatched ones are a level each.
            return True
        brackets = brackets.replace(b"[]", b"")
        levels += 1
    return False


def decode_json(data: bytes, where: str) -> Any:
    """Decode stored JSON; any failure, however deep the nesting, is one
    :class:`ManifestError` naming ``where``.

    Invalid UTF-8 in strings becomes U+FFFD, as Go's decoder (the registry's) has it.
    """
    if nesting_depth_exceeds(data, MAX_JSON_DEPTH):
        raise ManifestError(f"{where}: invalid JSON (nested deeper than {MAX_JSON_DEPTH} levels)")
    try:
        return json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:
        raise ManifestError(f"{where}: invalid JSON ({exc})") from None


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Parse stored manifest bytes; ``where`` names the manifest in every error."""
    if len(data) > MAX_MANIFEST_SIZE:
        raise ManifestError(f"{where}: manifest of {len(data)} bytes exceeds the 4 MiB limit")
    document = decode_json(data, where)
    if not isinstance(document, dict):
        raise ManifestError(f"{where}: manifest is not a JSON object")
    version = document.get("schemaVersion")
    if version == 1:
        return _parse_schema1(document, where)
    if version != 2:
        raise ManifestError(f"{where}: unsupported schemaVersion {version!r}")
    media_type = _detect_media_type(document, where)
    if media_type in INDEX_TYPES:
        children = tuple(
            _descriptor(raw, where) for raw in _list_field(document, "manifests", where)
        )
        return Manifest(media_type, children=children)
    config = document.get("config")
    if config is None:
        raise ManifestError(f"{where}: image manifest without a config")
    layers = [_descriptor(raw, where) for raw in _list_field(document, "layers", where)]
    return Manifest(media_type, blobs=(_descriptor(config, where), *layers))
