"""What the conformance suite cannot see: object names, the SDK's configuration, upload
sessions, server-side copy and whole scrapes, against fake-gcs-server."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gcs_emulator import FakeGcsServer

from registry_scraper_gcs.config import UPLOAD_SESSION_CONTENT_TYPE
from registry_scraper_gcs.driver import GcsDriver
from scraper_core.checked import CheckedDriver
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError
from scraper_core.testing import MemoryDriver, TreeWriter
from scraper_core.testing.scrapes import check_mirrored_in_store, scrape_images, stored_files
from scraper_core.transfer import BlobOutcome

pytestmark = pytest.mark.gcs

OpenDriver = Callable[..., GcsDriver]
CHUNK = 256 * 1024
LINK = "/docker/registry/v2/repositories/library/x/_manifests/tags/latest/current/link"


def _names(driver: GcsDriver) -> dict[str, bytes]:
    """Every object in the driver's bucket, by name, read with the SDK directly."""
    blobs = driver.client.list_blobs(driver.bucket_name)
    return {blob.name: blob.download_as_bytes() for blob in blobs}


def _raw_put(driver: GcsDriver, name: str, data: bytes, content_type: str | None = None) -> None:
    driver.bucket.blob(name).upload_from_string(data, content_type=content_type)


# -- object names ---------------------------------------------------------------------------


def test_names_follow_distribution_without_root(driver: GcsDriver) -> None:
    driver.put_content(LINK, b"link")
    assert _names(driver) == {LINK[1:]: b"link"}


def test_names_follow_distribution_with_root(open_driver: OpenDriver, bucket: str) -> None:
    driver = open_driver(f"gs://{bucket}//prod/eu/")
    assert driver.location == f"{bucket}/prod/eu"
    with driver.writer(LINK) as writer:
        writer.write(b"x" * (3 * CHUNK + 1))
        writer.commit()
    driver.put_content("/docker/registry/v2/blobs/a", b"a")
    assert sorted(_names(driver)) == [
        "prod/eu/docker/registry/v2/blobs/a",
        "prod/eu" + LINK,
    ]
    assert driver.list_dir("/") == ["/docker"]


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


def test_a_root_does_not_see_its_siblings(open_driver: OpenDriver, bucket: str) -> None:
    prod = open_driver(f"{bucket}/prod")
    _raw_put(prod, "prodx/a", b"sibling root")
    _raw_put(prod, "prod", b"an object named like the root")
    assert prod.list_dir("/") == []
    assert list(prod.walk("/")) == []
    prod.put_content("/a", b"mine")
    prod.delete("/a")
    assert set(_names(prod)) == {"prodx/a", "prod"}


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


@pytest.mark.parametrize("size", [0, 10, CHUNK - 1, CHUNK, 2 * CHUNK, 3 * CHUNK + 5])
def test_writer_sizes_round_trip(driver: GcsDriver, size: int) -> None:
    data = os.urandom(size)
    with driver.writer("/blob") as writer:
        for start in range(0, size, 10_000):
            writer.write(data[start : start + 10_000])
        assert writer.size == size
        assert _names(driver) == {}
        writer.commit()
    assert driver.get_content("/blob") == data
    assert driver.bucket.get_blob("blob").content_type == "application/octet-stream"


def test_cancelled_resumable_upload_leaves_nothing(driver: GcsDriver) -> None:
    driver.put_content("/blob", b"previous")
    writer = driver.writer("/blob")
    writer.write(os.urandom(3 * CHUNK))
    writer.cancel()
    writer.cancel()
    assert _names(driver) == {"blob": b"previous"}
    with pytest.raises(StorageError, match="after cancelled"):
        writer.write(b"more")
    with pytest.raises(StorageError, match="after cancelled"):
        writer.commit()


def test_writer_refuses_use_after_commit(driver: GcsDriver) -> None:
    with driver.writer("/blob") as writer:
        writer.write(b"x")
        writer.commit()
        with pytest.raises(StorageError, match="after committed"):
            writer.write(b"y")
    assert driver.get_content("/blob") == b"x"


def test_reader_streams_in_chunks_from_any_offset(driver: GcsDriver) -> None:
    data = os.urandom(3 * CHUNK + 123)
    driver.put_content("/blob", data)
    for offset in (0, 1, CHUNK, 3 * CHUNK + 122, len(data), len(data) + 5):
        with driver.reader("/blob", offset) as stream:
            parts = []
            while piece := stream.read(65_537):
                parts.append(piece)
        assert b"".join(parts) == data[offset:], offset


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


# -- move, delete ---------------------------------------------------------------------------


def test_move_is_a_rewrite_and_a_delete(driver: GcsDriver) -> None:
    data = os.urandom(2 * CHUNK)
    driver.put_content("/a/source", data)
    driver.move("/a/source", "/b/dest")
    assert _names(driver) == {"b/dest": data}
    driver.move("/b/dest", "/b/dest")
    assert _names(driver) == {"b/dest": data}
    with pytest.raises(PathNotFoundError) as caught:
        driver.move("/a/source", "/b/dest")
    assert caught.value.path == "/a/source"


def test_delete_spares_names_sharing_a_prefix(driver: GcsDriver) -> None:
    for path in ("/a", "/a/b", "/a/c/d", "/ab", "/a.b/c", "/a-"):
        driver.put_content(path, b"x")
    driver.delete("/a")
    assert set(_names(driver)) == {"ab", "a.b/c", "a-"}
    with pytest.raises(PathNotFoundError):
        driver.delete("/a")


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


def test_missing_bucket_fails_at_open(open_driver: OpenDriver) -> None:
    with pytest.raises(ConfigurationError, match="no such bucket"):
        open_driver("no-such-bucket-here")


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


# -- server-side copy -----------------------------------------------------------------------


def test_server_side_copy_between_buckets(
    emulator: FakeGcsServer, open_driver: OpenDriver, bucket: str
) -> None:
    source = open_driver(f"{emulator.make_bucket()}/registry", read_only=True)
    _raw_put(source, "registry/blobs/data", b"blob bytes")
    dest = open_driver(f"{bucket}/mirror")
    assert dest.server_side_copy(source, "/blobs/data", "/blobs/data")
    assert _names(dest) == {"mirror/blobs/data": b"blob bytes"}
    # Through the wrappers, as the core calls it.
    checked = CheckedDriver(dest, read_only=False)
    assert checked.server_side_copy(CheckedDriver(source, read_only=True), "/blobs/data")
    with pytest.raises(PathNotFoundError) as caught:
        dest.server_side_copy(source, "/blobs/missing", "/blobs/missing")
    assert caught.value.path == "/blobs/missing"


def test_server_side_copy_declines_other_backends_and_endpoints(
    driver: GcsDriver, bucket: str
) -> None:
    memory = MemoryDriver()
    memory.put_content("/blob", b"x")
    assert not driver.server_side_copy(memory, "/blob", "/blob")
    with FakeGcsServer() as other_server, pytest.MonkeyPatch.context() as monkeypatch:
        other_server.use_environment(monkeypatch)
        other = GcsDriver.open(other_server.make_bucket(), {}, read_only=True)
        _raw_put(other, "blob", b"x")
        assert other.endpoint != driver.endpoint
        assert not driver.server_side_copy(other, "/blob", "/blob")
    assert _names(driver) == {}


def test_server_side_copy_declines_when_refused(
    driver: GcsDriver,
    open_driver: OpenDriver,
    emulator: FakeGcsServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.api_core.exceptions
    from google.cloud.storage import Blob

    source = open_driver(emulator.make_bucket(), read_only=True)
    _raw_put(source, "blob", b"x")

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise google.api_core.exceptions.Forbidden(  # type: ignore[no-untyped-call]
            "POST http://x/rewriteTo: caller cannot read the source"
        )

    monkeypatch.setattr(Blob, "rewrite", refuse)
    assert not driver.server_side_copy(source, "/blob", "/blob")


# -- whole scrapes --------------------------------------------------------------------------


def test_scrape_gcs_to_gcs_server_side_and_to_local(
    emulator: FakeGcsServer, open_driver: OpenDriver, bucket: str, tmp_path: Path
) -> None:
    writable = CheckedDriver(open_driver(f"{bucket}/registry"), read_only=False)
    wanted = TreeWriter(writable).image("team/app", "v1", layer_sizes=(3 * CHUNK + 7, 7000))
    source = CheckedDriver(open_driver(f"{bucket}/registry", read_only=True), read_only=True)

    mirror = CheckedDriver(open_driver(f"{emulator.make_bucket()}/mirror"), read_only=False)
    copied = check_mirrored_in_store(source, mirror, wanted, "team/app:v1")

    local = CheckedDriver(MemoryDriver(), read_only=False)
    outcomes = scrape_images(mirror, local, "team/app:v1")
    assert outcomes.counts == {BlobOutcome.COPIED: len(wanted.blobs)}
    assert stored_files(local) == copied
