"""Turns google-cloud-storage failures into the core's error tree, without leaking secrets.

Messages hold the HTTP status and the service's reason only. The SDK's own texts start with
the request's method and URL, which are dropped: they only repeat the bucket and object name,
and a URL is where a token or signature would sit if one ever did.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager

from registry_scraper_gcs.config import DRIVER_NAME
from scraper_core.errors import PathNotFoundError, StorageError

_MAX_DETAIL = 200
# "GET https://storage.googleapis.com/...: " at the head of GoogleAPICallError messages.
_REQUEST_RE = re.compile(r"^[A-Z]+ \S+: ")
_URL_QUERY_RE = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")


@functools.cache
def sdk_errors() -> tuple[type[Exception], ...]:
    """Exceptions the SDK and its transport raise (imported late: the SDK is heavy)."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError
    from google.cloud.storage.exceptions import DataCorruption, InvalidResponse
    from requests.exceptions import RequestException

    return (
        GoogleAPIError,
        GoogleAuthError,
        InvalidResponse,
        DataCorruption,
        RequestException,
        OSError,
    )


def status_code(exc: BaseException) -> int | None:
    """The HTTP status behind an SDK error, when there was a response."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_not_found(exc: BaseException) -> bool:
    return status_code(exc) == 404


def is_refused(exc: BaseException) -> bool:
    """Access denied (401, 403): the credentials may not do this."""
    return status_code(exc) in (401, 403)


def describe(exc: BaseException) -> str:
    """A one-line detail: ``HTTP 403: ... does not have storage.objects.get access``."""
    status = status_code(exc)
    message = getattr(exc, "message", None)
    text = str(message) if isinstance(message, str) else str(exc)
    text = _REQUEST_RE.sub("", text.strip().splitlines()[0] if text.strip() else "")
    text = _URL_QUERY_RE.sub(r"\1", text)
    if status is not None:
        detail = f"HTTP {status}" + (f": {text}" if text else "")
    else:
        detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    detail = " ".join(detail.split())
    return detail if len(detail) <= _MAX_DETAIL else detail[: _MAX_DETAIL - 3] + "..."


def to_storage_error(path: str, exc: BaseException) -> StorageError:
    if isinstance(exc, StorageError):
        return exc
    if is_not_found(exc):
        return PathNotFoundError(DRIVER_NAME, path)
    return StorageError(DRIVER_NAME, path, describe(exc))


@contextmanager
def translated(path: str) -> Iterator[None]:
    """Re-raise SDK and transport errors as :class:`StorageError` naming ``path``."""
    try:
        yield
    except StorageError:
        raise
    except sdk_errors() as exc:
        raise to_storage_error(path, exc) from exc


@contextmanager
def listing(path: str) -> Iterator[None]:
    """Like :func:`translated`, for listings: there a 404 means the bucket is gone.

    A missing prefix lists as empty, so it must not become a missing path: the core would
    take a deleted or misnamed bucket for an absent blob.
    """
    try:
        yield
    except StorageError:
        raise
    except sdk_errors() as exc:
        if is_not_found(exc):
            raise StorageError(DRIVER_NAME, path, "no such bucket") from exc
        raise to_storage_error(path, exc) from exc
