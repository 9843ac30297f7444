"""The plugin author's guide, built exactly as written, in an isolated virtual environment.

The venv sees nothing of the development environment: the core (with its ``testing`` extra)
and the local driver are pip-installed from this checkout, then the example plugin from the
guide's own ``<!-- file: NAME -->`` blocks. Its tests run there, and a tree a real registry
wrote goes through the example driver in two ``scrape`` processes: one writes the driver's
zip file, a second reads it back into a directory a registry serves.
"""

from __future__ import annotations

import re
import subprocess
import venv
from pathlib import Path

import pytest

from tests.support.registry import RegistryFactory, parse_gc_summary
from tests.support.skopeo import PopulatedRegistry

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "plugin-guide.md"
BLOCK = re.compile(r"<!-- file: (?P<name>\S+) -->\n```\w*\n(?P<body>.*?)```", re.DOTALL)
#: Images of the standard set scraped through the example driver (an index, shared layers).
WANTED = ("multiarch", "shared_a", "schema2")
#: Seconds any one command of these tests may take (pip builds wheels on a loaded machine).
TIMEOUT = 900


def guide_files() -> dict[str, str]:
    return {m.group("name"): m.group("body") for m in BLOCK.finditer(GUIDE.read_text())}


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT, stdin=subprocess.DEVNULL
    )


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv (no system or development site-packages) with the core, the local driver
    and the guide's example plugin installed from source."""
    base = tmp_path_factory.mktemp("guide")
    project = base / "registry-scraper-example"
    for name, body in guide_files().items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(body)
    environment = base / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(environment)
    pip = [str(environment / "bin" / "python"), "-m", "pip", "install", "-q"]
    # As the guide says, in the same order: the core, then the plugin's own distribution.
    core = run([*pip, f"{REPO}[testing]", str(REPO / "plugins" / "local")], cwd=base)
    assert core.returncode == 0, core.stderr[-3000:]
    example = run([*pip, str(project)], cwd=base)
    assert example.returncode == 0, example.stderr[-3000:]
    return environment


def scrape(plugin_venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([str(plugin_venv / "bin" / "scrape"), *args], cwd=cwd)


def test_the_guide_has_every_file() -> None:
    assert set(guide_files()) == {
        "pyproject.toml",
        "registry_scraper_example/__init__.py",
        "registry_scraper_example/py.typed",
        "registry_scraper_example/plugin.py",
        "registry_scraper_example/driver.py",
        "tests/test_example.py",
    }


def test_the_venv_holds_only_what_was_installed(plugin_venv: Path, tmp_path: Path) -> None:
    python = str(plugin_venv / "bin" / "python")
    where = run([python, "-c", "import scraper_core; print(scraper_core.__file__)"], tmp_path)
    # The core was installed (copied into the venv), not found through the development tree.
    assert where.stdout.startswith(str(plugin_venv)), where.stdout + where.stderr
    for heavy in ("boto3", "google.cloud.storage", "azure.storage.blob", "registry_scraper_s3"):
        found = run([python, "-c", f"import {heavy}"], tmp_path)
        assert found.returncode != 0, f"{heavy} is importable in the isolated venv"


def test_scrape_finds_the_installed_plugin(plugin_venv: Path, tmp_path: Path) -> None:
    drivers = scrape(plugin_venv, "drivers", cwd=tmp_path)
    assert drivers.returncode == 0, drivers.stderr
    assert re.search(r"^example +registry-scraper-example 1\.0\.0", drivers.stdout, re.M), (
        drivers.stdout
    )
    missing = scrape(
        plugin_venv, "--storage", "example", "--data-dir", "nowhere.zip",
        "--output-dir", str(tmp_path / "copy"), "app",
        cwd=tmp_path,
    )  # fmt: skip
    # The example driver was loaded and asked to open the source: there is no such store.
    assert missing.returncode == 2
    assert missing.stderr == "error: example: no store at nowhere.zip\n"
    assert not (tmp_path / "copy").exists()


def test_the_guides_tests_pass(plugin_venv: Path) -> None:
    project = plugin_venv.parent / "registry-scraper-example"
    done = run(
        [str(plugin_venv / "bin" / "python"), "-m", "pytest", "-q", "-rA", "-p",
         "no:cacheprovider", "tests/test_example.py"],
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\d{2,} passed", done.stdout), done.stdout[-500:]
    # The plugin suite and the round trip ran too, on the installed plugin.
    assert "PASSED tests/test_example.py::TestExamplePlugin::test_loading_imports" in done.stdout
    round_trips = re.findall(r"PASSED tests/test_example.py::TestExampleRoundTrip::", done.stdout)
    assert len(round_trips) == 2, done.stdout[-3000:]


@pytest.mark.e2e
def test_a_registry_tree_goes_through_the_example_driver_in_two_processes(
    plugin_venv: Path,
    populated_registry: PopulatedRegistry,
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
) -> None:
    refs = [populated_registry.pushed[key].ref for key in WANTED]
    store = tmp_path / "store.zip"
    written = scrape(
        plugin_venv, "--data-dir", str(populated_registry.root),
        "--output-storage", "example", "--output-dir", str(store), *refs,
        cwd=tmp_path,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert store.is_file()

    copy = tmp_path / "copy"
    read = scrape(
        plugin_venv, "--storage", "example", "--data-dir", str(store),
        "--output-dir", str(copy), *refs,
        cwd=tmp_path,
    )  # fmt: skip
    assert read.returncode == 0, read.stderr
    assert f"{len(refs)} of {len(refs)} images copied" in read.stderr
    for storage, location in (("example", store), ("local", copy)):
        verified = scrape(
            plugin_venv, "verify", "--storage", storage, "--data-dir", str(location), *refs,
            cwd=tmp_path,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stderr

    # What the registry wrote, byte for byte, and a registry serving the copy deletes nothing.
    files = [path for path in copy.rglob("*") if path.is_file() and "docker" in path.parts]
    assert files
    for path in files:
        original = populated_registry.root / path.relative_to(copy)
        assert path.read_bytes() == original.read_bytes(), path
    served = filesystem_registry(copy)
    assert parse_gc_summary(served.garbage_collect_dry_run())[1:] == (0, 0)
