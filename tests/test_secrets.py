"""Credentials never appear in output, errors or debug tracebacks."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner
from s3_servers import SeaweedServer

from scraper_core.cli import main
from tests.support.components import free_port

pytestmark = pytest.mark.s3

SECRET = "sEcReT-value-that-must-never-show-0123456789"
KEY_ID = "AKIASHOULDNOTLEAK0001"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("where", ["wrong secret", "no endpoint"])
def test_credentials_stay_out_of_every_message(
    seaweed_server: SeaweedServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    where: str,
    debug: bool,
) -> None:
    seaweed_server.use_environment(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    bucket = seaweed_server.make_bucket()
    endpoint = (
        seaweed_server.endpoint_url
        if where == "wrong secret"
        else f"http://127.0.0.1:{free_port()}"
    )
    args = ["--storage", "s3", "--data-dir", bucket, "-o", f"endpoint_url={endpoint}"]
    args += ["-o", "max_attempts=1", "--output-dir", str(tmp_path / "copy"), "app"]
    result = CliRunner().invoke(main, args + (["--debug"] if debug else []))
    assert result.exit_code != 0
    shown = result.output
    if result.exc_info is not None:
        shown += "".join(traceback.format_exception(*result.exc_info))
        shown += repr(result.exception)
    assert SECRET not in shown
    assert KEY_ID not in shown
    if not debug:
        assert result.stderr.startswith("error: s3") and len(result.stderr.splitlines()) == 1
