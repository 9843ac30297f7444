"""The native data plane (obstore): when it carries the GETs, what it maps, when it steps back.

Reads themselves are covered by every driver and conformance test, which run through obstore
wherever the configuration allows (on moto and SeaweedFS it does); these tests pin the choice
and the mapping of each setting.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import obstore
import pytest
from obstore.exceptions import GenericError, InvalidPathError, PermissionDeniedError
from s3_servers import S3Server

from registry_scraper_s3.config import parse_options
from registry_scraper_s3.driver import NATIVE_HEAD, S3Driver, make_client, make_session
from registry_scraper_s3.native import (
    NativeBody,
    NativeError,
    NativeGets,
    NativeStreamError,
    _translate,
    fallback_reason,
    make_native,
)
from registry_scraper_s3.reader import ObjectSource, open_object
from scraper_core.errors import PathNotFoundError

OpenDriver = Callable[..., S3Driver]

pytestmark = pytest.mark.s3


def test_a_plain_endpoint_reads_through_obstore(open_driver: OpenDriver, bucket: str) -> None:
    driver = open_driver(bucket)
    assert isinstance(driver.getter, NativeGets)
    data = bytes(range(256)) * 40
    driver.put_content("/a/blob", data)
    assert driver.get_content("/a/blob") == data
    with driver.reader("/a/blob", 1000) as stream:
        assert stream.read() == data[1000:]
    with driver.reader("/a/blob", len(data)) as stream:
        assert stream.read() == b""
    with pytest.raises(PathNotFoundError):
        driver.get_content("/a/missing")


_READ_IN_A_FRESH_INTERPRETER = """
import sys
from registry_scraper_s3.driver import S3Driver
from registry_scraper_s3.native import NativeGets
from scraper_core.errors import PathNotFoundError

driver = S3Driver.open(sys.argv[1], {"endpoint_url": sys.argv[2]}, read_only=True)
assert isinstance(driver.getter, NativeGets)
assert driver.get_content("/a/blob") == b"x" * 100
try:
    driver.get_content("/a/missing")
except PathNotFoundError:
    print(" ".join(sorted(sys.modules)))
"""


def test_reading_imports_neither_boto3_nor_s3transfer(
    s3_server: S3Server, open_driver: OpenDriver, bucket: str
) -> None:
    """boto3 (its session, its injected methods, obstore's credential provider module) and
    s3transfer (its errors) cost a read 25-30 ms of start-up and give it nothing."""
    open_driver(bucket).put_content("/a/blob", b"x" * 100)
    result = subprocess.run(
        [sys.executable, "-c", _READ_IN_A_FRESH_INTERPRETER, bucket, s3_server.endpoint_url],
        env=s3_server.aws_environ(os.environ),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    modules = set(result.stdout.split())
    assert {"botocore", "obstore"} <= modules
    assert not {"boto3", "s3transfer"} & modules


def test_s3transfers_errors_are_caught_once_it_is_imported() -> None:
    from s3transfer.exceptions import RetriesExceededError, S3CopyFailedError

    from registry_scraper_s3.errors import sdk_errors

    assert {RetriesExceededError, S3CopyFailedError} <= set(sdk_errors())


def test_ranges_of_a_large_object_reassemble(open_driver: OpenDriver, bucket: str) -> None:
    driver = open_driver(bucket, read_concurrency="3")
    driver.read_range_size = 1000
    data = bytes(range(251)) * 100
    driver.put_content("/big", data)
    with driver.reader("/big", 1234) as stream:
        assert stream.read() == data[1234:]


def test_a_large_object_streams_through_botocore_after_its_first_get(
    open_driver: OpenDriver, bucket: str, request_log: Any
) -> None:
    # obstore costs less CPU a request, botocore less a byte: small objects (one GET) go
    # through obstore, the further ranges of a large one through botocore.
    driver = open_driver(bucket, read_concurrency="1")
    driver.read_range_size = 1000
    data = bytes(range(250)) * 20
    driver.put_content("/big", data)
    request_log.watch(driver)
    with driver.reader("/big") as stream:
        assert stream.read(10) == data[:10]
    with driver.reader("/big", 10) as stream:
        assert stream.read() == data[10:]
    gets = [request.url.startswith("native://") for request in request_log.of("GetObject")]
    assert gets == [True, True]
    driver = open_driver(bucket, read_concurrency="3")
    driver.read_range_size = 1000
    request_log.watch(driver)
    with driver.reader("/big") as stream:
        assert stream.read() == data
    gets = [request.url.startswith("native://") for request in request_log.of("GetObject")][2:]
    assert gets == [True, False, False, False, False]


def test_the_native_get_covers_no_more_than_a_small_object(
    open_driver: OpenDriver, bucket: str, request_log: Any
) -> None:
    # Its buffers cost more memory than botocore's at peak: a large blob streams via botocore.
    driver = open_driver(bucket)
    data = random.Random(5).randbytes(NATIVE_HEAD + 1000)
    driver.put_content("/big", data)
    request_log.watch(driver)
    with driver.reader("/big") as stream:
        assert stream.read() == data
    gets = request_log.of("GetObject")
    assert gets[0].url.endswith(f"#bytes=0-{NATIVE_HEAD - 1}")
    assert len(gets) == 2 and not gets[1].url.startswith("native://")


def test_response_checksums_keep_botocore(open_driver: OpenDriver, bucket: str) -> None:
    driver = open_driver(bucket, checksum="when_supported")
    assert driver.getter is driver.client
    driver.put_content("/x", b"hello")
    assert driver.get_content("/x") == b"hello"


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy"])
def test_a_proxy_keeps_botocore(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # botocore and reqwest read proxy variables differently (NO_PROXY): one client for all.
    monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    driver = S3Driver.open(bucket, {"endpoint_url": s3_server.endpoint_url}, read_only=True)
    assert driver.getter is driver.client


def _client(monkeypatch: pytest.MonkeyPatch, **options: str) -> tuple[Any, Any]:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    parsed = parse_options({"region": "eu-west-1", **options})
    session = make_session(parsed)
    return make_client(parsed, session), session


def test_without_credentials_botocore_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    client, core = _client(monkeypatch, endpoint_url="http://s3.example.test")
    monkeypatch.setattr(core, "get_credentials", lambda: None)
    assert fallback_reason(client, core, None) == "no credentials (unsigned requests)"


def test_a_bucket_in_another_region_keeps_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore follows the region redirect; obstore would sign for the wrong region.
    client, core = _client(monkeypatch, endpoint_url="http://s3.example.test")
    assert fallback_reason(client, core, "eu-west-1") is None
    assert "us-east-2" in str(fallback_reason(client, core, "us-east-2"))
    assert make_native(client, core, "reg", "us-east-2") is None


@pytest.mark.parametrize(
    ("options", "endpoint", "virtual"),
    [
        ({"addressing_style": "path"}, "http://s3.example.test", "false"),
        ({"addressing_style": "virtual"}, "http://reg.s3.example.test", "true"),
        (
            {"addressing_style": "path", "endpoint_url": "http://h.test/s3"},
            "http://h.test/s3",
            "false",
        ),
    ],
)
def test_the_endpoint_is_the_one_botocore_would_use(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, str], endpoint: str, virtual: str
) -> None:
    client, core = _client(monkeypatch, **{"endpoint_url": "http://s3.example.test", **options})
    native = make_native(client, core, "reg", None)
    assert native is not None
    config = native.store.config
    assert config["endpoint"] == endpoint
    assert config["virtual_hosted_style_request"] == virtual
    assert config["region"] == "eu-west-1"
    assert config["skip_signature"] == "false"
    assert native.store.client_options["allow_http"] == "true"


def test_settings_map_to_the_native_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes())
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    client, core = _client(monkeypatch, endpoint_url="https://s3.example.test", max_attempts="4")
    native = make_native(client, core, "reg", None)
    assert native is not None
    options = native.store.client_options
    assert options["root_certificate"] == bundle.read_bytes()
    assert options["allow_http"] == "false"
    assert native.store.retry_config["max_retries"] == 3
    # An unreadable bundle: botocore names it on its first request.
    bundle.unlink()
    assert make_native(client, core, "reg", None) is None


def test_errors_carry_the_s3_code() -> None:
    text = (
        "Generic S3 error: Error performing GET http://h/b/k - Server returned non-2xx status "
        "code: 416 Range Not Satisfiable: <Error><Code>InvalidRange</Code><Message>The "
        "requested range is not satisfiable</Message></Error>\n\nDebug source: ..."
    )
    error = _translate(GenericError(text))
    assert error.response == {
        "Error": {"Code": "InvalidRange", "Message": "The requested range is not satisfiable"}
    }
    missing = _translate(FileNotFoundError("gone")).response
    assert missing is not None and missing["Error"]["Code"] == "NoSuchKey"
    denied = _translate(PermissionDeniedError("denied\nDebug: secret-ish dump"))
    assert denied.response == {"Error": {"Code": "AccessDenied", "Message": "denied"}}
    busy = _translate(GenericError("x status code: 503 Service Unavailable\nmore"))
    assert busy.response is not None and busy.response["Error"]["Code"] == "503"


class _BrokenGets:
    """Bodies that break once after 1,000 bytes, as a reset connection would."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ranges: list[str] = []

    def get_object(self, *, Bucket: str, Key: str, Range: str) -> dict[str, Any]:  # noqa: N803
        self.ranges.append(Range)
        start = int(Range.removeprefix("bytes=").split("-")[0])
        part = self.data[start:]

        def chunks() -> Any:
            yield part[:1000]
            if len(self.ranges) == 1:
                raise GenericError("error decoding response body")
            yield part[1000:]

        size = len(self.data)
        return {
            "Body": NativeBody(chunks()),
            "ContentLength": len(part),
            "ContentRange": f"bytes {start}-{size - 1}/{size}",
        }


def test_a_broken_native_stream_resumes_where_it_stopped() -> None:
    data = bytes(range(256)) * 20
    gets = _BrokenGets(data)
    source = ObjectSource(gets, "bucket", "key", "/key", attempts=3)
    with open_object(source, 0, range_size=len(data), concurrency=1) as stream:
        assert stream.read() == data
    assert gets.ranges == ["bytes=0-", f"bytes=1000-{len(data) - 1}"]


def test_a_native_stream_error_is_retryable_and_one_line() -> None:
    body = NativeBody(iter([]))
    assert body.read(10) == b""

    def broken() -> Any:
        raise GenericError("reset\nDebug source: ...")
        yield b""  # pragma: no cover

    with pytest.raises(NativeStreamError, match=r"^reset$"):
        NativeBody(broken()).read(10)
    error = NativeError("AccessDenied", "denied")
    assert isinstance(error, Exception) and error.operation_name == "GetObject"


def _links(driver: S3Driver, count: int) -> dict[str, str]:
    """``count`` layer links written to ``driver``: path -> MD5 of the content."""
    written = {}
    for number in range(count):
        hex_digest = f"{number:064x}"
        path = f"/repo/_layers/sha256/{hex_digest}/link"
        content = f"sha256:{hex_digest}".encode()
        driver.put_content(path, content)
        written[path] = hashlib.md5(content, usedforsecurity=False).hexdigest()
    return written


def test_link_listings_go_through_obstore(
    open_driver: OpenDriver, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = open_driver(bucket)
    written = _links(driver, 3)
    driver.put_content("/repo/_layers/README", b"not a link")

    def no_botocore(*_: object, **__: object) -> None:
        raise AssertionError("listed with botocore")

    monkeypatch.setattr(driver, "_pages", no_botocore)
    listed = driver._link_etags("/repo/_layers")
    assert {path: listed[path] for path in written} == written
    assert set(listed) == {*written, "/repo/_layers/README"}


def test_a_listing_obstore_refuses_is_made_with_botocore(
    open_driver: OpenDriver, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = open_driver(bucket)
    written = _links(driver, 2)

    def refuse(*_: object, **__: object) -> None:
        # What obstore raises for a key its path rules refuse ("a//b", "a/./b").
        raise InvalidPathError("Encountered object with invalid path")

    monkeypatch.setattr(obstore, "list", refuse)
    assert driver._link_etags("/repo/_layers") == written
