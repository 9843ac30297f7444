"""Link files vouched for by a listing's ETags: which links, when a directory is listed, when
a GET is still needed. (Counted on a real endpoint in tests/test_s3_requests.py.)"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from registry_scraper_s3.linklisting import (
    LISTING_MIN,
    MAX_LISTINGS,
    LinkListings,
    expected_link,
)

HEX = "ab" * 32
LAYERS = "/docker/registry/v2/repositories/app/web/_layers"
REVISIONS = "/docker/registry/v2/repositories/app/web/_manifests/revisions"


def _link(directory: str, number: int) -> str:
    return f"{directory}/sha256/{number:064x}/link"


def _etag(path: str) -> str:
    expected = expected_link(path)
    assert expected is not None
    return hashlib.md5(expected[1]).hexdigest()


class _Lister:
    """A directory's listing, with every link's right ETag unless told otherwise."""

    def __init__(self, count: int = 50, **wrong: str) -> None:
        self.count = count
        self.wrong = wrong
        self.listed: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, directory: str) -> dict[str, str]:
        with self._lock:
            self.listed.append(directory)
        etags = {_link(directory, n): _etag(_link(directory, n)) for n in range(self.count)}
        for path, etag in self.wrong.items():
            etags[path] = etag
        return etags


def test_only_links_named_by_their_path_qualify() -> None:
    assert expected_link(f"{LAYERS}/sha256/{HEX}/link") == (LAYERS, f"sha256:{HEX}".encode())
    assert expected_link(f"{REVISIONS}/sha256/{HEX}/link") == (REVISIONS, f"sha256:{HEX}".encode())
    tag = "/docker/registry/v2/repositories/app/web/_manifests/tags/v1/current/link"
    assert expected_link(tag) is None
    assert expected_link(f"{LAYERS}/sha256/{HEX}/data") is None
    assert expected_link(f"/docker/registry/v2/blobs/sha256/ab/{HEX}/data") is None


def test_a_directory_is_listed_once_enough_links_were_read() -> None:
    lister = _Lister()
    links = LinkListings(lister)
    answers = [links.content(_link(LAYERS, n)) for n in range(20)]
    # The first LISTING_MIN - 1 reads are GETs; the one that reaches the threshold lists.
    assert answers[: LISTING_MIN - 1] == [None] * (LISTING_MIN - 1)
    assert lister.listed == [LAYERS]
    for n, answer in enumerate(answers[LISTING_MIN - 1 :], LISTING_MIN - 1):
        expected = expected_link(_link(LAYERS, n))
        assert expected is not None and answer == expected[1]


def test_a_few_reads_never_list() -> None:
    lister = _Lister()
    links = LinkListings(lister)
    for n in range(LISTING_MIN - 1):
        assert links.content(_link(LAYERS, n)) is None
        assert links.content(_link(REVISIONS, n)) is None
    assert lister.listed == []


@pytest.mark.parametrize(
    "etag",
    [
        "0" * 32,  # other bytes
        hashlib.md5(b"sha256:" + b"0" * 64).hexdigest() + "-2",  # multipart: not an MD5
        "",
    ],
)
def test_a_link_whose_etag_does_not_match_is_read_with_a_get(etag: str) -> None:
    odd = _link(LAYERS, 30)
    links = LinkListings(_Lister(**{odd: etag}))
    for n in range(LISTING_MIN):
        links.content(_link(LAYERS, n))
    assert links.content(odd) is None
    assert links.content(_link(LAYERS, 31)) is not None


def test_a_key_the_listing_did_not_reach_is_read_with_a_get() -> None:
    links = LinkListings(_Lister(count=10))
    for n in range(LISTING_MIN):
        links.content(_link(LAYERS, n))
    assert links.content(_link(LAYERS, 9)) is not None
    assert links.content(_link(LAYERS, 11)) is None


def test_listings_kept_are_bounded() -> None:
    lister = _Lister()
    links = LinkListings(lister)
    directories = [
        f"/docker/registry/v2/repositories/r{n}/_layers" for n in range(MAX_LISTINGS + 1)
    ]
    for directory in directories:
        for n in range(LISTING_MIN):
            links.content(_link(directory, n))
    assert len(lister.listed) == MAX_LISTINGS + 1
    # The first directory's listing was dropped: its reads count from zero again.
    assert links.content(_link(directories[0], 1)) is None
    assert links.content(_link(directories[-1], 1)) is not None


def test_readers_at_once_list_a_directory_once() -> None:
    lister = _Lister(count=200)
    links = LinkListings(lister)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: links.content(_link(LAYERS, n)), range(200)))
    assert lister.listed == [LAYERS]
    assert answers.count(None) == LISTING_MIN - 1
