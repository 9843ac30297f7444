"""Proof that a test left its sources unchanged: snapshots before, compared after.

scrape must never write its source. Every end-to-end test gets a :class:`SourceGuard` (the
autouse fixture ``source_unchanged`` in tests/conftest.py), which already watches the shared
``populated_registry`` tree when the test uses it; a test watches any other source it scrapes
(``source_unchanged.watch_local(root)``, ``.watch("bucket", s3_snapshot(client, bucket))``)
once the source is set up. After the test body the guard compares every watched source and
fails the test, naming what changed.

A local snapshot holds, for every entry below the root (symlinks not followed): its kind, mode
and mtime, and for a file its size and SHA-256, for a symlink its target, for a directory its
listing. An object-store snapshot holds every key with its size and etag or generation and
modification time.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Snapshot = Mapping[str, object]
SnapshotFn = Callable[[], Snapshot]


def local_snapshot(root: Path, *, exclude: Iterable[str] = ()) -> SnapshotFn:
    """Everything below ``root``; top-level names in ``exclude`` (e.g. an output inside a
    scratch directory) are left out."""
    excluded = set(exclude)

    def take() -> dict[str, object]:
        found: dict[str, object] = {}
        for directory, dirs, files in os.walk(root):
            relative = os.path.relpath(directory, root)
            if relative == ".":
                dirs[:] = [d for d in dirs if d not in excluded]
                files = [f for f in files if f not in excluded]
            listing = sorted([*dirs, *files])
            for name in listing:
                path = os.path.join(directory, name)
                # A real directory is recorded when walked (below); a symlink to one is not
                # descended into, so it is recorded here, as a link.
                if name in files or os.path.islink(path):
                    found[os.path.normpath(os.path.join(relative, name))] = _entry(path)
            # A directory: its mode and listing (its mtime moves with any entry added or
            # removed, which the listing already shows).
            info = os.lstat(directory)
            found[f"{relative}/"] = (stat.S_IMODE(info.st_mode), listing)
        return found

    return take


def _entry(path: str) -> tuple[object, ...]:
    info = os.lstat(path)
    kind = stat.S_IFMT(info.st_mode)
    base = (kind, stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    if stat.S_ISLNK(info.st_mode):
        return (*base, os.readlink(path))
    if stat.S_ISREG(info.st_mode):
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
        return (*base, info.st_size, digest.hexdigest())
    # FIFOs, devices, sockets: never opened (a FIFO would block).
    return (*base, info.st_size)


def s3_snapshot(client: Any, bucket: str, prefix: str = "") -> SnapshotFn:
    """Every key under ``prefix`` with its size, etag and modification time."""

    def take() -> dict[str, object]:
        found: dict[str, object] = {}
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                found[item["Key"]] = (item["Size"], item["ETag"], str(item["LastModified"]))
        return found

    return take


def gcs_snapshot(client: Any, bucket: str, prefix: str = "") -> SnapshotFn:
    """Every object under ``prefix`` with its size, generation and md5."""

    def take() -> dict[str, object]:
        blobs = client.list_blobs(bucket, prefix=prefix or None)
        return {b.name: (b.size, b.generation, b.md5_hash, str(b.updated)) for b in blobs}

    return take


def azure_snapshot(container: Any, prefix: str = "") -> SnapshotFn:
    """Every blob under ``prefix`` with its size, etag and modification time."""

    def take() -> dict[str, object]:
        blobs = container.list_blobs(name_starts_with=prefix or None)
        return {b.name: (b.size, b.etag, str(b.last_modified)) for b in blobs}

    return take


@dataclass
class _Watched:
    label: str
    take: SnapshotFn
    before: Snapshot
    only_existing: bool


@dataclass
class SourceGuard:
    """The sources one test promised not to write, with their snapshots."""

    watched: list[_Watched] = field(default_factory=list)
    #: Labels compared so far, and what was found written (for the reliability report).
    checked: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def watch(self, label: str, take: SnapshotFn, *, only_existing: bool = False) -> None:
        """Snapshot now; compare at :meth:`assert_unchanged`. With ``only_existing``, entries
        may be added (a source that takes pushes during the test) but none that was there
        may change or go."""
        self.watched.append(_Watched(label, take, dict(take()), only_existing))

    def watch_local(
        self, root: Path, *, exclude: Iterable[str] = (), only_existing: bool = False
    ) -> None:
        self.watch(str(root), local_snapshot(root, exclude=exclude), only_existing=only_existing)

    def assert_unchanged(self) -> None:
        """Compare every watched source with its snapshot, then stop watching it; raise
        AssertionError naming what changed. Called by the test hook after each test body;
        a test may call it earlier (e.g. while a proxy in front of the source still runs)."""
        problems: list[str] = []
        watched, self.watched = self.watched, []
        for source in watched:
            after = source.take()
            self.checked.append(source.label)
            changes = describe_changes(source.before, after, only_existing=source.only_existing)
            if changes:
                problems.append(f"the source {source.label} was written: {changes}")
        if problems:
            self.written += problems
            raise AssertionError("\n".join(problems))


def describe_changes(before: Snapshot, after: Snapshot, *, only_existing: bool = False) -> str:
    """A short account of what differs ('' when nothing does)."""
    removed = sorted(set(before) - set(after))
    added = [] if only_existing else sorted(set(after) - set(before))
    if only_existing:
        changed = sorted(
            key
            for key in set(before) & set(after)
            if before[key] != after[key] and not key.endswith("/")
        )
        removed = [key for key in removed if not key.endswith("/")]
    else:
        changed = sorted(key for key in set(before) & set(after) if before[key] != after[key])
    parts = []
    for name, keys in (("added", added), ("removed", removed), ("changed", changed)):
        if keys:
            shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            parts.append(f"{name} {shown}")
    return "; ".join(parts)
