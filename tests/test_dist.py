"""Installable without cloning: `make dist` wheels, installed by extra into a fresh venv.

The venv sees nothing of this checkout: the core and the drivers come from the wheels, their
dependencies (click, boto3, the cloud SDKs) from the package index as a user's pip would take
them. A driver missing from an extra, a module missing from a wheel or a broken entry point
fails here, not on a user's machine.
"""

from __future__ import annotations

import subprocess
import venv
import zipfile
from pathlib import Path

import pytest

from scraper_core.driver import CheckedDriver
from tests.synthetic import TreeWriter

REPOSITORY = Path(__file__).parent.parent
CORE_AND_PLUGINS = {
    "registry_scraper",
    "registry_scraper_local",
    "registry_scraper_s3",
    "registry_scraper_gcs",
    "registry_scraper_azure",
}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        ["make", "-s", "dist", f"DIST={out}"], cwd=REPOSITORY, check=True, capture_output=True
    )
    return out


def test_each_extra_names_the_local_driver_and_its_plugin(wheels: Path) -> None:
    """A cloud extra alone must give a working scrape: the default destination is local."""
    core = next(wheels.glob("registry_scraper-*.whl"))
    with zipfile.ZipFile(core) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(name).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
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


def test_make_dist_builds_a_wheel_for_the_core_and_every_plugin(wheels: Path) -> None:
    names = {path.name.split("-")[0] for path in wheels.glob("*.whl")}
    assert names == CORE_AND_PLUGINS


def test_the_all_extra_installs_every_driver_and_they_copy(
    wheels: Path, tmp_path: Path, local_source: Path
) -> None:
    bin_dir = _fresh_venv(tmp_path)
    subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", "--find-links", str(wheels),
         "registry-scraper[all]"],
        check=True, capture_output=True,
    )  # fmt: skip
    listed = subprocess.run(
        [str(bin_dir / "scrape"), "drivers"], check=True, capture_output=True, text=True
    )
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
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    verified = subprocess.run(
        [str(bin_dir / "scrape"), "verify", "--data-dir", str(copy)],
        capture_output=True, text=True,
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
