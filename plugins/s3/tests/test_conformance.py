"""The core's driver conformance suite, run on moto and on SeaweedFS.

Each class gets a root of its own (``BUCKET/conformance-<random>``) in one bucket per server,
which also exercises the root-directory prefix on every operation.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import ClassVar

import pytest
from s3_servers import S3Server

from registry_scraper_s3.driver import S3Driver
from scraper_core.contract import StorageDriver, StorageReader
from scraper_core.testing import DriverSuite

pytestmark = pytest.mark.s3

# One bucket per server for the whole run (SeaweedFS makes a volume for every bucket).
_buckets: dict[str, str] = {}


class _S3Suite(DriverSuite):
    #: The conftest fixture giving this class's server.
    server_fixture: ClassVar[str]

    # Class-wide, as the suite allows: building a boto3 client costs a quarter of a second,
    # and every test leaves the root empty for the next one (the suite checks that).
    @pytest.fixture(scope="class")
    @classmethod
    def driver(cls, request: pytest.FixtureRequest) -> Iterator[StorageDriver]:
        server: S3Server = request.getfixturevalue(cls.server_fixture)
        with pytest.MonkeyPatch.context() as monkeypatch:
            server.use_environment(monkeypatch)
            if server.endpoint_url not in _buckets:
                _buckets[server.endpoint_url] = server.make_bucket()
            root = f"conformance-{secrets.token_hex(6)}"
            location = f"{_buckets[server.endpoint_url]}/{root}"
            yield S3Driver.open(location, {"endpoint_url": server.endpoint_url}, read_only=False)

    def open_read_only(self, driver: StorageDriver) -> StorageReader:
        assert isinstance(driver, S3Driver)
        options = {"endpoint_url": driver.endpoint_url}
        return S3Driver.open(driver.location, options, read_only=True)

    def open_copy_source(self, driver: StorageDriver) -> StorageDriver:
        # A sibling root in the same bucket: server-side copies can reach it.
        assert isinstance(driver, S3Driver)
        return S3Driver.open(
            f"{driver.location}-copy-source", {"endpoint_url": driver.endpoint_url}, read_only=False
        )


class TestMotoConformance(_S3Suite):
    server_fixture = "moto_server"


class TestSeaweedConformance(_S3Suite):
    server_fixture = "seaweed_server"
