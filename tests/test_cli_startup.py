"""`scrape --help` loads click and the CLI module only (issue 13: within 1.5x of importing
click and pluggy); the core loads when a command runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scraper_core import cli
from scraper_core.plugins import DriverRegistry
from scraper_core.testing.tree import TreeWriter
from scraper_core.transfer import DEFAULT_JOBS
from tests.support.cli import run_cli
from tests.support.cli_process import python_output

_HELP_MODULES = (
    "import sys; sys.argv = ['scrape', '--help']\n"
    "from scraper_core.cli import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "print(' '.join(sorted(sys.modules)))\n"
)


def test_help_imports_no_core_module_beyond_the_cli() -> None:
    modules = set(python_output(_HELP_MODULES).split())
    loaded = {name for name in modules if name.startswith("scraper_core")}
    # The command line's own small modules (cli_*: options, environment, output) load with it.
    cli_own = {name for name in loaded if name.startswith("scraper_core.cli_")}
    assert loaded - cli_own == {"scraper_core", "scraper_core.cli", "scraper_core.errors"}
    heavy = {"hashlib", "pluggy", "concurrent.futures", "json", "importlib.metadata"}
    assert not heavy & modules


def test_help_shows_the_copy_engine_default_for_jobs() -> None:
    assert cli.DEFAULT_JOBS == DEFAULT_JOBS
    result = run_cli("copy", "--help")
    assert result.exit_code == 0
    assert f"default: {DEFAULT_JOBS};" in " ".join(result.output.split())


def test_plugins_still_import_hookimpl_from_the_package() -> None:
    import scraper_core
    from scraper_core.hookspecs import hookimpl

    assert scraper_core.hookimpl is hookimpl
    try:
        scraper_core.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("unknown attribute did not raise")


_COPY_MODULES = (
    "import sys\n"
    "from scraper_core.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    print('exit', exc.code)\n"
    "print(' '.join(sorted(sys.modules)))\n"
)


def _copy_modules(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _COPY_MODULES, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
    )
    status, modules = result.stdout.splitlines()[-2:]
    return status + result.stderr, set(modules.split())


def test_a_copy_with_the_cores_own_options_loads_only_its_drivers_plugins(
    tmp_path: Path,
) -> None:
    """Shorthand options are learned (every plugin loaded) only when the command line could
    name one: a rerun with nothing to do imports neither a cloud driver nor the YAML parser."""
    source = tmp_path / "data"
    TreeWriter(DriverRegistry().open("local", str(source), read_only=False)).image("app", "v1")
    copy = ["--data-dir", str(source), "--output-dir", str(tmp_path / "out"), "-q", "app:v1"]
    for _ in range(2):  # a copy, then the no-op rerun
        said, modules = _copy_modules(tmp_path, *copy)
        assert said == "exit 0", said
        plugins = {name.split(".")[0] for name in modules if name.startswith("registry_scraper")}
        assert plugins == {"registry_scraper_local"}
        assert not {"registry_scraper_local.tar", "yaml", "semver", "boto3"} & modules
        # Entry points are read without importlib.metadata (its import pulls email, zipfile).
        assert not {"importlib.metadata", "email", "zipfile"} & modules
        # Randomness (secrets imports random and hmac) names a receipt; a no-op writes none.
        assert "secrets" not in modules
        # What only verify, a push and the tag rules of an images file use.
        assert not {"scraper_core.verify", "scraper_core.push", "scraper_core.tagrules"} & modules
    # A flag the core does not have is a plugin's: then every plugin is asked.
    said, modules = _copy_modules(tmp_path, *copy[:2], "--output-tar", "x.tar", "-q", "app:v1")
    assert said == "exit 0", said
    assert {"registry_scraper_local.tar", "registry_scraper_s3.plugin"} <= modules


def test_no_destination_names_every_plugins_location_flag(tmp_path: Path) -> None:
    said, _modules = _copy_modules(tmp_path, "--data-dir", str(tmp_path), "app:v1")
    assert "give exactly one of --output-dir and --output-tar" in said
    assert said.startswith("exit 2")


def test_copy_help_lists_the_plugins_shorthands() -> None:
    for helped in (["copy", "--help"], ["copy", "-h"], ["--data-dir", "d", "--help"]):
        result = run_cli(*helped)
        assert result.exit_code == 0
        assert "--output-tar FILE" in result.output, helped
