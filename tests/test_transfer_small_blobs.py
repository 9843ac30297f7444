"""Small blobs are copied by the copying thread itself, never by a kernel copy in a thread."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout, transfer
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import DigestMismatchError
from scraper_core.plan import BlobCopy
from scraper_core.transfer import KERNEL_COPY_MIN_SIZE, BlobCopier, BlobOutcome
from tests.support.trees import blob_file


def _drivers(tmp_path: Path) -> tuple[CheckedDriver, CheckedDriver]:
    def local(name: str) -> CheckedDriver:
        raw = LocalDriver.open(str(tmp_path / name), {}, read_only=False)
        return CheckedDriver(raw, read_only=False)

    return local("src"), local("dst")


def _blob(source: CheckedDriver, data: bytes) -> BlobCopy:
    digest = Digest.of(data)
    source.put_content(layout.blob_data_path(digest), data)
    return BlobCopy(digest, len(data))


@pytest.mark.parametrize(("size", "kernel_copies"), [(0, 0), (4096, 0), (KERNEL_COPY_MIN_SIZE, 1)])
def test_kernel_copy_only_for_blobs_worth_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, kernel_copies: int
) -> None:
    source, dest = _drivers(tmp_path)
    blob = _blob(source, os.urandom(size))
    started: list[str] = []
    start_copy = dest.start_copy

    def counting(source: CheckedDriver, path: str) -> object:
        started.append(path)
        return start_copy(source, path)

    monkeypatch.setattr(dest, "start_copy", counting)
    assert BlobCopier(source, dest).copy(blob) is BlobOutcome.COPIED
    assert len(started) == kernel_copies
    path = layout.blob_data_path(blob.digest)
    assert dest.get_content(path) == source.get_content(path)


def test_small_blob_copied_in_thread_is_still_verified(tmp_path: Path) -> None:
    source, dest = _drivers(tmp_path)
    blob = _blob(source, b"original")
    blob_file(tmp_path / "src", blob.digest).write_bytes(b"tampered")
    assert blob.size < transfer.KERNEL_COPY_MIN_SIZE
    with pytest.raises(DigestMismatchError):
        BlobCopier(source, dest).copy(blob)
    assert not dest.exists(layout.blob_data_path(blob.digest))
