"""The core's driver conformance suite against fake-gcs-server, in ``BUCKET/conformance-<random>``
(see ObjectStoreDriverSuite): 256 KiB chunks make the larger writes resumable uploads of several
chunks, and 500-object pages make listings paginate.
"""

from __future__ import annotations

import pytest

from registry_scraper_gcs.driver import GcsDriver
from scraper_core.testing.objectstore import ObjectStoreDriverSuite

pytestmark = pytest.mark.gcs


class TestGcsConformance(ObjectStoreDriverSuite):
    server_fixture = "gcs_server"
    driver_class = GcsDriver
    part_option = "chunk_size"
