"""Compatibility facade: the driver contract and the core's wrapper under one import path.

Plugins and the plugin guide import ``scraper_core.driver`` (``Capability``, ``FileInfo``,
``CheckedDriver``...); it stays importable and gives every public name of both modules. The
contract plugins implement lives in :mod:`scraper_core.contract`, the wrapper the core uses in
:mod:`scraper_core.checked`; new code may import from either directly.
"""

from __future__ import annotations

from scraper_core.checked import *  # noqa: F403
from scraper_core.checked import __all__ as _checked_names
from scraper_core.contract import *  # noqa: F403
from scraper_core.contract import __all__ as _contract_names

__all__ = [*_contract_names, *_checked_names]
