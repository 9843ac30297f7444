"""`scrape --help` loads click and the CLI module only (issue 13: within 1.5x of importing
click and pluggy); the core loads when a command runs."""

from __future__ import annotations

from scraper_core import cli
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
