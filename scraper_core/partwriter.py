"""Deprecated import path: use :mod:`scraper_core.bucket.partwriter` (moved there with the other
helpers for bucket-like drivers). Kept so third-party plugins written against it still load."""

from __future__ import annotations

import warnings

from scraper_core.bucket.partwriter import *  # noqa: F403

warnings.warn(
    "scraper_core.partwriter is deprecated: import scraper_core.bucket.partwriter",
    DeprecationWarning,
    stacklevel=2,
)
