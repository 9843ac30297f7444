"""The plugin author's guide, built exactly as written, in a fresh virtual environment."""

from __future__ import annotations

import re
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

GUIDE = Path(__file__).parent.parent / "docs" / "plugin-guide.md"
BLOCK = re.compile(r"<!-- file: (?P<name>\S+) -->\n```\w*\n(?P<body>.*?)```", re.DOTALL)


def guide_files() -> dict[str, str]:
    return {m.group("name"): m.group("body") for m in BLOCK.finditer(GUIDE.read_text())}


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv that sees this project's packages but has the example plugin installed."""
    base = tmp_path_factory.mktemp("guide")
    project = base / "registry-scraper-example"
    for name, body in guide_files().items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(body)
    environment = base / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # The project's own packages (core, drivers, click, pluggy) come from the test venv.
    # addsitedir, not a plain path: the editable installs there are .pth import hooks too.
    hooks = [f"import site; site.addsitedir({path!r})" for path in site.getsitepackages()]
    (Path(target) / "registry_scraper_dev.pth").write_text("\n".join(hooks) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps",
         str(project)],
        check=True,
    )  # fmt: skip
    return environment


def test_the_guide_has_every_file() -> None:
    assert set(guide_files()) == {
        "pyproject.toml",
        "registry_scraper_example/__init__.py",
        "registry_scraper_example/py.typed",
        "registry_scraper_example/plugin.py",
        "registry_scraper_example/driver.py",
        "tests/test_conformance.py",
    }


def test_scrape_finds_the_installed_plugin(plugin_venv: Path, tmp_path: Path) -> None:
    python = str(plugin_venv / "bin" / "python")
    cli = [python, "-c", "from scraper_core.cli import main; main()"]
    drivers = subprocess.run(
        [*cli, "drivers"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "example    registry-scraper-example 1.0.0" in drivers.stdout
    used = subprocess.run(
        [*cli, "--storage", "example", "--data-dir", "nowhere", "--output-dir",
         str(tmp_path / "copy"), "app"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    # The example driver was loaded and asked to open the source (an empty store here).
    assert used.returncode == 2
    assert used.stderr == "error: memory: no store named 'nowhere'\n"


def test_the_guides_conformance_file_passes(plugin_venv: Path) -> None:
    project = next(plugin_venv.parent.glob("registry-scraper-example"))
    done = subprocess.run(
        [str(plugin_venv / "bin" / "python"), "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
         str(project / "tests" / "test_conformance.py")],
        capture_output=True, text=True, cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\d{3,} passed", done.stdout), done.stdout[-500:]
    # The plugin suite ran too, on the installed plugin.
    assert "TestExamplePlugin::test_loading_imports_no_heavy_module" in done.stdout
    assert sys.version_info >= (3, 11)
