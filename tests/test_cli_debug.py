"""--debug: each S3 request and retry on stderr, through botocore's own logging, with the
Authorization header and URL signatures redacted. A real endpoint (moto) behind a proxy
that fails the first request."""

from __future__ import annotations

import os

import pytest
from s3_servers import MotoServer

from scraper_core.debuglog import REDACTED, redacted
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import run_cli
from tests.support.faultproxy import FaultProxy

pytestmark = [pytest.mark.e2e, pytest.mark.s3]


def _bucket_with_an_image(moto: MotoServer) -> str:
    from registry_scraper_s3.driver import S3Driver

    bucket = moto.make_bucket()
    driver = S3Driver.open(bucket, {"endpoint_url": moto.endpoint_url}, read_only=False)
    TreeWriter(driver).image("team/app", "v1")
    return bucket


@pytest.mark.parametrize("debug", [True, False])
def test_debug_logs_each_request_and_retry_with_secrets_redacted(
    moto: MotoServer, debug: bool
) -> None:
    bucket = _bucket_with_an_image(moto)
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    key_id = os.environ["AWS_ACCESS_KEY_ID"]
    with FaultProxy(
        moto.endpoint_url, rate=1.0, seed=1, faults=("error500",), max_faults=1
    ) as proxy:
        args = ["list", "--storage", "s3", "--data-dir", bucket]
        args += ["-o", f"endpoint_url={proxy.endpoint_url}"]
        result = run_cli(*args, *(["--debug"] if debug else []))
    assert result.exit_code == 0, result.output
    assert result.stdout == "team/app  v1\n"
    if not debug:
        assert "debug:" not in result.stderr
        return
    lines = result.stderr.splitlines()
    sent = [line for line in lines if "Sending http request" in line]
    assert len(sent) >= 3, result.stderr  # the one that failed, its retry, and the listing's
    assert any("Retry needed" in line for line in lines), result.stderr
    assert all(f"'Authorization': b'{REDACTED}'" in line for line in sent), sent[0]
    assert secret not in result.stderr and key_id not in result.stderr


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AK/x, Signature=abc'}", "AK/"),
        ('"GET /c/b?se=2026&sp=r&sig=S3cr%2Bt HTTP/1.1" 200 5', "S3cr"),
        ("https://h/b/k?X-Amz-Signature=deadbeef&X-Amz-Credential=AK%2F1", "deadbeef"),
        ("send: Authorization: Bearer ya29.token-value", "ya29"),
        ('{"access_token": "ya29.other", "expires_in": 3599}', "ya29"),
    ],
)
def test_redaction_of_what_sdks_log(line: str, secret: str) -> None:
    assert secret not in redacted(line)
    assert REDACTED in redacted(line)
