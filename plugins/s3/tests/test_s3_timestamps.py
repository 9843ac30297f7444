"""The standard-library timestamp parser gives what botocore's own parser gives."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from botocore.utils import parse_timestamp as botocore_parse

from registry_scraper_s3.driver import S3Driver
from registry_scraper_s3.timestamps import parse_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-30T05:48:10.000Z",  # a listing's LastModified
        "2026-11-30T05:48:10Z",
        "Mon, 30 Nov 2026 05:48:10 GMT",  # the Last-Modified header of GET and HEAD
        "2026-11-30T05:48:10.123456+02:00",
        "1764481690",  # epoch seconds, as some services send: botocore's parser
        1764481690,
    ],
)
def test_same_instant_as_botocore(value: str | int) -> None:
    ours = parse_timestamp(value)
    assert ours.tzinfo is not None
    assert ours.timestamp() == botocore_parse(value).timestamp()


def test_a_zone_less_time_is_utc() -> None:
    assert parse_timestamp("2026-11-30T05:48:10") == datetime(2026, 11, 30, 5, 48, 10, tzinfo=UTC)


def test_garbage_is_refused_as_botocore_refuses_it() -> None:
    with pytest.raises(ValueError):
        botocore_parse("yesterday-ish")
    with pytest.raises(ValueError):
        parse_timestamp("yesterday-ish")


def test_stat_and_walk_agree_on_the_time(driver: S3Driver) -> None:
    driver.put_content("/t/a", b"x")
    stat_time = driver.stat("/t/a").mod_time
    (walked,) = list(driver.walk("/t"))
    assert stat_time is not None and walked.mod_time is not None
    # The header has whole seconds, the listing milliseconds.
    assert abs(stat_time - walked.mod_time) < 1
    assert abs(walked.mod_time - time.time()) < 300
