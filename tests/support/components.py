"""Finding the real components (registry, skopeo, umoci) and small process/network helpers."""

from __future__ import annotations

import importlib.util
import shutil

from scraper_core.testing.process import (
    free_port,
    http_open,
    in_ci,
    missing_component,
    stop_process,
)

__all__ = [
    "free_port",
    "http_open",
    "in_ci",
    "missing_component",
    "require_binary",
    "require_module",
    "stop_process",
]


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing_component(f"{name} not found on PATH (Debian package: see `make system-deps`)")
    return path


def require_module(name: str) -> None:
    """Like require_binary, for a Python package a test drives (e.g. moto's S3 server)."""
    if importlib.util.find_spec(name) is None:
        missing_component(f"Python package {name} is not installed (pip install --group dev)")
