"""Streaming reads and atomic writes of one object, on the SDK's own file objects.

Reads go through :class:`google.cloud.storage.fileio.BlobReader`: ranged GETs of one chunk
each, pinned to the generation seen when the reader opened, so an object replaced mid-read is
an error instead of a splice of two versions. Memory per reader is about one chunk.

Writes buffer up to one chunk. Content that fits is sent by one upload on commit; larger
content goes out as a resumable upload (:class:`~google.cloud.storage.fileio.BlobWriter`),
which creates the object only when its last chunk is sent, i.e. on commit. Cancel terminates
the upload session; nothing is ever visible at the name before commit.
"""

from __future__ import annotations

from typing import Any

from registry_scraper_gcs.config import CONTENT_TYPE, DRIVER_NAME
from registry_scraper_gcs.errors import (
    TRANSLATOR,
    is_not_found,
    sdk_errors,
    status_code,
    translated,
)
from scraper_core.bucket.partwriter import PartWriter
from scraper_core.bucket.pinnedstream import PinnedStream

#: A ``google.cloud.storage.Blob`` (the SDK ships no type information).
Blob = Any


class ObjectReader(PinnedStream):
    """A :class:`BlobReader` pinned to the generation it opened, for ``io.BufferedReader``."""

    def __init__(self, blob: Blob, path: str, offset: int, chunk_size: int) -> None:
        from google.cloud.storage.fileio import BlobReader
        from google.cloud.storage.retry import DEFAULT_RETRY

        # raw_download: the stored bytes, never decompressed (offsets and sizes stay true).
        reader = BlobReader(
            blob,
            chunk_size=chunk_size,
            retry=DEFAULT_RETRY,
            if_generation_match=blob.generation,
            raw_download=True,
        )
        # The blob's size is known, so seeking costs no request; past the end reads b"".
        reader.seek(offset)
        super().__init__(reader, path, TRANSLATOR, _generation_gone)
        self._blob_reader = reader

    def close(self) -> None:
        if not self.closed:
            self._blob_reader.close()
        super().close()


def _generation_gone(exc: BaseException) -> bool:
    # The generation this reader is pinned to is gone or was replaced.
    return is_not_found(exc) or status_code(exc) == 412


class ObjectWriter(PartWriter):
    """Buffers one chunk, then streams a resumable upload; see the module docstring."""

    part_size_option = "chunk_size"

    def __init__(self, blob: Blob, path: str, chunk_size: int) -> None:
        super().__init__(DRIVER_NAME, path, chunk_size)
        self._blob = blob
        self._upload: Any = None

    def _send_part(self, part: bytes, number: int) -> None:
        with translated(self.path):
            if self._upload is None:
                self._upload = self._start_upload()
            self._upload.write(part)

    def _start_upload(self) -> Any:
        from google.cloud.storage.fileio import BlobWriter
        from google.cloud.storage.retry import DEFAULT_RETRY

        # Every chunk of a resumable upload may be resent safely, so always retry.
        return BlobWriter(
            self._blob,
            chunk_size=self.part_size,
            retry=DEFAULT_RETRY,
            content_type=CONTENT_TYPE,
        )

    def _complete(self) -> None:
        with translated(self.path):
            # The last chunk, with the total size: the object appears now, not before.
            self._upload.close()

    def _put_whole(self, data: bytes) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        with translated(self.path):
            # Writing the same bytes twice is harmless, so the upload may be retried.
            self._blob.upload_from_string(data, content_type=CONTENT_TYPE, retry=DEFAULT_RETRY)

    def _abort(self) -> None:
        upload, self._upload = self._upload, None
        if upload is not None and not upload.closed:
            try:
                upload.terminate()
            except sdk_errors():
                # An unfinished session never becomes an object and expires within a week:
                # failing to end it early frees nothing the caller could see.
                pass
