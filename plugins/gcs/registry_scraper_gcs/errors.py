"""Turns google-cloud-storage failures into the core's error tree, without leaking secrets.

Messages hold the HTTP status and the service's reason only. The SDK's own texts start with
the request's method and URL, which are dropped: they only repeat the bucket and object name,
and a URL is where a token or signature would sit if one ever did.
"""

from __future__ import annotations

import functools
import re

from registry_scraper_gcs.config import DRIVER_NAME
from scraper_core.bucket.sdkerrors import ErrorTranslator, one_line

# "GET https://storage.googleapis.com/...: " at the head of GoogleAPICallError messages.
_REQUEST_RE = re.compile(r"^[A-Z]+ \S+: ")


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
    if status is not None:
        detail = f"HTTP {status}" + (f": {text}" if text else "")
    else:
        detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return one_line(detail)


TRANSLATOR = ErrorTranslator(DRIVER_NAME, sdk_errors, is_not_found, describe)
to_storage_error = TRANSLATOR.to_storage_error
#: Wraps one object's calls: a 404 is that object missing.
translated = TRANSLATOR.translated
#: Wraps listings: a 404 there is the bucket missing, never a path.
listing = TRANSLATOR.listing
