"""The emulators' lifecycle now lives in the kit (:mod:`scraper_core.testing.process`)."""

from __future__ import annotations

from scraper_core.testing.process import LOOPBACK, ServerProcess, http_status

__all__ = ["LOOPBACK", "ServerProcess", "http_status"]
