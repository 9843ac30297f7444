"""Finding the real components (registry, skopeo, umoci) and small process/network helpers."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
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
    # between; RegistryServer and ServerProcess retry on a fresh port when their server dies
    # at start-up.
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


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)
