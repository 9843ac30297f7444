"""What the conformance suite cannot see, against fake-gcs-server: the kit's object-store
promises (names, uploads, server-side copy, whole scrapes), and what is GCS's own: upload
sessions, pinned generations, the SDK's configuration."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gcs_emulator import FakeGcsServer

from registry_scraper_gcs.config import UPLOAD_SESSION_CONTENT_TYPE
from registry_scraper_gcs.driver import GcsDriver
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError
from scraper_core.testing.objectstore import ObjectStoreSuite

pytestmark = pytest.mark.gcs

OpenDriver = Callable[..., GcsDriver]


def _names(driver: GcsDriver) -> dict[str, bytes]:
    """Every object in the driver's bucket, by name, read with the SDK directly."""
    blobs = driver.client.list_blobs(driver.bucket_name)
    return {blob.name: blob.download_as_bytes() for blob in blobs}


def _raw_put(driver: GcsDriver, name: str, data: bytes, content_type: str | None = None) -> None:
    driver.bucket.blob(name).upload_from_string(data, content_type=content_type)


# -- object names ---------------------------------------------------------------------------


def test_reads_a_tree_another_writer_laid_out(open_driver: OpenDriver, bucket: str) -> None:
    reader = open_driver(bucket)
    _raw_put(reader, "docker/registry/v2/blobs/sha256/ab/x/data", b"blob")
    _raw_put(reader, "docker/registry/v2/repositories/r/_layers/link", b"l")
    # Names no storage path gives: a console's folder placeholder and an empty component.
    _raw_put(reader, "docker/registry/v2/folder/", b"")
    _raw_put(reader, "docker/registry/v2//double", b"")
    assert reader.list_dir("/docker/registry/v2") == [
        "/docker/registry/v2/blobs",
        "/docker/registry/v2/folder",
        "/docker/registry/v2/repositories",
    ]
    assert {info.path for info in reader.walk("/")} == {
        "/docker/registry/v2/blobs/sha256/ab/x/data",
        "/docker/registry/v2/repositories/r/_layers/link",
    }
    assert reader.get_content("/docker/registry/v2/blobs/sha256/ab/x/data") == b"blob"


# -- distribution 2.x upload sessions -------------------------------------------------------


def test_upload_sessions_are_invisible_but_deleted_with_their_directory(driver: GcsDriver) -> None:
    session = "/docker/registry/v2/repositories/r/_uploads/u/data"
    _raw_put(driver, session[1:], b"half", UPLOAD_SESSION_CONTENT_TYPE)
    driver.put_content("/docker/registry/v2/repositories/r/_uploads/u/startedat", b"t")
    for read in (driver.get_content, driver.reader, driver.stat):
        with pytest.raises(PathNotFoundError):
            read(session)
    assert driver.list_dir("/docker/registry/v2/repositories/r/_uploads/u") == [
        "/docker/registry/v2/repositories/r/_uploads/u/startedat"
    ]
    assert [info.path for info in driver.walk("/")] == [
        "/docker/registry/v2/repositories/r/_uploads/u/startedat"
    ]
    driver.delete("/docker/registry/v2/repositories/r/_uploads")
    assert _names(driver) == {}


# -- writer and reader ----------------------------------------------------------------------


class _ReplacedBlobReader:
    """Stands in for the SDK's BlobReader when the pinned generation is gone."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.kwargs = kwargs

    def seek(self, offset: int) -> int:
        return offset

    def read(self, size: int = -1) -> bytes:
        import google.api_core.exceptions

        raise google.api_core.exceptions.NotFound(  # type: ignore[no-untyped-call]
            "GET http://x/o/blob?generation=1: No such object"
        )

    def close(self) -> None:
        pass


def test_object_replaced_mid_read_is_an_error(
    driver: GcsDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import google.cloud.storage.fileio

    driver.put_content("/blob", b"content")
    monkeypatch.setattr(google.cloud.storage.fileio, "BlobReader", _ReplacedBlobReader)
    with driver.reader("/blob") as stream, pytest.raises(StorageError) as caught:
        stream.read()
    assert not isinstance(caught.value, PathNotFoundError)
    assert "changed while it was being read" in str(caught.value)


def test_reader_pins_the_generation(driver: GcsDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    import google.cloud.storage.fileio

    seen: list[dict[str, Any]] = []
    real = google.cloud.storage.fileio.BlobReader

    def record(blob: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(blob, **kwargs)

    driver.put_content("/blob", b"content")
    generation = driver.bucket.get_blob("blob").generation
    monkeypatch.setattr(google.cloud.storage.fileio, "BlobReader", record)
    with driver.reader("/blob") as stream:
        assert stream.read() == b"content"
    assert seen[0]["if_generation_match"] == generation
    assert seen[0]["raw_download"] is True


# -- configuration --------------------------------------------------------------------------


def test_emulator_host_makes_an_anonymous_client(
    driver: GcsDriver, emulator: FakeGcsServer
) -> None:
    from google.auth.credentials import AnonymousCredentials

    assert driver.endpoint == emulator.endpoint
    assert isinstance(driver.client._credentials, AnonymousCredentials)
    assert driver.client.project == emulator.project


def test_project_option_wins(open_driver: OpenDriver, bucket: str) -> None:
    assert open_driver(bucket, project="other-project").client.project == "other-project"


def test_unknown_option_fails_at_open(open_driver: OpenDriver, bucket: str) -> None:
    with pytest.raises(ConfigurationError, match="unknown option"):
        open_driver(bucket, keyfile="/x")


def _fake_service_account(path: Path) -> str:
    secret = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "1",
                "private_key": secret,
                "client_email": "sa@p.iam.gserviceaccount.com",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return "TOPSECRETKEYMATERIAL"


def test_bad_credentials_file_is_a_configuration_error_without_secrets(
    emulator: FakeGcsServer, bucket: str, tmp_path: Path
) -> None:
    secret = _fake_service_account(tmp_path / "key.json")
    with pytest.raises(ConfigurationError) as caught:
        GcsDriver.open(bucket, {"credentials_file": str(tmp_path / "key.json")}, read_only=True)
    assert "credentials" in str(caught.value)
    assert secret not in str(caught.value)


def test_google_application_credentials_is_honoured(
    emulator: FakeGcsServer, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the emulator the SDK's default chain runs, and it starts with this variable.
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigurationError, match=r"missing\.json"):
        GcsDriver.open(bucket, {}, read_only=True)


class TestGcsStore(ObjectStoreSuite):
    """The kit's object-store promises, with the SDK telling what fake-gcs-server stores."""

    missing_store_says = "no such bucket"
    emulator_class = FakeGcsServer
    driver_class = GcsDriver

    def stored(self, driver: Any) -> dict[str, bytes]:
        return _names(driver)

    def put_object(self, driver: Any, name: str, data: bytes) -> None:
        _raw_put(driver, name, data)

    def check_committed(self, driver: Any, name: str, size: int) -> None:
        assert driver.bucket.get_blob(name).content_type == "application/octet-stream"

    def location(self, store: str, root: str) -> str:
        # A gs:// URL, doubled and trailing slashes: the driver normalises them.
        return f"gs://{store}//{root}/"

    def refuse_server_side_copies(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import google.api_core.exceptions
        from google.cloud.storage import Blob

        def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
            raise google.api_core.exceptions.Forbidden(  # type: ignore[no-untyped-call]
                "POST http://x/rewriteTo: caller cannot read the source"
            )

        monkeypatch.setattr(Blob, "rewrite", refuse)
