"""Paths of distribution's storage tree, built and parsed back. Pure functions: no I/O.

The tree under the storage root (cf. distribution's ``registry/storage/paths.go``)::

    /docker/registry/v2/
      blobs/<alg>/<first two hex>/<hex>/data          content-addressed bytes
      repositories/<name>/
        _layers/<alg>/<hex>/link                      blob (layer or config) linked to the repo
        _manifests/revisions/<alg>/<hex>/link         manifest known to the repo
        _manifests/tags/<tag>/current/link            what the tag points at now
        _manifests/tags/<tag>/index/<alg>/<hex>/link  every digest the tag ever pointed at
        _uploads/...                                  in-flight uploads: never copied
    /scrape-receipts/<run>.json                       receipts of runs (a registry never reads)

This module is the only place in the core that puts path pieces together. Builders take
validated names, tags and digests (see :mod:`scraper_core.reference`), so the paths they build
always stay inside the tree. Parsers (``*_of``) take any path read back from a storage (a walk,
a listing) and return None when it is not the kind of path they parse: a storage may hold
anything, so a parser never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

from scraper_core.digest import Digest
from scraper_core.errors import InvalidReferenceError

V2_ROOT = "/docker/registry/v2"
REPOSITORIES_ROOT = f"{V2_ROOT}/repositories"
BLOBS_ROOT = f"{V2_ROOT}/blobs"
#: A directory under ``repositories/`` is a repository when it holds this child (as in
#: distribution's catalog walk); names of repository components never start with ``_``.
MANIFESTS_DIR = "_manifests"
LAYERS_DIR = "_layers"
UPLOADS_DIR = "_uploads"
LINK_FILE = "link"
#: Receipts of the runs that wrote this storage, beside ``docker/`` (a registry never reads
#: them): one JSON document per run, named so that runs never overwrite each other's.
RECEIPTS_ROOT = "/scrape-receipts"


def join(*parts: str) -> str:
    """``parts`` joined by ``/``: the one place path pieces meet."""
    return "/".join(parts)


def _split_below(root: str, path: str) -> list[str] | None:
    """The components of ``path`` below ``root``; None when it is not strictly below."""
    if not path.startswith(f"{root}/"):
        return None
    return path[len(root) + 1 :].split("/")


def _digest(algorithm: str, hex_digest: str) -> Digest | None:
    try:
        return Digest.parse(f"{algorithm}:{hex_digest}")
    except InvalidReferenceError:
        return None


# Blobs.


def blob_directory_path(digest: Digest) -> str:
    return join(BLOBS_ROOT, digest.algorithm, digest.hex[:2], digest.hex)


def blob_data_path(digest: Digest) -> str:
    return join(blob_directory_path(digest), "data")


def blob_digest_of(path: str) -> Digest | None:
    """The digest a ``blobs/<alg>/<hex[:2]>/<hex>/data`` path stores; None for other paths."""
    parts = _split_below(BLOBS_ROOT, path)
    if parts is None or len(parts) != 4:
        return None
    digest = _digest(parts[0], parts[2])
    return digest if digest is not None and blob_data_path(digest) == path else None


# Repositories.


def repository_path(name: str) -> str:
    return join(REPOSITORIES_ROOT, name)


def repositories_path(prefix: str = "") -> str:
    """The directory holding repositories named ``prefix/...`` (the root when no prefix)."""
    return repository_path(prefix) if prefix else REPOSITORIES_ROOT


def repository_of(path: str) -> str | None:
    """The repository a path inside ``repositories/<name>/_...`` belongs to; None for a path
    that is not inside one (the name is every component before the first ``_`` one)."""
    parts = _split_below(REPOSITORIES_ROOT, path)
    if parts is None:
        return None
    for index, part in enumerate(parts):
        if part.startswith("_"):
            return join(*parts[:index]) if index and all(parts[:index]) else None
    return None


def manifests_path(name: str) -> str:
    return join(repository_path(name), MANIFESTS_DIR)


def layers_path(name: str) -> str:
    return join(repository_path(name), LAYERS_DIR)


def revisions_path(name: str) -> str:
    return join(manifests_path(name), "revisions")


def uploads_path(name: str) -> str:
    return join(repository_path(name), UPLOADS_DIR)


# Links: ``<directory>/<alg>/<hex>/link``.


def link_directory_path(base: str, digest: Digest) -> str:
    """The directory of ``digest``'s link under a link directory (``_layers``, revisions...)."""
    return join(base, digest.algorithm, digest.hex)


def link_path(directory: str) -> str:
    """The link file of a ``<alg>/<hex>`` link directory."""
    return join(directory, LINK_FILE)


def link_directory_digest_of(directory: str) -> Digest | None:
    """The digest a ``.../<alg>/<hex>`` link directory is named for; None when it is not."""
    parent, _, hex_digest = directory.rpartition("/")
    algorithm = parent.rpartition("/")[2]
    return _digest(algorithm, hex_digest) if parent else None


def link_digest_of(path: str) -> Digest | None:
    """The digest a ``.../<alg>/<hex>/link`` path is named for; None for other paths."""
    directory, _, file_name = path.rpartition("/")
    return link_directory_digest_of(directory) if file_name == LINK_FILE else None


def layer_link_path(name: str, digest: Digest) -> str:
    return link_path(link_directory_path(layers_path(name), digest))


def revision_link_path(name: str, digest: Digest) -> str:
    return link_path(link_directory_path(revisions_path(name), digest))


# Tags.


def tags_path(name: str) -> str:
    return join(manifests_path(name), "tags")


def tag_path(name: str, tag: str) -> str:
    return join(tags_path(name), tag)


def tag_current_link_path(name: str, tag: str) -> str:
    return link_path(join(tag_path(name, tag), "current"))


def tag_index_path(name: str, tag: str) -> str:
    return join(tag_path(name, tag), "index")


def tag_index_link_path(name: str, tag: str, digest: Digest) -> str:
    return link_path(link_directory_path(tag_index_path(name, tag), digest))


@dataclass(frozen=True)
class TagEntry:
    """A path inside a tag directory, parsed: ``<name>/_manifests/tags/<tag>/<rest>``."""

    name: str
    tag: str
    #: What is below the tag directory (``current/link``, ``index/...``); "" for the directory.
    rest: str

    @property
    def is_current_link(self) -> bool:
        return self.rest == join("current", LINK_FILE)


def tag_entry_of(path: str) -> TagEntry | None:
    """Repository, tag and the rest of a path inside a tag directory; None for other paths.
    The tag is returned as stored (a storage may hold directories no tag grammar allows)."""
    name = repository_of(path)
    if name is None:
        return None
    parts = _split_below(tags_path(name), path)
    if parts is None or not parts[0]:
        return None
    return TagEntry(name, parts[0], join(*parts[1:]))


def tag_entry_in(name: str, path: str) -> TagEntry | None:
    """:func:`tag_entry_of` for a path found under ``tags_path(name)`` (a walk of one
    repository's tags): only the part below is parsed, cheap for thousands of tags."""
    below = f"{tags_path(name)}/"
    if not path.startswith(below):
        return None
    tag, _, rest = path[len(below) :].partition("/")
    return TagEntry(name, tag, rest) if tag else None


# Receipts.


def receipt_path(name: str) -> str:
    """``name`` is the run's own file name, e.g. ``20261130T021336Z-3f9a.json``."""
    return join(RECEIPTS_ROOT, name)


def receipt_name_of(path: str) -> str | None:
    """The run's file name of a receipt path; None for other paths."""
    parts = _split_below(RECEIPTS_ROOT, path)
    return parts[0] if parts is not None and len(parts) == 1 and parts[0] else None
