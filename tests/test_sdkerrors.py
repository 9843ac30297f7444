"""ErrorTranslator: SDK failures become the core's errors, one line, without secrets."""

from __future__ import annotations

import io

import pytest

from scraper_core.bucket.pinnedstream import PinnedStream
from scraper_core.bucket.sdkerrors import ErrorTranslator, one_line
from scraper_core.errors import PathNotFoundError, StorageError


class SdkError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


def sdk_errors() -> tuple[type[BaseException], ...]:
    return (SdkError, OSError)


TRANSLATOR = ErrorTranslator(
    "drv",
    sdk_errors,
    lambda exc: getattr(exc, "status", None) == 404,
    lambda exc: one_line(f"HTTP {getattr(exc, 'status', '?')}: {exc}"),
)


def test_not_found_is_a_missing_path_naming_driver_and_path() -> None:
    with pytest.raises(PathNotFoundError) as caught, TRANSLATOR.translated("/a/b"):
        raise SdkError(404, "gone")
    assert (caught.value.driver, caught.value.path) == ("drv", "/a/b")


def test_other_failures_are_storage_errors_with_the_description() -> None:
    with pytest.raises(StorageError) as caught, TRANSLATOR.translated("/a"):
        raise SdkError(500, "GET https://h/o?sig=SECRET failed\n<xml>...</xml>")
    assert not isinstance(caught.value, PathNotFoundError)
    assert "HTTP 500: GET https://h/o failed <xml>...</xml>" in str(caught.value)
    assert "SECRET" not in str(caught.value)


def test_in_a_listing_not_found_is_the_bucket() -> None:
    with pytest.raises(StorageError) as caught, TRANSLATOR.listing("/dir"):
        raise SdkError(404, "no bucket")
    assert not isinstance(caught.value, PathNotFoundError)
    assert "no such bucket" in str(caught.value)


def test_core_errors_and_foreign_exceptions_pass_through() -> None:
    original = PathNotFoundError("other", "/x")
    with pytest.raises(PathNotFoundError) as caught, TRANSLATOR.translated("/a"):
        raise original
    assert caught.value is original
    with pytest.raises(KeyError), TRANSLATOR.translated("/a"):
        raise KeyError("a bug, not a storage failure")


def test_one_line_folds_and_bounds() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    cut = one_line("x" * 500)
    assert len(cut) == 200 and cut.endswith("...")


class _FailingReader:
    """An SDK reader that gives ``data`` once, then raises ``error``."""

    def __init__(self, data: bytes, error: BaseException) -> None:
        self._data, self._error = data, error

    def read(self, size: int = -1, /) -> bytes:
        if self._data:
            data, self._data = self._data, b""
            return data
        raise self._error


@pytest.mark.parametrize(
    ("status", "raised", "says"),
    [
        (412, StorageError, "drv: /blob: object changed while it was being read"),
        (404, StorageError, "drv: /blob: object changed while it was being read"),
        (500, StorageError, "drv: /blob: HTTP 500: boom"),
    ],
)
def test_a_pinned_stream_says_the_object_changed_never_not_found(
    status: int, raised: type[StorageError], says: str
) -> None:
    gone = {404, 412}
    stream = io.BufferedReader(
        PinnedStream(
            _FailingReader(b"first", SdkError(status, "boom")),
            "/blob",
            TRANSLATOR,
            lambda exc: getattr(exc, "status", None) in gone,
        )
    )
    assert stream.read(5) == b"first"
    with pytest.raises(raised) as caught:
        stream.read()
    assert not isinstance(caught.value, PathNotFoundError)
    assert str(caught.value) == says
