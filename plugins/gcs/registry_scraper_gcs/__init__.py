"""The ``gcs`` storage driver: a registry's Google Cloud Storage (distribution's ``gcs``).

Importing this package imports nothing heavy: google-cloud-storage is loaded by
:meth:`~registry_scraper_gcs.driver.GcsDriver.open`.
"""

from __future__ import annotations
