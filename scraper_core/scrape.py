"""One scrape run: plan every requested image (plus its signatures), then copy or preview.

Results come back in the order the images were requested, failed plans included, so a report
can list every reference exactly once.

A copy may begin before planning ends (:meth:`Scrape.copy_early`): each chunk of plans starts
its blobs as soon as it is made, while the next chunks, signatures and untagged revisions are
still planned. Blobs are content-addressed, so copying one early is always safe; links wait
for :meth:`Scrape.copy`, which sees every plan, so the commit order (blobs before the links
naming them, tags last) and every rule that needs the whole plan stay as they were.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import ConfigurationError, DestinationUnusableError, ScraperError
from scraper_core.have import leave_out
from scraper_core.heldevents import HeldEvents
from scraper_core.plan import ImagePlan, Planner, PlatformFilter
from scraper_core.reference import Reference
from scraper_core.revisions import list_revisions
from scraper_core.transfer import (
    DEFAULT_JOBS,
    BlobCopier,
    BlobOutcome,
    BlobTally,
    ImageResult,
    NoEvents,
    Transfer,
    TransferEvents,
    map_promptly,
    unexpected,
)


@dataclass(frozen=True)
class ScrapeOptions:
    jobs: int = DEFAULT_JOBS
    platforms: tuple[PlatformFilter, ...] = ()
    #: Bring cosign signatures/attestations/SBOMs (``sha256-<hex>.sig`` tags) along.
    signatures: bool = True
    #: Hardlink blobs where the destination can (``--link``) instead of copying them.
    link: bool = False
    #: Re-hash blobs already at the destination and replace damaged ones (``--recheck``);
    #: otherwise a present blob of the right size is trusted.
    recheck: bool = False
    #: Blobs the far side already has (``--have``): digest -> size. They are left out.
    have: Mapping[Digest, int] = field(default_factory=dict)
    #: Stat every blob while planning, so a preview names a missing blob before anything is
    #: copied. Off, sizes come from the manifests (a request less per blob on an object
    #: store) and a copy finds a missing or resized blob when it reads it. ``--link`` keeps
    #: it: a hardlink reads no byte, so only the stat checks the size.
    stat_blobs: bool = True
    #: Every manifest revision of repositories chosen whole, tagged or not (a migration).
    all_manifests: bool = False
    #: Images (by digest) a platform-subset shipment in the source carried: index children
    #: they lack were left out on purpose (see :class:`~scraper_core.plan.Planner`).
    children_left_out_in: frozenset[Digest] = frozenset()


PlannedItem = ImagePlan | ImageResult
#: Signatures of signatures of ...: a chain longer than this is not followed further.
MAX_ARTIFACT_ROUNDS = 4
#: From this many manifests to look signatures up for in one repository, its tags are listed
#: once instead: each manifest costs four stats (eight requests on S3 when, as usual, there is
#: no signature), and a listing a request per thousand keys (a tag is two or more).
SIGNATURE_LISTING_MIN = 8
#: At most this many references planned by one task of the planning pool.
PLAN_CHUNK = 64

T = TypeVar("T")
R = TypeVar("R")


class Scrape:
    """Plans and copies a set of references from ``source`` to ``dest``."""

    def __init__(
        self,
        source: CheckedDriver,
        dest: CheckedDriver | None,
        options: ScrapeOptions,
        plan_source: CheckedDriver | None = None,
    ) -> None:
        """``dest`` is None only for a preview of a destination that does not exist yet.
        ``plan_source``, when given, is what plans are read from (a delta's view, see
        :class:`scraper_core.delta.DeltaSource`); blobs are still copied from ``source``."""
        self.source = source
        self.dest = dest
        self.options = options
        manifest_sizes = not options.stat_blobs
        self._plan_source = plan_source or source
        self.planner = Planner(
            plan_source or source,
            options.platforms,
            sizes_from_manifests=manifest_sizes,
            children_left_out_in=options.children_left_out_in,
        )
        # Signatures and referrers carry no platforms: --platform does not apply to them.
        self.artifact_planner = Planner(plan_source or source, sizes_from_manifests=manifest_sizes)
        #: Blobs the last :meth:`plan` left out because the far side has them.
        self.relied_on: dict[Digest, int] = {}
        #: The plans of the last :meth:`plan` as they are shipped (without those blobs), in
        #: order: what :meth:`preview` and :meth:`copy` carry out.
        self.shipped: list[ImagePlan] = []
        #: Set by :meth:`copy` when the destination stopped taking writes (full, read-only):
        #: the one cause behind every "not copied" image, for the caller to say once.
        self.unusable: DestinationUnusableError | None = None
        #: Untagged manifest revisions left out (no ``all_manifests``): repository -> count.
        self.untagged_left_out: dict[str, int] = {}
        #: Repositories whose revisions could not be listed: (repository, why).
        self.revision_errors: list[tuple[str, str]] = []
        #: Set by :meth:`copy`: whether it wrote anything (a blob or a link) at the destination.
        self.changed = False
        #: With :meth:`copy_early`: the transfer planning starts blobs on, and its events.
        self._early: tuple[Transfer, HeldEvents] | None = None

    def copy_early(self, events: TransferEvents) -> None:
        """Copy each image's blobs as soon as it is planned (``events`` hears of them only
        once :meth:`copy`, given the same events, is called). For a caller that knows no rule
        needing every plan can stop the run before its first write (a refusal), and a
        destination that does not commit in order; :meth:`stop_copies` if no :meth:`copy`
        follows."""
        if self.dest is None:
            raise ConfigurationError("no destination to copy to")
        held = HeldEvents(events)
        self._early = (self._transfer(held), held)

    def stop_copies(self) -> None:
        """Stop what :meth:`copy_early` began (the run failed or was interrupted)."""
        if self._early is not None:
            self._early[0].stop()

    def _transfer(self, events: TransferEvents) -> Transfer:
        assert self.dest is not None
        return Transfer(
            self.source,
            self.dest,
            jobs=self.options.jobs,
            events=events,
            link=self.options.link,
            recheck=self.options.recheck,
        )

    def _start_copies(self, planned: Sequence[object]) -> None:
        """Start the blobs of the plans among ``planned`` (with :meth:`copy_early`), less
        those the far side has: the plans as :meth:`_trim` will ship them."""
        if self._early is None:
            return
        plans = [item for item in planned if isinstance(item, ImagePlan)]
        if self.options.have:
            plans = leave_out(plans, self.options.have)[0]
        if plans:
            self._early[0].start(plans)

    def _plan_one(self, reference: Reference) -> PlannedItem:
        return _planned(self.planner, reference)

    def _plan_artifact(self, reference: Reference) -> PlannedItem:
        return _planned(self.artifact_planner, reference)

    def _trim(self, planned: Sequence[PlannedItem]) -> None:
        """Leave out what the far side has (``--have``), once per plan: the plans as shipped
        go to :attr:`shipped`, the blobs left out to :attr:`relied_on`."""
        plans = [item for item in planned if isinstance(item, ImagePlan)]
        self.shipped, self.relied_on = leave_out(plans, self.options.have)

    def _as_shipped(self, planned: Sequence[PlannedItem]) -> list[PlannedItem]:
        """``planned``, as :meth:`plan` returned it, with each plan as shipped."""
        plans = [item.reference for item in planned if isinstance(item, ImagePlan)]
        if plans != [plan.reference for plan in self.shipped]:
            raise ValueError("preview or copy what this scrape's plan() returned")
        shipped = iter(self.shipped)
        return [next(shipped) if isinstance(item, ImagePlan) else item for item in planned]

    def _map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``function`` of each item, in order, run in a pool: planning is a few small reads
        per image, latency-bound on an object store. Items go in chunks, so 30,000 tags make
        a few hundred tasks, not 30,000: on a filesystem a task cost what reading a link does.
        """
        # A source whose calls work rather than wait (a filesystem) is planned by one thread:
        # more only contend (see contract.latency_bound).
        jobs = max(1, self.options.jobs) if self._plan_source.latency_bound else 1
        size = max(1, min(PLAN_CHUNK, len(items) // (jobs * 4)))
        chunks = [items[start : start + size] for start in range(0, len(items), size)]
        pool = ThreadPoolExecutor(jobs, thread_name_prefix="plan")
        try:
            done = map_promptly(pool, partial(self._each, function), chunks)
        except BaseException:
            # Ctrl-C: chunks not started are dropped rather than waited for (a running one is
            # a few dozen bounded reads).
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return [result for chunk in done for result in chunk]

    def _each(self, function: Callable[[T], R], chunk: Sequence[T]) -> list[R]:
        results = [function(item) for item in chunk]
        self._start_copies(results)
        return results

    def plan(
        self,
        references: Sequence[Reference],
        tag_listings: Mapping[str, frozenset[str]] | None = None,
        whole_repositories: Sequence[str] = (),
    ) -> list[PlannedItem]:
        """A plan (or the error) for each reference, then for each signature or referrer
        found (and theirs in turn: a signed SBOM brings its signature). ``tag_listings``:
        the tags of repositories listed already, where signatures are looked up then.
        ``whole_repositories``: chosen with every tag; their untagged revisions are planned
        too (``all_manifests``) or counted in :attr:`untagged_left_out`. The plans as shipped
        (without what the far side has) go to :attr:`shipped`."""
        planned = self._plan_all(references, tag_listings or {}, whole_repositories)
        self._trim(planned)
        return planned

    def _plan_all(
        self,
        references: Sequence[Reference],
        tag_listings: Mapping[str, frozenset[str]],
        whole_repositories: Sequence[str],
    ) -> list[PlannedItem]:
        self.planner.know_tags(tag_listings)
        unique = list(dict.fromkeys(references))
        planned = self._map(self._plan_one, unique)
        untagged = self._untagged(planned, whole_repositories)
        if self.options.all_manifests:
            unique.extend(untagged)
            planned.extend(self._map(self._plan_one, untagged))
        else:
            self.untagged_left_out = dict(Counter(reference.name for reference in untagged))
        if not self.options.signatures:
            return planned
        wanted = set(unique)
        failed: list[PlannedItem] = []
        frontier = planned
        extras: list[PlannedItem] = []
        for _round in range(MAX_ARTIFACT_ROUNDS):
            # The tags of one image share its manifests, so their signatures are the same:
            # looked up once per image, not once per tag (30,000 tags on 4 manifests: 4).
            images = _distinct_images(frontier)
            self.planner.list_tags_for_signatures(_crowded_repositories(images))
            # Each lookup is a few stats (two calls each on S3): asked image after image, they
            # were 60% of copying 2,000 small blobs from S3. The pool fills the planner's memo
            # first; the loop below then reads it, and meets (and reports) failures again.
            self._map(self._look_for_signatures, images)
            found_now: list[Reference] = []
            for item in images:
                try:
                    found = self.planner.signature_references(item)
                except Exception as exc:
                    # The image itself is fine; its signatures could not be looked for.
                    probe = Reference(item.reference.name, f"sha256-{item.digest.hex}.sig")
                    reason = str(exc) if isinstance(exc, ScraperError) else unexpected(exc)
                    failed.append(ImageResult(probe, error=f"looking for signatures: {reason}"))
                    continue
                for reference in found:
                    if reference not in wanted:
                        wanted.add(reference)
                        found_now.append(reference)
            if not found_now:
                break
            frontier = self._map(self._plan_artifact, found_now)
            extras.extend(frontier)
        return planned + extras + failed

    def _untagged(
        self, planned: Sequence[PlannedItem], repositories: Sequence[str]
    ) -> list[Reference]:
        """Revisions of ``repositories`` that no plan reaches, by digest."""
        reached: set[tuple[str, Digest]] = set()
        for item in _distinct_images(planned):
            name = item.reference.name
            for digest in item.manifest_digests:
                reached.add((name, digest))
                # Children --platform left out are not untagged: their index is shipped.
                with contextlib.suppress(ScraperError):
                    reached.update(
                        (name, child) for child in self.planner.children_named(name, digest)
                    )
        found: list[Reference] = []
        for name in repositories:
            try:
                digests = list_revisions(self._plan_source, name)
            except ScraperError as exc:
                self.revision_errors.append((name, f"listing its manifests: {exc}"))
                continue
            found.extend(
                Reference(name, digest=digest)
                for digest in digests
                if (name, digest) not in reached
            )
        return found

    def _look_for_signatures(self, item: ImagePlan) -> None:
        with contextlib.suppress(Exception):
            self.planner.signature_references(item)

    def preview(self, planned: Sequence[PlannedItem]) -> list[ImageResult]:
        """What a copy would do (``--dry-run``): nothing is written."""
        copier = BlobCopier(self.source, self.dest) if self.dest is not None else None
        results: list[ImageResult] = []
        tally = BlobTally()
        # Each blob is looked up once at the destination, however many tags share it.
        present: set[Digest] = set()
        for item in self._as_shipped(planned):
            if isinstance(item, ImageResult):
                results.append(item)
                continue
            result = ImageResult(item.reference, item.digest, skipped=list(item.skipped))
            try:
                for blob in item.blobs:
                    outcome = BlobOutcome.COPIED
                    if blob.digest in present or (
                        copier is not None
                        and not tally.counted(blob.digest)
                        and copier.is_present(blob)
                    ):
                        present.add(blob.digest)
                        outcome = BlobOutcome.PRESENT
                    tally.count(result, blob, outcome)
            except ScraperError as exc:
                # As a real run would: this image fails, the others are still previewed.
                result.error = str(exc)
            results.append(result)
        return results

    def copy(
        self, planned: Sequence[PlannedItem], events: TransferEvents | None = None
    ) -> list[ImageResult]:
        if self.dest is None:
            raise ConfigurationError("no destination to copy to")
        items = self._as_shipped(planned)
        plans = [item for item in items if isinstance(item, ImagePlan)]
        events = events or NoEvents()
        for item in items:
            if isinstance(item, ImageResult):
                events.image_done(item)
        if self._early is None:
            transfer = self._transfer(events)
        else:
            # What the early copies did is told now that the caller shows its progress.
            transfer, held = self._early
            held.release()
        try:
            copied = iter(transfer.run(plans))
        finally:
            self.unusable = transfer.unusable
            self.changed = transfer.changed
        return [item if isinstance(item, ImageResult) else next(copied) for item in items]


def _distinct_images(planned: Sequence[PlannedItem]) -> list[ImagePlan]:
    """One plan per repository and set of manifests, the first one met."""
    images: dict[tuple[str, tuple[Digest, ...]], ImagePlan] = {}
    for item in planned:
        if isinstance(item, ImagePlan):
            images.setdefault((item.reference.name, tuple(item.manifest_digests)), item)
    return list(images.values())


def _crowded_repositories(images: Sequence[ImagePlan]) -> list[str]:
    """Repositories with at least :data:`SIGNATURE_LISTING_MIN` distinct manifests to look
    up (30,000 tags on 4 manifests are 16 stats: no reason to list 30,000 tags)."""
    distinct = {
        (item.reference.name, digest) for item in images for digest in item.manifest_digests
    }
    manifests = Counter(name for name, _digest in distinct)
    return [name for name, count in manifests.items() if count >= SIGNATURE_LISTING_MIN]


def _planned(planner: Planner, reference: Reference) -> PlannedItem:
    """The plan of ``reference``, or the one-line error that fails it alone."""
    try:
        return planner.plan(reference)
    except ScraperError as exc:
        return ImageResult(reference, error=str(exc))
    except Exception as exc:
        # A bug, or content no check foresaw: this image fails, the others go on.
        return ImageResult(reference, error=unexpected(exc))
