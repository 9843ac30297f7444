"""Fixtures: session-wide moto and SeaweedFS servers; a fresh bucket and driver per test.

Tests that take ``s3_server`` (directly or through ``bucket``/``driver``) run once per server.
A server that is not installed skips its tests, or fails them on CI (see tests/support).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from registry_scraper_s3.driver import S3Driver
from tests.support.s3server import MotoServer, S3Server, SeaweedServer

OpenDriver = Callable[..., S3Driver]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def seaweed_server() -> Iterator[SeaweedServer]:
    with SeaweedServer() as server:
        yield server


@pytest.fixture(params=["moto", "seaweed"])
def s3_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Each server in turn, with the process environment set up as its client's."""
    server: S3Server = request.getfixturevalue(f"{request.param}_server")
    server.use_environment(monkeypatch)
    return server


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.make_bucket()


@pytest.fixture
def open_driver(s3_server: S3Server) -> OpenDriver:
    """``open_driver(location, read_only=False, **options)`` on the current server."""

    def open_(location: str, read_only: bool = False, **options: str) -> S3Driver:
        options.setdefault("endpoint_url", s3_server.endpoint_url)
        return S3Driver.open(location, options, read_only=read_only)

    return open_


@pytest.fixture
def driver(open_driver: OpenDriver, bucket: str) -> S3Driver:
    """A writable driver on a fresh, empty bucket."""
    return open_driver(bucket)
