"""A :class:`~scraper_core.contract.FileWriter` over S3 multipart upload.

Up to one part is buffered. Content smaller than a part is sent with one PutObject on commit;
larger content goes out part by part as it is written and becomes an object only when
CompleteMultipartUpload succeeds, so nothing is ever visible at the key before commit. Cancel
aborts the upload, which frees the parts already stored.
"""

from __future__ import annotations

from typing import Any

from registry_scraper_s3.config import DRIVER_NAME
from registry_scraper_s3.errors import (
    error_code,
    is_not_found,
    sdk_errors,
    to_storage_error,
    translated,
)
from scraper_core.bucket.partwriter import PartWriter

#: S3's limit on parts per upload.
MAX_PARTS = 10_000
CONTENT_TYPE = "application/octet-stream"


class MultipartWriter(PartWriter):
    """Buffers ``part_size`` bytes at a time; see the module docstring."""

    max_parts = MAX_PARTS

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        path: str,
        part_size: int,
        *,
        parallel_parts: int = 1,
    ) -> None:
        super().__init__(DRIVER_NAME, path, part_size, parallel_parts=parallel_parts)
        self._client = client
        self._bucket = bucket
        self._key = key
        self._upload_id: str | None = None
        #: Part number -> ETag; parts may finish in any order.
        self._etags: dict[int, str] = {}

    def _begin(self) -> None:
        with translated(self.path):
            created = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=CONTENT_TYPE
            )
        self._upload_id = created["UploadId"]

    def _send_part(self, part: bytes, number: int) -> None:
        with translated(self.path):
            response = self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=part,
            )
        self._etags[number] = response["ETag"]

    def _put_whole(self, data: bytes) -> None:
        with translated(self.path):
            self._client.put_object(
                Bucket=self._bucket, Key=self._key, Body=data, ContentType=CONTENT_TYPE
            )

    def _complete(self) -> None:
        with translated(self.path):
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={
                    "Parts": [
                        {"PartNumber": number, "ETag": etag}
                        for number, etag in sorted(self._etags.items())
                    ]
                },
            )

    def _abort(self) -> None:
        if self._upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
            )
        except sdk_errors() as exc:
            # Already gone (a commit that failed only on the way back): nothing to free.
            if error_code(exc) != "NoSuchUpload" and not is_not_found(exc):
                raise to_storage_error(self.path, exc) from exc
