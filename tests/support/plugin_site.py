"""Fake installed plugin distributions, for tests of how the core finds and loads plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_distribution(
    site: Path, dist: str, entry: str, module: str, source: str, version: str = "1.2.3"
) -> None:
    """Install, in ``site`` (a folder on sys.path), the distribution ``dist`` whose module
    ``module`` holds ``source`` and registers it as entry point ``entry`` of the
    ``registry_scraper`` group."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[registry_scraper]\n{entry} = {module}\n")
