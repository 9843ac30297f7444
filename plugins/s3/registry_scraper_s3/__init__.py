"""The ``s3`` storage driver: a registry's S3 storage (distribution's ``s3-aws`` driver).

Importing this package imports nothing heavy: boto3 is loaded by :meth:`S3Driver.open`.
"""

from __future__ import annotations
