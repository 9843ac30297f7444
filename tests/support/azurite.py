"""The azure plugin's emulator, from its own tests (plugins/azure/tests/azurite_server.py).

The plugin's tests own it, as a third party's would; the host's end-to-end tests start the
same server rather than keep a copy (importable through
:mod:`tests.support.plugin_tests`, with or without pytest).
"""

from __future__ import annotations

from tests.support.plugin_tests import make_importable

make_importable("azure")
from azurite_server import AzuriteServer  # noqa: E402

__all__ = ["AzuriteServer"]
