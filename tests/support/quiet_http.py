"""The base of the tests' small HTTP servers (proxies, fake registries)."""

from __future__ import annotations

import http.client
from http.server import BaseHTTPRequestHandler
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 (every answer carries its Content-Length), and no access log on
    stderr: a test's output is its assertions."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def relay(
        self, host: str, port: int, body: bytes | None, timeout: float
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """This request sent on to ``host:port`` as it came (its own connection, closed
        after): the answer, and its whole body."""
        upstream = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            return answer, answer.read()
        finally:
            upstream.close()
