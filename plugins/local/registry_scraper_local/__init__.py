"""The ``local`` storage driver: a registry's filesystem storage (``rootdirectory``)."""

from __future__ import annotations
