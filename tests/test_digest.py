"""Digests and link files: strict parsing, exact bytes."""

from __future__ import annotations

import pytest

from scraper_core import layout
from scraper_core.digest import Digest, link_content, parse_link
from scraper_core.errors import InvalidLinkError, InvalidReferenceError

HEX = "0123456789abcdef" * 4


def test_link_content_is_71_bytes_without_newline() -> None:
    content = link_content(Digest("sha256", HEX))
    assert content == f"sha256:{HEX}".encode()
    assert len(content) == 71


@pytest.mark.parametrize(
    "content",
    [
        b"",
        f"sha256:{HEX}\n".encode(),
        f" sha256:{HEX}".encode(),
        f"md5:{HEX[:32]}".encode(),
        f"sha256:{HEX.upper()}".encode(),
        b"sha256:../../../../etc/passwd",
        b"\xff\xfe garbage",
        f"sha256:{HEX}{HEX}".encode(),
    ],
)
def test_corrupt_links_are_refused_with_their_path(content: bytes) -> None:
    with pytest.raises(InvalidLinkError, match="/some/link"):
        parse_link(content, "/some/link")


def test_link_round_trip() -> None:
    digest = Digest.of(b"hello")
    assert parse_link(link_content(digest), "x") == digest


def test_other_algorithms_distribution_accepts() -> None:
    digest = Digest.of(b"x", "sha512")
    assert Digest.parse(str(digest)) == digest
    assert layout.blob_data_path(digest).startswith(f"{layout.BLOBS_ROOT}/sha512/")


def test_blob_path_shape() -> None:
    path = layout.blob_data_path(Digest("sha256", HEX))
    assert path == f"/docker/registry/v2/blobs/sha256/01/{HEX}/data"


def test_invalid_digest() -> None:
    with pytest.raises(InvalidReferenceError):
        Digest.parse("sha256:xyz")
