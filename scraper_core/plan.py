"""Plan: what one image needs, worked out from the source before a byte is copied.

A plan lists the blobs to copy and the link files to write, in the order they must be written:
layer and revision links before the tag links, so an interrupted copy never leaves a tag that
points at missing content. Planning reads only the image's own links and manifests: the work
grows with the images chosen, never with the size of the registry. (One exception, taken only
where it costs less: signatures of a repository with several images to look up are found in one
listing of its tags, see :meth:`Planner.list_tags_for_signatures`.)

Within a run each manifest, blob size and link is read once, however many tags lead to it
(issue 13: 30,000 tags on 4 manifests read and hashed the same 4 manifests 30,000 times), and
the plans share the objects read: a manifest's bytes are held once, not once per tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import (
    DigestMismatchError,
    ImageNotFoundError,
    InvalidReferenceError,
    ManifestError,
    PathNotFoundError,
    ScraperError,
)
from scraper_core.listing import list_repositories, list_tags
from scraper_core.manifest import (
    INDEX_TYPES,
    MAX_MANIFEST_SIZE,
    Descriptor,
    Manifest,
    Platform,
    parse_manifest,
    read_manifest_bytes,
)
from scraper_core.memo import Memo
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
        # Written as the platform it matches is: os/arch[/variant].
        return str(Platform(self.os, self.architecture, self.variant))


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
class ImageContent:
    """What one manifest (and every child) needs in one repository, in write order.

    The same for every tag that points at that manifest, so the plans of those tags share one
    (30,000 tags on 4 manifests hold 4 of these): it is read-only once the planner returns it.
    """

    blobs: list[BlobCopy] = field(default_factory=list)
    links: list[LinkWrite] = field(default_factory=list)
    #: Human-readable notes on what was left out on purpose (foreign layers).
    skipped: list[str] = field(default_factory=list)
    #: The image's manifest and every child copied, in the order they were read.
    manifest_digests: list[Digest] = field(default_factory=list)
    # Membership beside the ordered lists: an index of many platforms sharing many layers
    # would otherwise cost a scan per descriptor.
    _blob_by_digest: dict[Digest, BlobCopy] = field(default_factory=dict, repr=False, compare=False)
    _link_set: set[LinkWrite] = field(default_factory=set, repr=False, compare=False)

    def has_blob(self, digest: Digest) -> bool:
        return digest in self._blob_by_digest

    def blob(self, digest: Digest) -> BlobCopy | None:
        """The blob listed for ``digest``, if any."""
        return self._blob_by_digest.get(digest)

    def add_blob(self, blob: BlobCopy) -> None:
        # Indexes share layers between platforms; each blob is listed once.
        if blob.digest not in self._blob_by_digest:
            self._blob_by_digest[blob.digest] = blob
            self.blobs.append(blob)

    def add_link(self, link: LinkWrite) -> None:
        if link not in self._link_set:
            self._link_set.add(link)
            self.links.append(link)


@dataclass
class ImagePlan:
    """Everything one reference needs, in write order: blobs, links, then tag links."""

    reference: Reference
    digest: Digest
    #: Shared with every other plan of the same image in the same repository.
    content: ImageContent = field(default_factory=ImageContent)
    tag_links: list[LinkWrite] = field(default_factory=list)

    @property
    def blobs(self) -> list[BlobCopy]:
        return self.content.blobs

    @property
    def links(self) -> list[LinkWrite]:
        return self.content.links

    @property
    def skipped(self) -> list[str]:
        return self.content.skipped

    @property
    def manifest_digests(self) -> list[Digest]:
        return self.content.manifest_digests

    @property
    def total_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs)

    def has_blob(self, digest: Digest) -> bool:
        return self.content.has_blob(digest)

    def blob(self, digest: Digest) -> BlobCopy | None:
        return self.content.blob(digest)

    def add_blob(self, blob: BlobCopy) -> None:
        self.content.add_blob(blob)

    def add_link(self, link: LinkWrite) -> None:
        self.content.add_link(link)


def _same(digest: Digest) -> Digest:
    return digest


def _same_tags(tags: frozenset[str]) -> frozenset[str] | None:
    return tags


#: Tag suffixes cosign stores next to an image: ``sha256-<hex>.sig`` and friends; and none:
#: the OCI 1.1 referrers tag schema's ``sha256-<hex>``, an index of the manifests whose
#: ``subject`` is the image (planned like any index, so those manifests come along).
SIGNATURE_SUFFIXES = (".sig", ".att", ".sbom", "")


class Planner:
    """Builds :class:`ImagePlan` objects by reading the source through its driver.

    ``platforms`` (``os/arch[/variant]``) keeps only matching children of every index; the
    index itself is copied unchanged, so the other platforms answer 404 from the copy.
    """

    def __init__(
        self,
        source: CheckedDriver,
        platforms: Sequence[PlatformFilter] = (),
        *,
        sizes_from_manifests: bool = False,
        children_left_out_in: frozenset[Digest] = frozenset(),
    ) -> None:
        """``sizes_from_manifests``: take a blob's size from the manifest that names it rather
        than a stat of the source (a request per blob on an object store). For a copy, which
        reads every byte and checks size and digest as it goes: a missing or resized blob
        fails its image then. Previews keep the stat, so they name such blobs up front."""
        #: Images (by digest) of a platform-subset shipment (its receipt says so): an index
        #: child the source does not hold was left out of them on purpose, and the index is
        #: copied as it is. In any other image a missing child fails it.
        self.children_left_out_in = children_left_out_in
        self.source = source
        self.platforms = tuple(platforms)
        self.sizes_from_manifests = sizes_from_manifests
        # What this run has read, by what names it: bounded by the distinct content planned
        # (which the plans hold anyway), never by the number of tags.
        self._links: Memo[str, Digest | None] = Memo()
        self._repository_names: list[str] | None = None
        self._manifests: Memo[Digest, tuple[BlobCopy, Manifest]] = Memo()
        self._blobs: Memo[Digest, BlobCopy | None] = Memo()
        # Blobs as manifests declare them (``sizes_from_manifests``): one object per digest
        # and size, so images that declare a blob alike share it, and those that do not
        # are each checked against their own declaration.
        self._declared: Memo[tuple[Digest, int], BlobCopy] = Memo()
        self._exists: Memo[str, bool] = Memo()
        self._contents: Memo[tuple[str, Digest], ImageContent] = Memo()
        # One Digest object per digest: 30,000 tag links naming 4 manifests hold 4.
        self._digests: Memo[Digest, Digest] = Memo()
        # Repositories whose signatures are looked up in one listing of their tags, and
        # those listings (None: the listing failed, so each candidate is stat'ed instead).
        self._list_tags_of: set[str] = set()
        self._tag_listings: Memo[str, frozenset[str] | None] = Memo()

    def list_tags_for_signatures(self, names: Iterable[str]) -> None:
        """Look signatures up in ``names`` with one listing of each repository's tags rather
        than four stats per manifest: cheaper once a repository has a few manifests to look
        up (on an object store a stat of a missing tag is two requests; a listing, one per
        thousand keys)."""
        self._list_tags_of.update(names)

    def know_tags(self, listings: Mapping[str, frozenset[str]]) -> None:
        """Tags listed already (``--all-tags``, a tag glob): signatures are looked up there."""
        for name, tags in listings.items():
            self._tag_listings.get(name, partial(_same_tags, tags))
        self.list_tags_for_signatures(listings)

    def _tag_listing(self, name: str) -> frozenset[str] | None:
        def listing() -> frozenset[str] | None:
            try:
                return frozenset(list_tags(self.source, name))
            except ScraperError:
                # A listing spoilt by one bad entry must not hide every signature: ask again
                # tag by tag, as without a listing.
                return None

        return self._tag_listings.get(name, listing)

    def signature_references(self, plan: ImagePlan) -> list[Reference]:
        """cosign signatures, attestations and SBOMs, and OCI referrers, stored as tags
        beside the image."""
        name = plan.reference.name
        listed = self._tag_listing(name) if name in self._list_tags_of else None
        found: list[Reference] = []
        for digest in plan.manifest_digests:
            for suffix in SIGNATURE_SUFFIXES:
                tag = f"{digest.algorithm}-{digest.hex}{suffix}"
                if listed is not None:
                    present = tag in listed
                else:
                    path = layout.tag_current_link_path(name, tag)
                    present = self._exists.get(path, partial(self.source.exists, path))
                if present:
                    found.append(Reference(name, tag))
        return found

    def plan(self, reference: Reference) -> ImagePlan:
        name = reference.name
        if reference.digest is not None:
            digest = reference.digest
        else:
            assert reference.tag is not None
            digest = self._resolve_tag(name, reference.tag)
        digest = self._digests.get(digest, partial(_same, digest))
        content = self._contents.get((name, digest), partial(self._content, reference, digest))
        plan = ImagePlan(reference, digest, content)
        if reference.digest is None and reference.tag is not None:
            tag = reference.tag
            plan.tag_links.append(LinkWrite(layout.tag_index_link_path(name, tag, digest), digest))
            plan.tag_links.append(LinkWrite(layout.tag_current_link_path(name, tag), digest))
        return plan

    def _repository_exists(self, name: str) -> bool:
        return self.source.exists(layout.repository_path(name))

    def _repository_not_found(self, name: str) -> ImageNotFoundError:
        """With the close names the source holds (listed on the first miss, once a run)."""
        from scraper_core.suggest import did_you_mean

        if self._repository_names is None:
            self._repository_names = list_repositories(self.source, [])
        return ImageNotFoundError(
            f"repository not found: {name}{did_you_mean(name, self._repository_names)}"
        )

    def _tag_not_found(self, name: str, tag: str) -> ImageNotFoundError:
        from scraper_core.suggest import did_you_mean

        try:
            hint = did_you_mean(tag, list_tags(self.source, name))
        except ScraperError:
            hint = ""
        return ImageNotFoundError(f"tag not found: {name}:{tag}{hint}")

    def _resolve_tag(self, name: str, tag: str) -> Digest:
        path = layout.tag_current_link_path(name, tag)
        try:
            return self.source.read_link(path)
        except PathNotFoundError:
            if not self._repository_exists(name):
                raise self._repository_not_found(name) from None
            raise self._tag_not_found(name, tag) from None

    def _link(self, path: str) -> Digest | None:
        """What the link at ``path`` names; None when it is missing. Read once a run."""

        def read() -> Digest | None:
            try:
                return self.source.read_link(path)
            except PathNotFoundError:
                return None

        return self._links.get(path, read)

    def _read_link(self, path: str, expected: Digest, missing: str) -> None:
        """Check a source link exists and names ``expected`` (we write the same bytes)."""
        found = self._link(path)
        if found is None:
            raise ImageNotFoundError(missing)
        if found != expected:
            raise ManifestError(f"link {path} names {found}, expected {expected}")

    def _content(self, reference: Reference, digest: Digest) -> ImageContent:
        """What the image needs, planned once for the first reference that leads to it."""
        first = ImagePlan(reference, digest)
        self._add_manifest(first, digest, depth=0, seen=set())
        return first.content

    def _add_manifest(
        self,
        plan: ImagePlan,
        digest: Digest,
        depth: int,
        seen: set[Digest],
        declared_size: int | None = None,
    ) -> None:
        """``declared_size``: what the index naming this manifest says its size is."""
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
                raise self._repository_not_found(name) from None
            raise
        blob, manifest = self._manifests.get(digest, lambda: self._load_manifest(name, digest))
        if declared_size is not None and declared_size != blob.size:
            raise DigestMismatchError(
                f"manifest {digest} is {blob.size} bytes, its index says {declared_size}"
            )
        plan.add_blob(blob)
        plan.manifest_digests.append(digest)
        for child in self._chosen_children(plan, digest, manifest):
            self._add_manifest(plan, child.digest, depth + 1, seen, child.size)
        self._add_blobs(plan, manifest)
        plan.add_link(LinkWrite(revision, digest))

    def _chosen_children(
        self, plan: ImagePlan, digest: Digest, manifest: Manifest
    ) -> list[Descriptor]:
        name = plan.reference.name
        if not self.platforms:
            if plan.digest in self.children_left_out_in:
                return self._children_held(plan, digest, manifest)
            return list(manifest.children)
        chosen = [child for child in manifest.children if self._leads_to_platform(name, child, 1)]
        if manifest.children and not chosen:
            available = ", ".join(self._platforms_under(name, manifest, 1))
            raise ImageNotFoundError(
                f"{plan.reference.name}@{digest.short} has no manifest for "
                f"{', '.join(map(str, self.platforms))} (it has: {available or 'none'})"
            )
        return chosen

    def children_named(self, name: str, digest: Digest) -> list[Digest]:
        """What a manifest this run planned names as children, chosen or not (read once)."""
        loaded = self._manifests.get(digest, partial(self._load_manifest, name, digest))
        return [child.digest for child in loaded[1].children]

    def _children_held(
        self, plan: ImagePlan, digest: Digest, manifest: Manifest
    ) -> list[Descriptor]:
        """The children the source holds; those it does not are noted as left out."""
        name = plan.reference.name
        held: list[Descriptor] = []
        for child in manifest.children:
            if self._link(layout.revision_link_path(name, child.digest)) is not None:
                held.append(child)
            else:
                platform = child.platform or "a manifest without platform"
                plan.skipped.append(f"left out {platform} ({child.digest}): not shipped")
        if manifest.children and not held:
            raise ImageNotFoundError(
                f"{name}@{digest.short}: none of its {len(manifest.children)} manifests was shipped"
            )
        return held

    def _nested_index(self, name: str, child: Descriptor, depth: int) -> Manifest | None:
        """The index ``child`` is, when it is one without a platform of its own (an index of
        indexes, as containers/image's test layouts have); None for anything else."""
        if child.platform is not None or child.media_type not in INDEX_TYPES:
            return None
        if depth > MAX_INDEX_DEPTH:
            raise ManifestError(
                f"{name}@{child.digest}: indexes nested deeper than {MAX_INDEX_DEPTH}"
            )
        loaded = self._manifests.get(child.digest, partial(self._load_manifest, name, child.digest))
        return loaded[1]

    def _leads_to_platform(self, name: str, child: Descriptor, depth: int) -> bool:
        """Whether ``child`` is a chosen platform, or a nested index holding one."""
        if child.platform is not None:
            return any(wanted.matches(child.platform) for wanted in self.platforms)
        nested = self._nested_index(name, child, depth)
        return nested is not None and any(
            self._leads_to_platform(name, grandchild, depth + 1) for grandchild in nested.children
        )

    def _platforms_under(self, name: str, manifest: Manifest, depth: int) -> list[str]:
        """Every platform ``manifest`` offers, nested indexes included (for the error)."""
        found: list[str] = []
        for child in manifest.children:
            if child.platform is not None:
                found.append(str(child.platform))
                continue
            nested = self._nested_index(name, child, depth)
            if nested is not None:
                found.extend(self._platforms_under(name, nested, depth + 1))
        return found

    def _load_manifest(self, name: str, digest: Digest) -> tuple[BlobCopy, Manifest]:
        """The manifest blob (its verified bytes, shared by every plan) and what it says."""
        content = self._read_manifest(name, digest)
        manifest = parse_manifest(content, f"manifest {name}@{digest.short}")
        return BlobCopy(digest, len(content), content), manifest

    def _read_manifest(self, name: str, digest: Digest) -> bytes:
        path = layout.blob_data_path(digest)
        # No stat first: the bounded read says both whether it exists and if it is too long.
        try:
            content = read_manifest_bytes(self.source, path)
        except PathNotFoundError:
            raise ImageNotFoundError(
                f"blob missing from source: {digest} (manifest of {name})"
            ) from None
        if len(content) > MAX_MANIFEST_SIZE:
            raise ManifestError(f"manifest {name}@{digest.short}: it exceeds 4 MiB")
        actual = Digest.of(content, digest.algorithm)
        if actual != digest:
            raise DigestMismatchError(f"blob {digest} is corrupt: its content hashes to {actual}")
        return content

    def _add_blobs(self, plan: ImagePlan, manifest: Manifest) -> None:
        name = plan.reference.name
        for descriptor in manifest.blobs:
            listed = plan.blob(descriptor.digest)
            if listed is not None:
                # Listed by another manifest of the same image (an index's children share
                # layers): what this manifest declares is still checked.
                self._check_declared(descriptor, listed)
                continue
            blob = self._blob(descriptor)
            if blob is None:
                if descriptor.foreign:
                    plan.skipped.append(f"foreign layer {descriptor.digest} is not stored")
                    continue
                raise ImageNotFoundError(
                    f"blob missing from source: {descriptor.digest} (needed by {name})"
                )
            self._check_declared(descriptor, blob)
            link = layout.layer_link_path(name, descriptor.digest)
            self._read_link(
                link, descriptor.digest, f"blob {descriptor.digest} is not linked into {name}"
            )
            plan.add_blob(blob)
            plan.add_link(LinkWrite(link, descriptor.digest))

    def _check_declared(self, descriptor: Descriptor, listed: BlobCopy) -> None:
        """Fail the image if ``descriptor`` declares a size other than the blob's.

        ``listed`` holds the source's size, or (``sizes_from_manifests``) what another
        manifest of the same image declared: then two manifests of one image disagree, and
        a stat of the source tells which is wrong, so the message states the true size."""
        declared = descriptor.size
        if declared is None or declared == listed.size:
            return
        true_size = listed.size
        if self.sizes_from_manifests:
            found = self._stat(descriptor.digest)
            if found is None:
                raise ImageNotFoundError(f"blob missing from source: {descriptor.digest}")
            true_size = found.size
            if listed.size != true_size:
                declared = listed.size
        raise DigestMismatchError(declared_size_error(descriptor.digest, true_size, declared))

    def _blob(self, descriptor: Descriptor) -> BlobCopy | None:
        """The blob to copy, shared by every plan that declares it alike; None: missing. Its
        size is the source's, or the manifest's (``sizes_from_manifests``: then each image
        carries what its own manifests declare, and the copy checks it against the bytes)."""
        digest = descriptor.digest
        size = descriptor.size
        # A foreign layer may be absent on purpose: only a look at the source tells.
        if self.sizes_from_manifests and size is not None and not descriptor.foreign:
            return self._declared.get((digest, size), partial(BlobCopy, digest, size))
        return self._stat(digest)

    def _stat(self, digest: Digest) -> BlobCopy | None:
        """The blob with the source's size, stat'ed once a run; None: missing."""

        def stat() -> BlobCopy | None:
            try:
                return BlobCopy(digest, self.source.stat(layout.blob_data_path(digest)).size)
            except PathNotFoundError:
                return None

        return self._blobs.get(digest, stat)


def declared_size_error(digest: Digest, true_size: int, declared: int | str) -> str:
    """The one wording of a manifest declaring a size its blob does not have."""
    return f"blob {digest} is {true_size} bytes, its manifest says {declared}"
