"""Servers a driver's tests start (emulators), with every wait bounded.

:class:`ServerProcess` runs a server on a free 127.0.0.1 port in a fresh temporary directory,
with its output in a log there, waits (at most :attr:`ServerProcess.start_timeout` seconds)
until it answers and always stops it and removes the directory. A subclass says only what
differs: the command line, the readiness probe and, where needed, its environment and the files
it needs before it starts. The shipped plugins' tests build their emulators (moto, SeaweedFS,
fake-gcs-server, Azurite) on it; a third-party driver's tests can do the same.

:func:`missing_component` skips a test whose server is not installed, or fails it when
``CI=true``: CI must never go green by skipping what it could not run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NoReturn, Self

import pytest

LOOPBACK = "127.0.0.1"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_component(message: str) -> NoReturn:
    """Fail in CI, skip elsewhere: CI must never go green by skipping what it could not run."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing component is a failure)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    # The port is released before the server binds it, so another process can take it in
    # between; ServerProcess retries on a fresh port when its server dies at start-up.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
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
    """SIGTERM, then SIGKILL after ``grace`` seconds; never waits longer than twice that."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)


def http_status(url: str) -> int | None:
    """The status ``url`` answers with (error statuses too), or None while nothing answers."""
    try:
        status, _headers, _body = http_open(urllib.request.Request(url), timeout=2.0)
    except OSError:  # refused / reset while the server starts
        return None
    return status


class ServerProcess:
    """A server subprocess on ``127.0.0.1:<free port>``; ``with Server() as server: ...``.

    Subclasses implement :meth:`command` and :meth:`is_ready` and may extend :meth:`prepare`,
    :meth:`environment` and :meth:`cleanup`.
    """

    #: What a test reports as not installed (see :meth:`missing`).
    component = "a server"
    workdir_prefix = "server-"
    #: Seconds from spawning to the first successful :meth:`is_ready`.
    start_timeout = 30.0
    poll_interval = 0.05
    #: Seconds between SIGTERM and SIGKILL when stopping.
    stop_timeout = 5.0
    #: free_port() can race with another process taking the port; a fresh port fixes that.
    start_attempts = 3

    def __init__(self) -> None:
        self.port = 0
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def missing(self) -> NoReturn:
        """Skip the test for lack of :attr:`component`, or fail it on CI (``CI=true``)."""
        missing_component(f"{self.component} is not installed")

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def workdir(self) -> Path:
        assert self._workdir is not None, "server not started"
        return Path(self._workdir.name)

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url})"

    # -- what subclasses provide ----------------------------------------------------------

    def command(self) -> list[str]:
        raise NotImplementedError

    def is_ready(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """Choose the port(s) and write configuration into :attr:`workdir`; once per attempt."""
        self.port = free_port()

    def environment(self) -> dict[str, str]:
        """The server's environment, before HOME and TMPDIR are pointed into :attr:`workdir`."""
        return dict(os.environ)

    def cleanup(self) -> None:
        """Remove what an exited server left outside :attr:`workdir`."""

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix=self.workdir_prefix)
        try:
            for attempt in range(1, self.start_attempts + 1):
                self.prepare()
                self._spawn()
                try:
                    self._wait_ready()
                    return
                except _ExitedEarlyError:
                    self.cleanup()
                    if attempt == self.start_attempts:
                        raise
        except BaseException:
            self.stop()
            raise

    def _spawn(self) -> None:
        # Nothing the server writes may outlive the workdir, nor land in the real HOME.
        env = self.environment() | {"HOME": str(self.workdir), "TMPDIR": str(self.workdir)}
        # A file, not a pipe: a chatty server can never block on a full pipe.
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise _ExitedEarlyError(
                    f"{self!r} exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            if self.is_ready():
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"{self!r} not ready after {self.start_timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(self.poll_interval)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, grace=self.stop_timeout)
        self.cleanup()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _ExitedEarlyError(RuntimeError):
    """The server died while starting (most often: another process took the port)."""
