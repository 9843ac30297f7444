"""``--have``: what the far side has, and the plans without it (a delta shipment).

``--have FILE`` takes an inventory (``scrape inventory``) or a receipt; for a receipt, the
blobs it contains and the blobs it relies on both count as present at the far side. Each file
is read up to :data:`~scraper_core.optfile.HAVE_FILE_CAP` and decoded once. A planned blob the
far side has (same digest, same size) is left out of the run: its bytes are never read. Its
links and the tags are still written, so the shipment, laid over the site, serves every image.
What happens on arrival is :mod:`scraper_core.delta`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import BinaryIO

from scraper_core.bloblist import BlobSizes, ReceiptError, load_document, parse_blob_list
from scraper_core.digest import Digest
from scraper_core.optfile import HAVE_FILE_CAP, STDIN, open_option_file, read_capped, shown_name
from scraper_core.plan import ImageContent, ImagePlan
from scraper_core.receipt import RECEIPT_FORMAT, receipt_of


def parse_have(data: bytes, where: str) -> BlobSizes:
    """The blobs an inventory or a receipt says the far side has. ``data`` is dropped once
    decoded: the caller must not keep it (see :mod:`scraper_core.bloblist`)."""
    # Imported here: only --have reads an inventory, and every copy imports this module.
    from scraper_core.inventory import INVENTORY_FORMAT, INVENTORY_VERSION

    document = load_document(data, where)
    del data
    kind = document.get("format") if isinstance(document, dict) else None
    if kind == INVENTORY_FORMAT:
        if document.get("version") != INVENTORY_VERSION:
            raise ReceiptError(f"{where}: inventory version {document.get('version')!r} unknown")
        return parse_blob_list(document.pop("blobs", None), where)
    if kind == RECEIPT_FORMAT:
        receipt = receipt_of(document, where)
        del document
        held = receipt.relies_on
        held.merge(receipt.blobs)
        return held
    raise ReceiptError(f"{where}: neither a scrape inventory nor a receipt")


def load_have(files: Iterable[BinaryIO], digests: list[str] | None = None) -> BlobSizes:
    """Every blob the ``--have`` files (inventories or receipts) say the far side has; each
    read up to :data:`HAVE_FILE_CAP`, parsed once, its text dropped before the next.
    ``digests``, when given, gets the sha256 of each file (the receipt records them)."""
    have = BlobSizes()
    for stream in files:
        name = getattr(stream, "name", STDIN)
        path = name if isinstance(name, str) and name != "<stdin>" else STDIN
        where = f"--have {shown_name(path)}"
        data = read_capped(stream, path, "--have", HAVE_FILE_CAP)
        if digests is not None:
            digests.append(Digest.of(data).hex)
        # Passed on, not kept: parse_have drops the bytes once decoded.
        have.merge(parse_have(data, where))
        del data
    return have


def load_have_paths(paths: Iterable[str]) -> BlobSizes:
    """:func:`load_have` of the files at ``paths`` (``-``: standard input), each opened (never
    blocking, regular files only) and closed in turn."""
    have = BlobSizes()
    for path in paths:
        stream = open_option_file(path, "--have")
        try:
            have.merge(load_have([stream]))
        finally:
            if path != STDIN:
                stream.close()
    return have


def leave_out(
    plans: Iterable[ImagePlan], have: Mapping[Digest, int]
) -> tuple[list[ImagePlan], dict[Digest, int]]:
    """The plans without the blobs the far side has, and those blobs (digest -> size).

    A blob counts as there only with the size the plan expects: a different size is another
    object (or a broken one) and is shipped.
    """
    trimmed: list[ImagePlan] = []
    left: dict[Digest, int] = {}
    # Plans of tags on one image share their content: it is trimmed once, and shared again.
    kept_contents: dict[int, ImageContent] = {}
    for plan in plans:
        kept = kept_contents.get(id(plan.content))
        if kept is None:
            kept = ImageContent(
                links=list(plan.links),
                skipped=list(plan.skipped),
                manifest_digests=list(plan.manifest_digests),
            )
            for blob in plan.blobs:
                if have.get(blob.digest) == blob.size:
                    left[blob.digest] = blob.size
                else:
                    kept.add_blob(blob)
            kept_contents[id(plan.content)] = kept
        trimmed.append(
            ImagePlan(plan.reference, plan.digest, content=kept, tag_links=list(plan.tag_links))
        )
    return trimmed, left
