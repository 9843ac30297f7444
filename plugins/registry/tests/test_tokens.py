"""Bearer tokens: one per scope set, kept until shortly before they expire."""

from __future__ import annotations

from typing import Any

import urllib3

from registry_scraper_registry.auth import Authenticator
from registry_scraper_registry.challenge import Challenge
from registry_scraper_registry.credentials import Credentials

PUSH = ("repository:app:pull,push",)


def test_a_token_is_reused_per_scope_and_renewed_before_it_expires(token_issuer: Any) -> None:
    issuer, realm = token_issuer
    now = [1000.0]
    credentials = Credentials("pusher", "s3cret-Pa55")
    auth = Authenticator("reg", credentials, urllib3.PoolManager(), clock=lambda: now[0])
    auth.learn(Challenge("bearer", {"realm": realm, "service": "test-registry"}))
    first = auth.header(PUSH)
    assert auth.header(PUSH) == first and len(issuer.issued) == 1
    auth.header(("repository:other:pull",))
    assert issuer.issued[-1] == ["repository:other:pull"]
    now[0] += 300 - 10  # the issuer says 300 s; renewed 10 s early
    assert auth.header(PUSH) != first and len(issuer.issued) == 3
