"""GETs carried by obstore (Rust's ``object_store``): the read path's bytes outside Python.

botocore spends about 2 ms of interpreter time on each small GET (signing, event hooks,
parsing) and reads bodies in Python; obstore signs, sends and receives in Rust, at about a
third of that CPU (bench/s3_clients.py, bench/NOTES.md). boto3 stays in charge of everything
else: the credential chain (obstore asks boto3's session for credentials, so profiles, SSO and
assumed roles work as before), every setting's resolution (settings.py), listing and writing.

:class:`NativeGets` answers ``get_object(Bucket=, Key=, Range=)`` with the same dictionary a
botocore client returns, so the reader (reader.py) drives either one unchanged. The store is
built from the botocore client already resolved, never from the environment on its own:
:func:`fallback_reason` names any setting obstore cannot honour as botocore does, and then the
driver keeps botocore for its GETs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from registry_scraper_s3.settings import USER_AGENT

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Credential

#: Bytes the native stream gathers before handing a chunk over (the reader's own step).
STREAM_CHUNK = 1024 * 1024
#: Keys a native listing asks for a page (S3's own page).
LIST_PAGE = 1000
#: The whole-request deadline object_store would otherwise apply (30 s) must not cut a long
#: streaming GET short: idle connections are caught by the read timeout instead.
_REQUEST_DEADLINE = timedelta(days=1)
#: Variables that change how the client connects in ways obstore would read differently.
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
_PROBE_KEY = "registry-scraper-probe"
_XML_FIELD = re.compile(r"<(Code|Message)>([^<]*)</\1>")
_STATUS = re.compile(r"status code: (\d{3})")


class NativeError(Exception):
    """An S3 error from obstore, shaped as botocore's ``ClientError`` (``response``,
    ``operation_name``) so errors.py reads its code and words it the same way."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.response = {"Error": {"Code": code, "Message": message}} if code else None
        self.operation_name = "GetObject"


class NativeStreamError(Exception):
    """The connection broke while a body streamed; the reader resumes from there."""


def _translate(exc: BaseException) -> NativeError:
    """An obstore exception as a :class:`NativeError` carrying S3's error code."""
    from obstore.exceptions import PermissionDeniedError, UnauthenticatedError

    text = str(exc)
    fields = dict(_XML_FIELD.findall(text))
    if isinstance(exc, FileNotFoundError):
        return NativeError("NoSuchKey", fields.get("Message", "not found"))
    code = fields.get("Code")
    if code is None and isinstance(exc, PermissionDeniedError | UnauthenticatedError):
        code = "AccessDenied"
    if code is None and (status := _STATUS.search(text)):
        code = status.group(1)
    # The first line only: the rest is a Rust debug dump of the request.
    return NativeError(code, fields.get("Message") or text.split("\n", 1)[0])


class NativeBody:
    """A body read as botocore's ``StreamingBody`` is: ``read(size)``, ``close()``."""

    def __init__(self, chunks: Iterator[Any]) -> None:
        self._chunks: Iterator[Any] | None = chunks
        self._left = b""

    def read(self, size: int = -1) -> bytes:
        if not self._left:
            self._left = self._next()
        if size < 0 or len(self._left) <= size:
            data, self._left = self._left, b""
            return data
        data, self._left = self._left[:size], self._left[size:]
        return data

    def _next(self) -> bytes:
        from obstore.exceptions import BaseError

        if self._chunks is None:
            return b""
        try:
            return bytes(next(self._chunks))
        except StopIteration:
            self._chunks = None
            return b""
        except (BaseError, OSError) as exc:
            self._chunks = None
            raise NativeStreamError(str(exc).split("\n", 1)[0]) from exc

    def close(self) -> None:
        # Dropping the stream drops its connection (unread bytes are not drained).
        self._chunks = None
        self._left = b""


def _range(header: str) -> Any:
    """``bytes=A-B`` or ``bytes=A-`` as obstore's range option (end exclusive)."""
    first, _, last = header.removeprefix("bytes=").partition("-")
    if last:
        return (int(first), int(last) + 1)
    return {"offset": int(first)}


class NativeGets:
    """``get_object`` for one bucket, carried by an obstore ``S3Store``."""

    def __init__(self, store: Any, bucket: str) -> None:
        self.store = store
        self.bucket = bucket

    def get_object(self, *, Bucket: str, Key: str, Range: str) -> dict[str, Any]:  # noqa: N803
        import obstore
        from obstore.exceptions import BaseError

        assert Bucket == self.bucket, "a native store serves one bucket"
        try:
            result = obstore.get(self.store, Key, options={"range": _range(Range)})
            start, end = result.range
            size = int(result.meta["size"])
            chunks = iter(result.stream(STREAM_CHUNK))
        except (BaseError, OSError) as exc:
            raise _translate(exc) from exc
        return {
            "Body": NativeBody(chunks),
            "ContentLength": end - start,
            "ContentRange": f"bytes {start}-{end - 1}/{size}",
        }

    def list_etags(self, prefix: str, limit: int) -> list[tuple[str, str]] | None:
        """(key, ETag without quotes) of the first ``limit`` or so objects below ``prefix``
        (whole pages of :data:`LIST_PAGE`), or None when obstore cannot list them (a key its
        path rules refuse, any error): the caller then lists with botocore. A listing's keys
        parsed in Rust cost a tenth of botocore's XML parsing (bench/NOTES.md)."""
        import obstore
        from obstore.exceptions import BaseError

        listed: list[tuple[str, str]] = []
        try:
            for page in obstore.list(self.store, prefix, chunk_size=LIST_PAGE):
                listed.extend((item["path"], (item["e_tag"] or "").strip('"')) for item in page)
                if len(listed) >= limit:
                    break
        except (BaseError, OSError, ValueError):
            return None
        return listed


def _endpoint(client: Any, bucket: str) -> tuple[str, bool] | None:
    """The endpoint botocore would send this bucket's GETs to, and whether the bucket is in
    the host name (virtual hosting); None for a URL shape obstore cannot be given."""
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}, ExpiresIn=60
    )
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    if parts.path.endswith(f"/{bucket}/{_PROBE_KEY}"):
        prefix = parts.path.removesuffix(f"/{bucket}/{_PROBE_KEY}")
        return base + prefix, False
    if parts.path == f"/{_PROBE_KEY}":
        return base, True
    return None


def fallback_reason(client: Any, core: Any, bucket_region: str | None) -> str | None:
    """Why this client's GETs must stay with botocore, or None when obstore can carry them."""
    config = client.meta.config
    if config.response_checksum_validation == "when_supported":
        return "response checksums are to be validated (botocore does that)"
    if (
        config.proxies
        or any(os.environ.get(name) for name in _PROXY_VARIABLES)
        or any(os.environ.get(name.lower()) for name in _PROXY_VARIABLES)
    ):
        return "a proxy is configured"
    if core.get_credentials() is None:
        return "no credentials (unsigned requests)"
    if bucket_region and bucket_region != client.meta.region_name:
        return f"the bucket is in {bucket_region}, the client in {client.meta.region_name}"
    return None


def make_native(
    client: Any, core: Any, bucket: str, bucket_region: str | None
) -> NativeGets | None:
    """An obstore store doing what ``client`` would for ``bucket``'s GETs, or None."""
    if fallback_reason(client, core, bucket_region) is not None:
        return None
    endpoint = _endpoint(client, bucket)
    if endpoint is None:
        return None
    url, virtual = endpoint
    client_options: ClientConfig = {
        "allow_http": url.startswith("http://"),
        "connect_timeout": timedelta(seconds=client.meta.config.connect_timeout),
        "read_timeout": timedelta(seconds=client.meta.config.read_timeout),
        "timeout": _REQUEST_DEADLINE,
        "pool_max_idle_per_host": str(client.meta.config.max_pool_connections),
        "user_agent": USER_AGENT,
    }
    ca_bundle = core.get_config_variable("ca_bundle")
    if url.startswith("https://") and ca_bundle:
        try:
            client_options["root_certificate"] = Path(ca_bundle).read_bytes()
        except OSError:
            return None  # botocore reports an unreadable bundle on its first request
    return _store(client, core, bucket, url, virtual, client_options)


class BotocoreCredentials:
    """obstore's credential provider over botocore's session: what obstore's own
    ``Boto3CredentialProvider`` does, without its module importing boto3 (18 ms of start-up
    for an isinstance check). Each refresh freezes the session's (refreshable) credentials;
    obstore asks again before ``expires_at``."""

    #: Nothing added to the store's configuration (obstore reads a provider's ``config``).
    config: ClassVar[dict[str, str]] = {}
    #: As obstore's provider: botocore refreshes temporary credentials well within it.
    ttl = timedelta(minutes=30)

    def __init__(self, core: Any) -> None:
        credentials = core.get_credentials()
        if credentials is None:
            raise ValueError("no credentials")  # fallback_reason keeps such a client
        self.credentials = credentials

    def __call__(self) -> S3Credential:
        frozen = self.credentials.get_frozen_credentials()
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": datetime.now(UTC) + self.ttl,
        }


def _store(
    client: Any, core: Any, bucket: str, url: str, virtual: bool, client_options: ClientConfig
) -> NativeGets:
    from obstore.store import S3Store

    from registry_scraper_s3.settings import attempts

    store = S3Store(
        bucket,
        endpoint=url,
        region=client.meta.region_name or "us-east-1",
        virtual_hosted_style_request=virtual,
        # Said outright: obstore would otherwise take these from AWS_* variables that boto3
        # does not read (AWS_SKIP_SIGNATURE, AWS_REQUEST_PAYER).
        skip_signature=False,
        request_payer=False,
        credential_provider=BotocoreCredentials(core),
        client_options=client_options,
        retry_config={"max_retries": max(0, attempts(client) - 1)},
    )
    return NativeGets(store, bucket)
