"""A registry tree scraped out of and into S3 (moto, then SeaweedFS) by the real ``scrape``.

Each location is a root directory of the test's bucket; the server's credentials are in the
environment (the ``s3_server`` fixture), which the ``scrape`` processes inherit.
"""

from __future__ import annotations

import pytest
from s3_servers import S3Server

from scraper_core.testing import RoundTripSuite
from scraper_core.testing.roundtrip import NewLocation, fresh_roots

pytestmark = pytest.mark.s3


class TestS3RoundTrip(RoundTripSuite):
    @pytest.fixture
    def new_location(self, s3_server: S3Server, bucket: str) -> NewLocation:
        return fresh_roots("s3", bucket, endpoint_url=s3_server.endpoint_url)
