"""S3 requests counted by operation and key, on every client the s3 driver builds.

Used by the tests that bound requests (tests/test_s3_requests.py) and by the bench's call
counts (bench/scalecalls.py): one counter, hooked where botocore hands each request's
parameters over (its ``provide-client-params`` event), and on the native GETs that carry
reads when obstore can (registry_scraper_s3.native), counted as the GetObject they are, and
its link listings, a ListObjectsV2 per page.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

#: (operation, key or prefix) -> requests.
Calls = Counter[tuple[str, str]]


@contextmanager
def counting_requests() -> Iterator[Calls]:
    """Count the s3 driver's requests while the block runs (clients built inside it)."""
    import registry_scraper_s3.driver as s3_driver
    from registry_scraper_s3.native import LIST_PAGE, NativeGets

    calls: Calls = Counter()
    lock = threading.Lock()
    original = s3_driver.make_client

    def count(params: dict[str, Any], model: Any, context: Any = None, **_: Any) -> None:
        if context and context.get("is_presign_request"):
            return  # a URL made, not a request sent (the native client's endpoint probe)
        with lock:
            calls[model.name, str(params.get("Key") or params.get("Prefix") or "")] += 1

    def make_client(*args: Any) -> Any:
        client = original(*args)
        client.meta.events.register("provide-client-params.s3", count)
        return client

    native_get = NativeGets.get_object

    def counted_get(self: NativeGets, **params: Any) -> Any:
        with lock:
            calls["GetObject", str(params["Key"])] += 1
        return native_get(self, **params)

    native_list = NativeGets.list_etags

    def counted_list(self: NativeGets, prefix: str, limit: int) -> Any:
        listed = native_list(self, prefix, limit)
        # A page per LIST_PAGE keys, at least one (an empty listing is a request too).
        pages = max(1, -(-len(listed or ()) // LIST_PAGE))
        with lock:
            calls["ListObjectsV2", prefix] += pages
        return listed

    with (
        mock.patch.object(s3_driver, "make_client", make_client),
        mock.patch.object(NativeGets, "get_object", counted_get),
        mock.patch.object(NativeGets, "list_etags", counted_list),
    ):
        yield calls


def by_operation(calls: Calls) -> Counter[str]:
    """The requests of ``calls`` summed by operation."""
    operations: Counter[str] = Counter()
    for (operation, _key), count in calls.items():
        operations[operation] += count
    return operations
