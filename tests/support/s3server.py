"""The s3 plugin's emulator, from its own tests (plugins/s3/tests/s3_servers.py).

The plugin's tests own it, as a third party's would; the host's end-to-end tests start the
same server rather than keep a copy (importable through
:mod:`tests.support.plugin_tests`, with or without pytest).
"""

from __future__ import annotations

from tests.support.plugin_tests import make_importable

make_importable("s3")
from s3_servers import (  # noqa: E402
    MotoServer,
    S3Server,
    SeaweedServer,
    find_weed,
    unique_bucket_name,
)

__all__ = ["MotoServer", "S3Server", "SeaweedServer", "find_weed", "unique_bucket_name"]
