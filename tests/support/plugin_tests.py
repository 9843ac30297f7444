"""The shipped plugins' own test helpers, importable outside pytest too.

pytest finds ``plugins/<name>/tests`` through pyproject's ``pythonpath``; the benchmark harness
(``python -m bench.run``) and scripts import these modules without pytest, so the folder is
put on ``sys.path`` here as well.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def make_importable(plugin: str) -> None:
    """Let ``import <helper>`` find the modules in ``plugins/<plugin>/tests``."""
    folder = str(_PLUGINS / plugin / "tests")
    if folder not in sys.path:
        sys.path.append(folder)
