"""Turns azure-storage-blob failures into the core's error tree, without leaking secrets.

Messages hold the service's error code and the first line of its message only (the rest is
request ids and the raw XML). Query strings are cut from anything URL-shaped: that is where a
SAS signature sits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager

from registry_scraper_azure.config import DRIVER_NAME
from scraper_core.errors import PathNotFoundError, StorageError

_MAX_DETAIL = 200
_URL_QUERY_RE = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")
#: A 404 with these codes is about the container or account, never about one path.
_NOT_A_PATH = frozenset({"ContainerNotFound", "ContainerBeingDeleted", "ResourceNotFound"})
#: Codes for "these credentials may not do that" and "this service cannot do that".
REFUSED_CODES = frozenset(
    {
        "AuthenticationFailed",
        "AuthorizationFailure",
        "AuthorizationPermissionMismatch",
        "AuthorizationSourceIPMismatch",
        "AuthorizationProtocolMismatch",
        "AuthorizationResourceTypeMismatch",
        "AuthorizationServiceMismatch",
        "CannotVerifyCopySource",
        "InsufficientAccountPermissions",
        "NoAuthenticationInformation",
        "PublicAccessNotPermitted",
    }
)
UNSUPPORTED_CODES = frozenset({"APINotImplemented", "FeatureNotSupported", "NotImplemented"})


@functools.cache
def sdk_errors() -> tuple[type[Exception], ...]:
    """Exceptions the SDK and its transport raise (imported late: the SDK is heavy)."""
    from azure.core.exceptions import AzureError

    return (AzureError, OSError)


def error_code(exc: BaseException) -> str | None:
    """The storage error code (``BlobNotFound``, ``ConditionNotMet``), else None."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    # StorageErrorCode is a str enum, whose str() is its member name, not its value.
    return str(getattr(code, "value", code))


def status_code(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def is_not_found(exc: BaseException) -> bool:
    """A missing blob (404), as opposed to a missing container or account."""
    return status_code(exc) == 404 and error_code(exc) not in _NOT_A_PATH


def is_refused(exc: BaseException) -> bool:
    return status_code(exc) in (401, 403) or error_code(exc) in REFUSED_CODES


def is_unsupported(exc: BaseException) -> bool:
    return status_code(exc) == 501 or error_code(exc) in UNSUPPORTED_CODES


def describe(exc: BaseException) -> str:
    """A one-line detail: ``AuthorizationPermissionMismatch: This request is not ...``."""
    code = error_code(exc)
    message = getattr(exc, "message", None)
    text = str(message) if isinstance(message, str) and message else str(exc)
    lines = text.strip().splitlines()
    first = _URL_QUERY_RE.sub(r"\1", lines[0].strip()) if lines else ""
    if code is not None:
        detail = f"{code}: {first}" if first and first != code else code
    elif status_code(exc) is not None:
        detail = f"HTTP {status_code(exc)}" + (f": {first}" if first else "")
    else:
        detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
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
    """Re-raise SDK and transport errors as :class:`StorageError` naming ``path``.

    A missing container is ``ContainerNotFound``, not a missing path: the core must not take
    a deleted or misnamed container for an absent blob.
    """
    try:
        yield
    except StorageError:
        raise
    except sdk_errors() as exc:
        raise to_storage_error(path, exc) from exc
