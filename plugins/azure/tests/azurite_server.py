"""A throwaway Azure Blob Storage endpoint for tests: Azurite's blob service on 127.0.0.1.

:class:`AzuriteServer` is a context manager that starts ``azurite-blob`` on a free loopback port
with its data in a temporary directory, waits until it answers and always stops it on exit.
Clients use the well-known development account (``devstoreaccount1``, whose key is published
in Azurite's documentation), most simply through :attr:`AzuriteServer.connection_string`.

Azurite is an npm package; install it beside the checkout, not globally::

    npm install --prefix .npm-tools --no-audit --no-fund azurite

which puts ``.npm-tools/node_modules/.bin/azurite-blob`` in this folder or one above it (the
nearest is used; ``AZURITE_BLOB`` may name another one; PATH is tried last). It needs ``node``
on PATH. Missing: the test is skipped, or fails on CI.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scraper_core.testing.process import LOOPBACK, ServerProcess, http_status, missing_component

#: ``.npm-tools`` folders this module looks in: here and in each folder above, nearest first.
NPM_PREFIXES = [folder / ".npm-tools" for folder in Path(__file__).resolve().parents]
INSTALL_HINT = "npm install --prefix .npm-tools --no-audit --no-fund azurite"

#: Azurite's development account: public, documented, accepted by nothing but emulators.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
#: Variables that would point a client at another account or at real credentials.
_FOREIGN_AZURE_ENV = (
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCOUNT",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
)


def find_azurite_blob() -> str | None:
    """``AZURITE_BLOB``, then the project's ``.npm-tools`` install, then PATH."""
    candidates = [
        os.environ.get("AZURITE_BLOB", ""),
        *(str(prefix / "node_modules/.bin/azurite-blob") for prefix in NPM_PREFIXES),
    ]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("azurite-blob")


def unique_container_name(prefix: str = "test") -> str:
    """A valid container name (lower case letters, digits and dashes, 3-63 characters)."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


class AzuriteServer(ServerProcess):
    """Azurite's blob service on ``127.0.0.1:<free port>``; ``with AzuriteServer() as s: ...``."""

    component = f"Azurite ({INSTALL_HINT})"
    workdir_prefix = "azurite-"
    account_name = ACCOUNT_NAME
    account_key = ACCOUNT_KEY

    def __init__(self) -> None:
        super().__init__()
        binary = find_azurite_blob()
        if binary is None:
            self.missing()
        if shutil.which("node") is None:
            missing_component("node is not on PATH (Azurite needs it; Debian package nodejs)")
        self.binary = binary

    @property
    def account_url(self) -> str:
        """The blob endpoint of the account: ``http://127.0.0.1:PORT/devstoreaccount1``."""
        return f"{self.base_url}/{self.account_name}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.account_url};"
        )

    def prepare(self) -> None:
        super().prepare()
        (self.workdir / "data").mkdir(exist_ok=True)

    def command(self) -> list[str]:
        return [
            self.binary,
            "--blobHost",
            LOOPBACK,
            "--blobPort",
            str(self.port),
            "--location",
            str(self.workdir / "data"),
            "--silent",
            # The SDK may speak a newer API version than this Azurite knows; tests need not care.
            "--skipApiVersionCheck",
            # Loopback only: no usage data sent anywhere.
            "--disableTelemetry",
        ]

    def is_ready(self) -> bool:
        # Azurite has no health endpoint: any HTTP answer (403 for an unsigned listing)
        # proves the blob service is up.
        return http_status(f"{self.account_url}?comp=list") is not None

    # -- helpers for tests ----------------------------------------------------------------

    def use_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make this process a client of this server only (its connection string, no other)."""
        for key in _FOREIGN_AZURE_ENV:
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", self.connection_string)

    def service_client(self) -> Any:
        """An ``azure.storage.blob.BlobServiceClient`` for the development account."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def make_container(self, name: str | None = None) -> str:
        """Create a container (a fresh unique name by default) and return its name."""
        container = name or unique_container_name()
        self.service_client().create_container(container)
        return container

    #: What the object-store suites call a fresh store (see scraper_core.testing.objectstore).
    make_store = make_container


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    """One Azurite for the session (the plugin's conftest and the host's take it from here)."""
    with AzuriteServer() as server:
        yield server
