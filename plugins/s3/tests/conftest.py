"""Fixtures: session-wide moto and SeaweedFS servers; a fresh bucket and driver per test.

Tests that take ``s3_server`` (directly or through ``bucket``/``driver``) run once per server.
A server that is not installed skips its tests, or fails them on CI (see s3_servers.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from s3_servers import S3Server, moto_server, s3_server, seaweed_server

from registry_scraper_s3.driver import S3Driver
from registry_scraper_s3.native import NativeGets

#: Fixtures shared with the host's tests, defined beside the servers they start.
SHARED_FIXTURES = (moto_server, seaweed_server, s3_server)

OpenDriver = Callable[..., S3Driver]
_CHECKSUM = "x-amz-checksum-"


#: The profile every ``aws_files`` config file holds (more may be appended by a test).
AWS_PROFILE_CONFIG = """\
[profile registry]
region = eu-central-1
aws_access_key_id = AKIDPROFILE
aws_secret_access_key = profile-secret
"""


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An AWS config file of the test's own; nothing from ~/.aws or the caller's env."""
    config = tmp_path / "config"
    config.write_text(AWS_PROFILE_CONFIG)
    for key in [key for key in os.environ if key.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return config


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


@dataclass(frozen=True)
class S3Request:
    """One request a driver's client sent: operation, method, URL, copy-source header, the
    name of its checksum header (``x-amz-checksum-crc32``...)."""

    operation: str
    method: str
    url: str
    copy_source: str | None
    checksum: str | None = None


class RequestLog:
    """Every request the watched drivers' boto3 clients send (a botocore event hook), so a
    test can tell a server-side copy (UploadPartCopy with x-amz-copy-source) from bytes
    streamed through this machine (GetObject then UploadPart/PutObject)."""

    def __init__(self) -> None:
        self.requests: list[S3Request] = []
        self._lock = threading.Lock()
        self._clients: list[Any] = []

    def watch(self, *drivers: object) -> None:
        for driver in drivers:
            s3_driver = getattr(driver, "driver", driver)
            client = s3_driver.client
            client.meta.events.register("request-created.s3", self._record, unique_id=id(self))
            self._clients.append(client)
            if isinstance(s3_driver.getter, NativeGets):
                s3_driver.getter = _LoggedGets(s3_driver.getter, self)

    def native_get(self, bucket: str, key: str, byte_range: str) -> None:
        """Log a GET the driver sent through obstore (no botocore event sees it)."""
        with self._lock:
            url = f"native://{bucket}/{key}#{byte_range}"
            self.requests.append(S3Request("GetObject", "GET", url, None, None))

    def _record(self, request: Any, operation_name: str, **_kwargs: Any) -> None:
        copy_source = request.headers.get("x-amz-copy-source")
        checksums = [name for name in request.headers if name.lower().startswith(_CHECKSUM)]
        checksum = checksums[0].lower() if checksums else None
        with self._lock:
            self.requests.append(
                S3Request(operation_name, request.method, request.url, copy_source, checksum)
            )

    def of(self, operation: str, key_part: str = "") -> list[S3Request]:
        with self._lock:
            return [r for r in self.requests if r.operation == operation and key_part in r.url]

    def close(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("request-created.s3", unique_id=id(self))


class _LoggedGets:
    """A driver's native GETs, each logged before it is sent."""

    def __init__(self, gets: NativeGets, log: RequestLog) -> None:
        self._gets = gets
        self._log = log

    def get_object(self, *, Bucket: str, Key: str, Range: str) -> dict[str, Any]:  # noqa: N803
        self._log.native_get(Bucket, Key, Range)
        return self._gets.get_object(Bucket=Bucket, Key=Key, Range=Range)


@pytest.fixture
def request_log() -> Iterator[RequestLog]:
    log = RequestLog()
    yield log
    log.close()
