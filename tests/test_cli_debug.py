"""--debug: each S3 request and retry on stderr, through botocore's own logging, with the
Authorization header and URL signatures redacted. A real endpoint (moto) behind a proxy
that fails the first request."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote

import pytest
from azurite_server import AzuriteServer
from gcs_emulator import FakeGcsServer
from s3_servers import MotoServer

from scraper_core.contract import DriverClass
from scraper_core.debuglog import REDACTED, redacted
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import run_cli
from tests.support.faultproxy import FaultProxy

pytestmark = [pytest.mark.e2e]


def _bucket_with_an_image(moto: MotoServer) -> str:
    from registry_scraper_s3.driver import S3Driver

    bucket = moto.make_bucket()
    driver = S3Driver.open(bucket, {"endpoint_url": moto.endpoint_url}, read_only=False)
    TreeWriter(driver).image("team/app", "v1")
    return bucket


def _store_with_an_image(
    server: AzuriteServer | FakeGcsServer, monkeypatch: pytest.MonkeyPatch, driver: DriverClass
) -> str:
    """A fresh store on an emulator, this process its client, holding team/app:v1."""
    server.use_environment(monkeypatch)
    store: str = server.make_store()
    TreeWriter(driver.open(store, {}, read_only=False)).image("team/app", "v1")
    return store


@pytest.mark.s3
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


@pytest.mark.azure
def test_debug_on_azure_redacts_the_shared_key_and_a_sas_signature(
    azurite_server: AzuriteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from registry_scraper_azure.driver import AzureDriver

    container = _store_with_an_image(azurite_server, monkeypatch, AzureDriver)
    sas = generate_container_sas(
        azurite_server.account_name,
        container,
        account_key=azurite_server.account_key,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    signature = parse_qs(sas)["sig"][0]
    with_key = run_cli("list", "--storage", "azure", "--data-dir", container, "--debug")
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    account = ["-o", f"account_url={azurite_server.account_url}"]
    with_sas = run_cli(
        "list", "--storage", "azure", "--data-dir", container, *account, "-o", f"sas_token={sas}",
        "--debug",
    )  # fmt: skip
    for result in (with_key, with_sas):
        assert result.exit_code == 0, result.output
        assert result.stdout == "team/app  v1\n"
        assert "debug: azure.core.pipeline.policies.http_logging_policy: Request URL" in (
            result.stderr
        )
        assert "debug: urllib3.connectionpool:" in result.stderr
    assert azurite_server.account_key not in with_key.stderr
    assert signature not in with_sas.stderr and quote(signature, safe="") not in with_sas.stderr
    assert f"sig={REDACTED}" in with_sas.stderr


@pytest.mark.gcs
def test_debug_on_gcs_logs_each_request(
    gcs_server: FakeGcsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry_scraper_gcs.driver import GcsDriver

    bucket = _store_with_an_image(gcs_server, monkeypatch, GcsDriver)
    result = run_cli("list", "--storage", "gcs", "--data-dir", bucket, "--debug")
    assert result.exit_code == 0, result.output
    assert result.stdout == "team/app  v1\n"
    requests = [line for line in result.stderr.splitlines() if "urllib3.connectionpool" in line]
    assert any('"GET /storage/v1/b/' in line for line in requests), result.stderr
