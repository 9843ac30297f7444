"""The plugin stays light to import and declares itself as the core expects."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from registry_scraper_gcs.driver import GcsDriver
from scraper_core.driver import Capability, DriverClass
from scraper_core.plugins import DriverRegistry

PLUGIN_DIR = Path(__file__).resolve().parents[1]

# Registering runs the hook, which imports the driver module: still no google.* module.
_CHECK = """
import sys
import registry_scraper_gcs.plugin as plugin
registered = []
plugin.registry_scraper_register_drivers(registered.append)
assert [cls.name for cls in registered] == ["gcs"], registered
heavy = sorted(name for name in sys.modules
               if name.split(".")[0] in {"google", "grpc", "requests", "urllib3"})
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
    assert project["project"]["name"] == "registry-scraper-gcs"
    entry_points = project["project"]["entry-points"]["registry_scraper"]
    assert entry_points == {"gcs": "registry_scraper_gcs.plugin"}
    assert (PLUGIN_DIR / "registry_scraper_gcs" / "py.typed").is_file()


def test_installed_plugin_is_found() -> None:
    registry = DriverRegistry(strict=True)
    found = {info.name: info for info in registry.installed()}
    assert found["gcs"].module == "registry_scraper_gcs.plugin"
    assert found["gcs"].distribution == "registry-scraper-gcs"


def test_driver_class_attributes() -> None:
    driver_class: DriverClass = GcsDriver
    assert driver_class.name == "gcs"
    assert driver_class.description
    assert GcsDriver.capabilities == frozenset({Capability.SERVER_SIDE_COPY})
