"""Repositories and tags of a storage, and globs over them, through the real local driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import InvalidReferenceError
from scraper_core.listing import (
    list_repositories,
    list_tags,
    match_repositories,
    match_tags,
    tag_directories,
)
from scraper_core.testing.tree import TreeWriter
from tests.support.drivers import LocalDouble
from tests.support.trees import local_writer

REPOSITORIES = ["app", "deep/a/b/c", "team/app", "team/app/sub", "team/other"]


class RecordingDriver(LocalDouble):
    """The local driver, remembering every directory listed."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.listed: list[str] = []

    def list_dir(self, path: str) -> list[str]:
        self.listed.append(path)
        return self.inner.list_dir(path)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def writer(root: Path) -> TreeWriter:
    return local_writer(root)


@pytest.fixture
def tree(writer: TreeWriter, root: Path) -> Path:
    for name in REPOSITORIES:
        writer.image(name, "latest", layer_sizes=(10,))
    return root


def reader(root: Path) -> tuple[CheckedDriver, RecordingDriver]:
    recording = RecordingDriver(root)
    return CheckedDriver(recording, read_only=True), recording


def write_file(root: Path, path: str, content: bytes = b"x") -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


def test_lists_nested_repositories(tree: Path) -> None:
    driver, _ = reader(tree)
    assert list_repositories(driver) == REPOSITORIES


def test_skips_underscore_directories_stray_files_and_invalid_names(tree: Path) -> None:
    # Look like repositories, but inside _uploads / _layers, or outside the name grammar.
    marker = "_manifests/tags/x/current/link"
    write_file(tree, f"{layout.repository_path('app')}/_uploads/fake/{marker}")
    write_file(tree, f"{layout.repository_path('app')}/_layers/fake/{marker}")
    write_file(tree, f"{layout.REPOSITORIES_ROOT}/Upper/{marker}")
    write_file(tree, f"{layout.REPOSITORIES_ROOT}/team/README")
    driver, recording = reader(tree)
    assert list_repositories(driver) == REPOSITORIES
    assert not [path for path in recording.listed if "/_" in path]


def test_empty_storage_has_no_repositories(root: Path) -> None:
    root.mkdir()
    driver, _ = reader(root)
    assert list_repositories(driver) == []


def test_tags_need_a_current_link(writer: TreeWriter, root: Path) -> None:
    image = writer.image("app", "v1", layer_sizes=(10,))
    writer.tag("app", "v2", image.manifest)
    # Only an index entry: the registry lists it but cannot serve it.
    writer.link(layout.tag_index_link_path("app", "gone", image.manifest), image.manifest)
    write_file(
        root, f"{layout.tags_path('app')}/.hidden/current/link", str(image.manifest).encode()
    )
    driver, _ = reader(root)
    assert list_tags(driver, "app") == ["v1", "v2"]
    assert tag_directories(driver, "app") == {
        ".hidden": True,
        "gone": False,
        "v1": True,
        "v2": True,
    }
    assert list_tags(driver, "missing") == []


def test_glob_lists_only_the_directories_it_needs(tree: Path) -> None:
    driver, recording = reader(tree)
    assert match_repositories(driver, "team/*") == ["team/app", "team/other"]
    assert recording.listed == [layout.repository_path("team")]


@pytest.mark.parametrize(
    ("pattern", "expected", "listed"),
    [
        ("*/app", ["team/app"], [layout.REPOSITORIES_ROOT]),
        ("a?p", ["app"], [layout.REPOSITORIES_ROOT]),
        ("[ad]*", ["app"], [layout.REPOSITORIES_ROOT]),
        ("*", ["app"], [layout.REPOSITORIES_ROOT]),
        ("team/app/*", ["team/app/sub"], [layout.repository_path("team/app")]),
        ("deep/*/b/c", ["deep/a/b/c"], [layout.repository_path("deep")]),
        ("team/app", ["team/app"], []),
        ("team", [], []),
        ("nothing/*", [], [layout.repository_path("nothing")]),
    ],
)
def test_glob_matches_one_component_at_a_time(
    tree: Path, pattern: str, expected: list[str], listed: list[str]
) -> None:
    driver, recording = reader(tree)
    assert match_repositories(driver, pattern) == expected
    assert recording.listed == listed


@pytest.mark.parametrize(
    "pattern",
    ["", "team/", "/team", "team//x", "..", "team/../x", ".", "Team/*", "te am", "[!a]*", "a-"],
)
def test_invalid_repository_patterns_are_refused_before_any_listing(
    tree: Path, pattern: str
) -> None:
    driver, recording = reader(tree)
    with pytest.raises(InvalidReferenceError, match="invalid repository pattern"):
        match_repositories(driver, pattern)
    assert recording.listed == []


def test_tag_globs(writer: TreeWriter, root: Path) -> None:
    image = writer.image("app", "latest", layer_sizes=(10,))
    for tag in ("1.0", "1.1", "2.0", "1.0-rc"):
        writer.tag("app", tag, image.manifest)
    driver, _ = reader(root)
    assert match_tags(driver, "app", "1.*") == ["1.0", "1.0-rc", "1.1"]
    assert match_tags(driver, "app", "[12].0") == ["1.0", "2.0"]
    assert match_tags(driver, "app", "?.?") == ["1.0", "1.1", "2.0"]
    assert match_tags(driver, "app", "latest") == ["latest"]
    assert match_tags(driver, "app", "3*") == []


@pytest.mark.parametrize("pattern", ["", "a b", "x/y", "v1:2", "é*"])
def test_invalid_tag_patterns(writer: TreeWriter, root: Path, pattern: str) -> None:
    writer.image("app", "v1", layer_sizes=(10,))
    driver, _ = reader(root)
    with pytest.raises(InvalidReferenceError, match="invalid tag pattern"):
        match_tags(driver, "app", pattern)


def test_names_come_back_usable_as_references(tree: Path) -> None:
    # A listed repository always reads back: its tags resolve through the same layout.
    driver, _ = reader(tree)
    for name in list_repositories(driver):
        (tag,) = list_tags(driver, name)
        content = driver.get_content(layout.tag_current_link_path(name, tag))
        assert Digest.parse(content.decode())
