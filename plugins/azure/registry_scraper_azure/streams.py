"""Streaming reads and atomic writes of one blob.

Reads go through the SDK's :class:`~azure.storage.blob.StorageStreamDownloader`, one ranged
GET per block-sized chunk, each conditional on the ETag the first one saw: a blob replaced
mid-read is an error instead of a splice of two versions. Memory per reader: about one chunk.

Writes buffer up to one block. Content that fits is sent by one Put Blob on commit; larger
content is staged block by block (Put Block) as it is written and becomes the blob's content
only when Put Block List commits it. Staged blocks are invisible: no listing shows them and the
blob, or its previous content, reads as before. Azure discards them a week later, or when
anyone commits that blob, since a commit keeps only the blocks it names. So a second writer
committing the same name first makes this one's commit fail (block IDs are unique per writer,
so it fails cleanly, never mixing two writers' blocks).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from registry_scraper_azure.config import CONTENT_TYPE, DRIVER_NAME, MAX_BLOCKS
from registry_scraper_azure.errors import (
    TRANSLATOR,
    error_code,
    is_not_found,
    sdk_errors,
    status_code,
    to_storage_error,
    translated,
)
from scraper_core.bucket.partwriter import PartWriter
from scraper_core.bucket.pinnedstream import PinnedStream
from scraper_core.errors import StorageError

#: ``azure.storage.blob.BlobClient`` and ``StorageStreamDownloader`` (typed loosely here).
BlobClient = Any
Downloader = Any


def content_settings() -> Any:
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type=CONTENT_TYPE)


def blob_stream(downloader: Downloader, path: str) -> PinnedStream:
    """The downloader's chunks as a raw stream, its failures the core's errors."""
    return PinnedStream(downloader, path, TRANSLATOR, _version_gone, noun="blob")


def _version_gone(exc: BaseException) -> bool:
    # 412: the ETag the reader is pinned to is no longer the blob's; 404: it is gone.
    return status_code(exc) == 412 or is_not_found(exc)


class BlockWriter(PartWriter):
    """Stages full blocks as they fill, commits the block list; see the module docstring."""

    max_parts = MAX_BLOCKS
    part_size_option = "block_size"

    def __init__(
        self, blob: BlobClient, path: str, block_size: int, *, parallel_parts: int = 1
    ) -> None:
        super().__init__(DRIVER_NAME, path, block_size, parallel_parts=parallel_parts)
        self._blob = blob
        # Every block ID of a blob must have the same length, and must not be another
        # writer's: a random prefix, then a fixed-width counter.
        self._prefix = secrets.token_hex(8)

    def _block_id(self, number: int) -> str:
        return base64.b64encode(f"{self._prefix}-{number:06d}".encode()).decode()

    def _send_part(self, part: bytes, number: int) -> None:
        with translated(self.path):
            self._blob.stage_block(self._block_id(number), part, length=len(part))

    def _put_whole(self, data: bytes) -> None:
        with translated(self.path):
            self._blob.upload_blob(data, overwrite=True, content_settings=content_settings())

    def _complete(self) -> None:
        from azure.storage.blob import BlobBlock

        try:
            self._blob.commit_block_list(
                # The list, not the staging order, says which block goes where.
                [
                    BlobBlock(block_id=self._block_id(number))
                    for number in range(1, self.parts_sent + 1)
                ],
                content_settings=content_settings(),
            )
        except sdk_errors() as exc:
            if error_code(exc) == "InvalidBlockList":
                raise StorageError(
                    DRIVER_NAME,
                    self.path,
                    "staged blocks were discarded: another writer committed this blob meanwhile",
                ) from exc
            raise to_storage_error(self.path, exc) from exc

    # _abort is PartWriter's no-op: staged blocks cannot be removed one by one; Azure drops
    # them at the blob's next commit or after a week, and until then nobody sees them.
