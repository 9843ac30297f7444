"""Whether a source location is a registry's storage root, and a hint when it is not.

The root is the folder holding ``docker/registry/v2``. A location one or more levels too
deep (``data/docker``) or one level too high (the root is a child of it) is the common
mistake; without the hint it shows only as "repository not found" or an empty listing.
"""

from __future__ import annotations

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.errors import PathNotFoundError, ScraperError

#: ``docker/registry/v2``, the components a root holds.
_V2_PARTS = tuple(layout.V2_ROOT.strip("/").split("/"))
#: Children of the location looked into for a root one level down; a bound whatever it holds.
CHILDREN_LOOKED_AT = 64


def _holds_v2(driver: CheckedDriver, under: str) -> bool:
    try:
        driver.list_dir(f"{under.rstrip('/')}{layout.V2_ROOT}")
    except PathNotFoundError:
        return False
    return True


def root_hint(driver: CheckedDriver, location: str, flag: str = "--data-dir") -> str | None:
    """None when ``location`` (opened as ``driver``) holds ``docker/registry/v2``; else a
    line saying so, and which location would, when one level up or down looks like it."""
    try:
        if _holds_v2(driver, "/"):
            return None
        children = driver.list_dir("/")[:CHILDREN_LOOKED_AT]
    except ScraperError:
        return None  # the run says what is wrong with the storage itself
    missing = f"no docker/registry/v2 under {flag} {location}"
    parts = location.rstrip("/").split("/")
    for depth in range(len(_V2_PARTS), 0, -1):
        if tuple(parts[-depth:]) == _V2_PARTS[:depth]:
            root = "/".join(parts[:-depth]) or ("/" if location.startswith("/") else ".")
            return f"{missing}: it is inside the storage root; try {flag} {root}"
    for child in children:
        name = child.rstrip("/").rsplit("/", 1)[-1]
        try:
            below = _holds_v2(driver, f"/{name}")
        except ScraperError:
            continue
        if below:
            return (
                f"{missing}: the storage root is below it; try {flag} {location.rstrip('/')}/{name}"
            )
    return f"{missing}: {flag} names the registry's storage root (the folder holding docker/)"
