"""TLS is verified by default; ``ca-bundle=PATH`` names the authority to trust."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_scraper_registry.destination import RegistryDestination
from scraper_core.errors import ConfigurationError


def test_an_unknown_certificate_is_refused_in_one_line(
    https_registry: tuple[str, Path], tmp_path: Path
) -> None:
    address, _cert = https_registry
    empty_auth = tmp_path / "none.json"
    empty_auth.write_text("{}")
    with pytest.raises(ConfigurationError) as raised:
        RegistryDestination.open(address, {"auth-file": str(empty_auth)})
    assert "TLS" in str(raised.value) and "\n" not in str(raised.value)


def test_the_ca_bundle_is_trusted(https_registry: tuple[str, Path], tmp_path: Path) -> None:
    address, cert = https_registry
    empty_auth = tmp_path / "none.json"
    empty_auth.write_text("{}")
    options = {"ca-bundle": str(cert), "auth-file": str(empty_auth)}
    destination = RegistryDestination.open(address, options)
    try:
        assert destination.has_blob("any", "sha256:" + "0" * 64) is None
    finally:
        destination.close()
