"""Installable without cloning: `make dist` wheels, installed by extra into a fresh venv.

The venv sees nothing of this checkout: the core and the drivers come from the wheels, their
dependencies (click, boto3, the cloud SDKs) from the package index as a user's pip would take
them. A driver missing from an extra, a module missing from a wheel, a wheel without the
licence, a development tool offered as an extra or a broken entry point fails here, not on a
user's machine.
"""

from __future__ import annotations

import subprocess
import tomllib
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from scraper_core.checked import CheckedDriver
from scraper_core.testing.tree import TreeWriter

REPOSITORY = Path(__file__).parent.parent
CORE_AND_PLUGINS = {
    "registry_scraper",
    "registry_scraper_local",
    "registry_scraper_s3",
    "registry_scraper_registry",
    "registry_scraper_gcs",
    "registry_scraper_azure",
}
# A module left in a project's build/ by an earlier build, since deleted from the source.
STALE_MODULES = (
    Path("build/lib/scraper_core/deleted_since.py"),
    Path("plugins/local/build/lib/registry_scraper_local/deleted_since.py"),
)
BUILD_TIMEOUT = 300.0
INSTALL_TIMEOUT = 900.0
RUN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Dist:
    wheels: Path
    dev_environment: Path  # where `make dist` was told the development venv lives


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    dev_environment = tmp_path_factory.mktemp("elsewhere") / "dev-venv"
    for stale in STALE_MODULES:
        (REPOSITORY / stale).parent.mkdir(parents=True, exist_ok=True)
        (REPOSITORY / stale).write_text("raise ImportError('shipped from a stale build/')\n")
    built = subprocess.run(
        ["make", "-s", "dist", f"DIST={out}", f"VENV={dev_environment}"],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    return Dist(out, dev_environment)


def _metadata(wheel_path: Path) -> list[str]:
    with zipfile.ZipFile(wheel_path) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        return wheel.read(name).decode().splitlines()


def _core_wheel(dist: Dist) -> Path:
    return next(dist.wheels.glob("registry_scraper-*.whl"))


def test_make_dist_builds_a_wheel_for_the_core_and_every_plugin(dist: Dist) -> None:
    names = {path.name.split("-")[0] for path in dist.wheels.glob("*.whl")}
    assert names == CORE_AND_PLUGINS


def test_make_dist_needs_no_development_environment(dist: Dist) -> None:
    """The wheels come from setuptools alone, not from the venv of test tools and emulators."""
    assert not dist.dev_environment.exists()


def test_no_wheel_ships_what_an_earlier_build_left_behind(dist: Dist) -> None:
    for wheel_path in dist.wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel_path) as wheel:
            stale = [n for n in wheel.namelist() if n.endswith("/deleted_since.py")]
        assert not stale, (wheel_path.name, stale)


def test_every_wheel_carries_the_license(dist: Dist) -> None:
    license_text = (REPOSITORY / "LICENSE").read_bytes()
    assert b"Apache License" in license_text and b"Version 2.0, January 2004" in license_text
    for wheel_path in dist.wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel_path) as wheel:
            shipped = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
            assert len(shipped) == 1, (wheel_path.name, wheel.namelist())
            assert wheel.read(shipped[0]) == license_text, wheel_path.name
        metadata = _metadata(wheel_path)
        assert "License-Expression: Apache-2.0" in metadata, wheel_path.name
        assert "License-File: LICENSE" in metadata, wheel_path.name


def test_the_development_tools_are_no_extra_of_the_core(dist: Dist) -> None:
    """`pip install 'registry-scraper[dev]'` must not exist: users would be offered linters."""
    metadata = _metadata(_core_wheel(dist))
    extras = {line.split(":", 1)[1].strip() for line in metadata if line.startswith("Provides-")}
    assert "dev" not in extras
    with (REPOSITORY / "pyproject.toml").open("rb") as project:
        groups = tomllib.load(project)["dependency-groups"]
    # pytest is shipped on purpose, for the `testing` extra (the conformance kit).
    tools = {Requirement(entry).name for entry in groups["dev"]} - {"pytest"}
    offered = {
        Requirement(line.split(":", 1)[1].strip()).name
        for line in metadata
        if line.startswith("Requires-Dist:")
    }
    assert not tools & offered, tools & offered


def test_each_extra_names_the_local_driver_and_its_plugin(dist: Dist) -> None:
    """A cloud extra alone must give a working scrape: the default destination is local."""
    requires = [line for line in _metadata(_core_wheel(dist)) if line.startswith("Requires-Dist:")]
    # azure brings azure-identity: DefaultAzureCredential is how Azure users sign in.
    plugins = {"s3": "", "gcs": "", "azure": "[identity]"}
    for extra, plugin_extra in plugins.items():
        wanted = {f"registry-scraper-{extra}{plugin_extra}", "registry-scraper-local[zst]"}
        named = {
            line.split()[1].split(">")[0] for line in requires if f'extra == "{extra}"' in line
        }
        assert wanted <= named, (extra, requires)


def _fresh_venv(base: Path) -> Path:
    environment = base / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    return environment / "bin"


def test_the_all_extra_installs_every_driver_and_they_copy(
    dist: Dist, tmp_path: Path, local_source: Path
) -> None:
    bin_dir = _fresh_venv(tmp_path)
    installed = subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", "--find-links", str(dist.wheels),
         "registry-scraper[all]"],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    listed = subprocess.run(
        [str(bin_dir / "scrape"), "drivers"],
        check=True, capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert {line.split()[0] for line in listed.stdout.splitlines()} == {
        "local",
        "tar",
        "s3",
        "gcs",
        "azure",
    }
    copy = tmp_path / "copy"
    done = subprocess.run(
        [str(bin_dir / "scrape"), "--data-dir", str(local_source), "--output-dir", str(copy),
         "-q", "app:1.0"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    verified = subprocess.run(
        [str(bin_dir / "scrape"), "verify", "--data-dir", str(copy)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert "1 tags in 1 repositories" in verified.stderr


@pytest.fixture
def local_source(tmp_path: Path) -> Path:
    from registry_scraper_local.driver import LocalDriver

    root = tmp_path / "source"
    driver = CheckedDriver(LocalDriver.open(str(root), {}, read_only=False), read_only=False)
    TreeWriter(driver).image("app", "1.0")
    driver.close()
    return root
