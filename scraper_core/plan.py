"""Plan: what one image needs, worked out from the source before a byte is copied.

A plan lists the blobs to copy and the link files to write, in the order they must be written:
layer and revision links before the tag links, so an interrupted copy never leaves a tag that
points at missing content. Planning reads only the image's own links and manifests: the work
grows with the images chosen, never with the size of the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from scraper_core import layout
from scraper_core.digest import Digest
from scraper_core.driver import CheckedDriver
from scraper_core.errors import (
    DigestMismatchError,
    ImageNotFoundError,
    InvalidReferenceError,
    ManifestError,
    PathNotFoundError,
)
from scraper_core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    Manifest,
    Platform,
    parse_manifest,
    read_manifest_bytes,
)
from scraper_core.reference import Reference

#: Indexes nest (an index of indexes); a deeper chain is hostile or broken.
MAX_INDEX_DEPTH = 8


@dataclass(frozen=True)
class PlatformFilter:
    """``os/arch[/variant]`` from ``--platform``; no variant matches any variant."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> PlatformFilter:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidReferenceError(f"invalid platform {text!r}: expected os/arch[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, platform: Platform) -> bool:
        if (platform.os, platform.architecture) != (self.os, self.architecture):
            return False
        return self.variant is None or platform.variant == self.variant

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base


@dataclass(frozen=True)
class BlobCopy:
    """One blob to copy; manifests carry the bytes already read and verified while planning."""

    digest: Digest
    size: int
    content: bytes | None = None


@dataclass(frozen=True)
class LinkWrite:
    """One link file: ``path`` will hold exactly the digest."""

    path: str
    digest: Digest


@dataclass
class ImagePlan:
    """Everything one reference needs, in write order: blobs, links, then tag links."""

    reference: Reference
    digest: Digest
    blobs: list[BlobCopy] = field(default_factory=list)
    links: list[LinkWrite] = field(default_factory=list)
    tag_links: list[LinkWrite] = field(default_factory=list)
    #: Human-readable notes on what was left out on purpose (foreign layers).
    skipped: list[str] = field(default_factory=list)
    #: The image's manifest and every child copied, in the order they were read.
    manifest_digests: list[Digest] = field(default_factory=list)
    # Membership beside the ordered lists: an index of many platforms sharing many layers
    # would otherwise cost a scan per descriptor.
    _blob_digests: set[Digest] = field(default_factory=set, repr=False, compare=False)
    _link_set: set[LinkWrite] = field(default_factory=set, repr=False, compare=False)

    @property
    def total_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs)

    def has_blob(self, digest: Digest) -> bool:
        return digest in self._blob_digests

    def add_blob(self, blob: BlobCopy) -> None:
        # Indexes share layers between platforms; each blob is listed once.
        if blob.digest not in self._blob_digests:
            self._blob_digests.add(blob.digest)
            self.blobs.append(blob)

    def add_link(self, link: LinkWrite) -> None:
        if link not in self._link_set:
            self._link_set.add(link)
            self.links.append(link)


#: Tag suffixes cosign stores next to an image: ``sha256-<hex>.sig`` and friends; and none:
#: the OCI 1.1 referrers tag schema's ``sha256-<hex>``, an index of the manifests whose
#: ``subject`` is the image (planned like any index, so those manifests come along).
SIGNATURE_SUFFIXES = (".sig", ".att", ".sbom", "")


class Planner:
    """Builds :class:`ImagePlan` objects by reading the source through its driver.

    ``platforms`` (``os/arch[/variant]``) keeps only matching children of every index; the
    index itself is copied unchanged, so the other platforms answer 404 from the copy.
    """

    def __init__(self, source: CheckedDriver, platforms: Sequence[PlatformFilter] = ()) -> None:
        self.source = source
        self.platforms = tuple(platforms)

    def signature_references(self, plan: ImagePlan) -> list[Reference]:
        """cosign signatures, attestations and SBOMs, and OCI referrers, stored as tags
        beside the image."""
        found: list[Reference] = []
        for digest in plan.manifest_digests:
            for suffix in SIGNATURE_SUFFIXES:
                tag = f"{digest.algorithm}-{digest.hex}{suffix}"
                if self.source.exists(layout.tag_current_link_path(plan.reference.name, tag)):
                    found.append(Reference(plan.reference.name, tag))
        return found

    def plan(self, reference: Reference) -> ImagePlan:
        name = reference.name
        if reference.digest is not None:
            digest = reference.digest
        else:
            assert reference.tag is not None
            digest = self._resolve_tag(name, reference.tag)
        plan = ImagePlan(reference, digest)
        self._add_manifest(plan, digest, depth=0, seen=set())
        if reference.digest is None and reference.tag is not None:
            tag = reference.tag
            plan.tag_links.append(LinkWrite(layout.tag_index_link_path(name, tag, digest), digest))
            plan.tag_links.append(LinkWrite(layout.tag_current_link_path(name, tag), digest))
        return plan

    def _repository_exists(self, name: str) -> bool:
        return self.source.exists(layout.repository_path(name))

    def _resolve_tag(self, name: str, tag: str) -> Digest:
        path = layout.tag_current_link_path(name, tag)
        try:
            return self.source.read_link(path)
        except PathNotFoundError:
            if not self._repository_exists(name):
                raise ImageNotFoundError(f"repository not found: {name}") from None
            raise ImageNotFoundError(f"tag not found: {name}:{tag}") from None

    def _read_link(self, path: str, expected: Digest, missing: str) -> None:
        """Check a source link exists and names ``expected`` (we write the same bytes)."""
        try:
            found = self.source.read_link(path)
        except PathNotFoundError:
            raise ImageNotFoundError(missing) from None
        if found != expected:
            raise ManifestError(f"link {path} names {found}, expected {expected}")

    def _add_manifest(self, plan: ImagePlan, digest: Digest, depth: int, seen: set[Digest]) -> None:
        name = plan.reference.name
        if digest in seen:
            return
        if depth > MAX_INDEX_DEPTH:
            raise ManifestError(f"{name}@{digest}: indexes nested deeper than {MAX_INDEX_DEPTH}")
        seen.add(digest)
        revision = layout.revision_link_path(name, digest)
        try:
            self._read_link(revision, digest, f"manifest not found: {name}@{digest}")
        except ImageNotFoundError:
            if depth == 0 and not self._repository_exists(name):
                raise ImageNotFoundError(f"repository not found: {name}") from None
            raise
        content = self._read_manifest(name, digest)
        manifest = parse_manifest(content, f"manifest {name}@{digest.short}")
        plan.add_blob(BlobCopy(digest, len(content), content))
        plan.manifest_digests.append(digest)
        for child in self._chosen_children(plan, digest, manifest):
            self._add_manifest(plan, child.digest, depth + 1, seen)
        self._add_blobs(plan, manifest)
        plan.add_link(LinkWrite(revision, digest))

    def _chosen_children(
        self, plan: ImagePlan, digest: Digest, manifest: Manifest
    ) -> list[Descriptor]:
        if not self.platforms:
            return list(manifest.children)
        chosen = [
            child
            for child in manifest.children
            if child.platform is not None
            and any(wanted.matches(child.platform) for wanted in self.platforms)
        ]
        if manifest.children and not chosen:
            available = ", ".join(str(c.platform) for c in manifest.children if c.platform)
            raise ImageNotFoundError(
                f"{plan.reference.name}@{digest.short} has no manifest for "
                f"{', '.join(map(str, self.platforms))} (it has: {available or 'none'})"
            )
        return chosen

    def _read_manifest(self, name: str, digest: Digest) -> bytes:
        path = layout.blob_data_path(digest)
        try:
            size = self.source.stat(path).size
        except PathNotFoundError:
            raise ImageNotFoundError(
                f"blob missing from source: {digest} (manifest of {name})"
            ) from None
        if size > MAX_MANIFEST_SIZE:
            raise ManifestError(f"manifest {name}@{digest.short}: {size} bytes exceeds 4 MiB")
        content = read_manifest_bytes(self.source, path, size)
        actual = Digest.of(content, digest.algorithm)
        if actual != digest:
            raise DigestMismatchError(f"blob {digest} is corrupt: its content hashes to {actual}")
        return content

    def _add_blobs(self, plan: ImagePlan, manifest: Manifest) -> None:
        name = plan.reference.name
        for descriptor in manifest.blobs:
            if plan.has_blob(descriptor.digest):
                continue
            path = layout.blob_data_path(descriptor.digest)
            try:
                size = self.source.stat(path).size
            except PathNotFoundError:
                if descriptor.foreign:
                    plan.skipped.append(f"foreign layer {descriptor.digest} is not stored")
                    continue
                raise ImageNotFoundError(
                    f"blob missing from source: {descriptor.digest} (needed by {name})"
                ) from None
            if descriptor.size is not None and descriptor.size != size:
                raise DigestMismatchError(
                    f"blob {descriptor.digest} is {size} bytes, its manifest says {descriptor.size}"
                )
            link = layout.layer_link_path(name, descriptor.digest)
            self._read_link(
                link, descriptor.digest, f"blob {descriptor.digest} is not linked into {name}"
            )
            plan.add_blob(BlobCopy(descriptor.digest, size))
            plan.add_link(LinkWrite(link, descriptor.digest))
