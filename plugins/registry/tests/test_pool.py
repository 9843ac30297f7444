"""Many requests at once: each keeps its connection for the next (none closed, no warning)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from registry_scraper_registry.plugin import RegistryDestinationClass
from tests.support.quiet_http import QuietHandler

#: More at once than the 32 connections the pool used to keep.
AT_ONCE = 40
DIGEST = "sha256:" + "0" * 64


@pytest.fixture
def gathering_registry() -> Iterator[str]:
    """Answers ``/v2/`` at once; a blob HEAD only when AT_ONCE of them are in (404 each)."""
    gathered = threading.Barrier(AT_ONCE, timeout=10)

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.answer(200)

        def do_HEAD(self) -> None:  # noqa: N802
            gathered.wait()
            self.answer(404)

        def answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_requests_at_once_keep_their_connections(
    gathering_registry: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    auth_file = tmp_path / "auth.json"
    auth_file.write_text("{}")
    options = {"tls": "false", "auth-file": str(auth_file)}
    destination = RegistryDestinationClass.open(gathering_registry, options)
    try:
        with ThreadPoolExecutor(AT_ONCE) as pool:
            found = list(pool.map(lambda n: destination.has_blob(f"r{n}", DIGEST), range(AT_ONCE)))
    finally:
        destination.close()
    assert found == [None] * AT_ONCE
    assert "Connection pool is full" not in caplog.text
