"""A backend SDK's exceptions made into the core's error tree: one line, no secret, a path.

For plugin authors. A driver describes its SDK once (which exceptions it raises, which of
them mean "no such object", how to word one) and gets :meth:`ErrorTranslator.translated` and
:meth:`ErrorTranslator.listing` to wrap its calls in. Pure: the SDK's exception classes come
from a function the driver gives, called on the first error only, so importing a plugin never
imports its SDK.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from scraper_core.errors import PathNotFoundError, StorageError

#: The longest detail an error message carries: SDK texts can run to kilobytes of XML.
MAX_DETAIL = 200
# A URL's query is where a signature or token sits (presigned URLs, SAS); the rest names the
# object, which the message names anyway.
_URL_QUERY_RE = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")


def drop_url_queries(text: str) -> str:
    """``text`` with the query of every URL in it removed."""
    return _URL_QUERY_RE.sub(r"\1", text)


def one_line(detail: str, limit: int = MAX_DETAIL) -> str:
    """White space folded to single spaces, URL queries dropped, cut to ``limit`` characters."""
    folded = drop_url_queries(" ".join(detail.split()))
    return folded if len(folded) <= limit else folded[: limit - 3] + "..."


@dataclass(frozen=True)
class ErrorTranslator:
    """How one driver's SDK fails, and the context managers that translate it."""

    driver: str
    #: The exception classes the SDK and its transport raise (called late: imports the SDK).
    sdk_errors: Callable[[], tuple[type[BaseException], ...]]
    #: Whether an SDK error means the object asked for does not exist.
    is_not_found: Callable[[BaseException], bool]
    #: A one-line, secret-free detail for an SDK error.
    describe: Callable[[BaseException], str]
    #: What a "not found" from a listing means (a missing prefix lists as empty).
    missing_root: str = "no such bucket"

    def to_storage_error(self, path: str, exc: BaseException) -> StorageError:
        if isinstance(exc, StorageError):
            return exc
        if self.is_not_found(exc):
            return PathNotFoundError(self.driver, path)
        return StorageError(self.driver, path, self.describe(exc))

    @contextmanager
    def translated(self, path: str) -> Iterator[None]:
        """Re-raise SDK and transport errors as :class:`StorageError` naming ``path``."""
        try:
            yield
        except StorageError:
            raise
        except self.sdk_errors() as exc:
            raise self.to_storage_error(path, exc) from exc

    @contextmanager
    def listing(self, path: str) -> Iterator[None]:
        """Like :meth:`translated`, for listings: there a "not found" is the bucket's.

        A missing prefix lists as empty, so it must not become a missing path: the core would
        take a deleted or misnamed bucket for an absent blob.
        """
        try:
            yield
        except StorageError:
            raise
        except self.sdk_errors() as exc:
            if self.is_not_found(exc):
                raise StorageError(self.driver, path, self.missing_root) from exc
            raise self.to_storage_error(path, exc) from exc
