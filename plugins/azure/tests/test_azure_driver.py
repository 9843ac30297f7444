"""What the conformance suite cannot see, against Azurite: the kit's object-store promises
(names, staged blocks, server-side copy, whole scrapes), and what is Azure's own: the 2.x
layout, folders of a hierarchical namespace, second committers, the SDK's credentials."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azurite_server import AzuriteServer

from registry_scraper_azure.driver import AzureDriver
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError
from scraper_core.testing.objectstore import ObjectStoreSuite

pytestmark = pytest.mark.azure

OpenDriver = Callable[..., AzureDriver]
BLOCK = 256 * 1024
LINK = "/docker/registry/v2/repositories/library/x/_manifests/tags/latest/current/link"


def _names(driver: AzureDriver) -> dict[str, bytes]:
    """Every committed blob in the driver's container, by name, read with the SDK directly."""
    container = driver.container
    return {
        name: container.get_blob_client(name).download_blob().readall()
        for name in container.list_blob_names()
    }


def _raw_put(driver: AzureDriver, name: str, data: bytes, **kwargs: Any) -> None:
    driver.container.get_blob_client(name).upload_blob(data, overwrite=True, **kwargs)


def _container_sas(azurite: AzuriteServer, container: str, **permissions: bool) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas: str = generate_container_sas(
        azurite.account_name,
        container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(**permissions),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    return sas


# -- blob names -----------------------------------------------------------------------------


# The default layout is the kit's (TestAzureStore); distribution 2.x's keeps the leading slash.
@pytest.mark.parametrize(("root", "prefix"), [("", "/"), ("prod", "/prod")])
def test_legacy_names_follow_distribution(
    open_driver: OpenDriver, container: str, root: str, prefix: str
) -> None:
    driver = open_driver(f"{container}/{root}", legacy_root_prefix="true", block_size="256KiB")
    with driver.writer(LINK) as writer:
        writer.write(b"x" * (2 * BLOCK + 1))
        writer.commit()
    driver.put_content("/docker/registry/v2/blobs/a", b"a")
    separator = "" if prefix.endswith("/") or not prefix else "/"
    assert sorted(_names(driver)) == sorted(
        f"{prefix}{separator}{path[1:]}" for path in (LINK, "/docker/registry/v2/blobs/a")
    )
    assert driver.list_dir("/") == ["/docker"]


def test_legacy_option_reads_a_2x_tree(open_driver: OpenDriver, container: str) -> None:
    modern = open_driver(container)
    # As distribution 2.x stored them: the storage path is the blob name.
    _raw_put(modern, "/docker/registry/v2/blobs/sha256/ab/x/data", b"blob")
    _raw_put(modern, "/docker/registry/v2/repositories/r/_layers/link", b"l")
    legacy = open_driver(container, legacy_root_prefix="true")
    assert legacy.list_dir("/docker/registry/v2") == [
        "/docker/registry/v2/blobs",
        "/docker/registry/v2/repositories",
    ]
    assert legacy.get_content("/docker/registry/v2/blobs/sha256/ab/x/data") == b"blob"
    assert legacy.stat("/docker/registry/v2/repositories").is_dir
    # Without the option those names map to no storage path at all: nothing is found.
    assert modern.list_dir("/") == []
    assert list(modern.walk("/")) == []
    with pytest.raises(PathNotFoundError):
        modern.stat("/docker/registry/v2/blobs/sha256/ab/x/data")
    legacy.delete("/docker")
    assert _names(modern) == {}


@pytest.mark.parametrize("root", ["", "prod"])
def test_legacy_layout_round_trip(open_driver: OpenDriver, container: str, root: str) -> None:
    driver = open_driver(f"{container}/{root}", legacy_root_prefix="true", block_size="256KiB")
    base = f"/{root}/" if root else "/"
    data = os.urandom(2 * BLOCK + 9)
    with driver.writer("/a/big") as writer:
        writer.write(data)
        writer.commit()
    driver.put_content("/a/b/small", b"small")
    assert sorted(_names(driver)) == [f"{base}a/b/small", f"{base}a/big"]
    with driver.reader("/a/big", BLOCK) as stream:
        assert stream.read() == data[BLOCK:]
    assert (driver.stat("/a/big").size, driver.stat("/a/b").is_dir) == (len(data), True)
    assert driver.list_dir("/") == ["/a"]
    assert driver.list_dir("/a") == ["/a/b", "/a/big"]
    assert {info.path: info.size for info in driver.walk("/a")} == {
        "/a/big": len(data),
        "/a/b/small": 5,
    }
    driver.move("/a/b/small", "/c/small")
    assert driver.server_side_copy(driver, "/c/small", "/d/copy")
    assert driver.get_content("/d/copy") == b"small"
    for path in ("/a", "/c", "/d"):
        driver.delete(path)
    assert _names(driver) == {}
    # Raw: nothing listed (the wrapper makes it PathNotFoundError).
    assert driver.list_dir("/a") == []


def test_hierarchical_namespace_folders_are_not_files(driver: AzureDriver) -> None:
    # ADLS Gen2 lists a directory as a blob flagged hdi_isfolder; emulate one.
    _raw_put(driver, "dir", b"", metadata={"hdi_isfolder": "true"})
    _raw_put(driver, "dir/file", b"x")
    _raw_put(driver, "empty", b"", metadata={"hdi_isfolder": "true"})
    assert driver.stat("/dir").is_dir
    assert driver.list_dir("/") == ["/dir"]
    assert [info.path for info in driver.walk("/")] == ["/dir/file"]
    with pytest.raises(StorageError):
        driver.get_content("/dir")
    with pytest.raises(PathNotFoundError):
        driver.stat("/empty")


# -- writer and reader ----------------------------------------------------------------------


def test_blocks_staged_at_once_commit_in_write_order(
    open_driver: OpenDriver, container: str
) -> None:
    driver = open_driver(container, block_size="256KiB", write_concurrency="4")
    data = os.urandom(9 * BLOCK + 77)
    with driver.writer("/blob") as writer:
        for start in range(0, len(data), 100_000):
            writer.write(data[start : start + 100_000])
        writer.commit()
    assert driver.get_content("/blob") == data
    blocks = driver.container.get_blob_client("blob").get_block_list("committed")[0]
    assert len(blocks) == 10


def test_second_committer_of_a_blob_fails_cleanly(driver: AzureDriver) -> None:
    first, second = os.urandom(2 * BLOCK), os.urandom(2 * BLOCK)
    writer_a, writer_b = driver.writer("/blob"), driver.writer("/blob")
    writer_a.write(first)
    writer_b.write(second)
    writer_a.commit()
    # Azure dropped B's staged blocks with A's commit; B must not commit half of anything.
    with pytest.raises(StorageError, match="another writer committed"):
        writer_b.commit()
    writer_b.cancel()
    assert driver.get_content("/blob") == first


def test_blob_replaced_mid_read_is_an_error(driver: AzureDriver) -> None:
    driver.put_content("/blob", os.urandom(4 * BLOCK))
    with driver.reader("/blob") as stream:
        stream.read(1000)
        driver.put_content("/blob", os.urandom(4 * BLOCK))
        with pytest.raises(StorageError) as caught:
            stream.read()
    assert not isinstance(caught.value, PathNotFoundError)
    assert "changed while it was being read" in str(caught.value)


# -- move, delete ---------------------------------------------------------------------------


def test_move_of_a_large_blob_copies_asynchronously(driver: AzureDriver) -> None:
    driver.sync_copy_limit = 0
    driver.put_content("/source", b"large enough")
    driver.move("/source", "/dest")
    assert _names(driver) == {"dest": b"large enough"}


def test_delete_takes_snapshots(driver: AzureDriver) -> None:
    for path in ("/a/b", "/a/c"):
        driver.put_content(path, b"x")
    driver.container.get_blob_client("a/b").create_snapshot()
    driver.delete("/a")
    assert _names(driver) == {}


def test_delete_more_than_one_batch(driver: AzureDriver) -> None:
    names = [f"/dir/{index:04d}" for index in range(300)]
    for name in names:
        _raw_put(driver, name[1:], b"")
    driver.put_content("/keep", b"k")
    driver.delete("/dir")
    assert set(_names(driver)) == {"keep"}


# -- configuration --------------------------------------------------------------------------


def test_connection_string_from_the_environment(azurite: AzuriteServer, container: str) -> None:
    driver = AzureDriver.open(container, {}, read_only=True)
    assert driver.account == (f"127.0.0.1:{azurite.port}", azurite.account_name)


def test_account_url_and_key(
    azurite: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    options = {"account_url": azurite.account_url, "account_key": azurite.account_key}
    driver = AzureDriver.open(container, options, read_only=False)
    driver.put_content("/a", b"a")
    assert driver.get_content("/a") == b"a"


def test_sas_token_client_reads_writes_and_deletes(
    azurite: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    sas = _container_sas(azurite, container, read=True, write=True, delete=True, list=True)
    driver = AzureDriver.open(
        container, {"account_url": azurite.account_url, "sas_token": sas}, read_only=False
    )
    for index in range(3):
        driver.put_content(f"/d/{index}", b"x")
    assert driver.list_dir("/d") == ["/d/0", "/d/1", "/d/2"]
    driver.move("/d/0", "/moved")
    driver.delete("/d")
    assert [info.path for info in driver.walk("/")] == ["/moved"]


def test_refused_writes_name_no_secret(
    azurite: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    sas = _container_sas(azurite, container, read=True, list=True)
    driver = AzureDriver.open(
        container, {"account_url": azurite.account_url, "sas_token": sas}, read_only=False
    )
    with pytest.raises(StorageError) as caught:
        driver.put_content("/a", b"a")
    assert "AuthorizationPermissionMismatch" in str(caught.value)
    assert "sig=" not in str(caught.value)


def test_wrong_key_fails_at_open_without_showing_it(
    azurite: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    wrong = "V1JPTkdLRVk" + "A" * 77
    with pytest.raises(ConfigurationError, match="access denied") as caught:
        AzureDriver.open(
            container, {"account_url": azurite.account_url, "account_key": wrong}, read_only=True
        )
    assert wrong not in str(caught.value)


def test_no_account_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    with pytest.raises(ConfigurationError, match="AZURE_STORAGE_CONNECTION_STRING"):
        AzureDriver.open("reg", {}, read_only=True)


def test_malformed_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountKey=SECRETKEY;nonsense")
    with pytest.raises(ConfigurationError) as caught:
        AzureDriver.open("reg", {}, read_only=True)
    assert "SECRETKEY" not in str(caught.value)


@pytest.fixture
def no_identity(azurite: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Azurite's environment without its connection string, and no azure-identity (None in
    sys.modules fails the import)."""
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")


@pytest.mark.usefixtures("no_identity")
def test_account_and_key_from_the_environment(
    azurite: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", azurite.account_name)
    monkeypatch.setenv("AZURE_STORAGE_KEY", azurite.account_key)
    driver = AzureDriver.open(container, {"account_url": azurite.account_url}, read_only=False)
    driver.put_content("/a", b"a")
    assert driver.get_content("/a") == b"a"


@pytest.mark.usefixtures("no_identity")
def test_sas_token_from_the_environment(
    azurite: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", azurite.account_name)
    monkeypatch.setenv(
        "AZURE_STORAGE_SAS_TOKEN", "?" + _container_sas(azurite, container, list=True)
    )
    driver = AzureDriver.open(container, {"account_url": azurite.account_url}, read_only=True)
    assert driver.list_dir("/") == []


@pytest.mark.usefixtures("no_identity")
def test_no_credentials_is_one_line_naming_what_was_looked_for(
    azurite: AzuriteServer, container: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        AzureDriver.open(container, {"account_url": azurite.account_url}, read_only=True)
    message = str(caught.value)
    assert message.startswith("azure: no credentials: looked for ")
    for source in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "DefaultAzureCredential (azure-identity is not installed",
        "anonymous=true",
    ):
        assert source in message
    assert "\n" not in message


@pytest.mark.usefixtures("no_identity")
def test_anonymous_only_when_asked(azurite: AzuriteServer) -> None:
    public = azurite.make_container()
    azurite.service_client().get_container_client(public).set_container_access_policy(
        signed_identifiers={}, public_access="container"
    )
    azurite.service_client().get_blob_client(public, "docker/registry/v2/a").upload_blob(b"a")
    options = {"account_url": azurite.account_url}
    with pytest.raises(ConfigurationError, match="no credentials"):
        AzureDriver.open(public, options, read_only=True)
    driver = AzureDriver.open(public, {**options, "anonymous": "true"}, read_only=True)
    assert driver.get_content("/docker/registry/v2/a") == b"a"
    # Asked for, anonymous access to a private container is refused, not taken as empty.
    with pytest.raises(ConfigurationError, match="access denied"):
        private = azurite.make_container()
        AzureDriver.open(private, {**options, "anonymous": "true"}, read_only=True)


@pytest.mark.usefixtures("no_identity")
def test_the_cli_says_no_credentials_in_one_line_and_exits_2(
    azurite: AzuriteServer, container: str
) -> None:
    # Its own process: the dev environment has no azure-identity, as no_identity says here.
    assert importlib.util.find_spec("azure.identity") is None, "expects no azure-identity"
    scrape = Path(sys.executable).with_name("scrape")
    args = ["list", "--storage", "azure", "--data-dir", container]
    result = subprocess.run(
        [str(scrape), *args, "-o", f"account_url={azurite.account_url}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "azure: no credentials: looked for" in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


# -- server-side copy -----------------------------------------------------------------------


def test_server_side_copy_from_a_sas_source(
    azurite: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = azurite.make_container()
    sas = _container_sas(azurite, other, read=True, list=True)
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    key = {"account_url": azurite.account_url, "account_key": azurite.account_key}
    dest = AzureDriver.open(container, key, read_only=False)
    source = AzureDriver.open(
        other, {"account_url": azurite.account_url, "sas_token": sas}, read_only=True
    )
    AzureDriver.open(other, key, read_only=False).put_content("/blob", b"from sas")
    url, extra = source.copy_source(source.container.get_blob_client("blob"))
    assert "sig=" in url and extra == {}
    assert dest.server_side_copy(source, "/blob", "/blob")
    assert dest.get_content("/blob") == b"from sas"


class TestAzureStore(ObjectStoreSuite):
    """The kit's object-store promises, with the SDK telling what Azurite stores; copies both
    synchronous and asynchronous, scrapes in both layouts."""

    missing_store_says = "no such container"
    emulator_class = AzuriteServer
    driver_class = AzureDriver

    def stored(self, driver: Any) -> dict[str, bytes]:
        return _names(driver)

    def put_object(self, driver: Any, name: str, data: bytes) -> None:
        _raw_put(driver, name, data)

    def check_committed(self, driver: Any, name: str, size: int) -> None:
        blob = driver.container.get_blob_client(name)
        properties = blob.get_blob_properties()
        assert properties.content_settings.content_type == "application/octet-stream"
        # Below one block the blob is put whole; above, one staged block a block size or less.
        blocks = blob.get_block_list("committed")[0]
        assert len(blocks) == (-(-size // BLOCK) if size >= BLOCK else 0)

    def refuse_server_side_copies(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from azure.core.exceptions import HttpResponseError
        from azure.storage.blob import BlobClient

        def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
            error: Any = HttpResponseError(message="This request is not authorized.")
            error.status_code = 403
            error.error_code = "CannotVerifyCopySource"
            raise error

        monkeypatch.setattr(BlobClient, "start_copy_from_url", refuse)

    @pytest.fixture(params=["sync", "async"])
    def copy_mode(self, request: pytest.FixtureRequest) -> str:
        mode: str = request.param
        return mode

    def use_copy_mode(self, driver: Any, mode: str) -> None:
        if mode == "async":
            driver.sync_copy_limit = 0

    @pytest.fixture(params=["false", "true"], ids=["layout", "legacy-layout"])
    def layout_options(self, request: pytest.FixtureRequest) -> dict[str, str]:
        return {"legacy_root_prefix": request.param}
