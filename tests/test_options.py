"""--storage-option pairs into a driver's options dataclass: parsing and the error wording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from scraper_core.bucket.options import (
    GIB,
    KIB,
    MIB,
    choice,
    flag,
    http_url,
    option,
    option_names,
    parse_options,
    positive_int,
    show_size,
    size,
    text,
)
from scraper_core.errors import ConfigurationError

Mode = Literal["fast", "safe"]


@dataclass(frozen=True)
class Example:
    name: str | None = option(text, None)
    enabled: bool = option(flag, False)
    jobs: int = option(positive_int, 4)
    mode: Mode = option(choice(Mode), "safe")
    url: str | None = option(http_url, None, echo=False)
    token: str | None = option(text, None, secret=True)
    part: int = option(size(5 * MIB, 5 * GIB), 16 * MIB)
    chunk: int = option(size(256 * KIB, GIB, multiple=256 * KIB), MIB)


def parse(**pairs: str) -> Example:
    return parse_options("drv", Example, pairs)


def error(**pairs: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse(**pairs)
    return str(caught.value)


def test_defaults_and_values() -> None:
    assert parse() == Example()
    parsed = parse(
        name=" n ", enabled="YES", jobs="8", mode="fast", url="http://h:1/",
        token="t", part="1GiB", chunk="512KiB",
    )  # fmt: skip
    assert parsed == Example("n", True, 8, "fast", "http://h:1", "t", GIB, 512 * KIB)
    assert option_names(Example)[:3] == ("name", "enabled", "jobs")


def test_unknown_options_are_all_named_with_the_known_ones() -> None:
    message = error(zz="1", aa="2")
    assert message.startswith("drv: unknown option(s): aa, zz (known: name, enabled, jobs,")


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ({"name": "  "}, "drv: option name must not be empty, got '  '"),
        ({"enabled": "maybe"}, "drv: option enabled must be true or false, got 'maybe'"),
        ({"jobs": "0"}, "drv: option jobs must be a positive integer, got '0'"),
        ({"jobs": "x"}, "drv: option jobs must be a positive integer, got 'x'"),
        ({"mode": "Fast"}, "drv: option mode must be one of fast, safe, got 'Fast'"),
        ({"part": "5MB"}, "drv: option part must be a size such as 512K, 100M or 4GiB"),
        ({"part": "6GiB"}, "drv: option part must be between 5MiB and 5GiB, got '6GiB'"),
        ({"chunk": "300KiB"}, "drv: option chunk must be a multiple of 256KiB up to 1GiB, got"),
    ],
)
def test_errors_name_driver_option_and_value(pairs: dict[str, str], message: str) -> None:
    assert error(**pairs).startswith(message)


def test_secrets_are_never_shown() -> None:
    assert error(token=" ") == "drv: option token must not be empty"
    assert "sig=SECRET" not in error(url="ftp://h/?sig=SECRET")
    assert "t0ken" not in repr(parse(token="t0ken"))
    assert "http://h" in repr(parse(url="http://h"))


@pytest.mark.parametrize(
    ("size_bytes", "shown"), [(16 * MIB, "16MiB"), (256 * KIB, "256KiB"), (GIB, "1GiB"), (7, "7")]
)
def test_show_size(size_bytes: int, shown: str) -> None:
    assert show_size(size_bytes) == shown
