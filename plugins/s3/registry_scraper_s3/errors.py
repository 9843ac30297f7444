"""Turns boto3/botocore failures into the core's error tree, without leaking credentials.

Messages are built from the error code and the service's message only: never from the
request, the client or the session, whose reprs may hold keys or signed URLs.
"""

from __future__ import annotations

import functools
import re
import sys

from registry_scraper_s3.config import DRIVER_NAME
from scraper_core.bucket.sdkerrors import ErrorTranslator, one_line

#: Codes meaning "no such object" (HEAD has no body, so botocore reports the status code).
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden"})
# user:password@ in a URL (an endpoint written with credentials in it).
_USERINFO_RE = re.compile(r"(?<=//)[^/@\s\"']+@")


def sdk_errors() -> tuple[type[Exception], ...]:
    """Exceptions the SDK and its transport raise (imported late: botocore is heavy).
    s3transfer's are among them once it is imported: only its managed copy raises them, and
    importing it for an ``except`` clause cost a read 9 ms of start-up."""
    transfer = sys.modules.get("s3transfer.exceptions")
    if transfer is None:
        return _sdk_errors()
    return (*_sdk_errors(), transfer.RetriesExceededError, transfer.S3CopyFailedError)


@functools.cache
def _sdk_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError
    from urllib3.exceptions import HTTPError

    from registry_scraper_s3.native import NativeError, NativeStreamError

    return (
        ClientError,
        NativeError,
        NativeStreamError,
        BotoCoreError,
        HTTPError,
        OSError,
    )


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a ``ClientError`` (``NoSuchKey``, ``404``), else None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in NOT_FOUND_CODES


def redact(text: str) -> str:
    return _USERINFO_RE.sub("***@", text)


def describe(exc: BaseException) -> str:
    """A one-line detail: ``GetObject: AccessDenied: Access Denied``, or the error's text."""
    code = error_code(exc)
    if code is not None:
        response = getattr(exc, "response", {})
        message = str(response.get("Error", {}).get("Message") or "").strip()
        operation = getattr(exc, "operation_name", "") or "request"
        detail = f"{operation}: {code}" + (f": {message}" if message and message != code else "")
    else:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return one_line(redact(detail))


_TRANSLATOR = ErrorTranslator(DRIVER_NAME, sdk_errors, is_not_found, describe)
to_storage_error = _TRANSLATOR.to_storage_error
#: Wraps calls on objects. A missing bucket is ``NoSuchBucket``, not a missing path: the core
#: must not mistake a misconfigured destination for an absent blob.
translated = _TRANSLATOR.translated
