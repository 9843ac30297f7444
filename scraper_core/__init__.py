"""registry-scraper core: the distribution storage layout, image graphs and a verified copier.

The core performs no I/O of its own; every read and write goes through a storage driver
provided by a plugin (see :mod:`scraper_core.hookspecs`).
"""

from __future__ import annotations

from scraper_core.hookspecs import hookimpl

__all__ = ["hookimpl"]
