"""Location, options, key mapping and error messages: pure, no SDK call and no server."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_scraper_gcs.config import (
    DEFAULT_CHUNK_SIZE,
    MIB,
    GcsOptions,
    parse_location,
    parse_options,
)
from registry_scraper_gcs.errors import describe, listing, to_storage_error
from scraper_core.bucket.objectstore import KeyMap
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError

BLOB = "/docker/registry/v2/blobs/sha256/ab/" + "ab" * 32 + "/data"


def distribution_path_to_key(rootdirectory: str, path: str) -> str:
    """distribution's gcs ``pathToKey``, restated: the reference the mapping must match."""
    root = rootdirectory.strip("/")
    root = root + "/" if root else ""
    return (root + path.lstrip("/")).rstrip("/").strip()


@pytest.mark.parametrize(
    ("rootdirectory", "key"),
    [
        ("", BLOB[1:]),
        ("/", BLOB[1:]),
        ("prod", "prod" + BLOB),
        ("/prod/", "prod" + BLOB),
        ("/a/b", "a/b" + BLOB),
        ("//a/b//", "a/b" + BLOB),
    ],
)
def test_key_is_distributions(rootdirectory: str, key: str) -> None:
    keys = KeyMap.from_rootdirectory(rootdirectory)
    assert keys.key(BLOB) == key == distribution_path_to_key(rootdirectory, BLOB)


@pytest.mark.parametrize("rootdirectory", ["", "prod", "/a/b/"])
@pytest.mark.parametrize("path", ["/a", "/a/b.c", "/docker/registry/v2/repositories/x/_layers"])
def test_key_matches_the_restated_formula(rootdirectory: str, path: str) -> None:
    keys = KeyMap.from_rootdirectory(rootdirectory)
    assert keys.key(path) == distribution_path_to_key(rootdirectory, path)
    assert keys.path(keys.key(path)) == path


# The grammar itself (slashes, spaces, what a bucket name may be) is parse_bucket_location's,
# tested once in tests/test_objectstore.py; here only what this driver adds: its gs:// prefix.
@pytest.mark.parametrize(
    ("location", "bucket", "root"), [("gs://reg/prod/", "reg", "prod"), ("reg", "reg", "")]
)
def test_parse_location(location: str, bucket: str, root: str) -> None:
    parsed = parse_location(location)
    assert (parsed.bucket, parsed.keys.root) == (bucket, root)
    assert str(parsed) == (f"{bucket}/{root}" if root else bucket)


@pytest.mark.parametrize("location", ["", "gs://"])
def test_parse_location_refuses(location: str) -> None:
    with pytest.raises(ConfigurationError, match="BUCKET"):
        parse_location(location)


def test_default_options() -> None:
    assert parse_options({}) == GcsOptions(None, None, DEFAULT_CHUNK_SIZE)
    assert DEFAULT_CHUNK_SIZE == 16 * MIB


def test_all_options_parse(tmp_path: Path) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text("{}")
    options = parse_options(
        {"project": " proj ", "credentials_file": str(key_file), "chunk_size": "8MiB"}
    )
    assert options == GcsOptions("proj", str(key_file), 8 * MIB)


def test_unknown_options_are_all_named() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_options({"keyfile": "x", "bucket": "y"})
    message = str(caught.value)
    assert "bucket, keyfile" in message
    assert "chunk_size" in message and "credentials_file" in message


@pytest.mark.parametrize(
    ("value", "size"),
    [("256KiB", 256 * 1024), ("262144", 256 * 1024), ("16MiB", 16 * MIB), ("1GiB", 1024 * MIB)],
)
def test_chunk_size(value: str, size: int) -> None:
    assert parse_options({"chunk_size": value}).chunk_size == size


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("chunk_size", "100KiB"),
        ("chunk_size", "0"),
        ("chunk_size", "2GiB"),
        ("chunk_size", "5MB"),
        ("chunk_size", "lots"),
        ("project", " "),
        ("credentials_file", "/nonexistent/key.json"),
    ],
)
def test_bad_option_values(key: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        parse_options({key: value})


def _api_error(name: str, message: str) -> Exception:
    """A google.api_core exception by class name (the module is untyped)."""
    import google.api_core.exceptions

    error: Exception = getattr(google.api_core.exceptions, name)(message)
    return error


def test_not_found_becomes_path_not_found() -> None:
    error = to_storage_error("/a", _api_error("NotFound", "GET https://h/x: No such object"))
    assert isinstance(error, PathNotFoundError)
    assert (error.driver, error.path) == ("gcs", "/a")


def test_missing_bucket_in_a_listing_is_not_a_missing_path() -> None:
    with pytest.raises(StorageError) as caught, listing("/dir"):
        raise _api_error("NotFound", "GET https://storage.googleapis.com/b/x/o: Not Found")
    assert not isinstance(caught.value, PathNotFoundError)
    assert "no such bucket" in str(caught.value)


def test_describe_drops_the_request_and_bounds_length() -> None:
    error = _api_error(
        "Forbidden",
        "GET https://storage.googleapis.com/download/x?alt=media&access_token=SECRET: "
        "caller does not have storage.objects.get access",
    )
    assert describe(error) == "HTTP 403: caller does not have storage.objects.get access"
    long = describe(RuntimeError("x" * 1000 + " https://h/p?sig=SECRET"))
    assert len(long) == 200 and long.endswith("...")
    assert "SECRET" not in describe(OSError("reset by https://h/p?sig=SECRET"))
