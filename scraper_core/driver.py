"""Compatibility facade: the driver contract and the core's wrapper under one import path.

Plugins and the plugin guide import ``scraper_core.driver`` (``Capability``, ``FileInfo``,
``CheckedDriver``...); it stays importable. The contract plugins implement lives in
:mod:`scraper_core.contract`, the wrapper the core uses in :mod:`scraper_core.checked`; new code
may import from either directly.
"""

from __future__ import annotations

from scraper_core.checked import (
    UNUSABLE_ERRNOS,
    CheckedDriver,
    CheckedReader,
    CheckedStagedCopy,
    CheckedWriter,
    check_capabilities,
    unusable_cause,
)
from scraper_core.contract import (
    CAPABILITY_PROTOCOLS,
    Abortable,
    CancelOnExit,
    Capability,
    Closable,
    DriverClass,
    FileInfo,
    FileWriter,
    ReportsArchiveProgress,
    StagedCopy,
    StorageDriver,
    StorageReader,
    SupportsHardlink,
    SupportsKernelCopy,
    SupportsOutputCheck,
    SupportsOverlapCheck,
    SupportsReadHead,
    SupportsServerSideCopy,
    is_valid_path,
    missing_capabilities,
)

__all__ = [
    "CAPABILITY_PROTOCOLS",
    "UNUSABLE_ERRNOS",
    "Abortable",
    "CancelOnExit",
    "Capability",
    "CheckedDriver",
    "CheckedReader",
    "CheckedStagedCopy",
    "CheckedWriter",
    "Closable",
    "DriverClass",
    "FileInfo",
    "FileWriter",
    "ReportsArchiveProgress",
    "StagedCopy",
    "StorageDriver",
    "StorageReader",
    "SupportsHardlink",
    "SupportsKernelCopy",
    "SupportsOutputCheck",
    "SupportsOverlapCheck",
    "SupportsReadHead",
    "SupportsServerSideCopy",
    "check_capabilities",
    "is_valid_path",
    "missing_capabilities",
    "unusable_cause",
]
