"""The base of the tests' small HTTP servers (proxies, fake registries)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 (every answer carries its Content-Length), and no access log on
    stderr: a test's output is its assertions."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass
