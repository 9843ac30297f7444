"""Requests to one registry: pooled urllib3 connections, TLS, and auth retried once on 401.

urllib3 frames HTTP, pools connections (sized for the core's concurrent blob copies), verifies
TLS and retries idempotent requests; this module adds the registry's auth dance and turns
failures into one-line errors that never carry a credential or token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import urllib3

from registry_scraper_registry.auth import Authenticator, error_reason
from registry_scraper_registry.challenge import parse_challenge
from registry_scraper_registry.credentials import Credentials
from registry_scraper_registry.location import RegistryLocation
from scraper_core.errors import ConfigurationError, StorageError

#: Connections kept per host: as many as the core can run requests at once (``--jobs`` is at
#: most 256), so none is closed after one request and opened again (urllib3 would also warn
#: "Connection pool is full" on stderr). Only connections a request opened are kept: a run
#: with the default 8 jobs holds at most 8.
POOL_SIZE = 256
TIMEOUT = urllib3.Timeout(connect=15.0, read=300.0)
#: Error answers are a few hundred bytes of JSON; more is never read.
MAX_ANSWER = 64 * 1024
#: HEAD and GET change nothing: urllib3 retries them on a dropped connection or a 5xx.
#: A TLS failure ("other" to urllib3) is not retried: it will not mend in a second.
IDEMPOTENT_RETRY = urllib3.Retry(
    total=4,
    other=0,
    backoff_factor=0.2,
    status_forcelist=(429, 502, 503, 504),
    raise_on_status=False,
)


class NotAuthorizedError(ConfigurationError):
    """Fresh credentials were refused too: wrong ones, or no right to this repository."""


class ConnectionDroppedError(Exception):
    """The connection broke before an answer: an upload asks the registry where it stands."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def error_text(self) -> str:
        """The registry's own words (its first error code and message), on one line."""
        try:
            errors = json.loads(self.body)["errors"]
            first = errors[0]
            text = f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            text = ""
        return " ".join(f"HTTP {self.status} {text}".split())[:300]


class Transport:
    def __init__(self, location: RegistryLocation, credentials: Credentials | None) -> None:
        self.location = location
        self.pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=POOL_SIZE,
            cert_reqs="CERT_REQUIRED",
            ca_certs=str(location.ca_bundle) if location.ca_bundle else None,
            timeout=TIMEOUT,
        )
        self.auth = Authenticator(location.host, credentials, self.pool)

    def url(self, path_or_url: str) -> str:
        """An absolute URL; a registry's Location header may be relative."""
        return urljoin(self.location.base_url + "/", path_or_url)

    def login(self) -> None:
        """Check the registry answers and the credentials are good, before anything is sent."""
        where = self.location.host
        try:
            answer = self._send("GET", self.url("/v2/"), {}, None, None)
        except ConnectionDroppedError as error:
            raise ConfigurationError(f"registry: cannot reach {where}: {error}") from None
        if answer.status == 401:
            self.auth.learn(parse_challenge(answer.headers.get("WWW-Authenticate", "")))
            if not self.auth.has_credentials:
                return  # anonymous: a token, or a 401 at the first write, will tell
            answer = self.request("GET", "/v2/", scopes=(), what=where)
        if answer.status != 200:
            raise ConfigurationError(f"registry: {where}/v2/ answered {answer.error_text()}")

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: tuple[str, ...],
        what: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        resumable: bool = False,
    ) -> Answer:
        """Send, answering one 401 with fresh credentials; ConfigurationError if that fails.

        A broken connection is a :class:`StorageError` naming ``what``, or with ``resumable``
        a :class:`ConnectionDroppedError`: an upload knows how to go on (it asks the registry
        where it stands).
        """
        try:
            return self._authorized(method, path_or_url, scopes, what, headers, body)
        except ConnectionDroppedError as error:
            if resumable:
                raise
            raise StorageError("registry", what, f"connection failed: {error}") from None

    def _authorized(
        self,
        method: str,
        path_or_url: str,
        scopes: tuple[str, ...],
        what: str,
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> Answer:
        url = self.url(path_or_url)
        answer = self._send(method, url, headers or {}, body, self.auth.header(scopes))
        if answer.status == 401:
            self.auth.learn(parse_challenge(answer.headers.get("WWW-Authenticate", "")))
            self.auth.forget(scopes)
            answer = self._send(method, url, headers or {}, body, self.auth.header(scopes))
            if answer.status == 401:
                raise NotAuthorizedError(
                    f"registry: {what}: not authorized ({answer.error_text()}); "
                    "check the credentials in the auth files"
                )
        return answer

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        authorization: str | None,
    ) -> Answer:
        sent = dict(headers)
        if authorization is not None:
            sent["Authorization"] = authorization
        idempotent = method in ("GET", "HEAD")
        try:
            response = self.pool.request(
                method,
                url,
                headers=sent,
                body=body,
                retries=IDEMPOTENT_RETRY if idempotent else False,
                redirect=idempotent,
                preload_content=False,
            )
            try:
                data = b"" if method == "HEAD" else response.read(MAX_ANSWER, decode_content=True)
            finally:
                response.drain_conn()
                response.release_conn()
        except urllib3.exceptions.SSLError as error:
            raise ConfigurationError(
                f"registry: TLS with {self.location.host} failed: {error_reason(error)}"
            ) from None
        except urllib3.exceptions.MaxRetryError as error:
            if isinstance(error.reason, urllib3.exceptions.SSLError):
                raise ConfigurationError(
                    f"registry: TLS with {self.location.host} failed: {error_reason(error)}"
                ) from None
            raise ConnectionDroppedError(error_reason(error)) from None
        except urllib3.exceptions.HTTPError as error:
            raise ConnectionDroppedError(error_reason(error)) from None
        return Answer(response.status, response.headers, data)

    def fail(self, what: str, answer: Answer) -> StorageError:
        return StorageError("registry", what, answer.error_text())

    def close(self) -> None:
        self.pool.clear()
