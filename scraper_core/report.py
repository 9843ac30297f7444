"""What a run tells its user: one line per image, a summary, JSON, a live progress bar.

Errors and warnings go to stderr, one line each. Results go to stdout, unless ``--json`` owns
stdout, in which case the human lines move to stderr. On a terminal a progress bar (bytes,
rate, ETA) runs while blobs copy; elsewhere output stays line-oriented.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import click

from scraper_core.cli_output import emit_json, mark_emitted
from scraper_core.digest import Digest
from scraper_core.errors import DestinationUnusableError
from scraper_core.plan import BlobCopy
from scraper_core.progress_lines import ByteCounter, ProgressLines
from scraper_core.transfer import BlobOutcome, ImageResult
from scraper_core.wording import count, human_bytes, one_line

if TYPE_CHECKING:
    from scraper_core.inventory import Inventory
    from scraper_core.listing import Listing
    from scraper_core.plugins import DriverRegistry
    from scraper_core.verify import VerifyReport


def result_json(result: ImageResult, *, recheck: bool = False) -> dict[str, Any]:
    document = {
        "reference": str(result.reference),
        "digest": str(result.digest) if result.digest else None,
        "ok": result.ok,
        "error": one_line(result.error),
        "blobs_copied": result.blobs_copied,
        "bytes_copied": result.bytes_copied,
        "blobs_present": result.blobs_present,
        "skipped": result.skipped,
    }
    if recheck:
        document["blobs_rechecked"] = result.blobs_rechecked
        document["blobs_replaced"] = result.blobs_replaced
    return document


class Reporter:
    """Formats results for the terminal, a log, or a program (``--json``)."""

    def __init__(
        self,
        *,
        quiet: bool,
        verbose: bool,
        as_json: bool,
        dry_run: bool,
        live: bool,
        recheck: bool = False,
        stats_interval: float = 0.0,
    ) -> None:
        """``live``: stderr is a terminal (a bar); elsewhere a line every ``stats_interval``
        seconds (none when 0) while blobs copy. ``quiet`` turns both off."""
        self.quiet = quiet
        self.recheck = recheck
        self.verbose = verbose
        self.as_json = as_json
        self.dry_run = dry_run
        self.live = live and not quiet
        self._bar: Any = None
        self._lock = threading.Lock()
        self._deferred: list[str] = []
        self._unusable_said = False
        self._done = 0
        self._started = time.monotonic()
        #: Set by the caller once it knows the run kind: a push's lines say "pushed".
        self.pushing = False
        self.stats_interval = 0.0 if quiet else stats_interval
        self._counter = ByteCounter()
        #: Asked once, at the first entry or image that fails, for a warning that may explain
        #: it (the source location missing the storage root); nothing is asked otherwise.
        self.explain_failure: Callable[[], str | None] | None = None
        self._failure_explained = False

    def warning(self, message: str) -> None:
        click.echo(f"warning: {message}", err=True)

    def _line(self, text: str) -> None:
        if self._bar is not None:
            # Lines printed under a live bar would be overwritten; show them after it.
            self._deferred.append(text)
        else:
            click.echo(text, err=self.as_json)

    def entry_failed(self, entry: str, message: str) -> None:
        """An IMAGE entry that named nothing copyable."""
        click.echo(f"error: {entry}: {one_line(message) or 'error'}", err=True)
        self._explain_failure()

    def _explain_failure(self) -> None:
        with self._lock:
            if self._failure_explained or self.explain_failure is None:
                return
            self._failure_explained = True
        explanation = self.explain_failure()
        if explanation is not None:
            self.warning(explanation)

    def image_done(self, result: ImageResult) -> None:
        if not result.ok:
            click.echo(f"error: {result.reference}: {one_line(result.error)}", err=True)
            self._explain_failure()
            return
        for note in result.skipped:
            self.warning(f"{result.reference}: {note}")
        if self.quiet:
            return
        verb = (
            ("would push" if self.dry_run else "pushed")
            if self.pushing
            else ("would copy" if self.dry_run else "copied")
        )
        digest = result.digest.short if result.digest else "?"
        line = (
            f"{result.reference} {digest}: {count(result.blobs_copied, 'blob')} {verb} "
            f"({human_bytes(result.bytes_copied)}), {result.blobs_present} already present"
        )
        if self.recheck and not self.dry_run:
            line += f" ({result.blobs_rechecked} re-checked, {result.blobs_replaced} replaced)"
        self._line(line)

    def delta(self, left_out: Mapping[Digest, int]) -> None:
        """What ``--have`` saved: the blobs left out because the far side has them."""
        if self.quiet:
            return
        verb = "would leave" if self.dry_run else "left"
        click.echo(
            f"delta: {verb} out {count(len(left_out), 'blob')} "
            f"({human_bytes(sum(left_out.values()))}) the far side has",
            err=True,
        )

    def progress(self, total_bytes: int) -> AbstractContextManager[Any]:
        """A live byte counter on a terminal; elsewhere a periodic line, if asked."""
        if total_bytes <= 0:
            return nullcontext()
        if not self.live:
            if self.stats_interval <= 0:
                return nullcontext()
            return ProgressLines(self._counter, total_bytes, self.stats_interval)
        bar: AbstractContextManager[Any] = click.progressbar(
            length=total_bytes,
            label="copying",
            file=sys.stderr,
            show_eta=True,
            show_percent=True,
            width=30,
        )
        self._bar = bar
        self._done = 0
        self._started = time.monotonic()
        return bar

    def bytes_done(self, size: int) -> None:
        self._counter.add(size)
        if self._bar is not None:
            with self._lock:
                self._done += size
                elapsed = max(time.monotonic() - self._started, 1e-6)
                rate = human_bytes(int(self._done / elapsed))
                self._bar.label = f"copying {human_bytes(self._done)} at {rate}/s"
                self._bar.update(size)

    def blob_done(self, blob: BlobCopy, outcome: BlobOutcome) -> None:
        if self.verbose:
            with self._lock:
                self._line(f"  {outcome.value} {blob.digest} ({human_bytes(blob.size)})")

    def finish_progress(self) -> None:
        self._bar = None
        for text in self._deferred:
            click.echo(text, err=self.as_json)
        self._deferred.clear()

    def destination_unusable(self, error: DestinationUnusableError) -> None:
        """The one line saying why a run stopped starting blobs (each image says less);
        said once however often it is heard."""
        with self._lock:
            if self._unusable_said:
                return
            self._unusable_said = True
        click.echo(
            f"error: destination {error.driver} is unusable: {error}; no blob was started "
            "after that, and nothing partial is at a final path",
            err=True,
        )

    def summary(
        self,
        results: Sequence[ImageResult],
        destination: str,
        unresolved: Sequence[tuple[str, str]] = (),
    ) -> None:
        failed = sum(1 for result in results if not result.ok)
        copied_bytes = sum(result.bytes_copied for result in results)
        # Kept for their size: not blobs shared by images of this run (copied once, for one).
        trusted = sum(result.blobs_trusted for result in results)
        rechecked = sum(result.blobs_rechecked for result in results)
        replaced = sum(result.blobs_replaced for result in results)
        if self.as_json:
            document = {
                "destination": destination,
                "dry_run": self.dry_run,
                "images": [result_json(r, recheck=self.recheck) for r in results],
                "images_ok": len(results) - failed,
                "images_failed": failed,
                "unresolved": [{"entry": e, "error": one_line(m)} for e, m in unresolved],
                "bytes_copied": copied_bytes,
            }
            if self.recheck:
                document["blobs_rechecked"] = rechecked
                document["blobs_replaced"] = replaced
            emit_json("copy", document)
        if self.quiet and not failed:
            return
        verb = "would be " if self.dry_run else ""
        verb += "pushed" if self.pushing else "copied"
        click.echo(
            f"{len(results) - failed} of {count(len(results), 'image')} {verb} to {destination}"
            f" ({human_bytes(copied_bytes)}){self._trust_note(trusted, rechecked, replaced)}",
            err=True,
        )

    def _trust_note(self, trusted: int, rechecked: int, replaced: int) -> str:
        """What the run trusted or checked of blobs already at the destination."""
        if self.dry_run or trusted + rechecked + replaced == 0:
            return ""
        if self.recheck:
            return (
                f"; {count(rechecked + replaced, 'present blob')} re-hashed, "
                f"{replaced} damaged replaced"
            )
        return f"; {count(trusted, 'present blob')} trusted by size (--recheck re-hashes them)"


def render_verify(report: VerifyReport, *, as_json: bool) -> None:
    """``verify``'s findings: notes, warnings and problems on stderr, one line each; orphans
    (or the JSON document) on stdout; a closing count on stderr."""
    for prefix, lines in (("note", report.notes), ("warning", report.warnings)):
        for line in lines:
            click.echo(f"{prefix}: {line}", err=True)
    for problem in report.problems:
        click.echo(f"error: {problem}", err=True)
    _render_delta(report)
    if as_json:
        document = {
            "ok": report.ok,
            "repositories": report.repositories,
            "tags": report.tags,
            "blobs_verified": report.blobs_verified,
            "bytes_verified": report.bytes_verified,
            "problems": report.problems,
            "warnings": report.warnings,
            "notes": report.notes,
            "orphans": [str(digest) for digest in report.orphans],
            "relies_on": {"blobs": report.relies_on_blobs, "bytes": report.relies_on_bytes},
        }
        if report.site_checked:
            document["site"] = {"missing": report.site_gap_count, "shown": report.site_gaps}
        emit_json("verify", document)
    else:
        for digest in report.orphans:
            click.echo(f"orphan blob {digest}")
    click.echo(
        f"{report.tags} tags in {report.repositories} repositories, "
        f"{report.blobs_verified} blobs ({human_bytes(report.bytes_verified)}) verified, "
        f"{len(report.problems)} problems, {len(report.warnings)} warnings, "
        f"{len(report.notes)} notes, {len(report.orphans)} orphan blobs",
        err=True,
    )


def _render_delta(report: VerifyReport) -> None:
    """What a delta relies on, and whether the site given holds it, on stderr."""
    if report.relies_on_blobs:
        click.echo(
            f"delta: relies on {count(report.relies_on_blobs, 'blob')} "
            f"({human_bytes(report.relies_on_bytes)}) the site must hold",
            err=True,
        )
    if not report.site_checked:
        return
    for gap in report.site_gaps:
        click.echo(f"error: {gap}", err=True)
    more = report.site_gap_count - len(report.site_gaps)
    if more:
        click.echo(f"error: and {count(more, 'more blob')} the delta relies on", err=True)
    if report.site_gap_count:
        click.echo(
            f"delta: does not complete the site: it lacks {report.site_gap_count} of the "
            f"{report.relies_on_blobs} blobs the delta relies on",
            err=True,
        )
    else:
        click.echo("delta: completes the site: it holds every blob the delta relies on", err=True)


def render_listing(listing: Listing, *, as_json: bool = False) -> None:
    """``list``: a line per repository with its tags (or the JSON document) on stdout, errors
    on stderr."""
    if as_json:
        repositories = [{"name": name, "tags": list(tags)} for name, tags in listing.repositories]
        emit_json("list", {"repositories": repositories, "errors": listing.errors})
    else:
        for name, tags in listing.repositories:
            click.echo(f"{name}  {' '.join(tags)}".rstrip())
    for error in listing.errors:
        click.echo(f"error: {error}", err=True)


def render_inventory(inventory: Inventory) -> None:
    """``inventory``: the JSON document (its own format) on stdout, errors on stderr."""
    click.echo(inventory.to_json(), nl=False)
    mark_emitted()
    for error in inventory.errors:
        click.echo(f"error: {error}", err=True)


def render_drivers(registry: DriverRegistry, *, as_json: bool) -> None:
    """``drivers``: one line per installed driver and image destination (or the JSON
    document) on stdout, warnings on stderr."""
    rows = [(info.name, info.plugin, info.description, "storage") for info in registry.drivers()]
    rows += [
        (item.name, item.plugin, item.description, "image-destination")
        for item in registry.image_destinations()
    ]
    rows.sort(key=lambda row: row[0])
    conflicts = registry.conflicts()
    if as_json:
        listed = [
            {
                "name": name,
                "distribution": plugin.distribution,
                "version": plugin.version,
                "description": description,
                "kind": kind,
            }
            for name, plugin, description, kind in rows
        ]
        claimed = {
            name: [{"distribution": c.distribution, "version": c.version} for c in claimants]
            for name, claimants in conflicts.items()
        }
        emit_json(
            "drivers", {"drivers": listed, "conflicts": claimed, "warnings": registry.warnings}
        )
    else:
        for name, plugin, description, kind in rows:
            if kind != "storage":
                description += " (an image destination: --output-storage)"
            click.echo(f"{name:<10} {plugin.distribution} {plugin.version}  {description}")
    for name, claimants in conflicts.items():
        who = ", ".join(f"{c.distribution} {c.version}" for c in claimants)
        click.echo(f"warning: driver {name!r} is claimed by several distributions: {who}", err=True)
    for warning in registry.warnings:
        click.echo(f"warning: {warning}", err=True)
