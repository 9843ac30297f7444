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

import io
from typing import Any

from registry_scraper_gcs.config import CONTENT_TYPE, DRIVER_NAME
from registry_scraper_gcs.errors import (
    is_not_found,
    sdk_errors,
    status_code,
    to_storage_error,
    translated,
)
from scraper_core.bucket.partwriter import PartWriter
from scraper_core.errors import StorageError

#: A ``google.cloud.storage.Blob`` (the SDK ships no type information).
Blob = Any


class ObjectReader(io.RawIOBase):
    """A :class:`BlobReader` whose failures are the core's errors, for ``io.BufferedReader``."""

    def __init__(self, blob: Blob, path: str, offset: int, chunk_size: int) -> None:
        super().__init__()
        from google.cloud.storage.fileio import BlobReader
        from google.cloud.storage.retry import DEFAULT_RETRY

        self._path = path
        # raw_download: the stored bytes, never decompressed (offsets and sizes stay true).
        self._reader = BlobReader(
            blob,
            chunk_size=chunk_size,
            retry=DEFAULT_RETRY,
            if_generation_match=blob.generation,
            raw_download=True,
        )
        # The blob's size is known, so seeking costs no request; past the end reads b"".
        self._reader.seek(offset)

    def readable(self) -> bool:
        return True

    def _read(self, size: int) -> bytes:
        try:
            data: bytes = self._reader.read(size)
        except sdk_errors() as exc:
            # The generation this reader is pinned to is gone or was replaced.
            if is_not_found(exc) or status_code(exc) == 412:
                raise StorageError(
                    DRIVER_NAME, self._path, "object changed while it was being read"
                ) from exc
            raise to_storage_error(self._path, exc) from exc
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self._read(-1)

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


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
