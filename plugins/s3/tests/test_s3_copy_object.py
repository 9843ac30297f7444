"""Server-side copies are one CopyObject; boto3's managed copy only above 5 GiB."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from registry_scraper_s3.config import MAX_SINGLE_COPY, parse_location, parse_options
from registry_scraper_s3.driver import S3Driver
from scraper_core.errors import PathNotFoundError, StorageError


class FakeClient:
    """Records calls; CopyObject answers with ``copy_error`` when set."""

    def __init__(self, copy_error: str | None = None, size: int = 10) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.copy_error = copy_error
        self.size = size

    def copy_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("copy_object", kwargs))
        if self.copy_error:
            raise ClientError({"Error": {"Code": self.copy_error, "Message": "no"}}, "CopyObject")
        return {}

    def delete_object(self, **kwargs: Any) -> dict[str, Any]:
        return {}

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("head_object", kwargs))
        return {"ContentLength": self.size}


def _driver(client: FakeClient) -> S3Driver:
    return S3Driver(client, parse_location("dst/root"), parse_options({}), read_only=False)


def _managed(driver: S3Driver, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    used: list[str] = []
    monkeypatch.setattr(driver, "_managed_copy", lambda *args: used.append(args[2]))
    return used


def test_one_copy_object_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeClient()
    driver = _driver(client)
    managed = _managed(driver, monkeypatch)
    driver.move("/a", "/b")
    assert client.calls == [
        ("copy_object", {"CopySource": {"Bucket": "dst", "Key": "root/a"}, "Bucket": "dst",
                         "Key": "root/b"}),
    ]  # fmt: skip
    assert managed == []


def test_too_large_for_copy_object_goes_managed(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeClient("InvalidRequest", size=MAX_SINGLE_COPY + 1)
    driver = _driver(client)
    managed = _managed(driver, monkeypatch)
    driver.move("/a", "/b")
    assert [name for name, _ in client.calls] == ["copy_object", "head_object"]
    assert managed == ["root/a"]


def test_other_refusals_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    driver = _driver(FakeClient("InvalidRequest", size=10))
    managed = _managed(driver, monkeypatch)
    with pytest.raises(StorageError):
        driver.move("/a", "/b")
    with pytest.raises(PathNotFoundError):
        _driver(FakeClient("NoSuchKey")).move("/a", "/b")
    assert managed == []


def test_the_managed_copy_runs_on_the_drivers_client(driver: S3Driver) -> None:
    """The client is botocore's (boto3's session is not made): the managed copy must not
    need boto3's injected ``client.copy``."""
    data = bytes(range(256)) * 8192  # 2 MiB
    driver.put_content("/a", data)
    driver.multipart_copy_threshold = 1024 * 1024  # straight to the managed copy
    driver.move("/a", "/b")
    assert driver.get_content("/b") == data
    with pytest.raises(PathNotFoundError):
        driver.move("/a", "/c")
