"""How every command talks: ``-q/-v/--debug/--json`` defined once, JSON framed once.

Each command takes the four options through :func:`output_options` and gets them as one
:class:`OutputMode`. Every JSON document a command prints carries ``format``
(``registry-scraper/<kind>``) and ``version`` (of that document's shape; added keys keep it,
renamed or removed keys would bump it). A failure under ``--json`` (exit 2 included) prints an
error document on stdout, unless the command has printed its own document already: stdout
always holds exactly one JSON document.

Light on purpose: ``scrape --help`` imports this module (``json`` is loaded when used).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click

JSON_VERSION = 1
FORMAT_PREFIX = "registry-scraper/"
ERROR_FORMAT = "error"
#: The flags of :func:`output_options`, which ``scrape FLAGS COMMAND`` may give before the
#: command name too.
OUTPUT_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--debug", "--json"})
#: The older name of ``SCRAPE_DEBUG``, still read.
LEGACY_DEBUG_ENV = "REGISTRY_SCRAPER_DEBUG"
_MODE = "registry_scraper.output_mode"
_EMITTED = "registry_scraper.json_emitted"
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})


@dataclass(frozen=True)
class OutputMode:
    """What the user asked to see: ``quiet`` errors and warnings only, ``verbose`` more
    detail, ``debug`` tracebacks and SDK requests, ``as_json`` one JSON document on stdout."""

    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    as_json: bool = False


def output_options(command: Callable[..., None]) -> Callable[..., None]:
    """``-q/-v/--debug/--json`` for ``command``, which gets them as ``output``
    (:class:`OutputMode`); the mode is kept in the context for :func:`fail`."""

    @functools.wraps(command)
    def with_output(
        *args: object, quiet: bool, verbose: bool, debug: bool, as_json: bool, **kwargs: object
    ) -> None:
        mode = OutputMode(quiet=quiet, verbose=verbose, debug=debug, as_json=as_json)
        click.get_current_context().meta[_MODE] = mode
        if not debug:
            command(*args, output=mode, **kwargs)
            return
        from scraper_core.debuglog import log_requests

        with log_requests():
            command(*args, output=mode, **kwargs)

    for decorator in reversed(
        [
            click.option(
                "--json", "as_json", is_flag=True, help="Print one JSON document on stdout."
            ),
            click.option("--quiet", "-q", is_flag=True, help="Print errors and warnings only."),
            click.option("--verbose", "-v", is_flag=True, help="Print more detail."),
            click.option(
                "--debug",
                is_flag=True,
                help="Show tracebacks, and each storage request and retry, on stderr (secrets "
                f"redacted; {LEGACY_DEBUG_ENV} is read too).",
            ),
        ]
    ):
        with_output = decorator(with_output)
    return with_output


def current_mode() -> OutputMode:
    """The running command's mode; before its callback has it (another decorator failing
    first), the mode its parsed options say."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return OutputMode()
    mode = ctx.meta.get(_MODE)
    if isinstance(mode, OutputMode):
        return mode
    flags = {name: ctx.params.get(name) is True for name in ("quiet", "verbose", "debug")}
    return OutputMode(**flags, as_json=ctx.params.get("as_json") is True)


def framed(kind: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` with its ``format`` and ``version`` first (its own, if it has them)."""
    return {"format": FORMAT_PREFIX + kind, "version": JSON_VERSION, **document}


def emit_json(kind: str, document: Mapping[str, Any], *, indent: int = 2) -> None:
    """Print ``document``, framed, as the command's one JSON document."""
    import json

    click.echo(json.dumps(framed(kind, document), indent=indent))
    mark_emitted()


def mark_emitted() -> None:
    """The command has printed its JSON document: a failure after it adds none."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_EMITTED] = True


def error_document(message: str, code: int) -> str:
    import json

    return json.dumps(framed(ERROR_FORMAT, {"error": {"message": message, "exit": code}}))


def fail(message: str, code: int, *, label: str = "error") -> None:
    """Say ``message`` as one ``error:`` (``label``) line on stderr and, under ``--json`` when
    the command has printed no document yet, as the error document on stdout. The caller
    exits."""
    click.echo(f"{label}: {message}", err=True)
    ctx = click.get_current_context(silent=True)
    if current_mode().as_json and not (ctx is not None and ctx.meta.get(_EMITTED)):
        click.echo(error_document(message, code))
        if ctx is not None:
            ctx.meta[_EMITTED] = True


def json_asked(args: Sequence[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a command line asks for ``--json`` (before any ``--``), or the environment
    does: known before click has parsed anything, for its usage errors."""
    head = list(args)[: list(args).index("--")] if "--" in args else list(args)
    from scraper_core.cli_env import env_name

    return "--json" in head or environ.get(env_name("--json"), "").lower() in _TRUE


def leading_output_flags_moved(args: list[str], commands: Sequence[str]) -> list[str]:
    """``scrape -q --json list ...`` as ``scrape list -q --json ...``: the output flags may
    come before the command name too."""
    at = 0
    while at < len(args) and args[at] in OUTPUT_FLAGS:
        at += 1
    if 0 < at < len(args) and args[at] in commands:
        return [args[at], *args[:at], *args[at + 1 :]]
    return args
