"""skopeo sync's YAML as an ``--images-file`` (issue 19, item 8), through the real CLI on a
tree holding several tags; and the semver constraints it takes, against a table.
"""

from __future__ import annotations

import resource
import textwrap
from pathlib import Path

import pytest
from click.testing import Result

from scraper_core import layout
from scraper_core.errors import InvalidReferenceError
from scraper_core.imagesfile import is_yaml
from scraper_core.tagrules import SemverConstraint, regex_rule
from scraper_core.testing.tree import SyntheticImage, TreeWriter
from tests.support.cli import copy_under
from tests.support.trees import local_writer

TAGS = (
    "1.0.0",
    "1.2.0",
    "1.2.5",
    "v1.3",
    "1.3.0-rc1",
    "2.0.0",
    "latest",
    "1.13.1-alpine-perl",
    "1.13.2-alpine-perl",
    "1.13.3-alpine-perl",
)


@pytest.fixture
def source(tmp_path: Path) -> TreeWriter:
    return local_writer(tmp_path / "data")


@pytest.fixture
def tree(source: TreeWriter) -> dict[str, SyntheticImage]:
    images = {f"team/app:{tag}": source.image("team/app", tag) for tag in TAGS}
    images["db:7"] = source.image("db", "7")
    images["db:8"] = source.image("db", "8")
    images["tools/x:latest"] = source.image("tools/x", "latest")
    return images


def copied(tmp_path: Path) -> set[str]:
    root = tmp_path / "copy" / layout.REPOSITORIES_ROOT.lstrip("/")
    return {
        f"{tags.parent.parent.relative_to(root)}:{tag.name}"
        for tags in root.rglob("_manifests/tags")
        for tag in tags.iterdir()
    }


def with_file(tmp_path: Path, text: str, *args: str) -> Result:
    images = tmp_path / "sync.yml"
    images.write_text(textwrap.dedent(text))
    return copy_under(tmp_path, "--images-file", str(images), *args)


SYNC_YAML = """\
    # as skopeo sync --src yaml takes it
    registry.example.com:
        images:
            db: []
            tools/x:
                - "latest"
            team/app:
                - "{digest}"
        images-by-tag-regex:
            team/app: ^1\\.13\\.[12]-alpine-perl$
        images-by-semver:
            team/app: ">= 1.2.0, < 2"
        credentials:
            username: john
            password: this is a secret
        tls-verify: true
        cert-dir: /home/john/certs
    quay.io:
        tls-verify: false
        images:
            team/app:
                - "latest"
    """


def test_skopeo_sync_yaml_chooses_tags(tmp_path: Path, tree: dict[str, SyntheticImage]) -> None:
    digest = tree["team/app:1.0.0"].manifest
    result = with_file(tmp_path, SYNC_YAML.format(digest=digest))
    assert result.exit_code == 0, result.output
    assert copied(tmp_path) == {
        "db:7",
        "db:8",
        "tools/x:latest",
        "team/app:1.13.1-alpine-perl",
        "team/app:1.13.2-alpine-perl",
        # >= 1.2.0, < 2: v1.3 is 1.3.0; the release candidate is left, as skopeo leaves it.
        "team/app:1.2.0",
        "team/app:1.2.5",
        "team/app:v1.3",
        "team/app:latest",
    }
    # The digest is copied untagged: its revision is there.
    revision = layout.revision_link_path("team/app", digest).lstrip("/")
    assert (tmp_path / "copy" / revision).is_file()
    assert "note:" not in result.stderr


def test_images_registry_keeps_that_registrys_images(
    tmp_path: Path, tree: dict[str, SyntheticImage]
) -> None:
    digest = tree["team/app:1.0.0"].manifest
    result = with_file(tmp_path, SYNC_YAML.format(digest=digest), "--images-registry", "quay.io")
    assert result.exit_code == 0, result.output
    assert copied(tmp_path) == {"team/app:latest"}
    assert "note: --images-file " in result.stderr
    assert "left out the images of registry.example.com (not quay.io)" in result.stderr


def test_images_registry_needs_an_images_file(tmp_path: Path) -> None:
    result = copy_under(tmp_path, "--images-registry", "quay.io", "db:7")
    assert result.exit_code == 2
    assert result.stderr == "error: --images-registry needs --images-file\n"


def test_a_rule_choosing_nothing_fails_that_entry_alone(
    tmp_path: Path, tree: dict[str, SyntheticImage]
) -> None:
    text = """\
        r:
            images:
                db: ["7"]
            images-by-semver:
                team/app: ">= 9.0.0"
        """
    result = with_file(tmp_path, text)
    assert result.exit_code == 1, result.output
    assert "no tag of team/app matches images-by-semver '>= 9.0.0'" in result.stderr
    assert copied(tmp_path) == {"db:7"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("r:\n  images:\n    db:\n      - 1.10\n", "images: db: 1.1 is a number, not a tag"),
        ("r:\n  images-by-tag-regex:\n    db: '(['\n", "tag regex '([' of db:"),
        ("r:\n  images-by-semver:\n    db: '~1.2'\n", "'~1.2': expected =, !=, >, <, >= or <="),
        ("r:\n  images-by-semver:\n    db: '= 1.2'\n", "give a full version"),
        ("r:\n  images-by-semver:\n    db: 3\n", "expected a string, got a number"),
        ("r:\n  images:\n    Bad/Name: []\n", "Bad/Name"),
        ("r:\n  images: [db]\n", "images: expected repositories as keys, got a list"),
        ("r:\n  images:\n    db: [\n", "invalid YAML: "),
        ("r: a\n", "registry 'r': expected a mapping"),
    ],
)
def test_a_bad_yaml_file_is_one_line_and_nothing_is_copied(
    tmp_path: Path, tree: dict[str, SyntheticImage], text: str, message: str
) -> None:
    result = with_file(tmp_path, text)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: --images-file {tmp_path / 'sync.yml'}: ")
    assert message in line
    assert not (tmp_path / "copy").exists()


def test_an_alias_bomb_is_refused_before_it_grows(
    tmp_path: Path, tree: dict[str, SyntheticImage]
) -> None:
    """Billion laughs: nine levels of ten aliases each would be a billion tags."""
    lines = ['a: &a ["1"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*{chr(96 + level)}"] * 10)
        lines.append(f"{chr(97 + level)}: &{chr(97 + level)} [{aliases}]")
    text = "r:\n  images:\n" + "".join(f"    {line}\n" for line in lines)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = with_file(tmp_path, text)
    assert result.exit_code == 2, result.output
    assert "aliases are not accepted" in result.stderr
    # Within 50 MB of where it started (ru_maxrss is in KB on Linux).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000


def test_nesting_too_deep_is_one_line(tmp_path: Path, tree: dict[str, SyntheticImage]) -> None:
    result = with_file(tmp_path, "r:\n  images:\n    db: " + "[" * 100_000 + "\n")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert "invalid YAML" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("team/app:1.0\n# comment: with colon\nother:2\n", False),
        ("  team/app:latest  # indented\n", False),
        ("team/app@sha256:" + "a" * 64 + "\n", False),
        ("# sync\nregistry.example.com:\n  images: {}\n", True),
        ("quay.io: {images: {db: []}}\n", True),
        ("---\nr:\n", True),
        ("", False),
    ],
)
def test_yaml_is_told_from_a_plain_file_by_content(text: str, expected: bool) -> None:
    assert is_yaml(text) is expected


def test_a_plain_file_still_works(tmp_path: Path, tree: dict[str, SyntheticImage]) -> None:
    result = with_file(tmp_path, "# plain\ndb:7   # one\n\ntools/x\n")
    assert result.exit_code == 0, result.output
    assert copied(tmp_path) == {"db:7", "tools/x:latest"}


@pytest.mark.parametrize(
    ("constraint", "chosen"),
    [
        (">= 1.2.0, < 2", {"1.2.0", "1.2.5", "v1.3"}),
        (">=1.2.0,<2", {"1.2.0", "1.2.5", "v1.3"}),
        ("> 1.2.0", {"1.2.5", "v1.3", "2.0.0"}),
        ("<= 1.2.0", {"1.0.0", "1.2.0"}),
        ("= 1.2.5", {"1.2.5"}),
        ("1.2.5", {"1.2.5"}),
        ("!= 1.2.5, < 2", {"1.0.0", "1.2.0", "v1.3"}),
        ("< 1.2.0 || >= 2.0.0", {"1.0.0", "2.0.0"}),
        (">= 1.3.0-rc0, < 1.3.0", {"1.3.0-rc1"}),
        (">= 1.3.0-rc0", {"1.3.0-rc1", "v1.3", "2.0.0"}),
        ("=> 2.0.0", {"2.0.0"}),
        ("=< 1.0.0", {"1.0.0"}),
        ("< 1", set()),
    ],
)
def test_semver_constraints(constraint: str, chosen: set[str]) -> None:
    tags = ("1.0.0", "1.2.0", "1.2.5", "v1.3", "1.3.0-rc1", "2.0.0", "latest", "1.x", "01.2.3")
    parsed = SemverConstraint.parse(constraint)
    assert {tag for tag in tags if parsed.matches(tag)} == chosen


@pytest.mark.parametrize(
    "constraint", ["~1.2.0", "^1.2.0", "1.2.x", "1.2.0 - 1.4.0", "> 1.2", "<= 2", "", ">= 1.2,"]
)
def test_semver_ranges_and_wildcards_are_refused(constraint: str) -> None:
    with pytest.raises(InvalidReferenceError, match="semver constraint"):
        SemverConstraint.parse(constraint)


def test_a_tag_regex_matches_whole_tags() -> None:
    rule = regex_rule("team/app", r"1\.13\.[12]-alpine")
    assert [tag for tag in TAGS if rule.matches(tag)] == []
    rule = regex_rule("team/app", r"1\.13\.[12]-alpine.*")
    assert [tag for tag in TAGS if rule.matches(tag)] == [
        "1.13.1-alpine-perl",
        "1.13.2-alpine-perl",
    ]
