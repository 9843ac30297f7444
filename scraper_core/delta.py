"""A delta on arrival: the blobs its receipts rely on must be at the destination already.

A source holding receipts that rely on blobs is a delta: before anything is written, every such
blob must be at the destination (or in the source itself). :class:`DeltaSource` then lets the
planner read the manifests the delta left out from the destination, where they already are;
the copier finds those blobs present and skips them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO, ClassVar

from scraper_core import layout
from scraper_core.bloblist import BlobSizes
from scraper_core.checked import CheckedDriver
from scraper_core.contract import Capability, FileInfo
from scraper_core.digest import Digest
from scraper_core.errors import PathNotFoundError, ScraperError
from scraper_core.receipt import Receipt

#: How many missing digests a refusal names; the count says how many more there are.
SHOWN_MISSING = 3


def _size_at(driver: CheckedDriver, digest: Digest) -> int | None:
    try:
        return driver.stat(layout.blob_data_path(digest)).size
    except PathNotFoundError:
        return None


def locate_relied_on(
    needed: Mapping[Digest, int], source: CheckedDriver, dest: CheckedDriver | None
) -> tuple[list[Digest], list[Digest]]:
    """Of the blobs a delta relies on: those neither the source nor the destination holds,
    and those only the destination holds (one or two stats each; both sorted)."""
    missing: list[Digest] = []
    at_dest: list[Digest] = []
    for digest, size in sorted(needed.items()):
        if _size_at(source, digest) == size:
            continue
        if dest is not None and _size_at(dest, digest) == size:
            at_dest.append(digest)
        else:
            missing.append(digest)
    return missing, at_dest


def refusal(missing: list[Digest], total: int) -> str:
    shown = ", ".join(str(digest) for digest in missing[:SHOWN_MISSING])
    more = f" and {len(missing) - SHOWN_MISSING} more" if len(missing) > SHOWN_MISSING else ""
    return (
        f"the source is a delta: {len(missing)} of the {total} blobs it relies on are not at "
        f"the destination: {shown}{more}; import the earlier shipment first"
    )


class DeltaSource:
    """A read-only source whose blobs the delta left out are read from the destination.

    Only blob paths of the digests given (those the receipts name and the source lacks) are
    redirected; links and tags always come from the source.
    """

    name: ClassVar[str] = "delta"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, source: CheckedDriver, dest: CheckedDriver, relied: Iterable[Digest]):
        self.source = source
        self.dest = dest
        self._redirect = {layout.blob_data_path(digest) for digest in relied}

    @property
    def latency_bound(self) -> bool:
        return self.source.latency_bound or self.dest.latency_bound

    def _from(self, path: str) -> CheckedDriver:
        return self.dest if path in self._redirect else self.source

    def get_content(self, path: str) -> bytes:
        return self._from(path).get_content(path)

    def read_head(self, path: str, size: int) -> bytes:
        return self._from(path).read_head(path, size)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self._from(path).reader(path, offset)  # type: ignore[return-value]

    def stat(self, path: str) -> FileInfo:
        return self._from(path).stat(path)

    def list_dir(self, path: str) -> list[str]:
        return self.source.list_dir(path)

    def walk(self, path: str) -> Iterator[FileInfo]:
        return self.source.walk(path)


def check_delta(
    source: CheckedDriver, dest: CheckedDriver | None, receipts: Iterable[Receipt]
) -> CheckedDriver:
    """The source to plan from: ``source`` itself, or, for a delta whose blobs are all at
    the destination, a :class:`DeltaSource`. :class:`DeltaRefusedError` if any is missing."""
    needed = BlobSizes()
    for receipt in receipts:
        needed.merge(receipt.relies_on)
    if not needed:
        return source
    missing, at_dest = locate_relied_on(needed, source, dest)
    if missing:
        raise DeltaRefusedError(refusal(missing, len(needed)))
    if dest is None or not at_dest:
        return source
    view = CheckedDriver(DeltaSource(source, dest, at_dest), read_only=True)
    # Errors name the source's driver, as they would without the view.
    view.name = source.name
    return view


class DeltaRefusedError(ScraperError):
    """A delta whose relied-on blobs are not at the destination: nothing was written."""
