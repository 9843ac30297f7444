"""Pushing into real registries (distribution 2.8) with htpasswd and with token auth."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from scraper_core.errors import ConfigurationError, DigestMismatchError, StorageError

CHUNKED = {"chunk-size": "64KiB"}  # the image's large layer then goes in PATCH chunks


def test_image_pushed_is_what_skopeo_reads_and_a_rerun_sends_nothing(
    target: Any, image: Any, push: Any
) -> None:
    destination = target.open("/mirror", **CHUNKED)
    try:
        # Blobs from several threads at once, as the core's --jobs does.
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(
                pool.map(
                    lambda item: destination.put_blob(
                        "library/app",
                        item[0],
                        len(item[1]),
                        lambda offset: _stream(item[1], offset),
                    ),
                    image.blobs.items(),
                )
            )
        push(destination, "library/app", "v1", image)
        assert target.skopeo_digest("mirror/library/app:v1") == image.digest

        target.proxy.clear()
        push(destination, "library/app", "v1", image)
        assert target.proxy.writes() == []
    finally:
        destination.close()


def test_blob_in_another_repository_is_mounted_not_uploaded(
    token_target: Any, image: Any, push: Any
) -> None:
    destination = token_target.open()
    push(destination, "first", "v1", image)
    token_target.proxy.clear()
    for digest, data in image.blobs.items():
        assert destination.mount_blob("second", digest, "first")
        assert destination.has_blob("second", digest) == len(data)
    writes = token_target.proxy.writes()
    assert writes and all(method == "POST" and "mount=" in path for method, path in writes)
    # A blob the source repository lacks is not mounted; the session opened instead is closed.
    token_target.proxy.clear()
    assert not destination.mount_blob("second", "sha256:" + "1" * 64, "first")
    methods = [method for method, _path in token_target.proxy.writes()]
    assert methods[0] == "POST" and set(methods[1:]) == {"DELETE"}
    # The token asked for covers the mount's source too.
    assert any("repository:first:pull" in scopes for scopes in token_target.issuer.issued)


def test_connection_cut_mid_upload_is_resumed_where_the_registry_stands(
    htpasswd_target: Any, source_of: Any
) -> None:
    data = bytes(range(256)) * 1200  # 300 KiB: five 64 KiB chunks
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    source = source_of(data)
    destination = htpasswd_target.open(**CHUNKED)
    htpasswd_target.proxy.cut(nth=2, after=10_000)  # the registry holds the first chunk
    destination.put_blob("cut", digest, len(data), source.open_stream)
    assert htpasswd_target.proxy.cut_done.is_set()
    # Asked where the upload stands, then went on from the registry's offset, not from 0.
    assert source.offsets == [0, 65536]
    assert any(
        method == "GET" and "/blobs/uploads/" in path
        for method, path in htpasswd_target.proxy.requests
    )
    assert htpasswd_target.get_blob("cut", digest) == data


def test_connection_cut_in_the_first_chunk_starts_the_upload_again(
    htpasswd_target: Any, source_of: Any
) -> None:
    # distribution says "Range: 0-0" for an upload holding no byte and for one holding one:
    # read as one byte, the next chunk left a hole and the commit failed (DIGEST_INVALID).
    data = bytes(range(256)) * 1200
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    destination = htpasswd_target.open(**CHUNKED)
    htpasswd_target.proxy.cut(nth=1, after=100)
    destination.put_blob("cut", digest, len(data), source_of(data).open_stream)
    assert htpasswd_target.proxy.cut_done.is_set()
    assert htpasswd_target.get_blob("cut", digest) == data


@pytest.mark.parametrize("chunk_size", ["64KiB", "1MiB"], ids=["chunked", "monolithic"])
@pytest.mark.parametrize("fault", ["other-bytes", "short", "long"])
def test_bytes_that_are_not_the_digest_commit_nothing(
    target: Any, chunk_size: str, fault: str
) -> None:
    data = b"x" * 150_000
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    sent = {"other-bytes": b"y" * 150_000, "short": data[:-1], "long": data + b"z"}[fault]
    destination = target.open(**{"chunk-size": chunk_size})
    with pytest.raises(DigestMismatchError) as raised:
        destination.put_blob("bad", digest, len(data), lambda offset: _stream(sent, offset))
    assert "\n" not in str(raised.value) and "nothing committed" in str(raised.value)
    assert destination.has_blob("bad", digest) is None
    commits = [p for m, p in target.proxy.writes() if m == "PUT"]
    assert commits == []


def test_wrong_password_is_one_line_and_nothing_is_pushed(target: Any) -> None:
    wrong = "not-the-Pa55word"
    auth = target.wrong_auth_file(wrong)
    with pytest.raises(ConfigurationError) as raised:
        target.open(**{"auth-file": str(auth)})
    message = str(raised.value)
    assert "\n" not in message and wrong not in message and "s3cret" not in message
    assert target.proxy.writes() == []


def test_schema1_refused_is_one_line_naming_the_repository(schema1_refusing_target: Any) -> None:
    destination = schema1_refusing_target.open()
    body = b'{"schemaVersion": 1, "name": "old/app", "tag": "v1", "fsLayers": []}'
    with pytest.raises(StorageError) as raised:
        destination.put_manifest(
            "old/app", "v1", "application/vnd.docker.distribution.manifest.v1+prettyjws", body
        )
    message = str(raised.value)
    assert "\n" not in message and "old/app:v1" in message and "schema1" in message


def _stream(data: bytes, offset: int) -> Any:
    return io.BytesIO(data[offset:])


def test_a_token_the_registry_refuses_is_fetched_again(
    token_target: Any, image: Any, push: Any
) -> None:
    destination = token_target.open()
    token_target.issuer.stale_tokens = 1
    push(destination, "refreshed", "v1", image)
    assert token_target.issuer.stale_tokens == 0
    assert token_target.skopeo_digest("refreshed:v1") == image.digest


def test_a_registry_gone_away_is_one_line_not_a_traceback(htpasswd_target: Any) -> None:
    destination = htpasswd_target.open()
    htpasswd_target.registry.stop()
    htpasswd_target.proxy.stop()
    with pytest.raises(StorageError) as raised:
        destination.has_blob("gone", "sha256:" + "0" * 64)
    assert "connection failed" in str(raised.value) and "\n" not in str(raised.value)
