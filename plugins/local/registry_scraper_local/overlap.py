"""Whether writing at one place could write into a source directory, however either is spelt.

Paths are compared resolved (symlinks, ``..``, relative spellings), and every existing ancestor
is also compared by device and inode, which catches what no path comparison can: the same
directory reached through a bind mount. A location that does not exist yet is judged by its
nearest existing ancestor (a directory made there later is made inside that ancestor).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator


def _identity(path: str) -> tuple[int, int] | None:
    try:
        result = os.stat(path)
    except OSError:
        return None
    return result.st_dev, result.st_ino


def _existing_chain(real: str) -> Iterator[tuple[str, tuple[int, int]]]:
    """``real`` (an absolute resolved path) and each ancestor up to ``/``, those that exist,
    with their device and inode."""
    path = real
    while True:
        identity = _identity(path)
        if identity is not None:
            yield path, identity
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def _resolved(location: str) -> str:
    return os.path.realpath(os.path.abspath(os.path.expanduser(location)))


def _inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def contains(top: str, inner: str) -> bool:
    """True when directory ``top`` is ``inner`` or one of its ancestors, by path or identity."""
    top_real, inner_real = _resolved(top), _resolved(inner)
    if _inside(inner_real, top_real):
        return True
    top_identity = _identity(top_real)
    if top_identity is None:
        return False  # a directory not there yet holds nothing
    return any(identity == top_identity for _, identity in _existing_chain(inner_real))


def output_overlap(output: str, source: str) -> str | None:
    """Why a tree written at directory ``output`` could touch the tree at ``source``."""
    if contains(output, source) and contains(source, output):
        return f"the output {output} is the source directory {source}"
    if contains(source, output):
        return f"the output {output} is inside the source directory {source}"
    if contains(output, source):
        return f"the source directory {source} is inside the output {output}"
    return None


def archive_overlap(archive: str, source: str, beside: Iterable[str] = ()) -> str | None:
    """Why an archive written at ``archive`` (and the files ``beside`` it that the run writes,
    replaces or removes) could touch the tree at ``source``."""
    written_in = os.path.dirname(os.path.abspath(os.path.expanduser(archive)))
    if contains(source, written_in) or contains(source, archive):
        return f"the archive {archive} would be written inside the source directory {source}"
    if contains(archive, source):
        return f"the archive {archive} is the source directory {source}"
    for path in beside:
        if contains(source, path):
            return f"{path}, written beside the archive, is inside the source directory {source}"
    return None


def _keys(path: str) -> set[tuple[object, ...]]:
    """What makes two spellings one file: its resolved path; the device and inode of what it
    names (a hardlink, a symlink); the device and inode of its directory with its name (the
    same name reached through a bind mount, whether the file exists yet or not). Both the
    name as spelt and the file it resolves to count."""
    spelt = os.path.abspath(os.path.expanduser(path))
    real = os.path.realpath(spelt)
    keys: set[tuple[object, ...]] = {("path", real)}
    identity = _identity(real)
    if identity is not None:
        keys.add(("inode", *identity))
    for name in (spelt, real):
        directory = _identity(os.path.dirname(name))
        if directory is not None:
            keys.add(("slot", *directory, os.path.basename(name)))
    return keys


def same_file(written: Iterable[str], read: Iterable[str]) -> tuple[str, str] | None:
    """The first pair (a path written, a path read) that are one file however each is spelt;
    None when no path written can reach a file read."""
    read_keys = [(path, _keys(path)) for path in read]
    for path in written:
        keys = _keys(path)
        for source, source_keys in read_keys:
            if keys & source_keys:
                return path, source
    return None


def same_directory(first: str, second: str) -> bool:
    """``first`` and ``second`` name one directory (resolved path, or device and inode)."""
    if _resolved(first) == _resolved(second):
        return True
    identity = _identity(_resolved(first))
    return identity is not None and identity == _identity(_resolved(second))
