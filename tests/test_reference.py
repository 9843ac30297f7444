"""References: distribution's grammar, and no input builds a path outside the tree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper_core import layout
from scraper_core.contract import is_valid_path
from scraper_core.digest import Digest
from scraper_core.errors import InvalidReferenceError
from scraper_core.reference import parse_reference

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest"),
    [
        ("busybox", "busybox", "latest", None),
        ("team/app:1.2", "team/app", "1.2", None),
        ("a.b-c__d/e_f:V_1.0-rc", "a.b-c__d/e_f", "V_1.0-rc", None),
        (f"app@sha256:{HEX}", "app", None, f"sha256:{HEX}"),
        (f"app:v1@sha256:{HEX}", "app", "v1", f"sha256:{HEX}"),
        ("x--y:_", "x--y", "_", None),
    ],
)
def test_valid_references(text: str, name: str, tag: str | None, digest: str | None) -> None:
    reference = parse_reference(text)
    assert reference.name == name
    assert reference.tag == tag
    assert (str(reference.digest) if reference.digest else None) == digest


@pytest.mark.parametrize(
    "text",
    [
        "",
        "UPPER",
        "app:",
        "/app",
        "app/",
        "a//b",
        "../etc",
        "a/../b",
        "a/./b",
        ".hidden",
        "app:.tag",
        "app:-tag",
        "app:" + "t" * 129,
        "localhost:5000/app:1",
        "app@sha256:" + "A" * 64,
        "app@sha256:" + "a" * 63,
        "app@md5:" + "a" * 32,
        "a" * 256,
        "app:tag/with/slash",
        "app name",
        "app_:1",
        "a___b",
        "app\n",
        "app:tag\n",
        f"app@sha256:{HEX}\n",
    ],
)
def test_invalid_references(text: str) -> None:
    with pytest.raises(InvalidReferenceError):
        parse_reference(text)


def test_name_of_255_characters_is_accepted() -> None:
    assert parse_reference("a" * 255).name == "a" * 255


def _paths_for(text: str) -> list[str]:
    reference = parse_reference(text)
    digest = reference.digest or Digest("sha256", HEX)
    paths = [
        layout.revision_link_path(reference.name, digest),
        layout.layer_link_path(reference.name, digest),
    ]
    if reference.tag:
        paths.append(layout.tag_current_link_path(reference.name, reference.tag))
        paths.append(layout.tag_index_link_path(reference.name, reference.tag, digest))
    return paths


@given(st.text(max_size=300))
def test_no_input_builds_a_path_outside_the_repositories(text: str) -> None:
    try:
        paths = _paths_for(text)
    except InvalidReferenceError:
        return
    for path in paths:
        assert is_valid_path(path), path
        assert path.startswith(layout.REPOSITORIES_ROOT + "/")


_component = st.from_regex(r"\A[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_tag = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")


@given(st.lists(_component, min_size=1, max_size=4), _tag)
def test_grammar_round_trips(components: list[str], tag: str) -> None:
    name = "/".join(components)
    if len(name) > 255:
        return
    reference = parse_reference(f"{name}:{tag}")
    assert (reference.name, reference.tag) == (name, tag)
    assert str(reference) == f"{name}:{tag}"
    for path in _paths_for(f"{name}:{tag}"):
        assert ".." not in path.split("/")
