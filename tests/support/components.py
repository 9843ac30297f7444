"""Finding the real components (registry, skopeo, umoci) and small process/network helpers."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_component(message: str) -> NoReturn:
    """Fail in CI, skip elsewhere: CI must never go green by skipping what it could not run."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing component is a failure)", pytrace=False)
    pytest.skip(message)


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing_component(f"{name} not found on PATH (Debian package: see `make system-deps`)")
    return path


def require_module(name: str) -> None:
    """Like require_binary, for a Python package a test drives (e.g. moto's S3 server)."""
    if importlib.util.find_spec(name) is None:
        missing_component(f"Python package {name} is not installed (pip install -e '.[dev]')")


def free_port() -> int:
    # The port is released before the server binds it, so another process can take it in
    # between; RegistryServer retries on a fresh port when its server dies at start-up.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Local servers only: an HTTP(S)_PROXY set for package downloads must not capture them.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_open(
    request: urllib.request.Request, timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for any status: error answers are results here, not raises."""
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), error.read()


def wait_http(
    url: str,
    timeout: float = 20.0,
    *,
    status: int = 200,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll url until it answers `status`; TimeoutError with the last outcome, or RuntimeError
    as soon as `process` (the server being waited for) has exited."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            code, _headers, _body = http_open(urllib.request.Request(url), timeout=2.0)
            if code == status:
                return
            last = f"HTTP {code}"
        except OSError as error:  # refused / reset while the server starts
            last = repr(error)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{url} did not answer {status} within {timeout:g} s: {last}")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)
