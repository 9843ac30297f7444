"""A dry run's blob copies as a bulk engine's input (``scrape copy --dry-run --plan-format``).

For copies too big for one process: the engine (s5cmd, S3 Batch Operations, rclone) moves the
blobs, then a scrape of the same images finds them present and writes only the links, and
``scrape verify`` checks every byte. Only blobs missing at the destination are listed, each
once; links never are (scrape writes those, after the blobs are there).

Formats (one line per blob, in plan order, ``\\n``-terminated):

``s5cmd``
    ``cp SOURCE TARGET``, the commands ``s5cmd run FILE`` reads: ``s3://BUCKET/KEY`` for an
    object store, an absolute path for a local directory (quoted when it needs quoting).
``csv``
    ``BUCKET,KEY`` with the key URL-encoded (``/`` kept), no header: the manifest shape S3
    Batch Operations reads (its CSV manifest, without version IDs).
``keys``
    ``KEY``, the source key as is: what ``rclone copy --files-from FILE SRC:BUCKET DST``
    reads (paths relative to the bucket given on its command line).

How a storage path is named is the driver's to say, through its optional abilities
``object_url(path) -> str`` (``s3://bucket/key``, or an absolute file path) and, for the
formats that name bucket and key apart, ``object_key(path) -> (bucket, key)``; this module
never maps keys or parses URLs itself.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import quote

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.contract import SupportsObjectKey, SupportsObjectUrl
from scraper_core.digest import Digest
from scraper_core.errors import ConfigurationError, ScraperError
from scraper_core.plan import BlobCopy, ImagePlan

FORMATS = ("s5cmd", "csv", "keys")


@dataclass(frozen=True)
class BlobTransfer:
    """One blob the engine should copy: where it is, where it goes."""

    digest: Digest
    size: int
    source: str
    target: str
    #: The source's bucket and key, when its driver has them (:class:`SupportsObjectKey`).
    source_object: tuple[str, str] | None = None


def object_namer(driver: CheckedDriver, role: str) -> Callable[[str], str]:
    """The driver's own ``object_url``; a ConfigurationError when it has none."""
    named = driver.driver
    if not isinstance(named, SupportsObjectUrl):
        raise ConfigurationError(
            f"--plan-format: the {driver.name} driver cannot name its objects for a bulk "
            f"engine (no object_url), so it cannot be the {role}"
        )
    return named.object_url


def blob_transfers(
    source: CheckedDriver, dest: CheckedDriver, planned: Sequence[object]
) -> Iterator[BlobTransfer]:
    """Each blob of the plans that ``dest`` lacks (by size, as a run trusts it), once.

    An image whose blobs cannot be looked up at the destination is left out (the dry run's
    report already says why, and exits 1).
    """
    from scraper_core.transfer import BlobCopier

    source_url = object_namer(source, "source")
    dest_url = object_namer(dest, "destination")
    raw_source = source.driver
    source_key = raw_source.object_key if isinstance(raw_source, SupportsObjectKey) else None
    copier = BlobCopier(source, dest)
    seen: set[Digest] = set()
    for item in planned:
        if not isinstance(item, ImagePlan):
            continue
        wanted: list[BlobCopy] = []
        try:
            for blob in item.blobs:
                if blob.digest not in seen and not copier.is_present(blob):
                    wanted.append(blob)
                seen.add(blob.digest)
        except ScraperError:
            continue
        for blob in wanted:
            path = layout.blob_data_path(blob.digest)
            key = source_key(path) if source_key is not None else None
            yield BlobTransfer(blob.digest, blob.size, source_url(path), dest_url(path), key)


def _source_object(transfer: BlobTransfer) -> tuple[str, str]:
    if transfer.source_object is None:
        raise ConfigurationError(
            "--plan-format csv/keys need a source in an object store's bucket (its driver "
            f"names bucket and key: object_key), not {transfer.source!r}"
        )
    return transfer.source_object


def format_line(transfer: BlobTransfer, plan_format: str) -> str:
    if plan_format == "s5cmd":
        # s5cmd splits `run` lines as a POSIX shell would; an object URL is left as it is.
        return f"cp {shlex.quote(transfer.source)} {shlex.quote(transfer.target)}"
    if plan_format == "csv":
        bucket, key = _source_object(transfer)
        return f"{bucket},{quote(key, safe='/')}"
    if plan_format == "keys":
        return _source_object(transfer)[1]
    raise ConfigurationError(f"unknown plan format {plan_format!r} (one of {', '.join(FORMATS)})")


def write_transfer_list(
    transfers: Iterator[BlobTransfer] | Sequence[BlobTransfer], plan_format: str, out: TextIO
) -> int:
    """Write one line per transfer; returns how many were written."""
    written = 0
    for transfer in transfers:
        out.write(format_line(transfer, plan_format) + "\n")
        written += 1
    return written
