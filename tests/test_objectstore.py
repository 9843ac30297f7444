"""Object names for storage paths, and bucket locations: the core's kit for bucket drivers."""

from __future__ import annotations

import pytest

from scraper_core.bucket.objectstore import BucketLocation, KeyMap, parse_bucket_location
from scraper_core.errors import ConfigurationError


@pytest.mark.parametrize(
    ("keys", "path", "prefix"),
    [
        (KeyMap(""), "/", ""),
        (KeyMap("prod"), "/", "prod/"),
        (KeyMap(""), "/docker", "docker/"),
        (KeyMap("prod"), "/docker/registry", "prod/docker/registry/"),
        (KeyMap("", "/"), "/", "/"),
        (KeyMap("prod", "/"), "/docker", "/prod/docker/"),
    ],
)
def test_dir_prefix_always_ends_in_a_slash(keys: KeyMap, path: str, prefix: str) -> None:
    # Without the slash, directory /a would take in /ab.
    assert keys.dir_prefix(path) == prefix


@pytest.mark.parametrize(
    ("keys", "key", "path"),
    [
        (KeyMap(""), "docker/x", "/docker/x"),
        (KeyMap("prod"), "prod/docker/x", "/docker/x"),
        (KeyMap("prod"), "prod/", None),
        (KeyMap("prod"), "prodx/docker", None),
        (KeyMap("prod"), "other/docker", None),
        (KeyMap("a/b"), "a/b/c", "/c"),
        (KeyMap("", "/"), "/docker/x", "/docker/x"),
        (KeyMap("", "/"), "docker/x", None),
    ],
)
def test_path_of_key(keys: KeyMap, key: str, path: str | None) -> None:
    assert keys.path(key) == path


@pytest.mark.parametrize("rootdirectory", ["", "/", "prod", "/a/b/", "//x//"])
@pytest.mark.parametrize("prefix", ["", "/"])
def test_key_and_path_are_inverse(rootdirectory: str, prefix: str) -> None:
    keys = KeyMap.from_rootdirectory(rootdirectory, prefix=prefix)
    for path in ("/a", "/a/b.c", "/docker/registry/v2/repositories/x/_layers"):
        assert keys.key(path).startswith(keys.base)
        assert keys.path(keys.key(path)) == path


@pytest.mark.parametrize(
    ("location", "bucket", "root"),
    [
        ("reg", "reg", ""),
        ("reg/prod", "reg", "prod"),
        ("x://reg/prod/", "reg", "prod"),
        ("reg//a/b", "reg", "a/b"),
        ("  my_bucket.example ", "my_bucket.example", ""),
    ],
)
def test_parse_bucket_location(location: str, bucket: str, root: str) -> None:
    parsed = parse_bucket_location("drv", location, scheme="x://")
    assert parsed == BucketLocation(bucket, KeyMap(root))
    assert str(parsed) == (f"{bucket}/{root}" if root else bucket)
    assert parse_bucket_location("drv", str(parsed)) == parsed


@pytest.mark.parametrize("location", ["", "/reg", "x://", "re g/x", "-reg"])
def test_parse_bucket_location_refuses_with_one_line(location: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_bucket_location("drv", location, scheme="x://", what="CONTAINER")
    assert str(caught.value) == (
        f"drv: location must be CONTAINER[/ROOTDIRECTORY], got {location!r}"
    )
