"""Paths of distribution's storage tree. Pure functions: no I/O.

The tree under the storage root (cf. distribution's ``registry/storage/paths.go``)::

    /docker/registry/v2/
      blobs/<alg>/<first two hex>/<hex>/data          content-addressed bytes
      repositories/<name>/
        _layers/<alg>/<hex>/link                      blob (layer or config) linked to the repo
        _manifests/revisions/<alg>/<hex>/link         manifest known to the repo
        _manifests/tags/<tag>/current/link            what the tag points at now
        _manifests/tags/<tag>/index/<alg>/<hex>/link  every digest the tag ever pointed at
        _uploads/...                                  in-flight uploads: never copied

Every function takes validated names, tags and digests (see :mod:`scraper_core.reference`),
so the paths they build always stay inside the tree.
"""

from __future__ import annotations

from scraper_core.digest import Digest

V2_ROOT = "/docker/registry/v2"
REPOSITORIES_ROOT = f"{V2_ROOT}/repositories"
BLOBS_ROOT = f"{V2_ROOT}/blobs"


def blob_data_path(digest: Digest) -> str:
    return f"{BLOBS_ROOT}/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}/data"


def repository_path(name: str) -> str:
    return f"{REPOSITORIES_ROOT}/{name}"


def layer_link_path(name: str, digest: Digest) -> str:
    return f"{repository_path(name)}/_layers/{digest.algorithm}/{digest.hex}/link"


def revision_link_path(name: str, digest: Digest) -> str:
    return f"{repository_path(name)}/_manifests/revisions/{digest.algorithm}/{digest.hex}/link"


def tags_path(name: str) -> str:
    return f"{repository_path(name)}/_manifests/tags"


def tag_current_link_path(name: str, tag: str) -> str:
    return f"{tags_path(name)}/{tag}/current/link"


def tag_index_link_path(name: str, tag: str, digest: Digest) -> str:
    return f"{tags_path(name)}/{tag}/index/{digest.algorithm}/{digest.hex}/link"


#: Receipts of the runs that wrote this storage, beside ``docker/`` (a registry never reads
#: them): one JSON document per run, named so that runs never overwrite each other's.
RECEIPTS_ROOT = "/scrape-receipts"


def receipt_path(name: str) -> str:
    """``name`` is the run's own file name, e.g. ``20261130T021336Z-3f9a.json``."""
    return f"{RECEIPTS_ROOT}/{name}"
