"""The azure plugin's emulator, from its own tests (plugins/azure/tests/azurite_server.py).

The plugin's tests own it, as a third party's would; the host's end-to-end tests start the
same server rather than keep a copy (pyproject's pytest ``pythonpath`` makes it importable).
"""

from __future__ import annotations

from azurite_server import AzuriteServer

__all__ = ["AzuriteServer"]
