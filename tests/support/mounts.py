"""Mounts a few tests need (a small tmpfs, a bind mount of a tree), made as root.

A mount that cannot be made here skips the test, or fails it in CI (``missing_component``);
every mount is lazily unmounted when its block ends, whatever the test left open in it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scraper_core.testing.process import missing_component

#: Seconds any one mount command may take before the test fails rather than hangs.
MOUNT_TIMEOUT = 60


def mount(point: Path, *how: str) -> Path:
    """``mount HOW... POINT``, POINT made first if missing; :func:`unmount` undoes it."""
    point.mkdir(parents=True, exist_ok=True)
    command = ["mount", *how, str(point)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=MOUNT_TIMEOUT)
    if done.returncode != 0:
        missing_component(f"{' '.join(command)} failed (it needs root): {done.stderr.strip()}")
    return point


def unmount(point: Path) -> None:
    subprocess.run(["umount", "-l", str(point)], check=False, timeout=MOUNT_TIMEOUT)


def tmpfs(point: Path, size: str) -> Path:
    """A tmpfs of ``size`` (``6m``) at ``point``."""
    return mount(point, "-t", "tmpfs", "-o", f"size={size}", "tmpfs")


@contextmanager
def mounted_tmpfs(point: Path, size: str) -> Iterator[Path]:
    tmpfs(point, size)
    try:
        yield point
    finally:
        unmount(point)


@contextmanager
def bound(source: Path, point: Path, *, read_only: bool = False) -> Iterator[Path]:
    """``source`` bind-mounted at ``point``; read-only (even for root) with ``read_only``."""
    mount(point, "--bind", str(source))
    try:
        if read_only:
            mount(point, "-o", "remount,bind,ro")
        yield point
    finally:
        unmount(point)
