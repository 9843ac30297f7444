"""The ``scrape`` command run in this process (click's CliRunner), as most tests run it.

Tests that must survive a hang or a crash of the command run it as a process instead
(:mod:`tests.support.cli_process`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from scraper_core.cli import main


def run_cli(
    *args: str, stdin: bytes | str | None = None, env: Mapping[str, str | None] | None = None
) -> Result:
    """``scrape ARGS...`` with ``stdin`` as its input and ``env`` over this environment."""
    return CliRunner().invoke(main, list(args), input=stdin, env=env)


def scrape_ok(*args: str) -> Result:
    """``scrape ARGS...``, which must exit 0 (its output shows when it does not)."""
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    return result


def copy_under(base: Path, *args: str) -> Result:
    """``scrape --data-dir BASE/data --output-dir BASE/copy ARGS...``: the source and the copy
    side by side under one folder (a test's tmp_path), as most tests of the copy set them up."""
    return run_cli("--data-dir", str(base / "data"), "--output-dir", str(base / "copy"), *args)


def take_inventory(root: Path, path: Path) -> dict[str, Any]:
    """``scrape inventory`` of the tree at ``root``, written to ``path`` (what a site sends
    for ``--have``) and returned parsed; the command must succeed."""
    result = scrape_ok("inventory", "--data-dir", str(root))
    path.write_text(result.stdout)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def without_env_notes(help_text: str) -> str:
    """A ``--help`` text on one line, without click's ``[env var: ...]`` notes (and the
    ``[default: ...]`` they share brackets with kept as ``[default: ...]``), for checks of
    what follows what."""
    flat = " ".join(help_text.split())
    flat = re.sub(r"\[env var: [^;\]]*\] ?", "", flat)
    return re.sub(r"\[env var: [^;\]]*; ", "[", flat)
