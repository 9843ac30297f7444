"""S3 requests counted by operation and key, on every client the s3 driver builds.

Used by the tests that bound requests (tests/test_s3_requests.py) and by the bench's call
counts (bench/scalecalls.py): one counter, hooked where botocore hands each request's
parameters over (its ``provide-client-params`` event).
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

    calls: Calls = Counter()
    lock = threading.Lock()
    original = s3_driver.make_client

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        with lock:
            calls[model.name, str(params.get("Key") or params.get("Prefix") or "")] += 1

    def make_client(options: Any) -> Any:
        client = original(options)
        client.meta.events.register("provide-client-params.s3", count)
        return client

    with mock.patch.object(s3_driver, "make_client", make_client):
        yield calls


def by_operation(calls: Calls) -> Counter[str]:
    """The requests of ``calls`` summed by operation."""
    operations: Counter[str] = Counter()
    for (operation, _key), count in calls.items():
        operations[operation] += count
    return operations
