"""Turns azure-storage-blob failures into the core's error tree, without leaking secrets.

Messages hold the service's error code and the first line of its message only (the rest is
request ids and the raw XML). Query strings are cut from anything URL-shaped: that is where a
SAS signature sits.
"""

from __future__ import annotations

import functools

from registry_scraper_azure.config import DRIVER_NAME
from scraper_core.bucket.sdkerrors import ErrorTranslator, one_line

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
    first = lines[0].strip() if lines else ""
    if code is not None:
        detail = f"{code}: {first}" if first and first != code else code
    elif status_code(exc) is not None:
        detail = f"HTTP {status_code(exc)}" + (f": {first}" if first else "")
    else:
        detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return one_line(detail)


TRANSLATOR = ErrorTranslator(
    DRIVER_NAME, sdk_errors, is_not_found, describe, missing_root="no such container"
)
to_storage_error = TRANSLATOR.to_storage_error
#: Wraps calls on blobs. A missing container is ``ContainerNotFound``, not a missing path:
#: the core must not take a deleted or misnamed container for an absent blob.
translated = TRANSLATOR.translated
