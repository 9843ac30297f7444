"""The gcs plugin's emulator, from its own tests (plugins/gcs/tests/gcs_emulator.py).

The plugin's tests own it, as a third party's would; the host's end-to-end tests start the
same server rather than keep a copy (pyproject's pytest ``pythonpath`` makes it importable).
"""

from __future__ import annotations

from gcs_emulator import FakeGcsServer

__all__ = ["FakeGcsServer"]
