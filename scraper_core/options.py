"""Deprecated import path: use :mod:`scraper_core.bucket.options` (moved there with the other
helpers for bucket-like drivers). Kept so third-party plugins written against it still load."""

from __future__ import annotations

import warnings

from scraper_core.bucket.options import *  # noqa: F403

warnings.warn(
    "scraper_core.options is deprecated: import scraper_core.bucket.options",
    DeprecationWarning,
    stacklevel=2,
)
