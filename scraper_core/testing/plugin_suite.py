"""Plugin hygiene every driver distribution must keep, checked on the installed plugin.

Subclass :class:`PluginSuite` in a ``test_*.py`` file and set three class attributes::

    class TestFooPlugin(PluginSuite):
        driver_name = "foo"
        distribution = "registry-scraper-foo"
        heavy_modules = frozenset({"foo_sdk"})
        declared_capabilities = frozenset({Capability.SERVER_SIDE_COPY})

It checks what the core relies on: the entry point is installed in the ``registry_scraper``
group under the driver's name and belongs to that distribution; loading it registers exactly
that driver, whose class declares a one-line description and its capabilities (exactly
``declared_capabilities`` where a subclass sets it); and loading it
imports none of ``heavy_modules`` (a driver imports its SDK when it opens, so ``scrape
--help`` and every other driver stay fast). The import check runs in a fresh interpreter,
where nothing else has imported the SDK already.
"""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
from typing import ClassVar

from scraper_core.contract import Capability
from scraper_core.plugins import DriverInfo, DriverRegistry

# Loads the plugin the way the core does (entry point, then the hook) and prints which
# top-level modules are imported afterwards.
_LOAD_AND_LIST_MODULES = """
import json, sys
from scraper_core.plugins import DriverRegistry
info = DriverRegistry(strict=True).driver(sys.argv[1])
modules = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"driver": info.driver_class.name, "modules": modules}))
"""


class PluginSuite:
    """Checks on an installed storage-driver plugin; see the module docstring."""

    #: The entry-point name, which is the driver's name (``--storage NAME``).
    driver_name: ClassVar[str]
    #: The distribution that must provide it (its name as in ``pyproject.toml``).
    distribution: ClassVar[str]
    #: Top-level modules (the backend's SDK) that loading the plugin must not import.
    heavy_modules: ClassVar[frozenset[str]] = frozenset()
    #: The capabilities the driver class must declare, no more and no fewer (None: any).
    declared_capabilities: ClassVar[frozenset[Capability] | None] = None
    #: The package ships a ``py.typed`` marker (PEP 561), so the core's users type-check it.
    typed: ClassVar[bool] = True

    def loaded(self) -> DriverInfo:
        return DriverRegistry(strict=True).driver(self.driver_name)

    def test_entry_point_is_installed_by_its_distribution(self) -> None:
        found = [
            info for info in DriverRegistry(strict=True).installed()
            if info.name == self.driver_name
        ]  # fmt: skip
        assert [info.distribution for info in found] == [self.distribution]

    def test_loading_registers_the_driver_class(self) -> None:
        info = self.loaded()
        driver_class = info.driver_class
        assert driver_class.name == self.driver_name
        description = driver_class.description
        assert description.strip() and "\n" not in description
        # Read from the class, as CheckedDriver reads it (absent: no capability).
        capabilities: object = getattr(driver_class, "capabilities", frozenset())
        assert isinstance(capabilities, frozenset)
        assert all(isinstance(item, Capability) for item in capabilities)
        if self.declared_capabilities is not None:
            assert capabilities == self.declared_capabilities
        assert callable(driver_class.open)

    def test_package_is_marked_typed(self) -> None:
        if not self.typed:
            return
        module = self.loaded().plugin.module
        package = module.partition(":")[0].split(".")[0]
        assert importlib.resources.files(package).joinpath("py.typed").is_file()

    def test_loading_imports_no_heavy_module(self) -> None:
        result = subprocess.run(
            [sys.executable, "-c", _LOAD_AND_LIST_MODULES, self.driver_name],
            capture_output=True,
            text=True,
            check=False,
            # Bounded like every wait of the kit: a plugin that blocks on import fails here.
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["driver"] == self.driver_name
        assert sorted(self.heavy_modules & set(report["modules"])) == []
