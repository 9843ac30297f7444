"""Check a storage tree the way a registry would use it, reading every byte it depends on.

Every tag must resolve to a manifest whose graph is complete (the planner checks the links and
the manifest digests on the way), every blob an image needs must hash to its digest and size,
and every ``_layers`` and ``_manifests/revisions`` link must hold exactly a digest naming an
existing blob. Untagged revisions are images too (pullable by digest), so they are checked
like tags. Each blob is hashed once however many images share it, streamed in 1 MiB chunks.

Blobs no tag or revision reaches are orphans: harmless to a registry (``garbage-collect``
would delete them), but space a shallow clone should not hold. A blob linked only from
``_layers`` is an orphan too: garbage collection marks from manifests, not from those links.

A ``_layers`` link whose blob is gone is a warning, not a problem: distribution's
``garbage-collect`` deletes blobs but never those links, so every collected registry has
them, and a pull only reads the links of the blobs its manifest names (checked per image).

``scrape --platform`` copies an index unchanged but only the chosen children, so an index
child its repository does not link (no revision link) was left out by choice: a note, not a
problem, and the registry answers 404 for it as for any manifest it does not hold. A child
that is linked must be whole (its blob there, its own graph complete). Verifying with
``platforms`` mirrors such a copy: the named platforms must be there, the others are not
looked at.

A delta (a storage whose receipts list blobs it relies on, left out because the site has
them) is checked as what it is: a relied-on blob it does not hold is counted, not a problem.
Its links are sound, a manifest of it is not read (its graph is at the site), a layer of it
is not hashed. Given the site's inventory (``site``), each relied-on blob must be there with
the same size: the delta completes that site, or the blobs it lacks are named.

A directory that cannot be listed is one problem naming it; the rest is still checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from scraper_core import layout
from scraper_core.bloblist import BlobSizes
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import (
    DigestMismatchError,
    ImageNotFoundError,
    PathNotFoundError,
    ScraperError,
    StorageError,
)
from scraper_core.listing import list_repositories, tag_directories
from scraper_core.manifest import Descriptor, Manifest, parse_manifest, read_manifest_bytes
from scraper_core.plan import (
    MAX_INDEX_DEPTH,
    BlobCopy,
    ImagePlan,
    LinkWrite,
    Planner,
    PlatformFilter,
)
from scraper_core.receipt import Receipt
from scraper_core.reference import TAG_RE, Reference
from scraper_core.transfer import CHUNK_SIZE

#: Read size while hashing (the copy engine's): each worker holds one chunk at a time.
HASH_CHUNK_SIZE = CHUNK_SIZE
DEFAULT_JOBS = 4
#: How many blobs a site lacks are named one a line; a count says how many more there are.
SHOWN_SITE_GAPS = 5

ProblemHandler = Callable[[str], None]
_Item = TypeVar("_Item")


@dataclass
class VerifyReport:
    repositories: int = 0
    tags: int = 0
    blobs_verified: int = 0
    bytes_verified: int = 0
    #: One line per problem, each naming the repository, tag, blob or link path concerned.
    problems: list[str] = field(default_factory=list)
    #: Blobs stored under ``blobs/`` that no tag or revision reaches, sorted.
    orphans: list[Digest] = field(default_factory=list)
    #: Harmless to a pull, worth knowing (``_layers`` links left by garbage collection).
    warnings: list[str] = field(default_factory=list)
    #: What was left out on purpose: index children of a ``--platform`` copy, foreign layers.
    notes: list[str] = field(default_factory=list)
    #: Blobs the storage's receipts rely on and it does not hold (a delta): the site's.
    relies_on_blobs: int = 0
    relies_on_bytes: int = 0
    #: With a site inventory: whether one was given, and the relied-on blobs it lacks, the
    #: first :data:`SHOWN_SITE_GAPS` named one a line (``site_gap_count`` counts them all).
    site_checked: bool = False
    site_gaps: list[str] = field(default_factory=list)
    site_gap_count: int = 0

    @property
    def ok(self) -> bool:
        """Orphans are reported, not failed: a registry serves the tree all the same."""
        return not self.problems and not self.site_gap_count


@dataclass
class _Findings:
    """What checking one repository (or one reference) found; merged by the calling thread."""

    tags: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: (what needed it, plan) for every image graph that planned without error.
    plans: list[tuple[str, ImagePlan]] = field(default_factory=list)
    #: Every blob a tag, a revision or a manifest of theirs names (for the orphan search).
    referenced: set[Digest] = field(default_factory=set)


@dataclass
class _NeededBlob:
    size: int
    needed_by: str
    #: The planner already read and hashed it (manifests): no need to stream it again.
    verified: bool


class _CopyPlanner(Planner):
    """The planner, reading an index the way a ``--platform`` copy holds it and a delta's
    relied-on blobs as the site's (module doc)."""

    def __init__(
        self,
        source: CheckedDriver,
        platforms: Sequence[PlatformFilter],
        relied: Mapping[Digest, int],
    ) -> None:
        super().__init__(source, platforms)
        #: Relied-on blobs the storage does not hold: digest -> size the receipts give.
        self.relied = relied

    def _stat(self, digest: Digest) -> BlobCopy | None:
        found = super()._stat(digest)
        if found is None and digest in self.relied:
            return BlobCopy(digest, self.relied[digest])
        return found

    def _add_manifest(
        self,
        plan: ImagePlan,
        digest: Digest,
        depth: int,
        seen: set[Digest],
        declared_size: int | None = None,
    ) -> None:
        size = self.relied.get(digest)
        if size is None or digest in seen:
            super()._add_manifest(plan, digest, depth, seen, declared_size)
            return
        # At the site, not here: its link is checked, its graph below is the site's.
        seen.add(digest)
        name = plan.reference.name
        revision = layout.revision_link_path(name, digest)
        self._read_link(revision, digest, f"manifest not found: {name}@{digest}")
        if declared_size is not None and declared_size != size:
            raise DigestMismatchError(
                f"manifest {digest} the delta relies on is {size} bytes, its index says "
                f"{declared_size}"
            )
        plan.add_blob(BlobCopy(digest, size))
        plan.manifest_digests.append(digest)
        plan.add_link(LinkWrite(revision, digest))

    def _chosen_children(
        self, plan: ImagePlan, digest: Digest, manifest: Manifest
    ) -> list[Descriptor]:
        chosen = super()._chosen_children(plan, digest, manifest)
        if self.platforms:
            return chosen
        name = plan.reference.name
        kept: list[Descriptor] = []
        for child in chosen:
            if self.source.exists(layout.revision_link_path(name, child.digest)):
                kept.append(child)
            else:
                platform = child.platform or "a manifest without platform"
                plan.skipped.append(f"left out {platform} ({child.digest}): not in {name}")
        if chosen and not kept:
            raise ImageNotFoundError(
                f"{name}@{digest.short}: none of its {len(chosen)} manifests is in {name}"
            )
        return kept


class _Verifier:
    def __init__(
        self,
        driver: CheckedDriver,
        *,
        jobs: int,
        platforms: Sequence[PlatformFilter],
        on_problem: ProblemHandler | None,
        relied: Mapping[Digest, int],
    ) -> None:
        self.driver = driver
        self.jobs = max(1, jobs)
        self.relied = relied
        self.planner = _CopyPlanner(driver, platforms, relied)
        self.on_problem = on_problem
        self.report = VerifyReport()
        self.needed: dict[Digest, _NeededBlob] = {}
        self.referenced: set[Digest] = set()

    # Results, merged in the calling thread so the report needs no lock.

    def problem(self, line: str) -> None:
        self.report.problems.append(line)
        if self.on_problem is not None:
            self.on_problem(line)

    def merge(self, findings: _Findings) -> None:
        self.report.tags += findings.tags
        for line in findings.problems:
            self.problem(line)
        self.report.warnings.extend(findings.warnings)
        for needed_by, plan in findings.plans:
            self.report.notes.extend(f"{needed_by}: {note}" for note in plan.skipped)
            for blob in plan.blobs:
                known = self.needed.setdefault(
                    blob.digest, _NeededBlob(blob.size, needed_by, blob.content is not None)
                )
                known.verified = known.verified or blob.content is not None
                self.referenced.add(blob.digest)
        self.referenced |= findings.referenced

    def run_parallel(self, check: Callable[[_Item], _Findings], items: Iterable[_Item]) -> None:
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="verify") as pool:
            for findings in pool.map(check, items):
                self.merge(findings)

    # Image graphs.

    def plan_image(self, findings: _Findings, reference: Reference, label: str) -> ImagePlan | None:
        try:
            plan = self.planner.plan(reference)
        except ScraperError as exc:
            findings.problems.append(f"{label}: {exc}")
            if reference.digest is not None:
                # Its other blobs are still in use: not orphans, whatever broke.
                self.mark_graph(findings.referenced, reference.digest)
            return None
        findings.plans.append((label, plan))
        return plan

    def mark_graph(self, referenced: set[Digest], root: Digest) -> None:
        """Every digest a manifest graph names, read leniently (nothing is verified here)."""
        pending = [(root, 0)]
        seen: set[Digest] = set()
        while pending:
            digest, depth = pending.pop()
            if digest in seen or depth > MAX_INDEX_DEPTH:
                continue
            seen.add(digest)
            referenced.add(digest)
            manifest = self.read_manifest_leniently(digest)
            if manifest is not None:
                referenced.update(blob.digest for blob in manifest.blobs)
                pending.extend((child.digest, depth + 1) for child in manifest.children)

    def read_manifest_leniently(self, digest: Digest) -> Manifest | None:
        try:
            content = read_manifest_bytes(self.driver, layout.blob_data_path(digest))
            return parse_manifest(content, str(digest))
        except ScraperError:
            return None

    # One repository.

    def check_repository(self, name: str) -> _Findings:
        findings = _Findings()
        try:
            self.check_repository_contents(findings, name)
        except ScraperError as exc:
            # A listing that fails (a stray file, a refused symlink) spoils this one only.
            findings.problems.append(f"repository {name}: {exc}")
        return findings

    def check_repository_contents(self, findings: _Findings, name: str) -> None:
        planned: dict[Digest, ImagePlan | None] = {}
        for tag, has_current in tag_directories(self.driver, name).items():
            self.check_tag(findings, planned, name, tag, has_current)
        revisions = self.check_links(findings, layout.revisions_path(name), planned)
        # See the module docstring: garbage collection leaves dangling layer links behind.
        self.check_links(findings, layout.layers_path(name), planned, dangling_is_problem=False)
        covered = {digest for plan in planned.values() if plan for digest in plan.manifest_digests}
        for digest in revisions:
            if digest not in planned and digest not in covered:
                planned[digest] = self.plan_image(
                    findings, Reference(name, digest=digest), f"{name}@{digest}"
                )

    def check_tag(
        self,
        findings: _Findings,
        planned: dict[Digest, ImagePlan | None],
        name: str,
        tag: str,
        has_current: bool,
    ) -> None:
        label = f"{name}:{tag}"
        if not TAG_RE.fullmatch(tag):
            # Shown quoted: a name read from storage may hold anything, a newline included.
            findings.problems.append(f"{name}: invalid tag directory {tag[:200]!r}")
            return
        findings.tags += 1
        if not has_current:
            findings.problems.append(f"{label}: tag has no current link (it cannot be pulled)")
            return
        path = layout.tag_current_link_path(name, tag)
        try:
            digest = self.driver.read_link(path)
        except ScraperError as exc:
            findings.problems.append(f"{label}: {exc}")
            return
        findings.referenced.add(digest)
        if digest not in planned:
            planned[digest] = self.plan_image(findings, Reference(name, digest=digest), label)
        elif planned[digest] is None:
            findings.problems.append(f"{label}: points at broken manifest {digest}")

    # Link directories.

    def check_links(
        self,
        findings: _Findings,
        base: str,
        planned: dict[Digest, ImagePlan | None],
        *,
        dangling_is_problem: bool = True,
    ) -> list[Digest]:
        """Check every link under ``base``; return the digests of those that are sound."""
        existing = {blob.digest for plan in planned.values() if plan for blob in plan.blobs}
        sound: list[Digest] = []
        for algorithm_dir in self.list_paths(findings, base):
            for entry in self.list_paths(findings, algorithm_dir):
                digest = self.check_link(findings, entry, existing, dangling_is_problem)
                if digest is not None:
                    sound.append(digest)
        return sound

    def list_paths(self, findings: _Findings, path: str) -> list[str]:
        try:
            return self.driver.list_dir(path)
        except PathNotFoundError:
            return []
        except StorageError as exc:
            findings.problems.append(str(exc))
            return []

    def check_link(
        self, findings: _Findings, entry: str, existing: set[Digest], dangling_is_problem: bool
    ) -> Digest | None:
        """One ``<algorithm>/<hex>`` link directory: the link names it and its blob exists."""
        expected = layout.link_directory_digest_of(entry)
        if expected is None:
            findings.problems.append(f"not a digest directory: {entry[:400]!r}")
            return None
        path = layout.link_path(entry)
        try:
            digest = self.driver.read_link(path)
        except PathNotFoundError:
            # What the registry's own deletes leave on a filesystem: the directory, emptied.
            return None
        except ScraperError as exc:
            findings.problems.append(str(exc))
            return None
        if digest != expected:
            findings.problems.append(f"link {path} names {digest}, not its directory's digest")
            return None
        if (
            digest not in existing
            and digest not in self.relied
            and not self.driver.exists(layout.blob_data_path(digest))
        ):
            line = f"dangling link {path}: blob {digest} is missing"
            (findings.problems if dangling_is_problem else findings.warnings).append(line)
            return None
        return digest

    # Blob bytes.

    def hash_blobs(self) -> None:
        to_stream: list[tuple[Digest, _NeededBlob]] = []
        for digest, blob in self.needed.items():
            if digest in self.relied:
                continue  # at the site: counted in the report as relied on
            if blob.verified:
                self.count_verified(blob)
            else:
                to_stream.append((digest, blob))
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="verify-hash") as pool:
            for (_digest, blob), problem in zip(
                to_stream, pool.map(self.hash_blob, to_stream), strict=True
            ):
                if problem is None:
                    self.count_verified(blob)
                else:
                    self.problem(problem)

    def count_verified(self, blob: _NeededBlob) -> None:
        self.report.blobs_verified += 1
        self.report.bytes_verified += blob.size

    def hash_blob(self, item: tuple[Digest, _NeededBlob]) -> str | None:
        """None when the blob's bytes match its digest and size, else the problem line."""
        digest, blob = item
        hasher, size = digest.hasher(), 0
        try:
            with self.driver.reader(layout.blob_data_path(digest)) as reader:
                while size <= blob.size and (chunk := reader.read(HASH_CHUNK_SIZE)):
                    size += len(chunk)
                    hasher.update(chunk)
        except ScraperError as exc:
            return f"blob {digest} (needed by {blob.needed_by}): {exc}"
        if size < blob.size:
            return f"blob {digest} (needed by {blob.needed_by}): {size} bytes, expected {blob.size}"
        if size > blob.size:
            return f"blob {digest} (needed by {blob.needed_by}): longer than {blob.size} bytes"
        actual = Digest(digest.algorithm, hasher.hexdigest())
        if actual != digest:
            return (
                f"blob {digest} is corrupt: its content hashes to {actual} "
                f"(needed by {blob.needed_by})"
            )
        return None

    def finish(self) -> VerifyReport:
        self.report.relies_on_blobs = len(self.relied)
        self.report.relies_on_bytes = sum(self.relied.values())
        return self.report

    # Orphans.

    def find_orphans(self) -> None:
        orphans: list[Digest] = []
        try:
            if not self.driver.exists(layout.BLOBS_ROOT):
                return
            for info in self.driver.walk(layout.BLOBS_ROOT):
                digest = layout.blob_digest_of(info.path)
                if digest is None:
                    self.problem(f"unexpected file among the blobs: {info.path[:400]!r}")
                elif digest not in self.referenced:
                    orphans.append(digest)
        except ScraperError as exc:
            # What was found so far stands; the orphan list may be short.
            self.problem(f"looking for orphan blobs: {exc}")
        self.report.orphans = sorted(orphans)


def relied_absent(driver: CheckedDriver, receipts: Iterable[Receipt]) -> BlobSizes:
    """The blobs ``receipts`` say their runs relied on that ``driver`` does not hold (one stat
    each): those the site must hold for the storage to serve every image."""
    relied = BlobSizes()
    for receipt in receipts:
        relied.merge(receipt.relies_on)
    return BlobSizes(
        (digest, size)
        for digest, size in relied.items()
        if not driver.exists(layout.blob_data_path(digest))
    )


def check_site(
    report: VerifyReport, relied: Mapping[Digest, int], site: Mapping[Digest, int], where: str
) -> None:
    """Whether the site ``where`` names (its inventory or a receipt, read as ``site``) holds
    every relied-on blob with the same size; the gaps go into ``report``."""
    report.site_checked = True
    for digest in sorted(relied, key=str):
        size, held = relied[digest], site.get(digest)
        if held == size:
            continue
        report.site_gap_count += 1
        if report.site_gap_count > SHOWN_SITE_GAPS:
            continue
        if held is None:
            line = f"blob {digest} ({size} bytes) the delta relies on is not in {where}"
        else:
            line = f"blob {digest} the delta relies on is {size} bytes, {held} in {where}"
        report.site_gaps.append(line)


def verify_storage(
    driver: CheckedDriver,
    *,
    jobs: int = DEFAULT_JOBS,
    platforms: Sequence[PlatformFilter] = (),
    on_problem: ProblemHandler | None = None,
    relied: Mapping[Digest, int] | None = None,
) -> VerifyReport:
    """Every repository, tag, revision, link and needed blob of a storage; orphans listed.

    ``on_problem`` hears each problem line as soon as it is known (for live output);
    ``platforms`` checks only those children of indexes, as a ``--platform`` copy holds;
    ``relied`` (see :func:`relied_absent`) are the site's blobs a delta leaves out.
    """
    verifier = _Verifier(
        driver, jobs=jobs, platforms=platforms, on_problem=on_problem, relied=relied or {}
    )
    listing_errors: list[str] = []
    names = list_repositories(driver, listing_errors)
    for line in listing_errors:
        verifier.problem(line)
    verifier.report.repositories = len(names)
    verifier.run_parallel(verifier.check_repository, names)
    verifier.hash_blobs()
    verifier.find_orphans()
    return verifier.finish()


def verify_images(
    driver: CheckedDriver,
    references: Sequence[Reference],
    *,
    jobs: int = DEFAULT_JOBS,
    platforms: Sequence[PlatformFilter] = (),
    on_problem: ProblemHandler | None = None,
    relied: Mapping[Digest, int] | None = None,
) -> VerifyReport:
    """Only what the given references need (after a copy, say): no links beyond theirs, no
    orphan search (that needs the whole tree)."""
    verifier = _Verifier(
        driver, jobs=jobs, platforms=platforms, on_problem=on_problem, relied=relied or {}
    )
    unique = list(dict.fromkeys(references))
    verifier.report.repositories = len({reference.name for reference in unique})

    def check(reference: Reference) -> _Findings:
        findings = _Findings(tags=1)
        verifier.plan_image(findings, reference, str(reference))
        return findings

    verifier.run_parallel(check, unique)
    verifier.hash_blobs()
    return verifier.finish()
