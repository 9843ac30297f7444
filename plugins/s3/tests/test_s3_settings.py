"""Where the client's settings come from: option > environment > profile > driver default.

Checked on the client botocore resolves (``client.meta.config``), and where it shows, in the
requests a driver sends to moto.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from s3_servers import MotoServer

from registry_scraper_s3.config import parse_options
from registry_scraper_s3.driver import S3Driver, make_client
from registry_scraper_s3.settings import DRIVER_DEFAULTS
from scraper_core.errors import ConfigurationError

_PROFILE_SETTINGS = """
[default]
max_attempts = 3
retry_mode = adaptive
request_checksum_calculation = WHEN_SUPPORTED
response_checksum_validation = when_supported
s3 =
  addressing_style = virtual
"""
_ENVIRONMENT = {
    "AWS_MAX_ATTEMPTS": "5",
    "AWS_RETRY_MODE": "legacy",
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_supported",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_supported",
}


def _settings(**options: str) -> tuple[Any, ...]:
    config = make_client(parse_options(options)).meta.config
    return (
        config.retries,
        config.request_checksum_calculation,
        config.response_checksum_validation,
        (config.s3 or {}).get("addressing_style"),
    )


def test_driver_defaults_where_nothing_else_speaks(aws_files: Path) -> None:
    assert _settings() == (
        {"total_max_attempts": 10, "mode": "standard"},
        "when_required",
        "when_required",
        None,  # botocore's "auto"
    )
    assert DRIVER_DEFAULTS["max_attempts"] == 10


def test_the_environment_wins_over_the_defaults(
    aws_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in _ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    assert _settings() == (
        {"total_max_attempts": 5, "mode": "legacy"},
        "when_supported",
        "when_supported",
        None,
    )


def test_the_profile_wins_over_the_defaults(aws_files: Path) -> None:
    with aws_files.open("a") as config:
        config.write(_PROFILE_SETTINGS)
    assert _settings() == (
        {"total_max_attempts": 3, "mode": "adaptive"},
        "when_supported",
        "when_supported",
        "virtual",
    )


def test_the_named_profile_is_the_one_read(aws_files: Path) -> None:
    with aws_files.open("a") as config:
        config.write("max_attempts = 7\n")  # appended to [profile registry]
    assert _settings(profile="registry")[0] == {"total_max_attempts": 7, "mode": "standard"}
    assert _settings()[0] == {"total_max_attempts": 10, "mode": "standard"}


def test_the_environment_wins_over_the_profile(
    aws_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with aws_files.open("a") as config:
        config.write(_PROFILE_SETTINGS)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    retries, request_checksum, response_checksum, _ = _settings()
    assert retries == {"total_max_attempts": 5, "mode": "adaptive"}
    assert (request_checksum, response_checksum) == ("when_required", "when_supported")


def test_options_win_over_environment_and_profile(
    aws_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with aws_files.open("a") as config:
        config.write(_PROFILE_SETTINGS)
    for key, value in _ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    options = {
        "max_attempts": "2",
        "retry_mode": "standard",
        "checksum": "when_required",
        "addressing_style": "path",
    }
    assert _settings(**options) == (
        {"total_max_attempts": 2, "mode": "standard"},
        "when_required",
        "when_required",
        "path",
    )


def test_other_client_settings_from_options(aws_files: Path) -> None:
    config = make_client(parse_options({"max_pool_connections": "7"})).meta.config
    assert config.max_pool_connections == 7
    assert "registry-scraper-s3" in config.user_agent_extra


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AWS_MAX_ATTEMPTS", "ten", "AWS_MAX_ATTEMPTS or the profile's max_attempts must be"),
        ("AWS_RETRY_MODE", "forever", "forever"),
        ("AWS_REQUEST_CHECKSUM_CALCULATION", "always", "request_checksum_calculation"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    aws_files: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message) as caught:
        make_client(parse_options({}))
    assert "\n" not in str(caught.value)


@pytest.fixture
def moto(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    moto_server.use_environment(monkeypatch)
    return moto_server


def _checksummed_puts(moto: MotoServer, request_log: Any, **options: str) -> int:
    bucket = moto.make_bucket()
    driver = S3Driver.open(bucket, {"endpoint_url": moto.endpoint_url, **options}, read_only=False)
    request_log.watch(driver)
    driver.put_content("/a", b"content")
    puts = request_log.of("PutObject", bucket)
    assert puts
    return sum(request.checksum is not None for request in puts)


def test_the_environment_reaches_the_requests(
    moto: MotoServer, request_log: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The driver's default sends no checksum where S3 does not require one; the user's
    # AWS_REQUEST_CHECKSUM_CALCULATION asks for one on every upload, and gets it.
    assert _checksummed_puts(moto, request_log) == 0
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_supported")
    assert _checksummed_puts(moto, request_log) == 1
    assert _checksummed_puts(moto, request_log, checksum="when_required") == 0


def test_the_resolved_attempts_bound_the_readers_too(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
    options = {"endpoint_url": moto.endpoint_url}
    driver = S3Driver.open(moto.make_bucket(), options, read_only=True)
    assert driver.attempts == 4
