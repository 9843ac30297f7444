"""The spool beside an archive, closed by an interrupted run while a writer still holds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry_scraper_local.blob_spool import BlobSpool
from scraper_core.errors import StorageError


def open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def never() -> bool:
    return False


@pytest.fixture
def writing(tmp_path: Path) -> tuple[BlobSpool, set[str]]:
    """A spool a writer holds, ``first `` written; the descriptors open before it."""
    before = open_descriptors()
    spool = BlobSpool(str(tmp_path), "tar")
    spool.take("/blob", never)
    spool.write(b"first ")
    return spool, before


def test_a_spool_closed_under_its_writer_is_closed_when_given_back(
    writing: tuple[BlobSpool, set[str]],
) -> None:
    spool, before = writing
    # What an abort does while a copy thread still holds the spool: the writer's descriptor
    # stays its own (closed under it, its number could be another file's by the next write).
    spool.close()
    spool.write(b"second")
    assert b"".join(spool.chunks()) == b"first second"
    assert open_descriptors() != before
    spool.give_back()
    assert open_descriptors() == before
    with pytest.raises(StorageError, match="the archive was closed"):
        spool.take("/next", never)
    assert open_descriptors() == before


def test_a_spool_closed_with_no_writer_is_closed_at_once(
    writing: tuple[BlobSpool, set[str]], tmp_path: Path
) -> None:
    spool, before = writing
    spool.give_back()
    spool.close()
    assert open_descriptors() == before
    assert os.listdir(tmp_path) == []
