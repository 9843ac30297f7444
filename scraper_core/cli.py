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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NoReturn

import click

from scraper_core.driver import CheckedDriver
from scraper_core.errors import ScraperError
from scraper_core.plan import ImagePlan, Planner
from scraper_core.plugins import DriverRegistry
from scraper_core.reference import Reference, parse_reference
from scraper_core.transfer import DEFAULT_JOBS, ImageResult, Transfer

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


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


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


def _plan_all(
    source: CheckedDriver, references: Sequence[Reference], jobs: int
) -> list[ImagePlan | ImageResult]:
    """Plan every image (in parallel: planning is a few small reads each, latency-bound)."""
    planner = Planner(source)

    def plan_one(reference: Reference) -> ImagePlan | ImageResult:
        try:
            return planner.plan(reference)
        except ScraperError as exc:
            return ImageResult(reference, error=str(exc))

    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="plan") as pool:
        return list(pool.map(plan_one, references))


def _report(result: ImageResult, quiet: bool) -> None:
    if not result.ok:
        click.echo(f"error: {result.reference}: {result.error}", err=True)
        return
    for note in result.skipped:
        click.echo(f"warning: {result.reference}: {note}", err=True)
    if quiet:
        return
    assert result.digest is not None
    click.echo(
        f"{result.reference} {result.digest.short}: {_count(result.blobs_copied, 'blob')} copied "
        f"({_human_bytes(result.bytes_copied)}), {result.blobs_present} already present"
    )


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="registry-scraper", prog_name="scrape")
def main() -> None:
    """Copy chosen images out of a Docker registry's storage into a servable shallow clone.

    Without a command name, runs COPY: scrape --storage local --data-dir ./data
    --output-dir ./data-copy IMAGE...
    """


@main.command("copy")
@click.option("--storage", default="local", show_default=True, help="Source storage driver.")
@click.option("--data-dir", required=True, help="Source registry storage root (driver-specific).")
@click.option(
    "--storage-option",
    "-o",
    "storage_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option for the source driver (repeatable).",
)
@click.option(
    "--output-storage", default="local", show_default=True, help="Destination storage driver."
)
@click.option("--output-dir", required=True, help="Destination storage root (driver-specific).")
@click.option(
    "--output-storage-option",
    "output_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option for the destination driver (repeatable).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Blobs copied at once.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print errors and warnings only.")
@click.option("--debug", is_flag=True, envvar=DEBUG_ENV, help="Show tracebacks for errors.")
@click.argument("images", nargs=-1, required=True)
def copy_command(
    storage: str,
    data_dir: str,
    storage_options: tuple[str, ...],
    output_storage: str,
    output_dir: str,
    output_options: tuple[str, ...],
    jobs: int,
    quiet: bool,
    debug: bool,
    images: tuple[str, ...],
) -> None:
    """Copy IMAGE... (name, name:tag or name@sha256:...; no tag means latest)."""
    try:
        references = [parse_reference(image) for image in images]
        source_opts = _parse_options(storage_options, "--storage-option")
        dest_opts = _parse_options(output_options, "--output-storage-option")
        if _same_location(storage, data_dir, output_storage, output_dir):
            _fail("--output-dir is the source storage; the source is never written")
        registry = DriverRegistry()
        source = registry.open(storage, data_dir, source_opts, read_only=True)
        dest = registry.open(output_storage, output_dir, dest_opts, read_only=False)
        for warning in registry.warnings:
            click.echo(f"warning: {warning}", err=True)
    except ScraperError as exc:
        if debug:
            raise
        _fail(str(exc))
    try:
        results = _run_copy(source, dest, references, jobs, quiet)
    except KeyboardInterrupt:
        click.echo("interrupted: nothing partial was left at a final path", err=True)
        sys.exit(EXIT_INTERRUPTED)
    failed = [result for result in results if not result.ok]
    if not quiet or failed:
        copied = len(results) - len(failed)
        click.echo(f"{copied} of {len(results)} images copied to {output_dir}", err=True)
    if failed:
        sys.exit(EXIT_PARTIAL)


def _run_copy(
    source: CheckedDriver,
    dest: CheckedDriver,
    references: Sequence[Reference],
    jobs: int,
    quiet: bool,
) -> list[ImageResult]:
    results: list[ImageResult] = []
    plans: list[ImagePlan] = []
    for item in _plan_all(source, references, jobs):
        if isinstance(item, ImagePlan):
            plans.append(item)
        else:
            _report(item, quiet)
            results.append(item)
    transfer = Transfer(source, dest, jobs=jobs)
    results.extend(transfer.run(plans, on_image=lambda result: _report(result, quiet)))
    return results


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
