"""The s3 plugin's emulator, from its own tests (plugins/s3/tests/s3_servers.py).

The plugin's tests own it, as a third party's would; the host's end-to-end tests start the
same server rather than keep a copy (pyproject's pytest ``pythonpath`` makes it importable).
"""

from __future__ import annotations

from s3_servers import MotoServer, S3Server, SeaweedServer, unique_bucket_name

__all__ = ["MotoServer", "S3Server", "SeaweedServer", "unique_bucket_name"]
