"""The ``scrape`` command line.

``scrape --storage local --data-dir ./data --output-dir ./copy IMAGE...`` is the promise: the
copy command is the default, so it needs no sub-command name. Other commands (``drivers``) are
sub-commands; an image that happens to share a sub-command's name still works after options.

Exit status: 0 all images copied; 1 some images failed (the others were copied); 2 bad usage or
set-up (nothing was copied); 130 interrupted.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, BinaryIO, NamedTuple, NoReturn, TextIO, TypeVar

import click
from click.core import ParameterSource

from scraper_core import cli_examples
from scraper_core.cli_complete import (
    complete_destination_key,
    complete_driver,
    complete_path,
    complete_source_key,
)
from scraper_core.cli_env import PREFIX as ENV_PREFIX
from scraper_core.cli_env import PairsOption, env_name, from_environment, with_environment
from scraper_core.cli_group import DefaultCommandGroup
from scraper_core.cli_output import OutputMode, output_options
from scraper_core.cli_output import fail as say_failure
from scraper_core.cli_shared import have_option, jobs_option, platform_option
from scraper_core.errors import ScraperError

# The core is imported by the commands that use it, not here: `scrape --help` loads click and
# this module only (issue 13: --help within 1.5x of importing click and pluggy).
if TYPE_CHECKING:
    from scraper_core.checked import CheckedDriver
    from scraper_core.pushrun import PushRun
    from scraper_core.report import Reporter
    from scraper_core.run import CopyOutcome, CopyRun, SourceRequest, SourceRun
    from scraper_core.shorthand import DestinationOption, SourceOption
    from scraper_core.tagrules import Entry

#: scraper_core.transfer.DEFAULT_JOBS, which --help must not import to show it (checked by
#: tests/test_cli_startup.py).
DEFAULT_JOBS = 8
#: scraper_core.progress_lines.DEFAULT_INTERVAL, for --help alike (kept equal by a test).
DEFAULT_STATS_INTERVAL = 30.0
# The caps of option files in the help texts are scraper_core.optfile's, which --help does not
# import either (kept equal by tests/test_option_files.py).
R = TypeVar("R")

EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _parse_options(pairs: Sequence[str], flag: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=flag)
        options[key] = value
    return options


def _error_line(exc: BaseException) -> str:
    # Imported here: `scrape --help` loads only this module of the core (and errors).
    from scraper_core.wording import error_line

    return error_line(str(exc))


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    say_failure(message, code)
    sys.exit(code)


def _source_request(
    storage: str,
    data_dir: str | None,
    registry_config: str | None,
    storage_options: Sequence[str],
) -> SourceRequest:
    """The source named by flags, or by the registry's config.yml (flags' options win)."""
    from scraper_core.optfile import REGISTRY_CONFIG_CAP, read_option_text, shown_name
    from scraper_core.run import RegistryConfigText, SourceRequest

    if data_dir is None and registry_config is None:
        _fail("give --data-dir or --registry-config")
    config = None
    if registry_config is not None:
        try:
            text = read_option_text(registry_config, "--registry-config", REGISTRY_CONFIG_CAP)
        except KeyboardInterrupt:
            _fail(f"interrupted while reading --registry-config {registry_config}", 130)
        except ScraperError as exc:
            _fail(str(exc))
        config = RegistryConfigText(text, shown_name(registry_config), os.environ)
    options = _parse_options(storage_options, "--storage-option")
    if config is None:
        _refuse_unknown_keys(storage, options)
    return SourceRequest(storage, data_dir, options, config)


def _with_source_shorthands(
    storage: str,
    registry_config: str | None,
    storage_options: Sequence[str],
    given: dict[str, object],
) -> tuple[str, ...]:
    """The source options of ``--storage-option`` and of the plugins' source shorthands; a
    shorthand for another source driver is one line, exit 2. Warnings met learning them are
    said here, but by ``scrape copy`` (its reporter says them)."""
    from scraper_core.shorthand import source_options

    ctx = click.get_current_context()
    learned = _learned(ctx)
    if not isinstance(ctx.command, CopyCommand):
        for warning in learned.warnings:
            click.echo(f"warning: {warning}", err=True)
    driver = storage if registry_config is None else None
    # A shorthand the environment gives for another source driver is not meant for this run.
    values = {
        option.flag: value
        if isinstance(value, str) and not (from_environment(ctx, name) and option.driver != driver)
        else None
        for name, option in learned.sources.items()
        for value in (given.get(name),)
    }
    try:
        return source_options(list(learned.sources.values()), values, driver, storage_options)
    except ScraperError as exc:
        _fail(str(exc))


def source_storage_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that name a source storage, shared by every command that reads one; the
    command gets them as one ``source`` (:class:`scraper_core.run.SourceRequest`)."""

    @functools.wraps(command)
    def with_source(
        *args: object,
        storage: str,
        data_dir: str | None,
        registry_config: str | None,
        storage_options: tuple[str, ...],
        **kwargs: object,
    ) -> None:
        _refuse_stdin_twice(click.get_current_context())
        given = {name: kwargs.pop(name) for name in list(kwargs) if name.startswith(_SOURCE_PREFIX)}
        pairs = _with_source_shorthands(storage, registry_config, storage_options, given)
        source = _source_request(storage, data_dir, registry_config, pairs)
        command(*args, source=source, **kwargs)

    for decorator in reversed(
        [
            click.option(
                "--storage",
                default="local",
                show_default=True,
                help="Storage driver.",
                shell_complete=complete_driver,
            ),
            click.option(
                "--data-dir",
                help="Registry storage root (driver-specific).",
                shell_complete=complete_path,
            ),
            click.option(
                "--registry-config",
                metavar="FILE",
                shell_complete=complete_path,
                help="Take the storage from the registry's config.yml (and REGISTRY_STORAGE_*): "
                "a regular file of at most 1 MiB, or - for standard input.",
            ),
            click.option(
                "--storage-option",
                "-o",
                "storage_options",
                cls=PairsOption,
                shell_complete=complete_source_key,
                multiple=True,
                metavar="KEY=VALUE",
                help="Option for the storage driver (repeatable).",
            ),
        ]
    ):
        with_source = decorator(with_source)
    return with_source


def _refuse_stdin_twice(ctx: click.Context) -> None:
    """Exit 2 when ``-`` is given to two of the command's option files (nothing read yet)."""
    from scraper_core.optfile import OPTION_FILES, refuse_stdin_twice

    given: list[tuple[str, str]] = []
    for param in ctx.command.params:
        flag = next((opt for opt in param.opts if opt in OPTION_FILES), None)
        value = ctx.params.get(param.name or "")
        if flag is not None:
            paths = value if isinstance(value, tuple) else (value,)
            given += [(flag, path) for path in paths if isinstance(path, str)]
    try:
        refuse_stdin_twice(given)
    except ScraperError as exc:
        _fail(str(exc))


def _open_source(run: SourceRun) -> None:
    """Check the command's arguments and open its source; exit 2 when either fails."""
    try:
        warnings = run.open()
    except ScraperError as exc:
        _fail(str(exc))
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def _root_hint(source: CheckedDriver, request: SourceRequest) -> str | None:
    """Whether ``--data-dir`` misses the storage root (a config's root is the registry's)."""
    from scraper_core.storage_root import root_hint

    if request.registry_config is not None or request.location is None:
        return None
    return root_hint(source, request.location)


def _refuse_unknown_keys(driver: str, options: dict[str, str]) -> None:
    """An ``-o`` key the driver does not declare: one line with the close ones, exit 2."""
    from scraper_core.plugins import DriverRegistry
    from scraper_core.suggest import unknown_option

    problem = unknown_option(driver, DriverRegistry().option_keys(driver), options)
    if problem is not None:
        _fail(problem)


def _run_on_source(
    run: SourceRun,
    execute: Callable[[], R],
    failure_code: int,
    found_nothing: Callable[[R], bool] = lambda _result: False,
) -> R:
    """Open ``run``'s source, ``execute``, and let the source go whatever happened; a
    :class:`ScraperError` meanwhile is one line and exit ``failure_code``. When the result
    ``found_nothing``, a hint if the location misses the storage root (looked for then only:
    a request the usual run does not pay)."""
    _open_source(run)
    try:
        result = execute()
        hint = _root_hint(run.source, run.request) if found_nothing(result) else None
        if hint is not None:
            click.echo(f"warning: {hint}", err=True)
        return result
    except ScraperError as exc:
        _fail(str(exc), failure_code)
    finally:
        run.close()


class LearnedOptions(NamedTuple):
    """The shorthand options the installed plugins offer a command, by click parameter name,
    and the warnings met while learning them (a broken plugin, a flag taken). Destination
    options are learned for ``scrape copy`` only."""

    options: dict[str, DestinationOption]
    parameters: list[click.Option]
    sources: dict[str, SourceOption]
    source_parameters: list[click.Option]
    warnings: list[str]


_LEARNED = "registry_scraper.shorthand_options"
_SOURCE_PREFIX = "source_shorthand_"


def _parameter(name: str, option: DestinationOption | SourceOption) -> click.Option:
    parameter = click.Option(
        [option.flag, name],
        metavar=option.metavar,
        help=option.help,
        type=click.Path(dir_okay=False) if option.path else None,
    )
    with_environment([parameter])
    return parameter


_ARGS = "registry_scraper.command_args"
#: Nothing learned: no plugin loaded (see :func:`_needs_shorthands`).
_NONE_LEARNED = LearnedOptions({}, [], {}, [], [])


def _needs_shorthands(ctx: click.Context, taken: Sequence[str]) -> bool:
    """Whether the command line can name a plugin's shorthand option: it gives a long option
    the command does not have itself, or asks for help or completion. Learning them loads every
    plugin (tens of ms, a cloud SDK's driver module among them); a command line made of the
    command's own options is parsed alike without them."""
    args = ctx.meta.get(_ARGS)
    if ctx.resilient_parsing or not isinstance(args, list):
        return True
    for arg in args:
        if arg == "--":
            return False  # the rest are arguments
        flag = arg.partition("=")[0]
        if arg in ctx.help_option_names or (flag.startswith("--") and flag not in taken):
            return True
    # The environment can name one too (SCRAPE_OUTPUT_TAR): a SCRAPE_ variable of no flag the
    # command has.
    own = {env_name(flag) for flag in taken}
    return any(name.startswith(ENV_PREFIX) and name not in own for name in os.environ)


def _learned(
    ctx: click.Context, taken: Sequence[str] = (), *, every: bool = False
) -> LearnedOptions:
    """Learned once per invocation (kept in the context), so the environment of each run
    (``REGISTRY_SCRAPER_PLUGINS``) is the one that counts; not at all when the command line
    cannot name one (``every``: learned anyway, for a message that lists them)."""
    learned = ctx.meta.get(_LEARNED)
    if isinstance(learned, LearnedOptions) and (learned is not _NONE_LEARNED or not every):
        return learned
    if not every and taken and not _needs_shorthands(ctx, taken):
        ctx.meta[_LEARNED] = _NONE_LEARNED
        return _NONE_LEARNED
    from scraper_core.plugins import DriverRegistry
    from scraper_core.shorthand import offered

    registry = DriverRegistry()
    command = f"scrape {ctx.info_name or 'copy'}"
    kept: list[DestinationOption] = []
    refused: list[str] = []
    if isinstance(ctx.command, CopyCommand):
        kept, refused = offered(registry.destination_options(), taken, command)
    flags = [*taken, *(option.flag for option in kept)]
    kept_sources, refused_sources = offered(registry.source_options(), flags, command)
    options = {f"shorthand_{option.flag[2:].replace('-', '_')}": option for option in kept}
    sources = {
        f"{_SOURCE_PREFIX}{option.flag[2:].replace('-', '_')}": option for option in kept_sources
    }
    learned = LearnedOptions(
        options,
        [_parameter(name, option) for name, option in options.items()],
        sources,
        [_parameter(name, option) for name, option in sources.items()],
        [*registry.warnings, *refused, *refused_sources],
    )
    ctx.meta[_LEARNED] = learned
    return learned


class SourceCommand(click.Command):
    """A command that reads a source, with the shorthand source options plugins add (hook
    ``registry_scraper_add_source_options``): learned when the command is parsed, completed
    or its help shown, never for ``scrape --help``, and listed after ``--storage-option``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[_ARGS] = list(args)  # which shorthands can be named: see _needs_shorthands
        return super().parse_args(ctx, args)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        taken = [flag for param in params for flag in (*param.opts, *param.secondary_opts)]
        learned = _learned(ctx, taken)
        at = next(i for i, param in enumerate(params) if param.name == "storage_options") + 1
        return [*params[:at], *learned.source_parameters, *params[at:]]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help(ctx, formatter)
        for warning in _learned(ctx).warnings:
            click.echo(f"warning: {warning}", err=True)


class CopyCommand(SourceCommand):
    """``scrape copy``, with the shorthand destination options plugins add (hook
    ``registry_scraper_add_destination_options``) too, listed after ``--output-dir``."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        learned = _learned(ctx)
        at = next(i for i, param in enumerate(params) if param.name == "output_dir") + 1
        return [*params[:at], *learned.parameters, *params[at:]]


@click.group(
    cls=DefaultCommandGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=cli_examples.MAIN,
)
@click.version_option(package_name="registry-scraper", prog_name="scrape")
def main() -> None:
    """Copy chosen images out of a Docker registry's storage into a servable shallow clone.

    Without a command name, runs COPY: scrape --storage local --data-dir ./data
    --output-dir ./data-copy IMAGE...
    """


@main.command("copy", cls=CopyCommand, epilog=cli_examples.COPY)
@source_storage_options
@click.option(
    "--output-storage",
    default="local",
    show_default=True,
    help="Destination storage driver.",
    shell_complete=complete_driver,
)
@click.option(
    "--output-dir",
    help="Destination storage root (driver-specific).",
    shell_complete=complete_path,
)
@click.option(
    "--output-storage-option",
    "output_options",
    cls=PairsOption,
    shell_complete=complete_destination_key,
    multiple=True,
    metavar="KEY=VALUE",
    help="Option for the destination driver (repeatable).",
)
@platform_option("Copy only these platforms of multi-platform images (repeatable).")
@click.option(
    "--no-signatures",
    is_flag=True,
    help="Leave cosign signatures, attestations and SBOMs (sha256-<hex>.sig tags) and OCI "
    "referrers (sha256-<hex> tags) behind.",
)
@have_option(
    "Leave out every blob the far side already has, from its `scrape inventory` or a "
    "receipt (repeatable; a regular file of at most 256 MiB, or -): a delta shipment. Links "
    "and tags are still written."
)
@jobs_option(256, DEFAULT_JOBS, "Blobs copied at once.")
@click.option(
    "--link",
    is_flag=True,
    help="Hardlink blobs instead of copying them when source and output share a filesystem "
    "(blobs are immutable; their bytes are not re-verified).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be copied; write nothing.")
@click.option(
    "--stats",
    "stats_interval",
    type=click.FloatRange(min=0),
    default=DEFAULT_STATS_INTERVAL,
    show_default=True,
    metavar="SECONDS",
    help="When stderr is not a terminal (a log), print a progress line this often while "
    "blobs copy; 0: never (-q: never either).",
)
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
@output_options
@click.option(
    "--images-file",
    metavar="FILE",
    shell_complete=complete_path,
    help="Read IMAGE entries from a file: one a line, # starts a comment, or skopeo sync's "
    "YAML (images, images-by-tag-regex, images-by-semver) (a regular file of at most 64 MiB, "
    "or -).",
)
@click.option(
    "--images-registry",
    metavar="HOST",
    help="Of a skopeo sync YAML --images-file, take only the images under this registry key "
    "(default: every registry's, the key ignored).",
)
@click.option("--all-tags", is_flag=True, help="Every tag of each named repository.")
@click.option(
    "--all-manifests",
    is_flag=True,
    help="With every tag of a repository (--all-tags, or a pattern without a tag): its "
    "untagged manifests too, so the copy serves by digest all that the source does.",
)
@click.option(
    "--recheck",
    is_flag=True,
    help="Re-hash blobs already at the destination and replace damaged ones "
    "(default: a present blob of the right size is trusted).",
)
@click.option(
    "--allow-older",
    is_flag=True,
    help="Move tags back to an older shipment from the same source than the destination "
    "already holds (default: refused before any write, naming the tags).",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Remove the tags the source no longer has from repositories the run (and the "
    "shipment it imports) was asked for whole (--all-tags): tag links only; the registry's "
    "garbage-collect frees the rest. With --dry-run: list them.",
)
@click.argument("images", nargs=-1)
def copy_command(
    source: SourceRequest,
    output_storage: str,
    output_dir: str | None,
    output_options: tuple[str, ...],
    platforms: tuple[str, ...],
    no_signatures: bool,
    have_files: tuple[str, ...],
    jobs: int,
    link: bool,
    dry_run: bool,
    stats_interval: float,
    plan_format: str | None,
    plan_file: TextIO | None,
    output: OutputMode,
    images_file: str | None,
    images_registry: str | None,
    all_tags: bool,
    all_manifests: bool,
    recheck: bool,
    allow_older: bool,
    prune: bool,
    images: tuple[str, ...],
    **shorthand_values: str | None,
) -> None:
    """Copy IMAGE... (name, name:tag or name@sha256:...; no tag means latest)."""
    from scraper_core.pushrun import PushRun, pushes
    from scraper_core.report import Reporter
    from scraper_core.run import CopyRequest, CopyRun, StorageRequest
    from scraper_core.shorthand import destination

    as_json, debug = output.as_json, output.debug
    reporter = Reporter(
        quiet=output.quiet,
        verbose=output.verbose,
        as_json=as_json,
        dry_run=dry_run,
        live=sys.stderr.isatty(),
        recheck=recheck,
        stats_interval=stats_interval,
    )
    ctx = click.get_current_context()
    # No destination given: the message lists every plugin's shorthands, so learn them.
    learned = _learned(ctx, every=output_dir is None)
    output_dir, given = _destination_given(
        ctx, learned, output_storage, output_dir, shorthand_values
    )
    try:
        dest = destination(
            list(learned.options.values()), given, output_storage, output_dir, output_options
        )
    except ScraperError as exc:
        _fail(str(exc))
    if dest.stdout and as_json:
        _fail(f"--json and {dest.flag} {dest.location} would both write to stdout")
    if (plan_format and not dry_run) or (plan_file and not plan_format):
        _fail("--plan-format needs --dry-run, and --plan-file needs --plan-format")
    plan_out = plan_file or (sys.stdout if plan_format else None)
    if plan_out is sys.stdout and as_json:
        _fail("--json and --plan-format on stdout would both write to stdout")
    for warning in learned.warnings:
        reporter.warning(warning)
    run: CopyRun | PushRun | None = None
    have: list[BinaryIO] = []
    try:
        from_file, images_file_sha256 = _images_from(images_file, images_registry)
        entries = [*images, *from_file]
        if not entries:
            _fail("no images given (IMAGE arguments or --images-file)")
        dest_options = _parse_options(dest.options, "--output-storage-option")
        _refuse_unknown_keys(dest.driver, dest_options)
        have = _open_have(have_files)
        request = CopyRequest(
            source=source,
            destination=StorageRequest(dest.driver, dest.location, dest_options),
            entries=entries,
            all_tags=all_tags,
            all_manifests=all_manifests,
            images_file_sha256=images_file_sha256,
            image_arguments=images,
            dry_run=dry_run,
            jobs=jobs,
            platforms=platforms,
            signatures=not no_signatures,
            link=link,
            recheck=recheck,
            allow_older=allow_older,
            prune=prune,
            have=have,
            plan_format=plan_format,
            plan_out=plan_out,
        )
        # An image destination (a registry) is pushed to; a storage driver, copied into.
        run = PushRun(request) if pushes(request) else CopyRun(request)
        reporter.pushing = isinstance(run, PushRun)
        for warning in run.open():
            if warning not in learned.warnings:
                reporter.warning(warning)
        opened = run.source
        if opened is not None:
            reporter.explain_failure = lambda: _root_hint(opened, source)
    except KeyboardInterrupt:
        _interrupted(run)
    except ScraperError as exc:
        _fail_setup(exc, dest.flag, debug)
    except Exception as exc:
        _unexpected(exc, debug, EXIT_USAGE)
    finally:
        _close_have(have)
    try:
        # An exported plan owns stdout (or a file): the per-image lines go to stderr.
        with contextlib.redirect_stdout(sys.stderr) if plan_format else contextlib.nullcontext():
            outcome = run.execute(reporter)
    except KeyboardInterrupt:
        _interrupted(run)
    except ScraperError as exc:
        if debug:
            raise
        from scraper_core.shipment import OlderShipmentError

        # Refused after planning, before any write: a set-up error as any other.
        refused = isinstance(exc, OlderShipmentError)
        _fail(_error_line(exc), EXIT_USAGE if refused else EXIT_PARTIAL)
    except Exception as exc:
        _unexpected(exc, debug, EXIT_PARTIAL)
    _render_outcome(outcome, reporter, dest.location, delta=bool(have_files), prune=prune)


def _destination_given(
    ctx: click.Context,
    learned: LearnedOptions,
    output_storage: str,
    output_dir: str | None,
    values: dict[str, str | None],
) -> tuple[str | None, dict[str, str | None]]:
    """``--output-dir`` and the shorthands' values by flag, the command line winning: a
    location the environment gives steps aside for one on the command line, and a shorthand
    it gives for a driver other than the destination's is left out."""
    locations = {"output_dir": output_dir} | {
        name: values.get(name) for name, option in learned.options.items() if option.sets_location
    }
    if any(ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE for name in locations):
        locations = {
            name: None if from_environment(ctx, name) else value
            for name, value in locations.items()
        }
    named = [name for name, value in locations.items() if value is not None]
    driver = next(
        (learned.options[name].driver for name in named if name in learned.options),
        output_storage,
    )
    given: dict[str, str | None] = {}
    for name, option in learned.options.items():
        value = locations[name] if option.sets_location else values.get(name)
        if from_environment(ctx, name) and option.driver != driver:
            value = None
        given[option.flag] = value
    return locations["output_dir"], given


def _images_from(path: str | None, registry: str | None) -> tuple[list[Entry], str | None]:
    """The entries of ``--images-file`` (none without it) and the sha256 of its text (as
    UTF-8); its notes said on stderr."""
    if path is None:
        if registry is not None:
            _fail("--images-registry needs --images-file")
        return [], None
    # Here, not above: the YAML parser is imported only when an images file is read.
    from scraper_core.digest import Digest
    from scraper_core.imagesfile import parse_images_file
    from scraper_core.optfile import IMAGES_FILE_CAP, read_option_text, shown_name

    text = read_option_text(path, "--images-file", IMAGES_FILE_CAP)
    found = parse_images_file(text, f"--images-file {shown_name(path)}", registry)
    for note in found.notes:
        click.echo(f"note: {note}", err=True)
    return found.entries, Digest.of(text.encode()).hex


def _open_have(paths: Sequence[str]) -> list[BinaryIO]:
    """The ``--have`` files, opened (never blocking, regular files only): the run reads them."""
    from scraper_core.optfile import open_option_file

    opened: list[BinaryIO] = []
    try:
        for path in paths:
            opened.append(open_option_file(path, "--have"))
    except BaseException:
        _close_have(opened)
        raise
    return opened


def _close_have(streams: Sequence[BinaryIO]) -> None:
    for stream in streams:
        if stream is not sys.stdin.buffer:
            stream.close()


def _fail_setup(exc: ScraperError, output_flag: str, debug: bool) -> NoReturn:
    from scraper_core.run import OutputOverlapsSourceError

    if isinstance(exc, OutputOverlapsSourceError):
        where = f"{output_flag} {exc.location}: {exc.reason}" if exc.reason else output_flag
        if exc.reason is None:
            where += " is the source storage"
        _fail(f"{where}; the source is never written")
    if debug:
        raise exc
    _fail(_error_line(exc))


def _render_outcome(
    outcome: CopyOutcome, reporter: Reporter, output_dir: str, *, delta: bool, prune: bool
) -> None:
    """What a copy did, after its per-image lines; exits 1 when anything failed."""
    if outcome.cleanup_problem is not None:
        reporter.warning(outcome.cleanup_problem)
    if outcome.output_missing:
        why = f": {outcome.output_error}" if outcome.output_error else ""
        click.echo(f"error: {output_dir} was not written{why}", err=True)
    if delta:
        reporter.delta(outcome.relied_on)
    _report_gone(outcome, reporter, prune=prune)
    reporter.summary(outcome.results, output_dir, outcome.unresolved)
    if not outcome.ok:
        sys.exit(EXIT_PARTIAL)


def _report_gone(outcome: CopyOutcome, reporter: Reporter, *, prune: bool) -> None:
    """The tags the source no longer has: removed, to be removed, or left (and how)."""
    from scraper_core.gonetags import described

    gone = outcome.gone_tags
    if not gone:
        return
    if outcome.pruned:
        click.echo(f"removed {len(gone)} tags no longer at the source: {described(gone)}")
    elif reporter.dry_run and prune:
        click.echo(f"--prune would remove {len(gone)} tags no longer at the source: "
                   f"{described(gone)}")  # fmt: skip
    else:
        reporter.warning(
            f"{len(gone)} tags at the destination are no longer at the source: "
            f"{described(gone)} (--prune removes them)"
        )


def _unexpected(exc: Exception, debug: bool, code: int) -> NoReturn:
    """A bug (or a driver breaking its contract): one line, the traceback only with --debug."""
    if debug or isinstance(exc, click.ClickException | click.exceptions.Exit):
        raise exc
    _fail(f"unexpected {type(exc).__name__}: {_error_line(exc)} (--debug shows where)", code)


def _interrupted(run: CopyRun | PushRun | None) -> NoReturn:
    """Ctrl-C: the run has discarded its staging (or says why it could not)."""
    if run is not None and run.cleanup_problem is not None:
        click.echo(f"warning: {run.cleanup_problem}", err=True)
    say_failure("nothing partial was left at a final path", EXIT_INTERRUPTED, label="interrupted")
    sys.exit(EXIT_INTERRUPTED)


@main.command("drivers", epilog=cli_examples.DRIVERS)
@output_options
def drivers_command(output: OutputMode) -> None:
    """List the installed storage drivers, their plugins and versions."""
    from scraper_core.plugins import DriverRegistry
    from scraper_core.report import render_drivers

    registry = DriverRegistry()
    drivers = registry.drivers()
    render_drivers(registry, as_json=output.as_json)
    if not drivers:
        _fail("no storage drivers installed (pip install registry-scraper-local)")


@main.command("verify", cls=SourceCommand, epilog=cli_examples.VERIFY)
@source_storage_options
@jobs_option(64, 4, "Blobs hashed at once.")
@output_options
@platform_option(
    "As a copy made with --platform: these platforms of multi-platform images must be "
    "complete, the others are not looked at (repeatable)."
)
@have_option(
    "The site's `scrape inventory` (or a receipt): say whether this delta completes it, "
    "every blob the delta relies on there with the same size (repeatable; a regular file of "
    "at most 256 MiB, or -)."
)
@click.argument("images", nargs=-1)
def verify_command(
    source: SourceRequest,
    jobs: int,
    output: OutputMode,
    platforms: tuple[str, ...],
    have_files: tuple[str, ...],
    images: tuple[str, ...],
) -> None:
    """Check a storage as a registry would use it: every tag, link and blob byte.

    With IMAGE... only those images; without, the whole storage, orphan blobs included.
    Index children a repository does not hold (a --platform copy) are noted as left out; the
    blobs a delta relies on (its receipts say which) are counted, not problems.
    """
    from scraper_core.report import render_verify
    from scraper_core.run import VerifyRun

    run = VerifyRun(source, images, platforms, jobs, have_files)
    report = _run_on_source(run, run.execute, EXIT_PARTIAL, lambda found: not found.repositories)
    render_verify(report, as_json=output.as_json)
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


@main.command("list", cls=SourceCommand, epilog=cli_examples.LIST)
@source_storage_options
@output_options
@click.argument("patterns", nargs=-1)
def list_command(
    source: SourceRequest,
    output: OutputMode,
    patterns: tuple[str, ...],
) -> None:
    """List repositories and their tags (PATTERN... like team/* narrows the listing).

    A directory or repository that cannot be listed is one error line; the others are listed.
    """
    from scraper_core.report import render_listing
    from scraper_core.run import ListRun

    run = ListRun(source, patterns)
    listing = _run_on_source(run, run.execute, EXIT_USAGE, lambda found: not found.repositories)
    render_listing(listing, as_json=output.as_json)
    if listing.errors:
        sys.exit(EXIT_PARTIAL)


@main.command("inventory", cls=SourceCommand, epilog=cli_examples.INVENTORY)
@source_storage_options
@output_options
def inventory_command(
    source: SourceRequest,
    output: OutputMode,
) -> None:
    """Print what a storage holds as JSON (for --have): blobs with their sizes, repositories,
    tags and their digests. Cheap: blobs are listed, never read. Its JSON is the same with or
    without --json (its own format and version)."""
    from scraper_core.report import render_inventory
    from scraper_core.run import InventoryRun

    run = InventoryRun(source)
    inventory = _run_on_source(
        run, run.execute, EXIT_PARTIAL, lambda found: not (found.repositories or found.blobs)
    )
    render_inventory(inventory)
    if inventory.errors:
        sys.exit(EXIT_PARTIAL)


for _command in main.commands.values():
    with_environment(_command.params)
