"""The driver against real S3 endpoints: moto and SeaweedFS (each test runs on both)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from s3_servers import S3Server, SeaweedServer, unique_bucket_name

from registry_scraper_s3.config import parse_location, parse_options
from registry_scraper_s3.driver import S3Driver, make_client
from scraper_core.checked import CheckedDriver
from scraper_core.contract import FileWriter, StorageDriver
from scraper_core.errors import (
    ConfigurationError,
    InvalidPathError,
    PathNotFoundError,
    ReadOnlyError,
    StorageError,
)

pytestmark = pytest.mark.s3

OpenDriver = Callable[..., S3Driver]
MIB = 1024 * 1024


def _random(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def _keys(driver: S3Driver) -> list[str]:
    """Every key in the driver's bucket, whatever its root."""
    paginator = driver.client.get_paginator("list_objects_v2")
    return sorted(
        item["Key"]
        for page in paginator.paginate(Bucket=driver.bucket)
        for item in page.get("Contents", [])
    )


def _uploads(driver: S3Driver) -> list[Any]:
    uploads: list[Any] = driver.client.list_multipart_uploads(Bucket=driver.bucket).get(
        "Uploads", []
    )
    return uploads


# -- contract basics ----------------------------------------------------------------------


def test_driver_satisfies_the_protocol(driver: S3Driver) -> None:
    assert isinstance(driver, StorageDriver)
    assert isinstance(driver.writer("/w"), FileWriter)


@pytest.mark.parametrize(
    "data", [b"", b"x", bytes(range(256)) * 3, _random(MIB + 17)], ids=["empty", "1", "bin", "1M"]
)
def test_put_get_round_trip(driver: S3Driver, data: bytes) -> None:
    driver.put_content("/a/b/file", data)
    assert driver.get_content("/a/b/file") == data
    assert driver.stat("/a/b/file").size == len(data)
    with driver.reader("/a/b/file") as stream:
        assert stream.read() == data


def test_put_replaces(driver: S3Driver) -> None:
    driver.put_content("/f", b"old content")
    driver.put_content("/f", b"new")
    assert driver.get_content("/f") == b"new"


def test_get_missing(driver: S3Driver) -> None:
    with pytest.raises(PathNotFoundError) as caught:
        driver.get_content("/missing")
    assert (caught.value.driver, caught.value.path) == ("s3", "/missing")
    with pytest.raises(PathNotFoundError):
        driver.reader("/missing")


# -- reader ---------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_reader_offsets(open_driver: OpenDriver, bucket: str, concurrency: str) -> None:
    driver = open_driver(bucket, read_concurrency=concurrency)
    # Small ranges: a 300 KiB object then spans several ranged GETs, some of them in flight.
    driver.read_range_size = 64 * 1024
    data = _random(300 * 1024 + 5)
    driver.put_content("/blob", data)
    size = len(data)
    for offset in (0, 1, 65535, 65536, 65537, 200_000, size - 1, size, size + 100):
        with driver.reader("/blob", offset) as stream:
            chunks = []
            while chunk := stream.read(10_000):
                chunks.append(chunk)
        assert b"".join(chunks) == data[offset:], offset


def test_reader_of_empty_object(driver: S3Driver) -> None:
    driver.put_content("/empty", b"")
    for offset in (0, 1):
        with driver.reader("/empty", offset) as stream:
            assert stream.read() == b""


def test_reader_closed_early_stops_its_threads(driver: S3Driver) -> None:
    driver.read_range_size = 64 * 1024
    driver.put_content("/blob", _random(MIB))
    stream = driver.reader("/blob")
    assert len(stream.read(100)) == 100
    stream.close()
    deadline = time.monotonic() + 10
    while any(t.name.startswith("s3-read") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "prefetch threads outlived their reader"
        time.sleep(0.05)


def test_large_object_through_parallel_reader(driver: S3Driver) -> None:
    driver.read_range_size = MIB
    data = _random(9 * MIB + 3)
    driver.put_content("/big", data)
    with driver.reader("/big") as stream:
        assert stream.read() == data
    with driver.reader("/big", 5 * MIB - 1) as stream:
        assert stream.read() == data[5 * MIB - 1 :]


# -- writer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("write_concurrency", ["1", "3"])
def test_multipart_writer_round_trip(
    open_driver: OpenDriver, bucket: str, write_concurrency: str
) -> None:
    # With 3, the three parts upload at once and may finish in any order.
    driver = open_driver(bucket, part_size="5MiB", write_concurrency=write_concurrency)
    data = _random(12 * MIB + 12345)
    with driver.writer("/docker/blob") as writer:
        for start in range(0, len(data), MIB + 333):
            assert writer.write(data[start : start + MIB + 333]) == len(
                data[start : start + MIB + 333]
            )
        assert writer.size == len(data)
        # Two parts are stored by now, yet nothing is visible before the commit.
        with pytest.raises(PathNotFoundError):
            driver.stat("/docker/blob")
        # Raw: nothing listed (the wrapper makes it PathNotFoundError).
        assert driver.list_dir("/docker") == []
        writer.commit()
    assert driver.stat("/docker/blob").size == len(data)
    assert driver.get_content("/docker/blob") == data
    assert _uploads(driver) == []


def test_small_writer_is_one_put(driver: S3Driver) -> None:
    with driver.writer("/small") as writer:
        writer.write(b"abc")
        writer.write(b"def")
        writer.commit()
        writer.cancel()  # after a commit: a no-op
    assert driver.get_content("/small") == b"abcdef"


def test_empty_writer(driver: S3Driver) -> None:
    with driver.writer("/empty") as writer:
        writer.commit()
    assert driver.get_content("/empty") == b""


@pytest.mark.parametrize("size", [100, 6 * MIB], ids=["buffered", "multipart"])
def test_cancel_leaves_nothing(open_driver: OpenDriver, bucket: str, size: int) -> None:
    driver = open_driver(bucket, part_size="5MiB")
    driver.put_content("/kept", b"old")
    writer = driver.writer("/kept")
    writer.write(_random(size))
    writer.cancel()
    writer.cancel()
    with pytest.raises(StorageError, match="after cancelled"):
        writer.write(b"more")
    with driver.writer("/new") as other:
        other.write(_random(size))
    assert driver.get_content("/kept") == b"old"
    with pytest.raises(PathNotFoundError):
        driver.stat("/new")
    assert _uploads(driver) == []
    assert _keys(driver) == ["kept"]


# -- stat, list_dir, walk -------------------------------------------------------------------


def test_stat(driver: S3Driver) -> None:
    driver.put_content("/a/b/c", b"12345")
    driver.put_content("/ab", b"x")
    info = driver.stat("/a/b/c")
    assert (info.path, info.size, info.is_dir) == ("/a/b/c", 5, False)
    assert info.mod_time is not None and abs(info.mod_time - time.time()) < 300
    assert driver.stat("/a").is_dir and driver.stat("/a/b").is_dir
    assert driver.stat("/").is_dir
    for missing in ("/missing", "/a/b/c/d", "/a/b/x"):
        with pytest.raises(PathNotFoundError):
            driver.stat(missing)


def test_stat_does_not_take_a_sibling_for_a_directory(driver: S3Driver) -> None:
    driver.put_content("/ab/c", b"x")
    driver.put_content("/a-b", b"x")
    with pytest.raises(PathNotFoundError):
        driver.stat("/a")


def test_list_dir_direct_children_only(driver: S3Driver) -> None:
    for path in ("/d/f1", "/d/f2", "/d/sub/f3", "/d/sub/deeper/f4", "/dx/f5", "/top"):
        driver.put_content(path, b"x")
    assert driver.list_dir("/d") == ["/d/f1", "/d/f2", "/d/sub"]
    assert driver.list_dir("/d/sub") == ["/d/sub/deeper", "/d/sub/f3"]
    assert driver.list_dir("/") == ["/d", "/dx", "/top"]
    for missing in ("/missing", "/d/f1", "/d/su"):
        # Raw: nothing listed (the wrapper makes it PathNotFoundError).
        assert driver.list_dir(missing) == []


def test_list_dir_of_empty_root(driver: S3Driver) -> None:
    assert driver.list_dir("/") == []
    assert list(driver.walk("/")) == []


def test_walk(driver: S3Driver) -> None:
    files = {"/w/a": b"1", "/w/b/c": b"22", "/w/b/d/e": b"333", "/wx/f": b"4444"}
    for path, data in files.items():
        driver.put_content(path, data)
    found = {info.path: info.size for info in driver.walk("/w")}
    assert found == {"/w/a": 1, "/w/b/c": 2, "/w/b/d/e": 3}
    assert all(not info.is_dir for info in driver.walk("/"))
    assert {info.path for info in driver.walk("/")} == set(files)
    assert list(driver.walk("/missing")) == []


def test_more_than_1000_children(driver: S3Driver) -> None:
    names = [f"/many/k{index:04d}" for index in range(1100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda path: driver.put_content(path, b"."), names))
    driver.put_content("/many/sub/deep", b".")
    assert driver.list_dir("/many") == sorted([*names, "/many/sub"])
    assert sum(1 for _ in driver.walk("/many")) == 1101
    driver.delete("/many")
    assert driver.list_dir("/") == []


# -- delete, move ---------------------------------------------------------------------------


def test_delete_never_touches_siblings(driver: S3Driver) -> None:
    for path in ("/a/x", "/a/y/z", "/ab", "/a-b", "/a.b", "/abc"):
        driver.put_content(path, b"x")
    driver.delete("/a")
    assert _keys(driver) == sorted(["a-b", "a.b", "ab", "abc"])
    with pytest.raises(PathNotFoundError):
        driver.stat("/a")
    driver.delete("/ab")
    assert _keys(driver) == sorted(["a-b", "a.b", "abc"])
    with pytest.raises(PathNotFoundError):
        driver.delete("/a")
    with pytest.raises(PathNotFoundError):
        driver.delete("/nothing/here")


def test_move(driver: S3Driver) -> None:
    driver.put_content("/src/blob", b"payload")
    driver.put_content("/dst/blob", b"to be replaced")
    driver.move("/src/blob", "/dst/blob")
    assert driver.get_content("/dst/blob") == b"payload"
    with pytest.raises(PathNotFoundError):
        driver.stat("/src/blob")
    with pytest.raises(PathNotFoundError) as caught:
        driver.move("/src/blob", "/elsewhere")
    assert caught.value.path == "/src/blob"


def assert_copied_in_parts(log: Any, parts: int) -> None:
    """The copy was UploadPartCopy of ``parts`` parts, each naming its source, and no byte
    of the object went through this machine (no GetObject, UploadPart or PutObject)."""
    copies = log.of("UploadPartCopy")
    assert len(copies) == parts, [r.operation for r in log.requests]
    assert all(request.copy_source for request in copies), copies
    assert len(log.of("CreateMultipartUpload")) == len(log.of("CompleteMultipartUpload")) == 1
    streamed = [r for r in log.requests if r.operation in ("GetObject", "UploadPart", "PutObject")]
    assert streamed == []


def test_multipart_copy(open_driver: OpenDriver, bucket: str, request_log: Any) -> None:
    # S3 copies over 5 GiB only with UploadPartCopy; a low threshold exercises that path.
    driver = open_driver(bucket, part_size="5MiB")
    driver.multipart_copy_threshold = 5 * MIB
    data = _random(11 * MIB + 7)
    driver.put_content("/big", data)
    request_log.watch(driver)
    driver.move("/big", "/moved")
    assert_copied_in_parts(request_log, 3)
    assert driver.get_content("/moved") == data
    assert _uploads(driver) == []


# -- read-only, copies between drivers, roots -----------------------------------------------


def test_read_only_refuses_writes(open_driver: OpenDriver, bucket: str) -> None:
    writable = open_driver(bucket)
    writable.put_content("/f", b"data")
    # As the core opens a source: the wrapper refuses the writes (the driver need not).
    driver = CheckedDriver(open_driver(bucket, read_only=True), read_only=True)
    assert driver.get_content("/f") == b"data"
    assert driver.list_dir("/") == ["/f"]
    attempts: list[Callable[[], object]] = [
        lambda: driver.put_content("/g", b""),
        lambda: driver.writer("/g"),
        lambda: driver.move("/f", "/g"),
        lambda: driver.delete("/f"),
        lambda: driver.server_side_copy(CheckedDriver(writable, read_only=True), "/f"),
    ]
    for attempt in attempts:
        with pytest.raises(ReadOnlyError):
            attempt()
    assert _keys(writable) == ["f"]


def test_server_side_copy(s3_server: S3Server, open_driver: OpenDriver, bucket: str) -> None:
    source = open_driver(bucket + "/src/root")
    data = _random(70_000)
    source.put_content("/docker/blob", data)
    dest = open_driver(s3_server.make_bucket())
    assert dest.server_side_copy(source, "/docker/blob", "/docker/blob")
    assert dest.get_content("/docker/blob") == data
    # Through the wrappers, as the core calls it: paths checked there, the driver unwrapped.
    checked = CheckedDriver(source, read_only=True)
    assert CheckedDriver(dest, read_only=False).server_side_copy(checked, "/docker/blob")
    assert dest.get_content("/docker/blob") == data
    with pytest.raises(PathNotFoundError):
        dest.server_side_copy(source, "/missing", "/copy3")
    with pytest.raises(InvalidPathError):
        CheckedDriver(dest, read_only=False).server_side_copy(checked, "/docker/../x")


def test_server_side_copy_multipart(
    s3_server: S3Server, open_driver: OpenDriver, bucket: str, request_log: Any
) -> None:
    source = open_driver(bucket)
    data = _random(11 * MIB)
    source.put_content("/blob", data)
    dest = open_driver(s3_server.make_bucket(), part_size="5MiB")
    dest.multipart_copy_threshold = 5 * MIB
    request_log.watch(source, dest)
    assert dest.server_side_copy(source, "/blob", "/blob")
    assert_copied_in_parts(request_log, 3)
    assert dest.get_content("/blob") == data


def test_server_side_copy_below_the_threshold_is_one_copy_object(
    s3_server: S3Server, open_driver: OpenDriver, bucket: str, request_log: Any
) -> None:
    source = open_driver(bucket)
    source.put_content("/blob", _random(70_000))
    dest = open_driver(s3_server.make_bucket())
    request_log.watch(source, dest)
    assert dest.server_side_copy(source, "/blob", "/blob")
    assert [r.operation for r in request_log.requests if r.operation != "HeadObject"] == [
        "CopyObject"
    ]
    assert request_log.of("CopyObject")[0].copy_source


def test_server_side_copy_declines_other_backends(
    s3_server: S3Server, open_driver: OpenDriver, bucket: str
) -> None:
    dest = open_driver(bucket)
    assert dest.server_side_copy(object(), "/a", "/b") is False
    # Another endpoint URL (the same server under another name) is another store for all we
    # know: the core streams instead.
    other_url = s3_server.endpoint_url.replace("127.0.0.1", "localhost")
    other = open_driver(s3_server.make_bucket(), endpoint_url=other_url)
    other.put_content("/a", b"x")
    assert dest.server_side_copy(other, "/a", "/b") is False
    assert _keys(dest) == []


def test_rootdirectory_prefix(open_driver: OpenDriver, bucket: str) -> None:
    whole = open_driver(bucket)
    whole.put_content("/other/file", b"outside")
    whole.put_content("/prodx/file", b"sibling root")
    for location in (f"{bucket}/prod", f"{bucket}/prod/", f"s3://{bucket}/prod"):
        driver = open_driver(location)
        driver.put_content("/docker/registry/v2/x", b"inside")
        assert "prod/docker/registry/v2/x" in _keys(whole)
        assert driver.list_dir("/") == ["/docker"]
        assert [info.path for info in driver.walk("/")] == ["/docker/registry/v2/x"]
        driver.delete("/docker")
        assert driver.list_dir("/") == []
    assert _keys(whole) == ["other/file", "prodx/file"]
    whole.put_content("/docker/registry/v2/x", b"no root")
    assert "docker/registry/v2/x" in _keys(whole)


def test_nested_rootdirectory(open_driver: OpenDriver, bucket: str) -> None:
    driver = open_driver(f"{bucket}/a/b")
    driver.put_content("/docker/f", b"1")
    assert _keys(driver) == ["a/b/docker/f"]
    assert open_driver(f"{bucket}/a").list_dir("/") == ["/b"]


# -- configuration and errors ---------------------------------------------------------------


def test_missing_bucket_fails_at_open(open_driver: OpenDriver) -> None:
    with pytest.raises(ConfigurationError, match="no such bucket"):
        open_driver(unique_bucket_name("absent"))


def test_endpoint_from_environment(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.endpoint_url)
    driver = S3Driver.open(bucket, {}, read_only=False)
    driver.put_content("/f", b"via env")
    assert driver.get_content("/f") == b"via env"


def test_checked_driver_integration(driver: S3Driver) -> None:
    checked = CheckedDriver(driver, read_only=False)
    checked.put_content("/f", b"abc")
    with checked.reader("/f", 10) as stream:
        assert stream.read() == b""
    with pytest.raises(PathNotFoundError):
        checked.get_content("/g")
    with checked.writer("/w") as writer:
        writer.write(b"w")
    assert not checked.exists("/w")


def test_credentials_never_in_messages(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_secret = "WRONG-" + s3_server.secret_key[::-1]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    options = parse_options({"endpoint_url": s3_server.endpoint_url, "max_attempts": "1"})
    driver = S3Driver(make_client(options), parse_location(bucket), options, read_only=False)
    messages = [repr(driver)]
    calls: list[Callable[[], object]] = [
        lambda: driver.get_content("/f"),
        lambda: driver.put_content("/f", b""),
        lambda: S3Driver.open(bucket, {"endpoint_url": s3_server.endpoint_url}, read_only=True),
    ]
    for call in calls:
        try:
            call()
        except (StorageError, ConfigurationError) as exc:
            messages.append(str(exc))
    if isinstance(s3_server, SeaweedServer):  # moto takes any signature
        assert len(messages) == 4, messages
        assert "SignatureDoesNotMatch" in messages[1]
    for message in messages:
        for secret in (wrong_secret, s3_server.secret_key):
            assert secret not in message
