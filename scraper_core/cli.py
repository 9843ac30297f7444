"""The ``scrape`` command line.

``scrape --storage local --data-dir ./data --output-dir ./copy IMAGE...`` is the promise: the
copy command is the default, so it needs no sub-command name. Other commands (``drivers``) are
sub-commands; an image that happens to share a sub-command's name still works after options.

Exit status: 0 all images copied; 1 some images failed (the others were copied); 2 bad usage or
set-up (nothing was copied); 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import BinaryIO, NoReturn, TextIO

import click

from scraper_core.driver import CheckedDriver
from scraper_core.errors import ConfigurationError, ScraperError
from scraper_core.have import check_delta
from scraper_core.holdings import take_holdings
from scraper_core.inventory import take_inventory
from scraper_core.plan import ImagePlan, PlatformFilter
from scraper_core.plugins import DriverRegistry
from scraper_core.receipt import read_receipts
from scraper_core.reference import parse_reference
from scraper_core.registry_config import load_storage_config
from scraper_core.report import Reporter, human_bytes
from scraper_core.scrape import PlannedItem, Scrape, ScrapeOptions
from scraper_core.selection import needs_storage, read_images_file, select
from scraper_core.shipping import load_have, record_receipt
from scraper_core.transfer import DEFAULT_JOBS, ImageResult
from scraper_core.verify import verify_images, verify_storage

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
    help="Write the copy as one archive instead (.tar, .tar.gz, .tar.zst).",
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
@click.argument("images", nargs=-1)
def copy_command(
    storage: str,
    data_dir: str | None,
    registry_config: TextIO | None,
    storage_options: tuple[str, ...],
    output_storage: str,
    output_dir: str | None,
    output_tar: str | None,
    output_options: tuple[str, ...],
    platforms: tuple[str, ...],
    no_signatures: bool,
    have_files: tuple[BinaryIO, ...],
    jobs: int,
    link: bool,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    verbose: bool,
    debug: bool,
    images_file: TextIO | None,
    all_tags: bool,
    images: tuple[str, ...],
) -> None:
    """Copy IMAGE... (name, name:tag or name@sha256:...; no tag means latest)."""
    reporter = Reporter(
        quiet=quiet,
        verbose=verbose,
        as_json=as_json,
        dry_run=dry_run,
        live=sys.stderr.isatty(),
    )
    if (output_dir is None) == (output_tar is None):
        _fail("give exactly one of --output-dir and --output-tar")
    if output_tar is not None:
        output_storage, output_dir = "tar", output_tar
    assert output_dir is not None
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
            have=load_have(have_files),
        )
        storage, data_dir, source_opts = _source_location(
            storage, data_dir, registry_config, storage_options
        )
        dest_opts = _parse_options(output_options, "--output-storage-option")
        if _same_location(storage, data_dir, output_storage, output_dir):
            _fail("--output-dir is the source storage; the source is never written")
        registry = DriverRegistry()
        source = registry.open(storage, data_dir, source_opts, read_only=True)
        dest = _open_destination(registry, output_storage, output_dir, dest_opts, dry_run)
        for warning in registry.warnings:
            reporter.warning(warning)
        # A delta's receipts name blobs it left out: they must be at the destination already.
        plan_source = _delta_source(source, dest)
    except ScraperError as exc:
        if debug:
            raise
        _fail(str(exc))
    scrape = Scrape(source, dest, options, plan_source)
    try:
        selection = select(source, entries, all_tags=all_tags)
        for entry, message in selection.errors:
            click.echo(f"error: {entry}: {message}", err=True)
        planned = scrape.plan(selection.references)
        if dry_run:
            results = scrape.preview(planned)
            for result in results:
                reporter.image_done(result)
        else:
            results = _copy_with_progress(scrape, planned, reporter)
            assert dest is not None
            record_receipt(scrape, planned, results, (storage, data_dir), dest)
            dest.close()
        if options.have:
            reporter.delta(scrape.relied_on)
    except KeyboardInterrupt:
        if dest is not None:
            dest.abort()
        click.echo("interrupted: nothing partial was left at a final path", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except ScraperError as exc:
        if debug:
            raise
        _fail(str(exc), EXIT_PARTIAL)
    reporter.summary(results, output_dir, selection.errors)
    if selection.errors or any(not result.ok for result in results):
        sys.exit(EXIT_PARTIAL)


def _delta_source(source: CheckedDriver, dest: CheckedDriver | None) -> CheckedDriver:
    try:
        return check_delta(source, dest, read_receipts(source))
    except ScraperError:
        if dest is not None:
            dest.abort()
        raise


def _open_destination(
    registry: DriverRegistry,
    name: str,
    location: str,
    options: dict[str, str],
    dry_run: bool,
) -> CheckedDriver | None:
    """The destination; for a dry run, read-only, and None when it does not exist yet."""
    if not dry_run:
        return registry.open(name, location, options, read_only=False)
    try:
        return registry.open(name, location, options, read_only=True)
    except ConfigurationError:
        # Nothing there yet: everything would be copied. The driver name was still checked.
        registry.driver(name)
        return None


def _copy_with_progress(
    scrape: Scrape, planned: list[PlannedItem], reporter: Reporter
) -> list[ImageResult]:
    # Blobs shared between images are copied once, so they count once.
    unique = {
        blob.digest: blob.size
        for item in planned
        if isinstance(item, ImagePlan)
        for blob in item.blobs
    }
    total = sum(unique.values())
    try:
        with reporter.progress(total):
            return scrape.copy(planned, reporter)
    finally:
        reporter.finish_progress()


@main.command("drivers")
def drivers_command() -> None:
    """List the installed storage drivers, their plugins and versions."""
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
