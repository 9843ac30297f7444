"""Options that `copy` and `verify` share in name, kind and completion; each command says in
its own help what the option means to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from scraper_core.cli_complete import complete_path

F = TypeVar("F", bound=Callable[..., object])


def jobs_option(maximum: int, default: int, help: str) -> Callable[[F], F]:
    """``--jobs/-j``: how many blobs at once, 1 to ``maximum``."""
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(1, maximum),
        default=default,
        show_default=True,
        help=help,
    )


def platform_option(help: str) -> Callable[[F], F]:
    """``--platform`` (repeatable) into ``platforms``."""
    return click.option(
        "--platform", "platforms", multiple=True, metavar="OS/ARCH[/VARIANT]", help=help
    )


def have_option(help: str) -> Callable[[F], F]:
    """``--have FILE`` (repeatable, paths completed) into ``have_files``."""
    return click.option(
        "--have",
        "have_files",
        multiple=True,
        metavar="FILE",
        shell_complete=complete_path,
        help=help,
    )
