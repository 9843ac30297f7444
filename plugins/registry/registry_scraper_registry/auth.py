"""The Authorization header for a request: Basic, or a bearer token per repository scope.

A token is fetched from the challenge's realm with the service and the scopes a request needs
(``repository:NAME:pull,push``, plus ``repository:SOURCE:pull`` for a mount), sent with the
credentials when there are any (an identity token is exchanged instead, in the OAuth2
refresh-token grant docker and containerd use: a POST to the realm, so the secret stays out of
URLs and logs), cached per scope set until shortly before it expires, and dropped when the
registry answers 401 anyway. Thread-safe: the core pushes several blobs at once.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

import urllib3

from registry_scraper_registry.challenge import Challenge
from registry_scraper_registry.credentials import Credentials
from scraper_core.errors import ConfigurationError, StorageError

#: Seconds a token is assumed to live when the answer does not say (distribution's default).
DEFAULT_TOKEN_LIFETIME = 60
#: A token is renewed this many seconds before it expires: a request must not carry a token
#: that dies on the way.
EXPIRY_MARGIN = 10
MAX_TOKEN_ANSWER = 1024 * 1024
TOKEN_TIMEOUT = urllib3.Timeout(connect=10.0, read=30.0)
#: How a token service is told who asks (OAuth2's client_id; docker sends "docker").
CLIENT_ID = "registry-scraper"


def basic_header(credentials: Credentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class Authenticator:
    def __init__(
        self,
        host: str,
        credentials: Credentials | None,
        pool: urllib3.PoolManager,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = host
        self._clock = clock
        self._credentials = credentials
        self._pool = pool
        self._lock = threading.Lock()
        self._challenge: Challenge | None = None
        self._tokens: dict[frozenset[str], tuple[str, float]] = {}

    @property
    def has_credentials(self) -> bool:
        return self._credentials is not None

    def learn(self, challenge: Challenge) -> None:
        """Take the scheme (and for Bearer the realm and service) a 401 announced."""
        if challenge.scheme not in ("basic", "bearer"):
            raise ConfigurationError(
                f"registry: {self._host} asks for {challenge.scheme!r} authentication; "
                "only Basic and Bearer are supported"
            )
        if challenge.scheme == "bearer" and not challenge.params.get("realm"):
            raise ConfigurationError(f"registry: {self._host}: Bearer challenge without realm")
        with self._lock:
            self._challenge = Challenge(
                challenge.scheme, {k: v for k, v in challenge.params.items() if k != "scope"}
            )

    def forget(self, scopes: Iterable[str]) -> None:
        with self._lock:
            self._tokens.pop(frozenset(scopes), None)

    def header(self, scopes: Iterable[str]) -> str | None:
        """The Authorization value for a request needing ``scopes``; None: send none."""
        with self._lock:
            challenge = self._challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if self._credentials is None:
                raise ConfigurationError(
                    f"registry: {self._host} requires credentials and the auth files "
                    "have none for it"
                )
            if self._credentials.identity_token is not None:
                raise ConfigurationError(
                    f"registry: {self._host} asks for a password (Basic) and the auth files "
                    "hold an identity token for it"
                )
            return basic_header(self._credentials)
        key = frozenset(scopes)
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached[1] > self._clock():
            return f"Bearer {cached[0]}"
        token, lifetime = self._fetch_token(challenge, sorted(key))
        with self._lock:
            self._tokens[key] = (token, self._clock() + lifetime - EXPIRY_MARGIN)
        return f"Bearer {token}"

    def _fetch_token(self, challenge: Challenge, scopes: list[str]) -> tuple[str, float]:
        fields: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            fields.append(("service", challenge.params["service"]))
        headers = {}
        body: str | None = None
        refresh = self._credentials.identity_token if self._credentials else None
        if refresh is not None:
            # OAuth2 (RFC 6749 6): the scopes space-separated in one field, in a form body.
            fields += [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", CLIENT_ID),
                ("scope", " ".join(scopes)),
            ]
            body, fields = urlencode(fields), []
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            fields += [("scope", scope) for scope in scopes]
            if self._credentials is not None:
                fields.append(("account", self._credentials.username))
                headers["Authorization"] = basic_header(self._credentials)
        realm = challenge.params["realm"]
        try:
            response = self._pool.request(
                "GET" if body is None else "POST",
                realm,
                fields=fields or None,
                body=body,
                headers=headers,
                timeout=TOKEN_TIMEOUT,
                retries=urllib3.Retry(total=3, backoff_factor=0.2, redirect=3),
                preload_content=False,
            )
            answer_body = response.read(MAX_TOKEN_ANSWER + 1, decode_content=True)
            response.release_conn()
        except urllib3.exceptions.HTTPError as error:
            raise StorageError(
                "registry", self._host, f"token service: {error_reason(error)}"
            ) from None
        # An OAuth2 service answers a bad refresh token 400 (invalid_grant, RFC 6749 5.2).
        if response.status in (401, 403) or (refresh is not None and response.status == 400):
            raise ConfigurationError(
                f"registry: {self._host}: the token service refused the credentials "
                f"(HTTP {response.status})"
                if self._credentials
                else f"registry: {self._host}: the token service refused an anonymous token "
                f"(HTTP {response.status}); no credentials for it in the auth files"
            )
        if response.status != 200 or len(answer_body) > MAX_TOKEN_ANSWER:
            raise StorageError(
                "registry", self._host, f"token service answered HTTP {response.status}"
            )
        try:
            answer = json.loads(answer_body)
            token = answer.get("token") or answer.get("access_token")
            lifetime = float(answer.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError):
            token = None
            lifetime = 0.0
        if not isinstance(token, str) or not token:
            raise StorageError("registry", self._host, "token service answer holds no token")
        return token, max(lifetime, EXPIRY_MARGIN + 1)


def error_reason(error: BaseException) -> str:
    """One line for a network failure: urllib3's text can span lines and repeat itself."""
    reason = getattr(error, "reason", None) or error
    text = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
    return text[:200]
