"""A fault-injecting HTTP proxy for S3 endpoints: the network going wrong, on purpose.

Sits between a client and a real S3 server on 127.0.0.1 and, on a seeded share of requests,
answers 500 InternalError or 503 SlowDown, resets the connection in the middle of a body,
truncates a body under a full Content-Length, or adds latency. Everything else is forwarded
unchanged. Counts of what was injected are kept for the test report.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

from tests.support.quiet_http import QuietHandler

FAULTS = ("error500", "slowdown", "reset", "truncate", "latency")
#: Faults that need a response body to break.
BODY_FAULTS = frozenset({"reset", "truncate"})

_ERROR_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
    "<Message>injected by the test proxy</Message></Error>"
)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client hanging up on a broken response is the point here, not an error to print.
        pass


class FaultProxy:
    """``with FaultProxy(upstream, rate=0.1, seed=1) as proxy: ... proxy.endpoint_url``."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float,
        seed: int,
        faults: tuple[str, ...] = FAULTS,
        max_faults: int | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.rate = rate
        self.faults = faults
        self.max_faults = max_faults
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def choose(self, method: str) -> str | None:
        """The fault for the next request, if any (thread-safe, reproducible for one seed)."""
        with self._lock:
            self.requests += 1
            if self.max_faults is not None and sum(self.injected.values()) >= self.max_faults:
                return None
            if self._random.random() >= self.rate:
                return None
            fault = self._random.choice(self.faults)
            if fault in BODY_FAULTS and method != "GET":
                fault = "error500"
            self.injected[fault] += 1
            return fault

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(QuietHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy.choose(self.command)
                if fault in ("error500", "slowdown"):
                    self._error(fault)
                    return
                if fault == "latency":
                    time.sleep(0.05 + 0.15 * random.random())
                host, port = proxy.upstream_host, proxy.upstream_port
                response, payload = self.relay(host, port, body, timeout=60)
                self.send_response(response.status, response.reason)
                # A HEAD answer has no body but the object's real Content-Length.
                hop_by_hop: tuple[str, ...] = ("transfer-encoding", "connection")
                if self.command != "HEAD":
                    hop_by_hop += ("content-length",)
                for key, value in response.getheaders():
                    if key.lower() not in hop_by_hop:
                        self.send_header(key, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(payload)))
                if fault in BODY_FAULTS and len(payload) > 1:
                    self.end_headers()
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self._break(reset=fault == "reset")
                    return
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _error(self, fault: str) -> None:
                status, code = (500, "InternalError") if fault == "error500" else (503, "SlowDown")
                payload = _ERROR_BODY.format(code=code).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _break(self, *, reset: bool) -> None:
                if reset:
                    # Linger 0: close() sends RST, as a dropped connection does.
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.close_connection = True
                self.connection.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward  # noqa: N815

        return Handler

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
