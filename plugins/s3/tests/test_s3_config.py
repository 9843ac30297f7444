"""Pure unit tests: key mapping, location and option parsing, error messages. No server."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from registry_scraper_s3.config import (
    MIB,
    OPTION_NAMES,
    S3Options,
    parse_location,
    parse_options,
)
from registry_scraper_s3.driver import make_client
from registry_scraper_s3.errors import describe, to_storage_error
from scraper_core.bucket.objectstore import KeyMap
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError

BLOB = "/docker/registry/v2/blobs/sha256/ab/abcd/data"


@pytest.mark.parametrize(
    ("rootdirectory", "key"),
    [
        ("", "docker/registry/v2/blobs/sha256/ab/abcd/data"),
        ("/", "docker/registry/v2/blobs/sha256/ab/abcd/data"),
        ("/prod", "prod/docker/registry/v2/blobs/sha256/ab/abcd/data"),
        ("prod", "prod/docker/registry/v2/blobs/sha256/ab/abcd/data"),
        ("/prod/", "prod/docker/registry/v2/blobs/sha256/ab/abcd/data"),
        ("//a/b//", "a/b/docker/registry/v2/blobs/sha256/ab/abcd/data"),
    ],
)
def test_key_is_distribution_s3path(rootdirectory: str, key: str) -> None:
    # distribution: strings.TrimLeft(strings.TrimRight(root, "/")+path, "/")
    expected = (rootdirectory.rstrip("/") + BLOB).lstrip("/")
    assert KeyMap.from_rootdirectory(rootdirectory).key(BLOB) == key == expected


# The grammar itself is parse_bucket_location's, tested once in tests/test_objectstore.py;
# here only what this driver adds: its s3:// prefix, and legacy bucket names still read.
@pytest.mark.parametrize(
    ("location", "bucket", "root"),
    [
        ("reg", "reg", ""),
        ("s3://reg/prod", "reg", "prod"),
        ("Legacy_Bucket.1", "Legacy_Bucket.1", ""),
    ],
)
def test_parse_location(location: str, bucket: str, root: str) -> None:
    parsed = parse_location(location)
    assert (parsed.bucket, parsed.keys.root) == (bucket, root)


@pytest.mark.parametrize("location", ["", "s3://", "reg:1/x"])
def test_parse_location_refuses(location: str) -> None:
    with pytest.raises(ConfigurationError, match="BUCKET"):
        parse_location(location)


def test_default_options() -> None:
    options = parse_options({})
    assert options == S3Options()
    # Unset: the environment, the profile or the driver's default decides (test_s3_settings).
    assert options.checksum is None and options.retry_mode is None
    assert options.max_attempts is None and options.addressing_style is None
    assert options.part_size == 16 * MIB
    assert options.endpoint_url is None and options.region is None and options.profile is None


def test_all_options_parse() -> None:
    options = parse_options(
        {
            "endpoint_url": "http://127.0.0.1:9000",
            "region": "eu-west-1",
            "addressing_style": "path",
            "checksum": "when_supported",
            "max_attempts": "3",
            "retry_mode": "adaptive",
            "max_pool_connections": "64",
            "part_size": "64MiB",
            "profile": "registry",
            "read_concurrency": "1",
            "write_concurrency": "3",
            "access_key": "AKIAEXAMPLE",
            "secret_key": "never-shown",
        }
    )
    assert options == S3Options(
        endpoint_url="http://127.0.0.1:9000",
        region="eu-west-1",
        addressing_style="path",
        checksum="when_supported",
        max_attempts=3,
        retry_mode="adaptive",
        max_pool_connections=64,
        part_size=64 * MIB,
        profile="registry",
        read_concurrency=1,
        write_concurrency=3,
        access_key="AKIAEXAMPLE",
        secret_key="never-shown",
    )
    assert "never-shown" not in repr(options) and "AKIAEXAMPLE" not in repr(options)
    assert set(OPTION_NAMES) == {
        "access_key",
        "secret_key",
        "endpoint_url",
        "region",
        "addressing_style",
        "checksum",
        "max_attempts",
        "retry_mode",
        "max_pool_connections",
        "part_size",
        "profile",
        "read_concurrency",
        "write_concurrency",
    }


def test_unknown_options_are_all_named() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_options({"bucket": "x", "rootdirectory": "/y", "region": "eu-west-1"})
    message = str(caught.value)
    assert "bucket" in message and "rootdirectory" in message
    assert "unknown option(s): bucket, rootdirectory" in message


@pytest.mark.parametrize(
    ("value", "size"),
    [("5MiB", 5 * MIB), ("16777216", 16 * MIB), ("1GiB", 1024 * MIB), ("8192KiB", 8 * MIB)],
)
def test_part_size(value: str, size: int) -> None:
    assert parse_options({"part_size": value}).part_size == size


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("part_size", "4MiB"),
        ("part_size", "6GiB"),
        ("part_size", "16MB"),
        ("part_size", "lots"),
        ("max_attempts", "0"),
        ("max_attempts", "ten"),
        ("max_pool_connections", "-1"),
        ("read_concurrency", "0"),
        ("write_concurrency", "0"),
        ("addressing_style", "dns"),
        ("checksum", "always"),
        ("retry_mode", "forever"),
        ("endpoint_url", "127.0.0.1:9000"),
        ("region", " "),
        ("profile", ""),
    ],
)
def test_bad_option_values(key: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        parse_options({key: value})


def _client_error(code: str, message: str, operation: str = "GetObject") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_not_found_codes_become_path_not_found() -> None:
    for code in ("NoSuchKey", "404", "NotFound"):
        error = to_storage_error("/a", _client_error(code, "Not Found"))
        assert isinstance(error, PathNotFoundError)
        assert (error.driver, error.path) == ("s3", "/a")


def test_missing_bucket_is_not_a_missing_path() -> None:
    error = to_storage_error("/a", _client_error("NoSuchBucket", "The bucket does not exist"))
    assert type(error) is StorageError
    assert str(error) == "s3: /a: GetObject: NoSuchBucket: The bucket does not exist"


def test_describe_redacts_userinfo_and_bounds_length() -> None:
    exc = EndpointConnectionError(endpoint_url="http://user:hunter2@store.example:9000/b/k")
    detail = describe(exc)
    assert "hunter2" not in detail and "***@store.example" in detail
    assert len(describe(_client_error("Slow", "x" * 1000))) <= 200


def test_region_sources_in_order(aws_files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def region(**options: str) -> str:
        return str(make_client(parse_options(options)).meta.region_name)

    assert region(profile="registry") == "eu-central-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert region() == "us-west-2"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert region() == "ap-south-1"
    assert region(region="sa-east-1") == "sa-east-1"


def test_endpoint_sources(aws_files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert make_client(parse_options({})).meta.endpoint_url == "http://127.0.0.1:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2")
    assert make_client(parse_options({})).meta.endpoint_url == "http://127.0.0.1:2"
    options = parse_options({"endpoint_url": "http://127.0.0.1:3"})
    assert make_client(options).meta.endpoint_url == "http://127.0.0.1:3"


def test_unknown_profile(aws_files: Path) -> None:
    with pytest.raises(ConfigurationError, match="nope"):
        make_client(parse_options({"profile": "nope"}))
