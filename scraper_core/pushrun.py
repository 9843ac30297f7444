"""The push use case: a copy whose destination is an image destination (``--output-storage
registry``), from request to outcome, as :class:`~scraper_core.run.CopyRun` is for storage.

The source, the selection and the plans are the copy's; what differs is the far side: it is
opened through :mod:`scraper_core.imagedest` (credentials checked then: exit 2, nothing sent)
and written by :class:`~scraper_core.push.Push`. Options that only mean something for a
storage tree are refused before anything is opened. No receipt is written: a registry keeps
no files of ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scraper_core import plugins
from scraper_core.bloblist import BlobSizes
from scraper_core.checked import CheckedDriver
from scraper_core.contract import Abortable
from scraper_core.delta import DeltaRefusedError, locate_relied_on
from scraper_core.errors import ConfigurationError, PluginError, ScraperError
from scraper_core.imagedest import ImageDestination
from scraper_core.plan import ImagePlan
from scraper_core.receipt import Receipt, children_left_out_by_choice, read_receipts
from scraper_core.run import (
    CopyOutcome,
    CopyRequest,
    RunEvents,
    check_entries,
    close_quietly,
    plan_chosen,
    planning_options,
)
from scraper_core.scrape import Scrape, ScrapeOptions
from scraper_core.transfer import BlobTally
from scraper_core.wording import error_line

__all__ = ["PushRun", "pushes"]


def pushes(request: CopyRequest) -> bool:
    """Whether the request's destination is an image destination (then :class:`PushRun`)."""
    found = plugins.DriverRegistry().image_destination(request.destination.driver)
    return found is not None


def _refused_options(request: CopyRequest) -> list[str]:
    """The options of ``scrape copy`` that mean nothing to an image destination."""
    given = {
        "--link": request.link,
        "--prune": request.prune,
        "--recheck": request.recheck,
        "--have": bool(request.have),
        "--plan-format": request.plan_format is not None,
        "--allow-older": request.allow_older,
    }
    return [flag for flag, on in given.items() if on]


def _refuse_delta(source: CheckedDriver, receipts: Sequence[Receipt], driver: str) -> None:
    """Refuse, before anything is sent, a delta that lacks blobs (or manifests) it relies on.

    A copy reads those from the storage it completes; an image destination cannot be read
    from (its contract has no GET), so the full shipment is needed."""
    needed = BlobSizes()
    for receipt in receipts:
        needed.merge(receipt.relies_on)
    missing, _at_dest = locate_relied_on(needed, source, None)
    if missing:
        raise DeltaRefusedError(
            f"the source is a delta: {len(missing)} of the {len(needed)} blobs it relies on are "
            f"not in it, and --output-storage {driver} cannot supply them; push a full "
            "shipment (or import this one into storage)"
        )


class PushRun:
    """One push: :meth:`open` checks the request and opens both sides (nothing written),
    :meth:`execute` selects, plans and pushes (or, ``dry_run``, only asks what is there)."""

    def __init__(self, request: CopyRequest) -> None:
        self.request = request
        self.options = ScrapeOptions()
        self.source: CheckedDriver | None = None
        self.dest: ImageDestination | None = None
        self.cleanup_problem: str | None = None

    def open(self) -> list[str]:
        try:
            return self._open()
        except BaseException:
            self.cleanup_problem = self.abort()
            close_quietly(self.source)
            raise

    def _open(self) -> list[str]:
        request = self.request
        driver = request.destination.driver
        refused = _refused_options(request)
        if refused:
            raise ConfigurationError(
                f"{', '.join(refused)}: not for --output-storage {driver} (an image "
                "destination takes images, not files)"
            )
        check_entries(request)
        self.options = planning_options(request)
        source = request.source.resolve()
        registry = plugins.DriverRegistry()
        self.source = registry.open(source.driver, source.location, source.options, read_only=True)
        receipts, skipped = read_receipts(self.source)
        _refuse_delta(self.source, receipts, driver)
        chosen = children_left_out_by_choice(receipts)
        self.options = replace(self.options, children_left_out_in=chosen)
        found = registry.image_destination(driver)
        if found is None:
            raise ConfigurationError(f"{driver!r} is not an image destination")
        destination = request.destination
        opened = found.destination_class.open(destination.location, dict(destination.options))
        if not isinstance(opened, ImageDestination):
            # A broken plugin: said before anything is planned, not as a failure mid-run.
            raise PluginError(f"image destination {driver!r} opened no ImageDestination")
        self.dest = opened
        return [*registry.warnings, *skipped]

    def execute(self, events: RunEvents) -> CopyOutcome:
        try:
            outcome = self._execute(events)
        except BaseException:
            self.cleanup_problem = self.abort()
            raise
        finally:
            close_quietly(self.source)
        self._close()
        return outcome

    def _execute(self, events: RunEvents) -> CopyOutcome:
        # Imported here: every copy imports this module to ask whether it is a push.
        from scraper_core.push import Push

        assert self.source is not None and self.dest is not None, "open() first"
        request = self.request
        scrape = Scrape(self.source, None, self.options)
        chosen, planned = plan_chosen(scrape, self.source, request, events)
        push = Push(
            self.source, self.dest, jobs=request.jobs, events=events, dry_run=request.dry_run
        )
        plans = [item for item in planned if isinstance(item, ImagePlan)]
        try:
            with events.progress(BlobTally.unique_bytes(plans)):
                results = push.run(planned)
        finally:
            events.finish_progress()
        return CopyOutcome(results, chosen.errors)

    def _close(self) -> None:
        dest, self.dest = self.dest, None
        if dest is not None:
            dest.close()

    def abort(self) -> str | None:
        """Let the destination go after a failure or an interrupt; a failure to is said in
        the returned line. What a registry took is whole (blobs verified, manifests after
        their blobs): nothing to undo."""
        dest, self.dest = self.dest, None
        try:
            if isinstance(dest, Abortable):
                dest.abort()
            elif dest is not None:
                dest.close()
        except (ScraperError, KeyboardInterrupt) as exc:
            return f"could not close the destination: {error_line(str(exc))}"
        return None
