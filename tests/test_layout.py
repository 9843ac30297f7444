"""layout.py builds every storage path and parses each back: inverse(build(x)) == x for every
valid name, tag and digest, and a parser says None (never raises) for anything else."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper_core import layout
from scraper_core.digest import Digest
from scraper_core.reference import MAX_NAME_LENGTH, NAME_RE, TAG_RE

names = st.from_regex(NAME_RE, fullmatch=True).filter(lambda n: len(n) <= MAX_NAME_LENGTH)
tags = st.from_regex(TAG_RE, fullmatch=True)
digests = st.binary(min_size=32, max_size=32).map(lambda raw: Digest.parse(f"sha256:{raw.hex()}"))
link_bases = st.sampled_from(["layers", "revisions", "index"])
# Pure functions: no deadline (a loaded machine is slow, not wrong).
quick = settings(deadline=None, max_examples=40)


@quick
@given(digests)
def test_a_blob_path_parses_back_to_its_digest(digest: Digest) -> None:
    path = layout.blob_data_path(digest)
    assert layout.blob_digest_of(path) == digest
    assert path.startswith(layout.blob_directory_path(digest) + "/")
    assert layout.blob_digest_of(layout.blob_directory_path(digest)) is None


@quick
@given(names, tags, digests)
def test_every_repository_path_parses_back_to_its_repository(
    name: str, tag: str, digest: Digest
) -> None:
    for path in (
        layout.manifests_path(name),
        layout.layers_path(name),
        layout.revisions_path(name),
        layout.uploads_path(name),
        layout.tags_path(name),
        layout.layer_link_path(name, digest),
        layout.revision_link_path(name, digest),
        layout.tag_current_link_path(name, tag),
        layout.tag_index_link_path(name, tag, digest),
    ):
        assert layout.repository_of(path) == name, path
    # The repository directory itself holds no ``_`` component yet: not inside one.
    assert layout.repository_of(layout.repository_path(name)) is None


@quick
@given(names, tags, digests)
def test_tag_paths_parse_back_to_name_and_tag(name: str, tag: str, digest: Digest) -> None:
    current = layout.tag_entry_of(layout.tag_current_link_path(name, tag))
    assert current == layout.TagEntry(name, tag, "current/link")
    assert current.is_current_link
    index = layout.tag_entry_of(layout.tag_index_link_path(name, tag, digest))
    assert index is not None and (index.name, index.tag) == (name, tag)
    assert not index.is_current_link
    assert layout.tag_entry_of(layout.tag_path(name, tag)) == layout.TagEntry(name, tag, "")
    assert layout.tag_entry_of(layout.tags_path(name)) is None
    for path in (layout.tag_current_link_path(name, tag), layout.tag_path(name, tag)):
        assert layout.tag_entry_in(name, path) == layout.tag_entry_of(path)
    assert layout.tag_entry_in(name, layout.tags_path(name)) is None


@quick
@given(names, tags, digests, link_bases)
def test_link_paths_parse_back_to_their_digest(
    name: str, tag: str, digest: Digest, base: str
) -> None:
    path = {
        "layers": layout.layer_link_path(name, digest),
        "revisions": layout.revision_link_path(name, digest),
        "index": layout.tag_index_link_path(name, tag, digest),
    }[base]
    assert layout.link_digest_of(path) == digest
    directory = path.removesuffix("/link")
    assert layout.link_directory_digest_of(directory) == digest
    assert layout.link_path(directory) == path


@quick
@given(st.from_regex(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}\.json", fullmatch=True))
def test_a_receipt_path_parses_back_to_its_name(name: str) -> None:
    assert layout.receipt_name_of(layout.receipt_path(name)) == name


@quick
@given(st.text(max_size=300))
def test_parsers_never_raise_on_any_path(path: str) -> None:
    for parse in (
        layout.blob_digest_of,
        layout.repository_of,
        layout.tag_entry_of,
        layout.link_digest_of,
        layout.link_directory_digest_of,
        layout.receipt_name_of,
    ):
        parse(path)
    parse_below = f"{layout.REPOSITORIES_ROOT}/{path}"
    layout.repository_of(parse_below)
    layout.tag_entry_of(parse_below)


def test_paths_that_are_not_what_a_parser_parses_are_none() -> None:
    digest = Digest.parse("sha256:" + "ab" * 32)
    blob = layout.blob_data_path(digest)
    assert layout.blob_digest_of(blob.replace("/ab/", "/cd/", 1)) is None
    assert layout.blob_digest_of(blob + "/more") is None
    assert layout.blob_digest_of("/elsewhere" + blob) is None
    assert layout.link_digest_of(layout.blob_data_path(digest)) is None
    assert layout.link_directory_digest_of("/a/md5/xyz") is None
    assert layout.repository_of(f"{layout.REPOSITORIES_ROOT}/_manifests") is None
    assert layout.repository_of(f"{layout.REPOSITORIES_ROOT}//a/_layers") is None
    assert layout.repository_of(f"{layout.V2_ROOT}/blobs/a/_x") is None
    assert layout.receipt_name_of(layout.receipt_path("a") + "/b") is None


# Nothing else in the core puts path pieces together.

CORE = Path(__file__).resolve().parents[1] / "scraper_core"
#: Modules that walk or read the registry tree (the plugin kit builds test trees its own way).
TREE_READERS = (
    *("verify.py", "listing.py", "plan.py", "selection.py", "transfer.py", "run.py"),
    *("inventory.py", "have.py", "delta.py", "receipt.py", "runreceipt.py", "scrape.py"),
    "shipment.py",
)
PATH_PIECES = ("_manifests", "_layers", "_uploads", "blobs/", "/link", "revisions")


def _string_pieces(source: str) -> list[str]:
    pieces: list[str] = []
    tree = ast.parse(source)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        if isinstance(node, ast.JoinedStr):
            # An f-string putting a "/" between values builds a path.
            texts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            if any("/" in str(text) for text in texts) and any(
                isinstance(v, ast.FormattedValue) for v in node.values
            ):
                pieces.append(ast.unparse(node))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and any(piece in node.value for piece in PATH_PIECES)
        ):
            pieces.append(node.value)
    return pieces


def test_core_modules_build_no_path_by_hand() -> None:
    found = {
        module: pieces
        for module in TREE_READERS
        if (pieces := _string_pieces((CORE / module).read_text()))
    }
    # What remains is words, not paths: a platform "os/arch[/variant]" and its message.
    allowed = {
        "plan.py": {
            "f'{self.os}/{self.architecture}'",
            "f'{base}/{self.variant}'",
            "f'invalid platform {text!r}: expected os/arch[/variant]'",
        }
    }
    for module, pieces in found.items():
        assert set(pieces) <= allowed.get(module, set()), (module, pieces)


def test_paths_are_those_distribution_writes() -> None:
    digest = Digest.parse("sha256:" + "ab" * 32)
    hex_digest = digest.hex
    repo = "/docker/registry/v2/repositories/team/app"
    assert layout.blob_data_path(digest) == (
        f"/docker/registry/v2/blobs/sha256/ab/{hex_digest}/data"
    )
    assert layout.layer_link_path("team/app", digest) == (
        f"{repo}/_layers/sha256/{hex_digest}/link"
    )
    assert layout.revision_link_path("team/app", digest) == (
        f"{repo}/_manifests/revisions/sha256/{hex_digest}/link"
    )
    assert layout.tag_current_link_path("team/app", "v1") == (
        f"{repo}/_manifests/tags/v1/current/link"
    )
    assert layout.tag_index_link_path("team/app", "v1", digest) == (
        f"{repo}/_manifests/tags/v1/index/sha256/{hex_digest}/link"
    )
    assert layout.uploads_path("team/app") == f"{repo}/_uploads"
    assert layout.receipt_path("r.json") == "/scrape-receipts/r.json"
