"""Tags a destination holds that the source no longer has, and what finding them costs,
through the real local driver."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper_core import gonetags, layout
from scraper_core.checked import CheckedDriver
from scraper_core.contract import FileInfo
from scraper_core.gonetags import gone_tags
from tests.support.drivers import LocalDouble
from tests.support.trees import local_writer


class CountingDriver(LocalDouble):
    """The local driver, counting the calls that look at tags."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: Counter[str] = Counter()

    def list_dir(self, path: str) -> list[str]:
        self.calls["list_dir"] += 1
        return self.inner.list_dir(path)

    def stat(self, path: str) -> FileInfo:
        self.calls["stat"] += 1
        return self.inner.stat(path)

    def walk(self, path: str) -> Iterator[FileInfo]:
        self.calls["walk"] += 1
        return self.inner.walk(path)

    def walk_names(self, path: str) -> Iterator[str]:
        self.calls["walk"] += 1
        return self.inner.walk_names(path)


def destination(root: Path, tags: list[str]) -> tuple[CheckedDriver, CountingDriver]:
    writer = local_writer(root)
    for tag in tags:
        writer.image("app", tag, layer_sizes=(10,))
    counting = CountingDriver(root)
    return CheckedDriver(counting, read_only=True), counting


@pytest.mark.parametrize("lookups", [gonetags.LOOKUPS_BEFORE_WALK, 0], ids=["stat", "walk"])
def test_only_tags_that_resolve_and_the_source_lacks_are_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lookups: int
) -> None:
    monkeypatch.setattr(gonetags, "LOOKUPS_BEFORE_WALK", lookups)
    root = tmp_path / "dest"
    dest, _ = destination(root, ["kept", "deleted", "sha256-" + "a" * 64 + ".sig"])
    # A tag directory without current/link: the registry cannot serve it, so it is no tag.
    (root / layout.tag_path("app", "broken").lstrip("/") / "index").mkdir(parents=True)
    assert gone_tags(dest, {"app": {"kept"}}) == ["app:deleted"]
    assert gone_tags(dest, {"app": {"kept", "deleted"}}) == []


def test_a_no_op_rerun_lists_the_tags_once_and_looks_into_none(tmp_path: Path) -> None:
    tags = [f"v{number}" for number in range(40)]
    dest, counting = destination(tmp_path / "dest", tags)
    assert gone_tags(dest, {"app": set(tags)}) == []
    assert counting.calls == {"list_dir": 1}


def test_few_tags_gone_are_looked_into_one_by_one_and_many_by_one_walk(tmp_path: Path) -> None:
    tags = [f"v{number}" for number in range(gonetags.LOOKUPS_BEFORE_WALK + 2)]
    dest, counting = destination(tmp_path / "dest", tags)
    assert gone_tags(dest, {"app": set(tags[2:])}) == ["app:v0", "app:v1"]
    assert counting.calls == {"list_dir": 1, "stat": 2}
    counting.calls.clear()
    assert len(gone_tags(dest, {"app": set()})) == len(tags)
    assert counting.calls == {"list_dir": 1, "walk": 1}


def test_a_repository_without_tags_at_the_destination_has_none_gone(tmp_path: Path) -> None:
    dest, _ = destination(tmp_path / "dest", ["v1"])
    assert gone_tags(dest, {"other": {"v1"}}) == []
