"""The use cases behind the commands: a request goes in, results come out.

A :class:`CopyRun` owns one copy from start to end: it checks the request, opens the source
and the destination (refusing one that could write into the source), selects the images,
plans them, previews or copies them, and closes the destination, or discards everything it
staged when the run fails, is interrupted, or no image made it in. The command line only
turns options into a :class:`CopyRequest` and renders what comes back; exit codes follow the
two phases: :meth:`CopyRun.open` (nothing written yet) and :meth:`CopyRun.execute`.

:class:`SourceRun` does the same for the commands that only read a storage (verify, list).

New run options go into :class:`CopyRequest` (with a default) and are read here only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TextIO

from scraper_core import plugins, selection
from scraper_core.bloblist import BlobSizes, ReceiptError
from scraper_core.checked import CheckedDriver
from scraper_core.contract import SupportsOverlapCheck, SupportsWholeOutput
from scraper_core.delta import check_delta
from scraper_core.digest import Digest
from scraper_core.errors import (
    ConfigurationError,
    DestinationUnusableError,
    LocationNotFoundError,
    ScraperError,
)
from scraper_core.gonetags import gone_tags, prune
from scraper_core.have import load_have, load_have_paths
from scraper_core.listing import Listing, take_listing
from scraper_core.optfile import shown_name
from scraper_core.plan import ImagePlan, PlatformFilter
from scraper_core.receipt import (
    children_left_out_by_choice,
    fixed_time,
    listed_receipts,
    read_receipts,
)
from scraper_core.reference import parse_reference
from scraper_core.revisions import untagged_note
from scraper_core.runreceipt import record_receipt
from scraper_core.scrape import PlannedItem, Scrape, ScrapeOptions
from scraper_core.selection import needs_storage
from scraper_core.shape import Shape
from scraper_core.shipment import Provenance, provenance, read_of, refusal, tags_going_back
from scraper_core.transfer import DEFAULT_JOBS, BlobTally, ImageResult, TransferEvents
from scraper_core.wording import error_line

if TYPE_CHECKING:
    from scraper_core.inventory import Inventory
    from scraper_core.tagrules import Entry
    from scraper_core.verify import VerifyReport

__all__ = [
    "CopyOutcome",
    "CopyRequest",
    "CopyRun",
    "InventoryRun",
    "ListRun",
    "OutputOverlapsSourceError",
    "RegistryConfigText",
    "RunEvents",
    "SourceRequest",
    "SourceRun",
    "StorageRequest",
    "VerifyRun",
]


# Requests.


@dataclass(frozen=True)
class StorageRequest:
    """A storage named by driver, location and driver options."""

    driver: str
    location: str
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistryConfigText:
    """A registry's ``config.yml`` as read, with the environment its ``REGISTRY_STORAGE_*``
    variables come from."""

    text: str
    #: How the user named it, for messages.
    name: str
    environ: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRequest:
    """The source: a driver and location, or a registry's config (options given here win)."""

    driver: str = "local"
    location: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    registry_config: RegistryConfigText | None = None

    def resolve(self) -> StorageRequest:
        if self.registry_config is None:
            if self.location is None:
                raise ConfigurationError("no source location given")
            return StorageRequest(self.driver, self.location, self.options)
        from scraper_core.registry_config import load_storage_config

        config = self.registry_config
        loaded = load_storage_config(
            config.text, config.name, config.environ, plugins.DriverRegistry()
        )
        return StorageRequest(loaded.driver, loaded.location, {**loaded.options, **self.options})


@dataclass(frozen=True)
class CopyRequest:
    """Everything one copy run needs; defaults are those of ``scrape copy``."""

    source: SourceRequest
    destination: StorageRequest
    #: IMAGE entries: references, or patterns matched against the source, or tag rules (an
    #: images file's ``images-by-tag-regex``, ``images-by-semver``).
    entries: Sequence[Entry]
    all_tags: bool = False
    #: Every manifest revision of repositories chosen whole, tagged or not (a migration).
    all_manifests: bool = False
    #: The sha256 of ``--images-file``'s text, and the IMAGE arguments among ``entries``
    #: (None: all of them), for the receipt's ``shaped_by``.
    images_file_sha256: str | None = None
    image_arguments: Sequence[str] | None = None
    dry_run: bool = False
    jobs: int = DEFAULT_JOBS
    #: ``os/arch[/variant]`` texts: only these platforms of multi-platform images.
    platforms: Sequence[str] = ()
    signatures: bool = True
    link: bool = False
    recheck: bool = False
    #: Move tags back to an older read of their source than the destination holds.
    allow_older: bool = False
    #: ``--have`` documents (inventories or receipts) of what the far side holds: the blobs
    #: they name are left out (a delta shipment).
    have: Sequence[BinaryIO] = ()
    #: With ``dry_run``: write the blob copies a run would do, for a bulk engine, in this
    #: format (see :mod:`scraper_core.transferlist`) to ``plan_out``.
    plan_format: str | None = None
    plan_out: TextIO | None = None
    #: Remove the tags the source no longer has, within the run's scope (see gonetags).
    prune: bool = False


class OutputOverlapsSourceError(ConfigurationError):
    """Writing the destination could write into the source; ``reason`` is the destination
    driver's words, None when both name the same storage."""

    def __init__(self, location: str, reason: str | None) -> None:
        self.location = location
        self.reason = reason
        super().__init__(reason or f"{location} is the source storage")


# Results.


@dataclass
class CopyOutcome:
    """What a copy run did: every image once, in the order asked."""

    results: list[ImageResult]
    #: (entry, why) for entries that named nothing copyable.
    unresolved: list[tuple[str, str]]
    #: Why the destination stopped taking writes, when it did (said once for every image).
    unusable: DestinationUnusableError | None = None
    #: The output was written anew as a whole and is not there (nothing made it in, or it
    #: could not be finished); ``output_error`` says why when there is more to say.
    output_missing: bool = False
    output_error: str | None = None
    #: Discarding the staging after a failure did not work, in one line.
    cleanup_problem: str | None = None
    #: Blobs left out because the far side has them (``have``): digest -> size.
    relied_on: Mapping[Digest, int] = field(default_factory=dict)
    #: Tags at the destination the source no longer has, within the run's scope (``name:tag``).
    gone_tags: list[str] = field(default_factory=list)
    #: ``gone_tags`` were removed (``prune``).
    pruned: bool = False

    @property
    def ok(self) -> bool:
        return not self.unresolved and self.unusable is None and all(r.ok for r in self.results)


class RunEvents(TransferEvents, Protocol):
    """What a copy run tells its user while it runs (the report module implements it)."""

    def entry_failed(self, entry: str, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def destination_unusable(self, error: DestinationUnusableError) -> None: ...

    def progress(self, total_bytes: int) -> AbstractContextManager[Any]: ...

    def finish_progress(self) -> None: ...


def check_entries(request: CopyRequest) -> None:
    """Refuse what the entries alone make wrong, before any storage is touched (patterns are
    checked when listed)."""
    if not request.entries:
        raise ConfigurationError("no images given")
    if request.all_manifests and not request.all_tags:
        # Untagged manifests belong to a repository as a whole, not to a tag.
        raise ConfigurationError("--all-manifests needs --all-tags (whole repositories)")
    for entry in request.entries:
        if isinstance(entry, str) and (
            "@" in entry or not needs_storage([entry], request.all_tags)
        ):
            parse_reference(entry)


def planning_options(request: CopyRequest) -> ScrapeOptions:
    """What a copy and a push alike plan with from ``request`` (a copy adds its own)."""
    return ScrapeOptions(
        jobs=request.jobs,
        platforms=tuple(PlatformFilter.parse(text) for text in request.platforms),
        signatures=request.signatures,
        stat_blobs=request.dry_run,
        all_manifests=request.all_manifests,
    )


def plan_chosen(
    scrape: Scrape, source: CheckedDriver, request: CopyRequest, events: RunEvents
) -> tuple[selection.Selection, list[PlannedItem]]:
    """The images ``request`` names in ``source``, planned, for a copy and a push alike:
    each entry or revision that fails is told to ``events`` (and kept in the selection's
    errors, for the outcome), each repository's untagged revisions left out noted."""
    chosen = selection.select(source, request.entries, all_tags=request.all_tags)
    for entry, message in chosen.errors:
        events.entry_failed(entry, message)
    planned = scrape.plan(chosen.references, chosen.tag_listings, chosen.whole_repositories)
    for name, message in scrape.revision_errors:
        chosen.errors.append((name, message))
        events.entry_failed(name, message)
    for name, left in scrape.untagged_left_out.items():
        events.warning(untagged_note(name, left))
    return chosen, planned


# The copy use case.


class CopyRun:
    """One copy, from request to outcome. Whatever fails or is interrupted, the destination's
    staging is discarded before the exception leaves (:attr:`cleanup_problem` says when that
    did not work)."""

    def __init__(self, request: CopyRequest) -> None:
        self.request = request
        self.options = ScrapeOptions()
        #: The source as resolved (flags or a registry config) and opened.
        self.source_storage: StorageRequest | None = None
        self.source: CheckedDriver | None = None
        #: What plans are read from: the source, or a delta's view of it over the destination.
        self.plan_source: CheckedDriver | None = None
        #: The destination once opened; None before, and for a dry run into nothing yet.
        self.dest: CheckedDriver | None = None
        #: The destination is all-or-nothing (an archive), see SupportsWholeOutput.
        self.whole_output = False
        self.cleanup_problem: str | None = None
        #: The sha256 of each ``--have`` file, as read.
        self.have_sha256: list[str] = []
        #: When the run started reading its source, and what it carries from (see shipment).
        self.started = datetime.now(UTC)
        self.provenance: Provenance | None = None

    # Phase one: nothing is written.

    def open(self) -> list[str]:
        """Check the request and open both storages; the plugins' warnings come back."""
        try:
            return self._open()
        except BaseException:
            self.cleanup_problem = self.abort()
            raise

    def _open(self) -> list[str]:
        request = self.request
        check_entries(request)
        # A bad SOURCE_DATE_EPOCH is said before anything is copied, not at the receipt.
        fixed_time()
        self.options = replace(
            planning_options(request),
            link=request.link,
            recheck=request.recheck,
            have=load_have(request.have, self.have_sha256),
            stat_blobs=request.dry_run or request.link,
        )
        source = self.source_storage = request.source.resolve()
        dest = request.destination
        if source.driver == dest.driver and os.path.normpath(source.location) == os.path.normpath(
            dest.location
        ):
            raise OutputOverlapsSourceError(dest.location, None)
        registry = plugins.DriverRegistry()
        self.source = registry.open(source.driver, source.location, source.options, read_only=True)
        dest_class = registry.driver(dest.driver).driver_class
        self.whole_output = isinstance(dest_class, SupportsWholeOutput)
        # Before the destination is opened: opening a local one creates its directory.
        self._refuse_overlap(dest_class, self.source)
        # A delta's receipts name blobs it left out: they must be at the destination already.
        receipts, skipped = read_receipts(self.source)
        if receipts and self._destination_not_there(registry):
            # Nothing there can complete a delta: refused before opening it for writing makes
            # its directory (every refusal comes before any write).
            check_delta(self.source, None, receipts)
        self.dest = self._open_destination(registry, dest_class)
        self.plan_source = check_delta(self.source, self.dest, receipts)
        chosen = children_left_out_by_choice(receipts)
        self.options = replace(self.options, children_left_out_in=chosen)
        own = read_of(source.driver, source.location, self.started)
        self.provenance = provenance(receipts, own)
        return [*registry.warnings, *skipped]

    def _destination_not_there(self, registry: plugins.DriverRegistry) -> bool:
        """True when a real run's destination does not exist yet (a dry run opens nothing
        for writing, and an all-or-nothing destination is written anew)."""
        if self.request.dry_run or self.whole_output:
            return False
        dest = self.request.destination
        try:
            probe = registry.open(dest.driver, dest.location, dest.options, read_only=True)
        except LocationNotFoundError:
            return True
        except ConfigurationError:
            return False  # the writable open says what is wrong, as it would without a delta
        close_quietly(probe)
        return False

    def _refuse_overlap(self, dest_class: object, source: CheckedDriver) -> None:
        """Refuse a destination whose driver says writing there could write into the source
        (drivers that cannot tell: the same-location check only)."""
        if not isinstance(dest_class, SupportsOverlapCheck):
            return
        location = self.request.destination.location
        # A driver that also places files by its options (a spool directory) is given them.
        with_options = getattr(dest_class, "overlap_reads_options", False) is True
        extra = {"options": self.request.destination.options} if with_options else {}
        try:
            reason = dest_class.overlaps(location, source.driver, **extra)
        except ScraperError:
            raise
        except Exception as exc:
            # Unknown is not "no": the source is never risked on a check that could not be made.
            reason = f"cannot tell whether it overlaps the source ({type(exc).__name__}: {exc})"
        if reason:
            raise OutputOverlapsSourceError(location, error_line(str(reason)))

    def _open_destination(
        self, registry: plugins.DriverRegistry, dest_class: object
    ) -> CheckedDriver | None:
        """The destination; for a dry run, read-only, and None when it does not exist yet.

        A dry run reports what a real run would: bad options are an error even when the
        destination is not there yet.
        """
        dest = self.request.destination
        if not self.request.dry_run:
            return registry.open(dest.driver, dest.location, dest.options, read_only=False)
        if isinstance(dest_class, SupportsWholeOutput):
            # Written anew as a whole: checked, never opened, and nothing in it is present.
            try:
                dest_class.check_output(dest.location, dest.options)
            except ScraperError:
                raise
            except Exception as exc:
                raise ConfigurationError(f"{dest.driver}: {dest.location}: {exc}") from exc
            return None
        try:
            return registry.open(dest.driver, dest.location, dest.options, read_only=True)
        except LocationNotFoundError:
            # Nothing there yet (the driver checked the options first): everything would be
            # copied. Any other ConfigurationError is reported, as a real run would report it.
            return None

    # Phase two: select, plan, preview or copy, close.

    def execute(self, events: RunEvents) -> CopyOutcome:
        try:
            return self._execute(events)
        except BaseException:
            self.cleanup_problem = self.abort()
            raise
        finally:
            close_quietly(self.source)

    def _execute(self, events: RunEvents) -> CopyOutcome:
        assert self.source is not None, "open() first"
        scrape = Scrape(self.source, self.dest, self.options, self.plan_source)
        if self._copies_while_planning():
            scrape.copy_early(events)
        try:
            return self._plan_and_copy(scrape, events)
        except BaseException:
            # Before the caller discards the staging: no copy is left writing into it.
            scrape.stop_copies()
            raise

    def _copies_while_planning(self) -> bool:
        """Whether blobs may be copied as their images are planned (issue 22): only where
        nothing that needs every plan can refuse the run before its first write, and only
        where it pays. A dry run copies nothing; an archive commits in the whole run's order
        and counts its own output; a filesystem source is planned by one thread that copies
        would only contend with; going back (:meth:`_refuse_going_back`) is settled by the
        destination's receipts, so a destination without one cannot refuse."""
        dest, plan_source = self.dest, self.plan_source
        if self.request.dry_run or dest is None or self.whole_output or dest.commits_in_order:
            return False
        if plan_source is None or not plan_source.latency_bound:
            return False
        return self.request.allow_older or not listed_receipts(dest)

    def _plan_and_copy(self, scrape: Scrape, events: RunEvents) -> CopyOutcome:
        assert self.source is not None
        chosen, planned = plan_chosen(scrape, self.source, self.request, events)
        self._refuse_going_back(planned)
        gone = self._gone_tags(chosen.tag_listings)
        if self.request.dry_run and self.request.plan_format:
            self._export_transfer_list(scrape)
        if self.request.dry_run:
            results = scrape.preview(planned)
            for result in results:
                events.image_done(result)
            return CopyOutcome(results, chosen.errors, relied_on=scrape.relied_on, gone_tags=gone)
        outcome = CopyOutcome(self._copy(scrape, planned, events), chosen.errors, gone_tags=gone)
        outcome.unusable = scrape.unusable
        if scrape.unusable is not None:
            events.destination_unusable(scrape.unusable)

        def before_close() -> None:
            # Only after a run in which every image made it in: a failed run removes nothing.
            if self.request.prune and gone and outcome.ok:
                prune(self.dest_or_fail, gone)
                outcome.pruned = True
            self._record_receipt(scrape, planned, outcome.results, pruned=outcome.pruned)

        self._finish(outcome, before_close)
        outcome.relied_on = scrape.relied_on
        return outcome

    @property
    def dest_or_fail(self) -> CheckedDriver:
        assert self.dest is not None, "open() first"
        return self.dest

    def _gone_tags(self, listed: Mapping[str, frozenset[str]]) -> list[str]:
        """Tags at the destination the source no longer has, in the repositories this run
        (and the shipment it imports) was asked for whole."""
        assert self.provenance is not None and self.source is not None
        scope = tuple(sorted(listed)) if self.request.all_tags else ()
        self.provenance = replace(self.provenance, scope=scope)
        if self.dest is None or self.whole_output:
            return []
        # The source's tags as selection listed them: not listed again.
        return gone_tags(self.dest, {name: listed[name] for name in self.provenance.prune_scope})

    def _refuse_going_back(self, planned: list[PlannedItem]) -> None:
        """Refuse, before any write, to move tags back to an older read of their source."""
        if self.dest is None or self.whole_output or self.request.allow_older:
            return
        assert self.provenance is not None
        plans = [item for item in planned if isinstance(item, ImagePlan)]
        going_back = tags_going_back(self.dest, self.provenance.origin, plans)
        if going_back:
            raise refusal(going_back)

    def _export_transfer_list(self, scrape: Scrape) -> None:
        """The blob copies a run would do, for a bulk engine (``plan_format``)."""
        from scraper_core.transferlist import blob_transfers, write_transfer_list

        request = self.request
        assert request.plan_format is not None and request.plan_out is not None
        if self.dest is None:
            raise ConfigurationError(
                "--plan-format needs a destination that exists (make the directory or bucket "
                "first; an all-or-nothing destination cannot be written by a bulk engine)"
            )
        # The plans as trimmed by --have: the far side's blobs are not for the engine to copy.
        write_transfer_list(
            blob_transfers(scrape.source, self.dest, scrape.shipped),
            request.plan_format,
            request.plan_out,
        )
        request.plan_out.flush()

    def _record_receipt(
        self,
        scrape: Scrape,
        planned: list[PlannedItem],
        results: list[ImageResult],
        *,
        pruned: bool = False,
    ) -> None:
        """The run's receipt, written into the destination just before it is closed."""
        assert self.dest is not None and self.source_storage is not None
        if not scrape.changed and not pruned:
            # A rerun that wrote nothing leaves the tree byte for byte as it was. An archive
            # is written anew, so its run always wrote, and it keeps its receipt.
            return
        source = (self.source_storage.driver, self.source_storage.location)
        assert self.provenance is not None
        keys = self.provenance.receipt_keys()
        record_receipt(
            scrape, planned, results, source, self.dest, shaped_by=self._shape(), provenance=keys
        )

    def _shape(self) -> Shape:
        request = self.request
        arguments = request.image_arguments
        if arguments is None:
            arguments = [str(entry) for entry in request.entries]
        return Shape(
            patterns=tuple(arguments),
            images_file_sha256=request.images_file_sha256,
            all_tags=request.all_tags,
            all_manifests=request.all_manifests,
            platforms=tuple(request.platforms),
            signatures=request.signatures,
            have_sha256=tuple(self.have_sha256),
        )

    def _copy(
        self, scrape: Scrape, planned: list[PlannedItem], events: RunEvents
    ) -> list[ImageResult]:
        # What is shipped: a delta leaves out the blobs the far side has (planning did).
        copied = BlobTally.unique_bytes(scrape.shipped)
        # A whole output counts what it writes out at its side, and says the total with it.
        total = copied if self.dest is None else self.dest.follow_output(events.bytes_done, copied)
        try:
            with events.progress(total):
                return scrape.copy(planned, events)
        finally:
            events.finish_progress()

    def _finish(self, outcome: CopyOutcome, before_close: Callable[[], None]) -> None:
        """Close the destination when an image made it in (``before_close`` first), else
        discard what was staged."""
        assert self.dest is not None
        any_ok = any(result.ok for result in outcome.results)
        if self.whole_output and outcome.unusable is not None and any_ok:
            # The images finished before the disk filled are whole in the output: it is
            # published with them if it can still be finished, else not at all.
            try:
                before_close()
                self.dest.close()
            except ScraperError as exc:
                self.abort()
                outcome.output_missing, outcome.output_error = True, error_line(str(exc))
                notice = outcome.unusable.notice()
                outcome.results = [replace(r, error=r.error or notice) for r in outcome.results]
        elif outcome.unusable is None and any_ok:
            before_close()
            self.dest.close()
        else:
            outcome.cleanup_problem = self.abort()
            outcome.output_missing = self.whole_output

    def abort(self) -> str | None:
        """Discard unfinished output; a failure to is said in the returned line, not raised."""
        if self.dest is None or self.dest.read_only:
            return None
        try:
            self.dest.abort()
        except (ScraperError, KeyboardInterrupt) as exc:
            return f"could not clean up the destination's staging: {error_line(str(exc))}"
        return None


def close_quietly(source: CheckedDriver | None) -> None:
    """Close a source driver; a source that fails to close has lost nothing of the run."""
    if source is not None:
        with contextlib.suppress(ScraperError):
            source.close()


# The read-only use cases.


class SourceRun:
    """A command that reads one storage: :meth:`open` checks the arguments and opens it
    (nothing read yet), then the command runs."""

    def __init__(self, source: SourceRequest) -> None:
        self.request = source
        self._source: CheckedDriver | None = None

    def check(self) -> None:
        """Refuse bad arguments before the storage is touched."""

    def open(self) -> list[str]:
        """Check the arguments and open the source read-only; the plugins' warnings return."""
        self.check()
        resolved = self.request.resolve()
        registry = plugins.DriverRegistry()
        self._source = registry.open(
            resolved.driver, resolved.location, resolved.options, read_only=True
        )
        return list(registry.warnings)

    @property
    def source(self) -> CheckedDriver:
        assert self._source is not None, "open() first"
        return self._source

    def close(self) -> None:
        """Let the source go (a driver may hold connections or a spool file)."""
        close_quietly(self._source)


class VerifyRun(SourceRun):
    """``verify``: only what ``images`` need, or (none given) the whole storage; a delta's
    relied-on blobs (from its receipts) counted, and checked against ``have`` when given."""

    def __init__(
        self,
        source: SourceRequest,
        images: Sequence[str],
        platforms: Sequence[str],
        jobs: int,
        have: Sequence[str] = (),
    ) -> None:
        super().__init__(source)
        self.images, self.platform_texts, self.jobs = images, platforms, jobs
        self.have_paths = have
        self.site: BlobSizes | None = None

    def check(self) -> None:
        self.references = [parse_reference(image) for image in self.images]
        self.platforms = [PlatformFilter.parse(text) for text in self.platform_texts]
        if self.have_paths:
            self.site = load_have_paths(self.have_paths)

    def open(self) -> list[str]:
        warnings = super().open()
        self.receipt_problem: str | None = None
        try:
            self.receipts, skipped = read_receipts(self.source)
        except ReceiptError as exc:
            # Damage in the storage, a problem as any other: what it relies on is unknown.
            self.receipts, skipped, self.receipt_problem = [], [], str(exc)
        return [*warnings, *skipped]

    def execute(self) -> VerifyReport:
        # Imported here: a copy, the common command, needs none of it.
        from scraper_core.verify import check_site, relied_absent, verify_images, verify_storage

        relied = relied_absent(self.source, self.receipts)
        if self.references:
            report = verify_images(
                self.source,
                self.references,
                jobs=self.jobs,
                platforms=self.platforms,
                relied=relied,
            )
        else:
            report = verify_storage(
                self.source, jobs=self.jobs, platforms=self.platforms, relied=relied
            )
        if self.receipt_problem is not None:
            report.problems.insert(0, self.receipt_problem)
        if self.site is not None:
            names = ", ".join(shown_name(path) for path in self.have_paths)
            check_site(report, relied, self.site, f"--have {names}")
        return report


class InventoryRun(SourceRun):
    """``inventory``: what a storage holds, for a later ``--have`` (blobs listed, not read)."""

    def execute(self) -> Inventory:
        from scraper_core.inventory import take_inventory

        return take_inventory(self.source)


class ListRun(SourceRun):
    """``list``: repositories matching ``patterns`` (all without one) and their tags."""

    def __init__(self, source: SourceRequest, patterns: Sequence[str]) -> None:
        super().__init__(source)
        self.patterns = patterns

    def execute(self) -> Listing:
        return take_listing(self.source, self.patterns)
