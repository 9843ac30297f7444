"""Listing many repositories costs what their directories cost (issue 13).

Through the real CLI on a synthetic tree of many small repositories, the local driver's calls
are counted: tags are listed by ``walk_names`` (no stat per file), one per repository, never by
``walk``; each repository directory is listed once. A driver without ``walk_names`` still
lists the same tags through ``walk``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, ClassVar

import pytest

from registry_scraper_local.driver import LocalDriver
from scraper_core.checked import CheckedDriver
from scraper_core.contract import Capability, FileInfo, SupportsWalkNames
from scraper_core.listing import list_repositories, tag_directories
from tests.support.cli import scrape_ok
from tests.support.counting import counting_calls
from tests.support.trees import local_writer

REPOSITORIES = 12
TAGS_EACH = 3
COUNTED = ("walk", "walk_names", "list_dir", "stat")


def counting_local_calls() -> AbstractContextManager[Counter[str]]:
    return counting_calls(LocalDriver, COUNTED, lambda driver, name, args: name)


def _tree(root: Path) -> None:
    writer = local_writer(root)
    for number in range(REPOSITORIES):
        name = f"branch-{number:03d}"
        image = writer.image(name, "latest", layer_sizes=(10,))
        for tag in range(1, TAGS_EACH):
            writer.tag(name, f"build-{tag}", image.manifest)


@pytest.mark.parametrize(
    "args",
    [["list"], ["--dry-run", "branch-*"], ["--dry-run", "--all-tags", "*"]],
    ids=["list", "glob", "all-tags"],
)
def test_tags_are_listed_by_name_once_per_repository(tmp_path: Path, args: list[str]) -> None:
    _tree(tmp_path / "src")
    where = ["--data-dir", str(tmp_path / "src")]
    if args[0] != "list":
        where += ["--output-dir", str(tmp_path / "out"), "-q"]
    with counting_local_calls() as calls:
        command = [*args, *where] if args[0] == "list" else [*where, *args]
        scrape_ok(*command)
    assert calls["walk"] == 0
    # A glob without --all-tags takes each repository's latest: no tag listing at all. With
    # --all-tags each one's manifest revisions are walked once more (untagged ones counted).
    walks = 0 if "branch-*" in args else REPOSITORIES
    assert calls["walk_names"] == walks * (2 if "--all-tags" in args else 1)
    # repositories/ once (a glob and a full listing alike), then each repository once.
    assert calls["list_dir"] <= REPOSITORIES + 1


class WalkOnly:
    """A reader without ``walk_names``: every method of :class:`StorageReader`, forwarded to
    a local driver (spelled out, as a forwarding ``__getattr__`` would offer ``walk_names``
    too, and the wrapper would take it)."""

    name: ClassVar[str] = "local"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, root: Path) -> None:
        self.inner = LocalDriver(root, read_only=True)
        self.walked = 0

    def get_content(self, path: str) -> bytes:
        return self.inner.get_content(path)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self.inner.reader(path, offset)

    def stat(self, path: str) -> FileInfo:
        return self.inner.stat(path)

    def list_dir(self, path: str) -> list[str]:
        return self.inner.list_dir(path)

    def walk(self, path: str) -> Iterator[FileInfo]:
        self.walked += 1
        return self.inner.walk(path)


def test_a_driver_without_walk_names_lists_the_same_tags_by_walk(tmp_path: Path) -> None:
    _tree(tmp_path)
    local = CheckedDriver(LocalDriver(tmp_path, read_only=True), read_only=True)
    walk_only = WalkOnly(tmp_path)
    assert not isinstance(walk_only, SupportsWalkNames)
    other = CheckedDriver(walk_only, read_only=True)
    names = list_repositories(local)
    assert len(names) == REPOSITORIES
    for name in names:
        assert tag_directories(other, name) == tag_directories(local, name)
        assert set(tag_directories(local, name)) == {"latest", "build-1", "build-2"}
    assert walk_only.walked == REPOSITORIES
