"""Registry trees written through a driver: now in the kit (scraper_core.testing.tree)."""

from __future__ import annotations

from scraper_core.testing.tree import SyntheticImage, TreeWriter

__all__ = ["SyntheticImage", "TreeWriter"]
