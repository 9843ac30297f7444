"""The ``azure`` storage driver: a registry's Azure Blob Storage (distribution's ``azure``).

Importing this package imports nothing heavy: azure-storage-blob is loaded by
:meth:`~registry_scraper_azure.driver.AzureDriver.open`.
"""

from __future__ import annotations
