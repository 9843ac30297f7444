"""Shell completion (click's ``_SCRAPE_COMPLETE``): driver names, paths, ``-o`` keys.

A value that is a path (``--data-dir``, ``--output-dir``, ``FILE`` options) answers "a
file", which click's shell scripts hand back to the shell's own path completion; an option
click knows nothing about would otherwise complete nothing at all. ``-o`` offers ``KEY=``
for the keys the chosen driver declares (:class:`scraper_core.contract.DeclaresOptionKeys`).

Light: the plugins load only when a completion asks for them.
"""

from __future__ import annotations

from click import Context, Parameter
from click.shell_completion import CompletionItem


def complete_path(_ctx: Context, _param: Parameter, incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(incomplete, type="file")]


def complete_driver(_ctx: Context, _param: Parameter, incomplete: str) -> list[CompletionItem]:
    from scraper_core.plugins import DriverRegistry

    names = sorted({info.name for info in DriverRegistry().drivers()})
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def _key_items(driver: object, incomplete: str) -> list[CompletionItem]:
    from scraper_core.plugins import DriverRegistry

    if not isinstance(driver, str) or "=" in incomplete:
        return []
    keys = DriverRegistry().option_keys(driver)
    return [CompletionItem(f"{key}=") for key in keys if key.startswith(incomplete)]


def complete_source_key(ctx: Context, _param: Parameter, incomplete: str) -> list[CompletionItem]:
    """``-o``: the keys of ``--storage`` (local unless given)."""
    return _key_items(ctx.params.get("storage") or "local", incomplete)


def complete_destination_key(
    ctx: Context, _param: Parameter, incomplete: str
) -> list[CompletionItem]:
    """``--output-storage-option``: the keys of ``--output-storage`` (local unless given)."""
    return _key_items(ctx.params.get("output_storage") or "local", incomplete)
