"""The plugin stays light to import and declares itself as the core expects."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from registry_scraper_azure.driver import AzureDriver
from scraper_core.driver import Capability, DriverClass
from scraper_core.plugins import DriverRegistry

PLUGIN_DIR = Path(__file__).resolve().parents[1]

# Registering runs the hook, which imports the driver module: still no azure.* module.
_CHECK = """
import sys
import registry_scraper_azure.plugin as plugin
registered = []
plugin.registry_scraper_register_drivers(registered.append)
assert [cls.name for cls in registered] == ["azure"], registered
heavy = sorted(name for name in sys.modules
               if name.split(".")[0] in {"azure", "requests", "urllib3", "isodate"})
print(",".join(heavy))
"""


def test_registering_imports_no_sdk() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run(
        [sys.executable, "-c", _CHECK], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_entry_point_is_declared() -> None:
    project = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text())
    assert project["project"]["name"] == "registry-scraper-azure"
    entry_points = project["project"]["entry-points"]["registry_scraper"]
    assert entry_points == {"azure": "registry_scraper_azure.plugin"}
    assert (PLUGIN_DIR / "registry_scraper_azure" / "py.typed").is_file()


def test_installed_plugin_is_found() -> None:
    found = {info.name: info for info in DriverRegistry(strict=True).installed()}
    assert found["azure"].module == "registry_scraper_azure.plugin"
    assert found["azure"].distribution == "registry-scraper-azure"


def test_driver_class_attributes() -> None:
    driver_class: DriverClass = AzureDriver
    assert driver_class.name == "azure"
    assert driver_class.description
    assert AzureDriver.capabilities == frozenset({Capability.SERVER_SIDE_COPY})
