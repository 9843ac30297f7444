"""The plugin author's guide, built and run exactly as written, in an isolated virtual
environment.

The guide's ``<!-- file: NAME -->`` blocks are the example plugin's files, and its ``<!-- run:
NAME -->`` blocks are the commands a reader types; both are taken from the guide's text. The
core's wheels are built from this checkout where the guide says they are (``dist/``), its
setup commands make a virtual environment that sees nothing of the development one, its
install and test commands install the plugin and run its tests there, and its scrape
commands copy a tree a real registry wrote through the example driver: one ``scrape``
process writes the zip file, a second one reads it back into a directory a registry serves.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from scraper_core import contract
from scraper_core.contract import (
    Abortable,
    Closable,
    StorageDriver,
    StorageReader,
    SupportsReadHead,
    SupportsWalkNames,
)
from tests.support.registry import RegistryFactory, parse_gc_summary
from tests.support.skopeo import PopulatedRegistry

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "plugin-guide.md"
FILE = re.compile(r"<!-- file: (?P<name>\S+) -->\n```\w*\n(?P<body>.*?)```", re.DOTALL)
RUN = re.compile(r"<!-- run: (?P<name>\S+) -->\n```sh\n(?P<body>.*?)```", re.DOTALL)
#: Where the guide's commands find the core's checkout.
CHECKOUT = "/path/to/registry-scraper"
#: Images of the standard set scraped through the example driver (an index, shared layers).
WANTED = ("multiarch", "shared_a", "schema2")
#: Seconds any one command of these tests may take (pip builds wheels on a loaded machine).
TIMEOUT = 900


def guide_files() -> dict[str, str]:
    return {m.group("name"): m.group("body") for m in FILE.finditer(GUIDE.read_text())}


def guide_commands(name: str) -> str:
    """The commands of the guide's block ``<!-- run: NAME -->``."""
    found = {m.group("name"): m.group("body") for m in RUN.finditer(GUIDE.read_text())}
    return found[name]


def write_project(where: Path) -> Path:
    project = where / "registry-scraper-example"
    for name, body in guide_files().items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(body)
    return project


def clean_environment() -> dict[str, str]:
    """This process's environment without what would let a child see the development venv."""
    hidden = ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTHONHOME")
    environment = {key: value for key, value in os.environ.items() if key not in hidden}
    bin_dir = str(Path(sys.executable).parent)
    paths = environment.get("PATH", "").split(os.pathsep)
    environment["PATH"] = os.pathsep.join(path for path in paths if path != bin_dir)
    return environment


def run(
    command: list[str], cwd: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT,
        stdin=subprocess.DEVNULL, env=environment if environment is not None else None,
    )  # fmt: skip


def run_commands(
    commands: str, cwd: Path, venv: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``commands`` in bash, stopping at the first that fails; in ``venv`` when given (the
    guide's later steps run with the virtual environment of its setup active)."""
    activate = f". {shlex.quote(str(venv / 'bin' / 'activate'))}\n" if venv else ""
    script = f"set -euo pipefail\n{activate}{commands}"
    return run(["bash", "-c", script], cwd, {**clean_environment(), **extra})


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The guide's virtual environment: its setup and install commands, as written, with the
    core's wheels built from this checkout."""
    base = tmp_path_factory.mktemp("guide")
    checkout = base / "registry-scraper"
    built = run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(checkout / "dist"),
         str(REPO), str(REPO / "plugins" / "local")],
        cwd=base,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    project = write_project(base)
    setup = guide_commands("setup").replace(CHECKOUT, str(checkout))
    done = run_commands(setup, project)
    assert done.returncode == 0, done.stderr[-3000:]
    venv = project / ".venv"
    installed = run_commands(guide_commands("install"), project, venv)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


def scrape(plugin_venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([str(plugin_venv / "bin" / "scrape"), *args], cwd, clean_environment())


def test_the_guide_has_every_file_and_command() -> None:
    assert set(guide_files()) == {
        "pyproject.toml",
        "registry_scraper_example/__init__.py",
        "registry_scraper_example/py.typed",
        "registry_scraper_example/plugin.py",
        "registry_scraper_example/driver.py",
        "tests/test_example.py",
    }
    for name in ("setup", "install", "test", "scrape"):
        assert guide_commands(name).strip(), name


def test_the_guide_documents_the_whole_contract() -> None:
    text = GUIDE.read_text()
    attributes = ("latency_bound", "commits_in_order", "stages_in_memory_up_to", "provenance")
    fields = [field.name for field in dataclasses.fields(contract.FileInfo)]
    names = [*contract.__all__, *attributes, "notes", *fields]
    assert [name for name in names if not re.search(rf"`[^`]*\b{name}\b", text)] == []
    words = " ".join(text.split())
    assert "`mod_time` is when the content was last written, in seconds since the Unix" in words


def test_the_guides_driver_is_written_from_scratch() -> None:
    # Every method of the contract spelled out: nothing of the test kit, no base driver.
    driver = guide_files()["registry_scraper_example/driver.py"]
    assert "scraper_core.testing" not in driver and "MemoryDriver" not in driver
    assert re.search(r"^class ExampleDriver:$", driver, re.M)
    protocols = (StorageReader, StorageDriver, SupportsReadHead, SupportsWalkNames, Closable)
    methods = {
        name
        for protocol in (*protocols, Abortable)
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_")
    }
    assert {"get_content", "reader", "put_content", "writer", "walk_names", "abort"} <= methods
    for method in ("open", *methods):
        assert re.search(rf"^    def {method}\(", driver, re.M), method
    # And it leaves the wrapper's rules to the wrapper.
    for rule in ("ReadOnlyError", "InvalidPathError", "InvalidOffsetError", "offset < 0"):
        assert rule not in driver, rule


def test_the_guides_code_passes_mypy_strict(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    checked = run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         str(project / "registry_scraper_example"), str(project / "tests")],
        REPO, {**os.environ, "MYPYPATH": str(project)},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-3000:]


def test_the_venv_holds_only_what_was_installed(plugin_venv: Path, tmp_path: Path) -> None:
    python = str(plugin_venv / "bin" / "python")
    where = run([python, "-c", "import scraper_core; print(scraper_core.__file__)"], tmp_path)
    # The core was installed (copied into the venv), not found through the development tree.
    assert where.stdout.startswith(str(plugin_venv)), where.stdout + where.stderr
    for heavy in ("boto3", "google.cloud.storage", "azure.storage.blob", "registry_scraper_s3"):
        found = run([python, "-c", f"import {heavy}"], tmp_path)
        assert found.returncode != 0, f"{heavy} is importable in the isolated venv"


def test_the_driver_needs_no_pytest_at_run_time(plugin_venv: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from scraper_core.plugins import DriverRegistry\n"
        "driver = DriverRegistry().open('example', 'store.zip', {}, read_only=False)\n"
        "driver.put_content('/a/b', b'x')\n"
        "driver.close()\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'pytest'))\n"
    )
    done = run([str(plugin_venv / "bin" / "python"), "-c", script], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"
    assert (tmp_path / "store.zip").is_file()


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
    bad = scrape(
        plugin_venv, "--storage", "example", "--data-dir", "nowhere.zip", "-o", "max_size=1k",
        "--output-dir", str(tmp_path / "copy"), "app",
        cwd=tmp_path,
    )  # fmt: skip
    # Options are checked before the location, in the one size grammar.
    assert bad.returncode == 2
    must = "must be between 1MiB and 64GiB"
    assert bad.stderr == f"error: example: option max_size {must}, got '1k'\n"
    (tmp_path / "not.zip").write_bytes(b"PK but no zip")
    for given, problem in (
        (tmp_path, f"{tmp_path} is a directory, not a zip file"),
        (tmp_path / "not.zip", f"cannot read {tmp_path / 'not.zip'}: File is not a zip file"),
    ):
        refused = scrape(
            plugin_venv, "--storage", "example", "--data-dir", str(given),
            "--output-dir", str(tmp_path / "copy"), "app",
            cwd=tmp_path,
        )  # fmt: skip
        assert (refused.returncode, refused.stderr) == (2, f"error: example: {problem}\n")
    assert not (tmp_path / "copy").exists()


def test_the_guides_tests_pass(plugin_venv: Path) -> None:
    project = plugin_venv.parent
    done = run_commands(
        guide_commands("test"), project, plugin_venv, PYTEST_ADDOPTS="-rA -p no:cacheprovider"
    )
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
    commands = (
        guide_commands("scrape")
        .replace("/var/lib/registry", shlex.quote(str(populated_registry.root)))
        .replace("app:v1", shlex.join(refs))
    )
    done = run_commands(commands, tmp_path, plugin_venv)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^example +registry-scraper-example", done.stdout, re.M), done.stdout
    # Both copies, into the zip file and out of it, took every image.
    assert done.stderr.count(f"{len(refs)} of {len(refs)} images copied") == 2, done.stderr
    store, copy = tmp_path / "store.zip", tmp_path / "copy"
    assert store.is_file()
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
