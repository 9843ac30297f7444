"""A :class:`~scraper_core.driver.FileWriter` over S3 multipart upload.

Up to one part is buffered. Content smaller than a part is sent with one PutObject on commit;
larger content goes out part by part as it is written and becomes an object only when
CompleteMultipartUpload succeeds, so nothing is ever visible at the key before commit. Cancel
aborts the upload, which frees the parts already stored.
"""

from __future__ import annotations

import enum
from typing import Any

from registry_scraper_s3.config import DRIVER_NAME
from registry_scraper_s3.errors import (
    error_code,
    is_not_found,
    sdk_errors,
    to_storage_error,
    translated,
)
from scraper_core.driver import CancelOnExit
from scraper_core.errors import StorageError

#: S3's limit on parts per upload.
MAX_PARTS = 10_000
CONTENT_TYPE = "application/octet-stream"


class _State(enum.Enum):
    OPEN = "open"
    COMMITTED = "committed"
    #: A commit raised: its outcome is unknown, so only cancel (abort) is left.
    FAILED = "failed commit"
    CANCELLED = "cancelled"


class MultipartWriter(CancelOnExit):
    """Buffers ``part_size`` bytes at a time; see the module docstring."""

    def __init__(self, client: Any, bucket: str, key: str, path: str, part_size: int) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._path = path
        self._part_size = part_size
        self._buffer = bytearray()
        self._size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._state = _State.OPEN

    @property
    def size(self) -> int:
        return self._size

    def _require_open(self, action: str) -> None:
        if self._state is not _State.OPEN:
            raise StorageError(DRIVER_NAME, self._path, f"{action} after {self._state.value}")

    def write(self, data: bytes) -> int:
        self._require_open("write")
        self._buffer += data
        self._size += len(data)
        while len(self._buffer) >= self._part_size:
            part = self._buffer[: self._part_size]
            del self._buffer[: self._part_size]
            self._upload_part(part)
        return len(data)

    def _upload_part(self, data: bytearray) -> None:
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise StorageError(
                DRIVER_NAME, self._path, f"more than {MAX_PARTS} parts: raise option part_size"
            )
        with translated(self._path):
            if self._upload_id is None:
                created = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._key, ContentType=CONTENT_TYPE
                )
                self._upload_id = created["UploadId"]
            response = self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=bytes(data),
            )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def commit(self) -> None:
        self._require_open("commit")
        try:
            self._finish()
        except BaseException:
            self._state = _State.FAILED
            raise
        self._state = _State.COMMITTED
        self._buffer = bytearray()

    def _finish(self) -> None:
        if self._upload_id is None:
            with translated(self._path):
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Body=bytes(self._buffer),
                    ContentType=CONTENT_TYPE,
                )
        else:
            if self._buffer:
                self._upload_part(self._buffer)
            with translated(self._path):
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )

    def cancel(self) -> None:
        if self._state in (_State.COMMITTED, _State.CANCELLED):
            return
        self._state = _State.CANCELLED
        self._buffer = bytearray()
        if self._upload_id is not None:
            self._abort(self._upload_id)

    def _abort(self, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=upload_id
            )
        except sdk_errors() as exc:
            # Already gone (a commit that failed only on the way back): nothing to free.
            if error_code(exc) != "NoSuchUpload" and not is_not_found(exc):
                raise to_storage_error(self._path, exc) from exc
