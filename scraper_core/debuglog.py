"""``--debug``: each storage request and retry on stderr, through the SDKs' own logging.

botocore logs the requests it sends and its retry decisions, urllib3 (under requests, the
Google client and the registry driver) each request line and each retry, azure-core each
request it sends; turning their loggers up is all it takes, nothing is patched. What they
log can hold secrets (an ``Authorization`` header, a presigned URL's signature, a SAS
token), so one filter on the handler redacts every record before it is written.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator

#: The loggers turned up, and how far: botocore's request and retry loggers (its others are
#: chatty and say nothing about requests), urllib3 (requests, google, the registry driver),
#: the Google and Azure clients.
LOGGERS: dict[str, int] = {
    "botocore.endpoint": logging.DEBUG,
    "botocore.retryhandler": logging.DEBUG,
    "botocore.retries": logging.DEBUG,
    "botocore.credentials": logging.INFO,
    "urllib3": logging.DEBUG,
    "google.auth": logging.DEBUG,
    "google.cloud.storage": logging.DEBUG,
    "google.resumable_media": logging.DEBUG,
    "azure": logging.DEBUG,
}
REDACTED = "REDACTED"
#: Headers and document keys whose values are secrets.
SECRET_KEYS = (
    "authorization",
    "proxy-authorization",
    "x-amz-security-token",
    "x-ms-encryption-key",
    "x-amz-server-side-encryption-customer-key",
    "x-goog-encryption-key",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "private_key",
    "secret_key",
    "account_key",
    "password",
)
#: Query-string parameters that sign or authorise a URL (S3 and GCS presigned, Azure SAS).
SECRET_QUERY = (
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "signature",
    "awsaccesskeyid",
    "sig",
    "access_token",
    "token",
)
_KEYS = "|".join(re.escape(key) for key in SECRET_KEYS)
_QUOTED = re.compile(rf"""(['"]?(?:{_KEYS})['"]?\s*[:=]\s*b?)(['"])(.*?)\2""", re.IGNORECASE)
_BARE = re.compile(rf"""((?:^|\s|\|)(?:{_KEYS})\s*:\s*)(?!b?['"])\S.*?$""", re.I | re.M)
_QUERY = re.compile(
    rf"""([?&](?:{"|".join(re.escape(key) for key in SECRET_QUERY)})=)[^&\s'"#]+""",
    re.IGNORECASE,
)


def redacted(text: str) -> str:
    """``text`` with the values of secret headers, keys and URL parameters replaced."""
    text = _QUOTED.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}{m[2]}", text)
    text = _BARE.sub(lambda m: f"{m[1]}{REDACTED}", text)
    return _QUERY.sub(lambda m: f"{m[1]}{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Redacts a record's whole message (its arguments merged in) before any handler
    formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redacted(record.getMessage())
        record.args = None
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (a test's runner swaps it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


@contextlib.contextmanager
def log_requests() -> Iterator[None]:
    """While the block runs: the loggers turned up, into one redacting handler on stderr;
    their levels as they were afterwards (a test runs many commands in one process)."""
    handler = _StderrHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
    loggers = {name: logging.getLogger(name) for name in LOGGERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    root = logging.getLogger()
    root.addHandler(handler)
    for name, logger in loggers.items():
        logger.setLevel(LOGGERS[name])
    try:
        yield
    finally:
        root.removeHandler(handler)
        for name, logger in loggers.items():
            logger.setLevel(levels[name])
