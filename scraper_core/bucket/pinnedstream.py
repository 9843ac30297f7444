"""A raw stream of one version of an object, for ``io.BufferedReader``.

For plugin authors of bucket drivers. The SDK's reader is pinned to the version the read began
with (an ETag, a generation): a version replaced or deleted mid-read makes its next request
fail, and :class:`PinnedStream` makes that failure a :class:`StorageError` saying the object
changed, never a splice of two versions nor a "not found" the core would take for an absent
blob. Any other SDK error is translated as the driver's :class:`ErrorTranslator` says.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, Protocol

from scraper_core.bucket.sdkerrors import ErrorTranslator
from scraper_core.errors import StorageError


class SdkReader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class PinnedStream(io.RawIOBase):
    """Reads ``reader`` (the SDK's, pinned to one version of the object at ``path``)."""

    def __init__(
        self,
        reader: SdkReader,
        path: str,
        errors: ErrorTranslator,
        version_gone: Callable[[BaseException], bool],
        noun: str = "object",
    ) -> None:
        super().__init__()
        self._reader = reader
        self._path = path
        self._errors = errors
        self._version_gone = version_gone
        self._noun = noun

    def readable(self) -> bool:
        return True

    def _read(self, size: int) -> bytes:
        try:
            return self._reader.read(size)
        except StorageError:
            raise
        except self._errors.sdk_errors() as exc:
            if self._version_gone(exc):
                changed = f"{self._noun} changed while it was being read"
                raise StorageError(self._errors.driver, self._path, changed) from exc
            raise self._errors.to_storage_error(self._path, exc) from exc

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self._read(-1)
