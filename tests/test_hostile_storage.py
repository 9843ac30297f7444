"""Hostile or broken storage: each broken object is one line naming it; the rest still copies.

Also shows that nothing outside the source and output roots is read or written, whatever the
stored links and manifests say.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.contract import is_valid_path
from scraper_core.digest import MAX_LINK_SIZE, Digest, parse_link
from scraper_core.errors import InvalidLinkError
from scraper_core.testing.tree import SyntheticImage
from tests.support.cli import copy_under
from tests.support.reliability import measuring
from tests.support.source_guard import SourceGuard
from tests.support.trees import blob_file, expected_files, local_writer, snapshot

Breaker = Callable[[Path, SyntheticImage], None]


def _replace_manifest(root: Path, image: SyntheticImage, data: bytes) -> None:
    """Store ``data`` as the image's manifest, consistently linked, as a hostile push would."""
    digest = Digest.of(data)
    blob = blob_file(root, digest)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    revision = root / layout.revision_link_path(image.name, digest).lstrip("/")
    revision.parent.mkdir(parents=True, exist_ok=True)
    revision.write_bytes(f"sha256:{digest.hex}".encode())
    current = root / layout.tag_current_link_path(image.name, "latest").lstrip("/")
    current.write_bytes(f"sha256:{digest.hex}".encode())


def _manifest(document: object) -> Breaker:
    return lambda root, image: _replace_manifest(root, image, json.dumps(document).encode())


def _tag_link(content: bytes) -> Breaker:
    def breaker(root: Path, image: SyntheticImage) -> None:
        path = root / layout.tag_current_link_path(image.name, "latest").lstrip("/")
        path.write_bytes(content)

    return breaker


def _huge_manifest(root: Path, image: SyntheticImage) -> None:
    padding = "x" * (5 * 1024 * 1024)
    _replace_manifest(root, image, json.dumps({"schemaVersion": 2, "pad": padding}).encode())


def _blob_symlink_out(root: Path, image: SyntheticImage) -> None:
    outside = root.parent / "secret"
    outside.write_bytes(b"outside the root")
    blob = blob_file(root, image.layers[0])
    blob.unlink()
    blob.symlink_to(outside)


BREAKERS: dict[str, tuple[Breaker, str]] = {
    "invalid JSON": (lambda r, i: _replace_manifest(r, i, b"{not json"), "invalid JSON"),
    "unknown media type": (
        _manifest({"schemaVersion": 2, "mediaType": "application/x-evil"}),
        "unknown manifest media type 'application/x-evil'",
    ),
    "missing layers": (
        _manifest({"schemaVersion": 2, "config": {"digest": "sha256:" + "a" * 64}}),
        "missing or invalid 'layers'",
    ),
    "traversal digest": (
        _manifest({"schemaVersion": 2, "config": {"digest": "sha256:../../x"}, "layers": []}),
        "invalid digest",
    ),
    "huge manifest": (_huge_manifest, "exceeds 4 MiB"),
    "empty link": (_tag_link(b""), "corrupt link file"),
    "link with newline": (_tag_link(b"sha256:" + b"a" * 64 + b"\n"), "corrupt link file"),
    "other algorithm": (_tag_link(b"md5:" + b"a" * 32), "corrupt link file"),
    "traversal link": (_tag_link(b"sha256:../../../../../etc/passwd"), "corrupt link file"),
    "garbage link": (_tag_link(os.urandom(71)), "corrupt link file"),
    # A valid digest, then 64 MiB: read no further than a link could be long.
    "huge link": (_tag_link(b"sha256:" + b"a" * 64 + b" " * (64 << 20)), "corrupt link file"),
    "symlink out of the root": (_blob_symlink_out, "invalid path"),
}


@pytest.mark.parametrize("case", sorted(BREAKERS))
def test_broken_object_fails_its_image_only(
    tmp_path: Path, case: str, source_unchanged: SourceGuard
) -> None:
    with measuring("broken-storage-objects"):
        root = tmp_path / "data"
        writer = local_writer(root)
        broken = writer.image("broken")
        good = writer.image("good")
        breaker, message = BREAKERS[case]
        breaker(root, broken)
        # Not the source, nor a file a symlink in it points at: nothing outside the output.
        source_unchanged.watch_local(tmp_path, exclude=["copy"])
        result = copy_under(tmp_path, "broken", "good")
        assert result.exit_code == 1, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith("error: broken:latest: "), result.stderr
        assert message in errors[0]
        assert "Traceback" not in result.output
        copy = set(snapshot(tmp_path / "copy"))
        assert expected_files(good, "latest") <= copy
        # A copy meets a bad blob only when it reads it, so the broken image's other blobs
        # may be there: never a link of it (nothing of it is served), nothing else.
        broken_blobs = {layout.blob_data_path(digest).lstrip("/") for digest in broken.blobs}
        assert copy - expected_files(good, "latest") <= broken_blobs


@given(st.binary(max_size=200))
def test_no_link_content_builds_a_path_outside_the_blobs(content: bytes) -> None:
    with measuring("hostile-link-bytes"):
        try:
            digest = parse_link(content, "/x")
        except InvalidLinkError:
            return
        path = layout.blob_data_path(digest)
        assert is_valid_path(path) and path.startswith(layout.BLOBS_ROOT + "/")
        assert content == f"{digest}".encode()


def test_a_link_is_read_no_further_than_a_link_can_be_long(tmp_path: Path) -> None:
    path = "/docker/registry/v2/repositories/a/_layers/sha256/" + "a" * 64 + "/link"
    target = tmp_path / path.lstrip("/")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"sha256:" + b"a" * 64 + b"x" * (1 << 20))
    sizes: list[int] = []

    class CountingDriver(LocalDriver):
        def reader(self, path: str, offset: int = 0) -> Any:
            stream = super().reader(path, offset)
            original = stream.read

            def read(size: int = -1) -> bytes:
                data: bytes = original(size)
                sizes.append(len(data))
                return data

            stream.read = read  # type: ignore[method-assign]
            return stream

        def read_head(self, path: str, size: int) -> bytes:
            data = super().read_head(path, size)
            sizes.append(len(data))
            return data

    driver = CheckedDriver(CountingDriver(tmp_path, read_only=True), read_only=True)
    with pytest.raises(InvalidLinkError, match="corrupt link file"):
        driver.read_link(path)
    assert 0 < sum(sizes) <= MAX_LINK_SIZE + 1
