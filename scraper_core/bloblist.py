"""Blob lists of receipts and inventories (``[{"digest": ..., "size": ...}, ...]``), read into
compact structures.

A receipt or an inventory of a big registry lists a million blobs. Read as plain JSON, each
entry becomes a dict of two strings and an int, then a :class:`Digest` (two more strings and
an instance dict): about 700 bytes of memory for 100 bytes of file. Here the text is decoded
once (the bytes dropped before parsing), each entry becomes a ``(key, size)`` tuple as it is
parsed, objects no caller reads are dropped as they are parsed, and the mapping kept is
:class:`BlobSizes`, keyed by the digest's raw bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeGuard

from scraper_core.digest import HEX_LENGTHS, Digest
from scraper_core.errors import InvalidReferenceError, ScraperError
from scraper_core.optfile import decode_utf8
from scraper_core.shape import SHAPE_MARK, SUBSET_MARK

#: Sizes are offsets in files and objects: below 2**63, as Go's int64 and os.stat have them.
SIZE_LIMIT = 2**63
# The longest integer text a size (or any count in these documents) can have: 2**63 - 1 has 19
# digits. Python refuses to convert past 4,300 digits; far less is enough to refuse here.
_MAX_DIGITS = 20
_CODES = {name: bytes([number]) for number, name in enumerate(HEX_LENGTHS)}
_NAMES = dict(enumerate(HEX_LENGTHS))
_ENTRY_KEYS = frozenset({"digest", "size"})
#: The key naming a receipt's image entry, and a source read (its ``shipment``).
_IMAGE_MARK, _READ_MARK = "reference", "read_at"


class ReceiptError(ScraperError):
    """A receipt or an inventory (or a file given as one) that cannot be read."""


def _key(digest: Digest) -> bytes:
    return _CODES[digest.algorithm] + bytes.fromhex(digest.hex)


def _digest(key: bytes) -> Digest:
    return Digest(_NAMES[key[0]], key[1:].hex())


class BlobSizes(Mapping[Digest, int]):
    """digest -> size, each key 33 to 65 bytes (an algorithm byte and the raw digest) rather
    than a :class:`Digest` of about 350."""

    __slots__ = ("_sizes",)

    def __init__(self, items: Iterable[tuple[Digest, int]] = ()) -> None:
        self._sizes: dict[bytes, int] = {_key(digest): size for digest, size in items}

    def __getitem__(self, digest: Digest) -> int:
        return self._sizes[_key(digest)]

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, Digest) and _key(digest) in self._sizes

    def __iter__(self) -> Iterator[Digest]:
        return map(_digest, self._sizes)

    def __len__(self) -> int:
        return len(self._sizes)

    def __repr__(self) -> str:
        return f"BlobSizes({len(self)} blobs)"

    def merge(self, other: BlobSizes) -> None:
        """Add ``other``'s blobs (its sizes win)."""
        self._sizes.update(other._sizes)


def valid_size(value: object) -> TypeGuard[int]:
    """Whether ``value`` (from JSON) is a size: a non-negative integer below 2**63."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < SIZE_LIMIT


def _kept_part(pairs: list[tuple[str, Any]]) -> Any:
    """A JSON object as it is parsed, kept only if it is what these documents are read for:
    a sound blob entry (``digest`` and ``size``, other keys ignored) as a ``(key, size)``
    tuple; the document itself (the object naming its ``format``) and a damaged blob entry
    (no key but ``digest`` and ``size``: refused, naming the file, when its list is read) as
    a dict; a receipt's ``shaped_by``, as its platforms only; a receipt's image entries as
    their reference, digest and platform-subset mark, and its source reads (``shipment``,
    ``imported_from``), for ordering (see :mod:`scraper_core.shipment`) and the subset rule
    (see :mod:`scraper_core.shape`). Others (repositories and their tags,
    totals) are dropped at once (None): an inventory's tags would otherwise outweigh its
    blobs."""
    keys = {key for key, _value in pairs}
    if "format" in keys or _READ_MARK in keys:
        return dict(pairs)
    if SHAPE_MARK in keys:
        # A receipt's ``shaped_by``: only whether it chose platforms is read here.
        return {"platforms": dict(pairs).get("platforms")}
    if _IMAGE_MARK in keys or SUBSET_MARK in keys:
        fields = dict(pairs)
        return {key: fields[key] for key in (_IMAGE_MARK, "digest", SUBSET_MARK) if key in fields}
    if not keys & _ENTRY_KEYS:
        return None
    fields = dict(pairs)
    size, text = fields.get("size"), fields.get("digest")
    if valid_size(size) and isinstance(text, str):
        try:
            return (_key(Digest.parse(text)), size)
        except InvalidReferenceError:
            pass
    # An image entry names a digest too, with other keys: not kept.
    return fields if keys <= _ENTRY_KEYS else None


def _bounded_int(where: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if len(text.lstrip("-")) > _MAX_DIGITS:
            raise ReceiptError(
                f"{where}: a number of {len(text)} digits; sizes are integers below 2**63"
            )
        return int(text)

    return parse


def load_document(data: bytes, where: str) -> Any:
    """The JSON document in ``data`` with its blob entries compact (see the module); the
    caller must not keep ``data``: it is dropped once decoded. :class:`ReceiptError` (or a
    decoding error) in one line naming ``where``."""
    text = decode_utf8(data, where)
    del data
    try:
        return json.loads(text, object_pairs_hook=_kept_part, parse_int=_bounded_int(where))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ReceiptError(f"{where}: not JSON ({exc})") from None


def parse_blob_list(raw: Any, where: str) -> BlobSizes:
    """A blob list of a document read by :func:`load_document` as a :class:`BlobSizes`;
    :class:`ReceiptError` naming ``where`` if it is not one."""
    if not isinstance(raw, list):
        raise ReceiptError(f"{where}: expected a list of blobs")
    found = BlobSizes()
    sizes = found._sizes
    for item in raw:
        if type(item) is tuple:
            sizes[item[0]] = item[1]
            continue
        if not isinstance(item, dict):
            raise ReceiptError(f"{where}: a blob entry is not an object")
        size = item.get("size")
        if not valid_size(size):
            raise ReceiptError(f"{where}: invalid blob size {str(size)[:40]!r}")
        try:
            digest = Digest.parse(str(item.get("digest")))
        except InvalidReferenceError as exc:
            raise ReceiptError(f"{where}: {exc}") from None
        sizes[_key(digest)] = size
    return found
