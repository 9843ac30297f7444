"""Driver doubles: a read-only local driver that a test changes one or two methods of."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from registry_scraper_local.driver import LocalDriver
from scraper_core.contract import Capability


class LocalDouble:
    """Forwards every call to a read-only LocalDriver on ``root`` (``inner``); a subclass
    overrides what it records or refuses. It declares no capability, so the core takes the
    plain paths."""

    name: ClassVar[str] = "local"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, root: Path) -> None:
        self.inner = LocalDriver(root, read_only=True)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)
