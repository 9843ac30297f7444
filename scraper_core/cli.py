"""The ``scrape`` command line.

``scrape --storage local --data-dir ./data --output-dir ./copy IMAGE...`` is the promise: the
copy command is the default, so it needs no sub-command name. Other commands (``drivers``) are
sub-commands; an image that happens to share a sub-command's name still works after options.

Exit status: 0 all images copied; 1 some images failed (the others were copied); 2 bad usage or
set-up (nothing was copied); 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, NoReturn, TextIO

import click

from scraper_core.errors import ConfigurationError, LocationNotFoundError, ScraperError

# The core is imported by the commands that use it, not here: `scrape --help` loads click and
# this module only (issue 13: --help within 1.5x of importing click and pluggy).
if TYPE_CHECKING:
    from scraper_core.checked import CheckedDriver
    from scraper_core.plugins import DriverRegistry
    from scraper_core.report import Reporter
    from scraper_core.scrape import PlannedItem, Scrape, ScrapeOptions
    from scraper_core.transfer import ImageResult

#: scraper_core.transfer.DEFAULT_JOBS, which --help must not import to show it (checked by
#: tests/test_cli_startup.py).
DEFAULT_JOBS = 8
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEBUG_ENV = "REGISTRY_SCRAPER_DEBUG"


class DefaultCommandGroup(click.Group):
    """A group whose first argument, when not a sub-command, goes to ``default_command``."""

    default_command = "copy"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        help_asked = bool(args) and args[0] in ctx.help_option_names
        if args and not help_asked and args[0] not in self.commands and args[0] != "--version":
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _parse_options(pairs: Sequence[str], flag: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=flag)
        options[key] = value
    return options


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _same_location(storage: str, data_dir: str, output_storage: str, output_dir: str) -> bool:
    return storage == output_storage and os.path.normpath(data_dir) == os.path.normpath(output_dir)


def _source_location(
    storage: str,
    data_dir: str | None,
    registry_config: TextIO | None,
    storage_options: Sequence[str],
) -> tuple[str, str, dict[str, str]]:
    """Driver, location and options of the source: flags, or the registry's config.yml."""
    options = _parse_options(storage_options, "--storage-option")
    if registry_config is not None:
        from scraper_core.registry_config import load_storage_config

        config = load_storage_config(registry_config.read(), registry_config.name, os.environ)
        storage, data_dir = config.driver, config.location
        options = config.options | options
    if data_dir is None:
        _fail("give --data-dir or --registry-config")
    return storage, data_dir, options


def source_storage_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that name a source storage, shared by every command that reads one."""
    for decorator in reversed(
        [
            click.option("--storage", default="local", show_default=True, help="Storage driver."),
            click.option("--data-dir", help="Registry storage root (driver-specific)."),
            click.option(
                "--registry-config",
                type=click.File("r"),
                help="Take the storage from the registry's config.yml (and REGISTRY_STORAGE_*).",
            ),
            click.option(
                "--storage-option",
                "-o",
                "storage_options",
                multiple=True,
                metavar="KEY=VALUE",
                help="Option for the storage driver (repeatable).",
            ),
        ]
    ):
        command = decorator(command)
    return command


def _open_source(
    storage: str,
    data_dir: str | None,
    registry_config: TextIO | None,
    storage_options: Sequence[str],
) -> CheckedDriver:
    from scraper_core.plugins import DriverRegistry

    try:
        name, location, options = _source_location(
            storage, data_dir, registry_config, storage_options
        )
        registry = DriverRegistry()
        source = registry.open(name, location, options, read_only=True)
    except ScraperError as exc:
        _fail(str(exc))
    for warning in registry.warnings:
        click.echo(f"warning: {warning}", err=True)
    return source


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="registry-scraper", prog_name="scrape")
def main() -> None:
    """Copy chosen images out of a Docker registry's storage into a servable shallow clone.

    Without a command name, runs COPY: scrape --storage local --data-dir ./data
    --output-dir ./data-copy IMAGE...
    """


@main.command("copy")
@source_storage_options
@click.option(
    "--output-storage", default="local", show_default=True, help="Destination storage driver."
)
@click.option("--output-dir", help="Destination storage root (driver-specific).")
@click.option(
    "--output-tar",
    type=click.Path(dir_okay=False),
    help="Write the copy as one archive instead (.tar, .tar.gz, .tar.zst; - for stdout).",
)
@click.option(
    "--split-size",
    metavar="SIZE",
    help="With --output-tar: write volumes FILE.000, FILE.001, ... of at most SIZE (4G, 100M).",
)
@click.option(
    "--output-storage-option",
    "output_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option for the destination driver (repeatable).",
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH[/VARIANT]",
    help="Copy only these platforms of multi-platform images (repeatable).",
)
@click.option(
    "--no-signatures",
    is_flag=True,
    help="Leave cosign signatures, attestations and SBOMs (sha256-<hex>.sig tags) and OCI "
    "referrers (sha256-<hex> tags) behind.",
)
@click.option(
    "--have",
    "have_files",
    type=click.File("rb"),
    multiple=True,
    metavar="FILE",
    help="Leave out every blob the far side already has, from its `scrape inventory` or a "
    "receipt (repeatable): a delta shipment. Links and tags are still written.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Blobs copied at once.",
)
@click.option(
    "--link",
    is_flag=True,
    help="Hardlink blobs instead of copying them when source and output share a filesystem "
    "(blobs are immutable; their bytes are not re-verified).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be copied; write nothing.")
@click.option(
    "--plan-format",
    type=click.Choice(["s5cmd", "csv", "keys"]),
    help="With --dry-run: write the blob copies a run would do (blobs missing at the "
    "destination, never links) for a bulk engine, on stdout or --plan-file. s5cmd: "
    "'cp SRC DST' lines for `s5cmd run`; csv: BUCKET,URL-ENCODED-KEY lines, no header (an S3 "
    "Batch Operations manifest); keys: one source key a line (rclone copy --files-from). "
    "Run scrape again after the engine: it writes the links.",
)
@click.option("--plan-file", type=click.File("w"), help="Where --plan-format writes (- stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print errors and warnings only.")
@click.option("--verbose", "-v", is_flag=True, help="Print more detail.")
@click.option("--debug", is_flag=True, envvar=DEBUG_ENV, help="Show tracebacks for errors.")
@click.option(
    "--images-file",
    type=click.File("r"),
    help="Read IMAGE entries from a file: one a line, # starts a comment.",
)
@click.option("--all-tags", is_flag=True, help="Every tag of each named repository.")
@click.option(
    "--recheck",
    is_flag=True,
    help="Re-hash blobs already at the destination and replace damaged ones "
    "(default: a present blob of the right size is trusted).",
)
@click.argument("images", nargs=-1)
def copy_command(
    storage: str,
    data_dir: str | None,
    registry_config: TextIO | None,
    storage_options: tuple[str, ...],
    output_storage: str,
    output_dir: str | None,
    output_tar: str | None,
    split_size: str | None,
    output_options: tuple[str, ...],
    platforms: tuple[str, ...],
    no_signatures: bool,
    have_files: tuple[BinaryIO, ...],
    jobs: int,
    link: bool,
    dry_run: bool,
    plan_format: str | None,
    plan_file: TextIO | None,
    as_json: bool,
    quiet: bool,
    verbose: bool,
    debug: bool,
    images_file: TextIO | None,
    all_tags: bool,
    recheck: bool,
    images: tuple[str, ...],
) -> None:
    """Copy IMAGE... (name, name:tag or name@sha256:...; no tag means latest)."""
    from scraper_core.have import check_delta
    from scraper_core.plan import PlatformFilter
    from scraper_core.plugins import DriverRegistry
    from scraper_core.receipt import read_receipts
    from scraper_core.reference import parse_reference
    from scraper_core.report import Reporter
    from scraper_core.scrape import ScrapeOptions
    from scraper_core.selection import needs_storage, read_images_file
    from scraper_core.shipping import load_have

    reporter = Reporter(
        quiet=quiet,
        verbose=verbose,
        as_json=as_json,
        dry_run=dry_run,
        live=sys.stderr.isatty(),
        recheck=recheck,
    )
    if (output_dir is None) == (output_tar is None):
        _fail("give exactly one of --output-dir and --output-tar")
    if split_size is not None and output_tar is None:
        _fail("--split-size needs --output-tar")
    if output_tar == "-" and as_json:
        _fail("--json and --output-tar - would both write to stdout")
    if (plan_format and not dry_run) or (plan_file and not plan_format):
        _fail("--plan-format needs --dry-run, and --plan-file needs --plan-format")
    plan_out = plan_file or (sys.stdout if plan_format else None)
    if plan_out is sys.stdout and as_json:
        _fail("--json and --plan-format on stdout would both write to stdout")
    output_flag = "--output-dir"
    if output_tar is not None:
        output_storage, output_dir, output_flag = "tar", output_tar, "--output-tar"
        output_options += (f"split-size={split_size}",) if split_size else ()
    assert output_dir is not None
    opened = _Opened()
    try:
        entries = list(images) + (read_images_file(images_file.read()) if images_file else [])
        if not entries:
            _fail("no images given (IMAGE arguments or --images-file)")
        # Plain references are checked before any storage is touched; patterns when listed.
        for entry in entries:
            if "@" in entry or not needs_storage([entry], all_tags):
                parse_reference(entry)
        options = ScrapeOptions(
            jobs=jobs,
            platforms=tuple(PlatformFilter.parse(text) for text in platforms),
            signatures=not no_signatures,
            link=link,
            recheck=recheck,
            have=load_have(have_files),
        )
        storage, data_dir, source_opts = _source_location(
            storage, data_dir, registry_config, storage_options
        )
        dest_opts = _parse_options(output_options, "--output-storage-option")
        if _same_location(storage, data_dir, output_storage, output_dir):
            _fail(f"{output_flag} is the source storage; the source is never written")
        registry = DriverRegistry()
        source = registry.open(storage, data_dir, source_opts, read_only=True)
        # Before the destination is opened: opening a local one creates its directory.
        _refuse_overlap(registry, output_storage, output_dir, output_flag, source)
        opened.dest = _open_destination(
            registry,
            output_storage,
            output_dir,
            dest_opts,
            dry_run,
        )
        for warning in registry.warnings:
            reporter.warning(warning)
        # A delta's receipts name blobs it left out: they must be at the destination already.
        plan_source = check_delta(source, opened.dest, read_receipts(source))
    except KeyboardInterrupt:
        _interrupted(opened)
    except ScraperError as exc:
        opened.abort_quietly()  # an archive is not published after an error
        if debug:
            raise
        _fail(_one_line(str(exc)))
    except Exception as exc:
        _unexpected(exc, debug, EXIT_USAGE)
    try:
        _copy(
            _Run(source, plan_source, (storage, data_dir), output_dir, output_tar is not None),
            opened,
            options,
            entries,
            all_tags,
            dry_run,
            reporter,
            plan=(plan_format, plan_out) if plan_format and plan_out else None,
        )
    except KeyboardInterrupt:
        _interrupted(opened)
    except ScraperError as exc:
        opened.abort_quietly()
        if debug:
            raise
        _fail(_one_line(str(exc)), EXIT_PARTIAL)
    except Exception as exc:
        opened.abort_quietly()
        _unexpected(exc, debug, EXIT_PARTIAL)


class _Opened:
    """The destination once opened, so an interrupt or a failure can discard its staging."""

    def __init__(self) -> None:
        self.dest: CheckedDriver | None = None

    def abort_quietly(self) -> str | None:
        """Discard unfinished output; a failure to is said in the returned line, not raised."""
        if self.dest is None or self.dest.read_only:
            return None
        try:
            self.dest.abort()
        except (ScraperError, KeyboardInterrupt) as exc:
            return f"could not clean up the destination's staging: {_one_line(str(exc))}"
        return None


def _one_line(text: str) -> str:
    from scraper_core.report import one_line

    return one_line(text) or "error"


def _unexpected(exc: Exception, debug: bool, code: int) -> NoReturn:
    """A bug (or a driver breaking its contract): one line, the traceback only with --debug."""
    if debug or isinstance(exc, click.ClickException | click.exceptions.Exit):
        raise exc
    _fail(f"unexpected {type(exc).__name__}: {_one_line(str(exc))} (--debug shows where)", code)


def _interrupted(opened: _Opened) -> NoReturn:
    problem = opened.abort_quietly()
    if problem is not None:
        click.echo(f"warning: {problem}", err=True)
    click.echo("interrupted: nothing partial was left at a final path", err=True)
    sys.exit(EXIT_INTERRUPTED)


@dataclass(frozen=True)
class _Run:
    """Where a copy reads and writes."""

    source: CheckedDriver
    #: What plans are read from: the source, or a delta's view of it over the destination.
    plan_source: CheckedDriver
    #: Driver name and location of the source, for the receipt (never its options).
    source_label: tuple[str, str]
    output_dir: str
    archive: bool


def _copy(
    run: _Run,
    opened: _Opened,
    options: ScrapeOptions,
    entries: list[str],
    all_tags: bool,
    dry_run: bool,
    reporter: Reporter,
    *,
    plan: tuple[str, TextIO] | None = None,
) -> None:
    """List, plan, then preview or copy; exits 1 when anything failed."""
    from dataclasses import replace

    from scraper_core.scrape import Scrape
    from scraper_core.selection import select
    from scraper_core.shipping import record_receipt

    source, output_dir, archive = run.source, run.output_dir, run.archive
    dest = opened.dest
    scrape = Scrape(source, dest, options, run.plan_source)
    selection = select(source, entries, all_tags=all_tags)
    for entry, message in selection.errors:
        click.echo(f"error: {entry}: {_one_line(message)}", err=True)
    planned = scrape.plan(selection.references)
    if dry_run and plan is not None:
        results = _export_plan(scrape, planned, reporter, *plan)
    elif dry_run:
        results = scrape.preview(planned)
        for result in results:
            reporter.image_done(result)
    else:
        results = _copy_with_progress(scrape, planned, reporter)
        assert dest is not None
        if scrape.unusable is not None:
            reporter.destination_unusable(scrape.unusable)
        if archive and scrape.unusable is not None and any(r.ok for r in results):
            # The images finished before the disk filled are whole in the archive: it is
            # published with them if it can still be finished, else not at all.
            try:
                record_receipt(scrape, planned, results, run.source_label, dest)
                dest.close()
            except ScraperError as exc:
                opened.abort_quietly()
                click.echo(f"error: {output_dir} was not written: {_one_line(str(exc))}", err=True)
                notice = scrape.unusable.notice()
                results = [replace(r, error=r.error or notice) for r in results]
        elif scrape.unusable is None and any(result.ok for result in results):
            record_receipt(scrape, planned, results, run.source_label, dest)
            dest.close()
        else:
            # Staging is discarded; an archive is published only when an image made it in.
            problem = opened.abort_quietly()
            if problem is not None:
                reporter.warning(problem)
            if archive:
                click.echo(f"error: {output_dir} was not written", err=True)
    if options.have:
        reporter.delta(scrape.relied_on)
    reporter.summary(results, output_dir, selection.errors)
    if selection.errors or scrape.unusable is not None or any(not r.ok for r in results):
        sys.exit(EXIT_PARTIAL)


def _export_plan(
    scrape: Scrape, planned: list[PlannedItem], reporter: Reporter, plan_format: str, out: TextIO
) -> list[ImageResult]:
    """``--plan-format``: the blob copies for a bulk engine; the plan owns stdout, so the
    per-image lines go to stderr."""
    import contextlib

    from scraper_core.planexport import missing_blobs, write_plan

    if scrape.dest is None:
        raise ConfigurationError(
            "--plan-format needs a destination that exists (make the directory or bucket "
            "first; an archive cannot be written by a bulk engine)"
        )
    write_plan(missing_blobs(scrape.source, scrape.dest, planned), plan_format, out)
    out.flush()
    results = scrape.preview(planned)
    with contextlib.redirect_stdout(sys.stderr):
        for result in results:
            reporter.image_done(result)
    return results


def _refuse_overlap(
    registry: DriverRegistry, name: str, location: str, flag: str, source: CheckedDriver
) -> None:
    """Fail (exit 2) when writing at ``location`` could write into the source, in the words
    of the destination driver's ``overlaps`` (drivers without it: the spelling check only)."""
    from scraper_core.contract import SupportsOverlapCheck

    driver_class = registry.driver(name).driver_class
    if not isinstance(driver_class, SupportsOverlapCheck):
        return
    try:
        reason = driver_class.overlaps(location, source.driver)
    except ScraperError:
        raise
    except Exception as exc:
        # Unknown is not "no": the source is never risked on a check that could not be made.
        reason = f"cannot tell whether it overlaps the source ({type(exc).__name__}: {exc})"
    if reason:
        _fail(f"{flag} {location}: {_one_line(str(reason))}; the source is never written")


def _open_destination(
    registry: DriverRegistry,
    name: str,
    location: str,
    options: dict[str, str],
    dry_run: bool,
) -> CheckedDriver | None:
    """The destination; for a dry run, read-only, and None when it does not exist yet.

    A dry run reports what a real run would: bad options are an error even when the
    destination is not there yet.
    """
    if not dry_run:
        return registry.open(name, location, options, read_only=False)
    from scraper_core.contract import SupportsOutputCheck

    driver_class = registry.driver(name).driver_class
    if isinstance(driver_class, SupportsOutputCheck):
        # A destination written anew as a whole (an archive): checked, never opened, and
        # nothing in it counts as present.
        try:
            driver_class.check_output(location, options)
        except ScraperError:
            raise
        except Exception as exc:
            raise ConfigurationError(f"{name}: {location}: {exc}") from exc
        return None
    try:
        return registry.open(name, location, options, read_only=True)
    except LocationNotFoundError:
        # Nothing there yet (the driver checked the options first): everything would be copied.
        # Any other ConfigurationError is reported, as a real run would report it.
        return None


def _copy_with_progress(
    scrape: Scrape, planned: list[PlannedItem], reporter: Reporter
) -> list[ImageResult]:
    from scraper_core.plan import ImagePlan

    # Blobs shared between images are copied once, so they count once.
    unique = {
        blob.digest: blob.size
        for item in planned
        if isinstance(item, ImagePlan)
        for blob in item.blobs
    }
    total = sum(unique.values())
    if scrape.dest is not None and scrape.dest.report_archived(reporter.bytes_done):
        # Writing (and compressing) the archive is half the work: the bar counts it too.
        total *= 2
    try:
        with reporter.progress(total):
            return scrape.copy(planned, reporter)
    finally:
        reporter.finish_progress()


@main.command("drivers")
def drivers_command() -> None:
    """List the installed storage drivers, their plugins and versions."""
    from scraper_core.plugins import DriverRegistry

    registry = DriverRegistry()
    drivers = registry.drivers()
    for info in drivers:
        plugin = info.plugin
        click.echo(f"{info.name:<10} {plugin.distribution} {plugin.version}  {info.description}")
    for name, claimants in registry.conflicts().items():
        who = ", ".join(f"{c.distribution} {c.version}" for c in claimants)
        click.echo(f"warning: driver {name!r} is claimed by several distributions: {who}", err=True)
    for warning in registry.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not drivers:
        click.echo("no storage drivers installed (pip install registry-scraper-local)", err=True)
        sys.exit(EXIT_USAGE)


@main.command("verify")
@source_storage_options
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH[/VARIANT]",
    help="As a copy made with --platform: these platforms of multi-platform images must be "
    "complete, the others are not looked at (repeatable).",
)
@click.argument("images", nargs=-1)
def verify_command(
    storage: str,
    data_dir: str | None,
    registry_config: TextIO | None,
    storage_options: tuple[str, ...],
    jobs: int,
    as_json: bool,
    platforms: tuple[str, ...],
    images: tuple[str, ...],
) -> None:
    """Check a storage as a registry would use it: every tag, link and blob byte.

    With IMAGE... only those images; without, the whole storage, orphan blobs included.
    Index children a repository does not hold (a --platform copy) are noted as left out.
    """
    import json

    from scraper_core.plan import PlatformFilter
    from scraper_core.reference import parse_reference
    from scraper_core.report import human_bytes
    from scraper_core.verify import verify_images, verify_storage

    try:
        references = [parse_reference(image) for image in images]
        filters = [PlatformFilter.parse(text) for text in platforms]
    except ScraperError as exc:
        _fail(str(exc))
    source = _open_source(storage, data_dir, registry_config, storage_options)
    try:
        if references:
            report = verify_images(source, references, jobs=jobs, platforms=filters)
        else:
            report = verify_storage(source, jobs=jobs, platforms=filters)
    except ScraperError as exc:
        _fail(str(exc), EXIT_PARTIAL)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in report.problems:
        click.echo(f"error: {problem}", err=True)
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
        }
        click.echo(json.dumps(document, indent=2))
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
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


@main.command("list")
@source_storage_options
@click.argument("patterns", nargs=-1)
def list_command(
    storage: str,
    data_dir: str | None,
    registry_config: TextIO | None,
    storage_options: tuple[str, ...],
    patterns: tuple[str, ...],
) -> None:
    """List repositories and their tags (PATTERN... like team/* narrows the listing).

    A directory or repository that cannot be listed is one error line; the others are listed.
    """
    from scraper_core.inventory import take_inventory

    source = _open_source(storage, data_dir, registry_config, storage_options)
    try:
        inventory = take_inventory(source, patterns)
    except ScraperError as exc:
        _fail(str(exc))
    for name, tags in inventory.repositories:
        click.echo(f"{name}  {' '.join(tags)}".rstrip())
    for error in inventory.errors:
        click.echo(f"error: {error}", err=True)
    if inventory.errors:
        sys.exit(EXIT_PARTIAL)


@main.command("inventory")
@source_storage_options
def inventory_command(
    storage: str,
    data_dir: str | None,
    registry_config: TextIO | None,
    storage_options: tuple[str, ...],
) -> None:
    """Print what a storage holds as JSON (for --have): blobs with their sizes, repositories,
    tags and their digests. Cheap: blobs are listed, never read."""
    from scraper_core.holdings import take_holdings

    source = _open_source(storage, data_dir, registry_config, storage_options)
    try:
        holdings = take_holdings(source)
    except ScraperError as exc:
        _fail(str(exc), EXIT_PARTIAL)
    click.echo(holdings.to_json(), nl=False)
    for error in holdings.errors:
        click.echo(f"error: {error}", err=True)
    if holdings.errors:
        sys.exit(EXIT_PARTIAL)
