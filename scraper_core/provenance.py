"""What a source proves about where its content came from, kept in the receipt of a run
that reads it.

A source driver may expose ``provenance``: a JSON-ready mapping, or None. The tar reader
given ``-o trusted-keys`` sets it to the signed shipment's receipt digest and signer. The
core names no driver: it copies the mapping into the receipt under :data:`KEY`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scraper_core.checked import CheckedDriver

#: The receipt's top-level key for the signed shipment an import came from.
KEY = "signed_shipment"


def provenance_entry(source: CheckedDriver) -> dict[str, Any]:
    """``{KEY: mapping}`` when the source proved where it came from, else nothing."""
    found = getattr(source.driver, "provenance", None)
    return {KEY: dict(found)} if isinstance(found, Mapping) else {}
