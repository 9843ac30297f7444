"""Location, options, key mapping and error messages: pure, no SDK call and no server."""

from __future__ import annotations

from typing import Any

import pytest

from registry_scraper_azure.config import (
    DEFAULT_BLOCK_SIZE,
    LEGACY_PREFIX,
    MIB,
    AzureOptions,
    parse_location,
    parse_options,
)
from registry_scraper_azure.errors import describe, to_storage_error, translated
from scraper_core.bucket.objectstore import KeyMap
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError

BLOB = "/docker/registry/v2/blobs/sha256/ab/" + "ab" * 32 + "/data"


def distribution_blob_name(rootdirectory: str, path: str) -> str:
    """distribution 3's azure ``blobName``, restated: the reference the mapping must match."""
    return (rootdirectory.rstrip("/") + path).lstrip("/")


@pytest.mark.parametrize(
    ("rootdirectory", "name", "legacy_name"),
    [
        ("", BLOB[1:], BLOB),
        ("/", BLOB[1:], BLOB),
        ("prod", "prod" + BLOB, "/prod" + BLOB),
        ("/prod/", "prod" + BLOB, "/prod" + BLOB),
        ("//a/b//", "a/b" + BLOB, "/a/b" + BLOB),
    ],
)
def test_names(rootdirectory: str, name: str, legacy_name: str) -> None:
    assert KeyMap.from_rootdirectory(rootdirectory).key(BLOB) == name
    assert KeyMap.from_rootdirectory(rootdirectory, prefix=LEGACY_PREFIX).key(BLOB) == legacy_name


@pytest.mark.parametrize("rootdirectory", ["", "/", "prod", "/a/b/", "a//"])
@pytest.mark.parametrize("path", ["/a", "/a/b.c", "/docker/registry/v2/repositories/x/_layers"])
def test_names_match_the_restated_formula(rootdirectory: str, path: str) -> None:
    keys = KeyMap.from_rootdirectory(rootdirectory)
    assert keys.key(path) == distribution_blob_name(rootdirectory, path)
    assert keys.path(keys.key(path)) == path


def test_legacy_names_are_the_paths_themselves() -> None:
    # distribution 2.x: GetBlobReference(path), the path as it is.
    keys = KeyMap.from_rootdirectory("", prefix=LEGACY_PREFIX)
    for path in ("/docker", BLOB, "/docker/registry/v2/repositories/a/b/_layers"):
        assert keys.key(path) == path
        assert keys.path(path) == path


@pytest.mark.parametrize(
    ("keys", "path", "prefix"),
    [
        (KeyMap(""), "/", ""),
        (KeyMap("prod"), "/", "prod/"),
        (KeyMap("", prefix=LEGACY_PREFIX), "/", "/"),
        (KeyMap("prod", prefix=LEGACY_PREFIX), "/", "/prod/"),
        (KeyMap(""), "/docker", "docker/"),
        (KeyMap("", prefix=LEGACY_PREFIX), "/docker", "/docker/"),
    ],
)
def test_dir_prefix(keys: KeyMap, path: str, prefix: str) -> None:
    assert keys.dir_prefix(path) == prefix


@pytest.mark.parametrize(
    ("keys", "name", "path"),
    [
        (KeyMap(""), "docker/x", "/docker/x"),
        (KeyMap(""), "/docker/x", "//docker/x"),
        (KeyMap("", prefix=LEGACY_PREFIX), "docker/x", None),
        (KeyMap("", prefix=LEGACY_PREFIX), "/", None),
        (KeyMap("prod"), "prodx/a", None),
        (KeyMap("prod", prefix=LEGACY_PREFIX), "/prod/a", "/a"),
        (KeyMap("prod", prefix=LEGACY_PREFIX), "prod/a", None),
    ],
)
def test_path_of_name(keys: KeyMap, name: str, path: str | None) -> None:
    # "//docker/x" is no valid storage path: the driver skips what a legacy tree holds.
    assert keys.path(name) == path


@pytest.mark.parametrize(
    ("location", "container", "root"),
    [
        ("reg", "reg", ""),
        ("reg/prod", "reg", "prod"),
        (" reg//a/b/ ", "reg", "a/b"),
        ("$root/x", "$root", "x"),
    ],
)
def test_parse_location(location: str, container: str, root: str) -> None:
    parsed = parse_location(location)
    assert (parsed.bucket, parsed.keys.root) == (container, root)
    assert str(parsed) == (f"{container}/{root}" if root else container)


@pytest.mark.parametrize("location", ["", "/reg", "re g", "-reg", "az://reg"])
def test_parse_location_refuses(location: str) -> None:
    with pytest.raises(ConfigurationError, match="CONTAINER"):
        parse_location(location)


def test_default_options() -> None:
    options = parse_options({})
    assert options == AzureOptions()
    assert options.block_size == DEFAULT_BLOCK_SIZE == 8 * MIB
    assert options.endpoint is None
    assert not options.legacy_root_prefix


def test_all_options_parse() -> None:
    options = parse_options(
        {
            "account_url": "http://127.0.0.1:10000/devstoreaccount1/",
            "account_name": "devstoreaccount1",
            "account_key": "a2V5",
            "legacy_root_prefix": "TRUE",
            "block_size": "1MiB",
        }
    )
    assert options.endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert (options.account_key, options.legacy_root_prefix, options.block_size) == (
        "a2V5",
        True,
        MIB,
    )
    assert "a2V5" not in repr(options)


def test_account_name_and_realm_make_the_url() -> None:
    assert parse_options({"account_name": "acct"}).endpoint == (
        "https://acct.blob.core.windows.net"
    )
    options = parse_options({"account_name": "acct", "realm": "core.chinacloudapi.cn"})
    assert options.endpoint == "https://acct.blob.core.chinacloudapi.cn"


def test_sas_token_loses_its_question_mark_and_stays_out_of_repr() -> None:
    options = parse_options({"account_name": "acct", "sas_token": "?sv=1&sig=SECRET"})
    assert options.sas_token == "sv=1&sig=SECRET"
    assert "SECRET" not in repr(options)


def test_unknown_options_are_all_named() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_options({"accountkey": "x", "container": "y"})
    message = str(caught.value)
    assert "accountkey, container" in message
    assert "legacy_root_prefix" in message and "account_url" in message


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"block_size": "32KiB"}, "block_size"),
        ({"block_size": "5000MiB"}, "block_size"),
        ({"block_size": "8MB"}, "block_size"),
        ({"legacy_root_prefix": "maybe"}, "legacy_root_prefix"),
        ({"account_url": "ftp://x"}, "account_url"),
        ({"account_url": "https://a.blob.core.windows.net?sig=x"}, "account_url"),
        ({"account_name": "Not_Valid"}, "account_name"),
        ({"account_key": "k"}, "need account_url"),
        ({"sas_token": "s"}, "need account_url"),
        ({"account_name": "acct", "account_key": "k", "sas_token": "s"}, "not both"),
    ],
)
def test_bad_options(options: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as caught:
        parse_options(options)
    assert "sig=x" not in str(caught.value)


def _service_error(cls_name: str, message: str, status: int, code: str) -> Any:
    import azure.core.exceptions

    error = getattr(azure.core.exceptions, cls_name)(message=message)
    error.status_code = status
    error.error_code = code
    return error


def test_missing_blob_is_path_not_found() -> None:
    error = _service_error(
        "ResourceNotFoundError", "The specified blob does not exist.", 404, "BlobNotFound"
    )
    found = to_storage_error("/a", error)
    assert isinstance(found, PathNotFoundError)
    assert (found.driver, found.path) == ("azure", "/a")


def test_missing_container_is_not_a_missing_path() -> None:
    error = _service_error(
        "ResourceNotFoundError", "The specified container does not exist.", 404, "ContainerNotFound"
    )
    with pytest.raises(StorageError) as caught, translated("/a"):
        raise error
    assert not isinstance(caught.value, PathNotFoundError)
    assert "ContainerNotFound" in str(caught.value)


def test_describe_keeps_the_first_line_without_query_strings() -> None:
    error = _service_error(
        "HttpResponseError",
        "Copy source https://a.blob.core.windows.net/c/b?sv=1&sig=SECRET refused.\n"
        "RequestId:1\nTime:now\nErrorCode:CannotVerifyCopySource",
        403,
        "CannotVerifyCopySource",
    )
    assert describe(error) == (
        "CannotVerifyCopySource: Copy source https://a.blob.core.windows.net/c/b refused."
    )
    assert len(describe(OSError("x" * 1000))) == 200


def test_retries_start_quickly_and_are_counted_by_max_attempts() -> None:
    from registry_scraper_azure.driver import make_service

    options = {"account_url": "http://127.0.0.1:1/acct", "account_key": "a2V5"}
    policy = make_service(parse_options({**options, "max_attempts": "3"}))._config.retry_policy
    assert (policy.total_retries, policy.initial_backoff, policy.increment_base) == (2, 1, 2)
    # The SDK's own default would wait 15 s and more before the first retry.
    first_wait = policy.get_backoff_time({"count": 1})
    assert first_wait <= 4
    assert make_service(parse_options(options))._config.retry_policy.total_retries == 5
