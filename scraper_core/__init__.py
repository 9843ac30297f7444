"""registry-scraper core: the distribution storage layout, image graphs and a verified copier.

The core performs no I/O of its own; every read and write goes through a storage driver
provided by a plugin (see :mod:`scraper_core.hookspecs`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scraper_core.hookspecs import hookimpl

__all__ = ["hookimpl"]


def __getattr__(name: str) -> object:
    # Plugins import ``hookimpl`` from here; `scrape --help` imports scraper_core.cli, which
    # runs this file, and needs neither pluggy's markers nor the driver contract behind them.
    if name == "hookimpl":
        from scraper_core.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
