"""Credentials for a registry host from the auth files skopeo, podman, crane and docker share.

Files are searched in containers-auth.json(5) order: ``REGISTRY_AUTH_FILE`` (alone when set),
``$XDG_RUNTIME_DIR/containers/auth.json``, ``~/.config/containers/auth.json``, then
``~/.docker/config.json``. In a file, ``credHelpers[host]`` wins, then an ``auths`` entry (the
most specific ``host/namespace`` key first), then ``credsStore``. A helper is run as
``docker-credential-NAME get`` with the host on stdin, as docker does.

Docker Hub has several names (``docker.io``, ``index.docker.io``, ``registry-1.docker.io`` and
docker's own key ``https://index.docker.io/v1/``): any of them finds an entry under another,
and a helper is asked for it by docker's key. An ``identitytoken`` (written by ``docker login``
against an OAuth2 token service, or a helper's ``<token>`` username) is a refresh token: it is
exchanged at the token realm, never sent as a password.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scraper_core.errors import ConfigurationError

HELPER_TIMEOUT = 30.0
#: The username docker and the helper protocol give a refresh token in place of a password.
TOKEN_USERNAME = "<token>"
#: Docker Hub's names, as a user, docker or an auth file may spell them; the first one is the
#: key docker stores (and asks helpers) under.
DOCKER_HUB = ("index.docker.io/v1", "index.docker.io", "docker.io", "registry-1.docker.io")
DOCKER_HUB_HELPER_KEY = "https://index.docker.io/v1/"
#: An auth file is a few entries; anything larger is not one (and must not fill memory).
MAX_AUTH_FILE = 4 * 1024 * 1024


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    #: An OAuth2 refresh token (an auth file's ``identitytoken``): sent only to the token realm.
    identity_token: str | None = field(default=None, repr=False)


def auth_files(env: Mapping[str, str] | None = None) -> list[Path]:
    environ = os.environ if env is None else env
    explicit = environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return [Path(explicit)]
    home = Path(environ.get("HOME") or Path.home())
    files = []
    if environ.get("XDG_RUNTIME_DIR"):
        files.append(Path(environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    files.append(config_home / "containers" / "auth.json")
    files.append(Path(environ.get("DOCKER_CONFIG") or home / ".docker") / "config.json")
    return files


def find_credentials(
    host: str, namespace: str = "", files: list[Path] | None = None
) -> Credentials | None:
    """The credentials for ``host`` (pushing under ``namespace``), or None: anonymous."""
    for path in auth_files() if files is None else files:
        document = _read(path)
        if document is None:
            continue
        found = _from_document(document, host, namespace, path)
        if found is not None:
            return found
    return None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_AUTH_FILE + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigurationError(f"registry: auth file {path}: {error.strerror}") from None
    if len(raw) > MAX_AUTH_FILE:
        raise ConfigurationError(f"registry: auth file {path}: larger than 4MiB")
    try:
        document = json.loads(raw)
    except ValueError:
        raise ConfigurationError(f"registry: auth file {path}: not valid JSON") from None
    if not isinstance(document, dict):
        raise ConfigurationError(f"registry: auth file {path}: not a JSON object")
    return document


def _from_document(
    document: dict[str, Any], host: str, namespace: str, path: Path
) -> Credentials | None:
    helpers = document.get("credHelpers")
    if isinstance(helpers, dict):
        by_key = {_host_key(key): value for key, value in helpers.items()}
        if isinstance(by_key.get(_host_key(host)), str):
            return run_helper(by_key[_host_key(host)], host)
    auths = document.get("auths")
    if isinstance(auths, dict):
        entry = _auths_entry(auths, host, namespace)
        if entry is not None:
            return _entry_credentials(entry, host, path)
    store = document.get("credsStore")
    if isinstance(store, str) and store:
        return run_helper(store, host)
    return None


def _normalized_key(key: str) -> str:
    # docker writes "https://host/v1/" for Docker Hub and sometimes a scheme for others.
    return _host_key(key.removesuffix("/").removesuffix("/v1").removesuffix("/v2"))


def _host_key(key: str) -> str:
    """``key`` with a Docker Hub name (host part, any spelling) made the one name."""
    key = key.removeprefix("https://").removeprefix("http://").removesuffix("/")
    for alias in DOCKER_HUB:
        if key == alias or key.startswith(alias + "/"):
            return "docker.io" + key.removeprefix(alias)
    return key


def _helper_server(host: str) -> str:
    """The server name a helper is asked for: docker's key for Docker Hub, else the host."""
    return DOCKER_HUB_HELPER_KEY if _host_key(host) == "docker.io" else host


def _auths_entry(auths: dict[str, Any], host: str, namespace: str) -> Any:
    by_key = {_normalized_key(key): value for key, value in auths.items()}
    host = _host_key(host)
    # podman and skopeo also take "host/namespace" keys: the most specific one wins.
    parts = namespace.split("/") if namespace else []
    for length in range(len(parts), -1, -1):
        scope = "/".join([host, *parts[:length]])
        if scope in by_key:
            return by_key[scope]
    return None


def _entry_credentials(entry: Any, host: str, path: Path) -> Credentials | None:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"registry: auth file {path}: entry for {host} is not an object")
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        # docker writes "auth" too (its username, no password): only the token is of use.
        return Credentials(TOKEN_USERNAME, "", identity_token=token)
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        username, colon, password = decoded.partition(":")
        if not colon or not username:
            # The value itself is a secret: name the entry, never show it.
            raise ConfigurationError(
                f"registry: auth file {path}: the auth value for {host} is not "
                "base64 of USER:PASSWORD"
            )
        return Credentials(username, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name:
        return Credentials(name, secret)
    return None


def run_helper(name: str, host: str) -> Credentials | None:
    """``docker-credential-NAME get``: credentials, None when it has none for the host."""
    program = f"docker-credential-{name}"
    try:
        result = subprocess.run(
            [program, "get"],
            input=_helper_server(host).encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigurationError(f"registry: credential helper {program} not found") from None
    except subprocess.TimeoutExpired:
        raise ConfigurationError(
            f"registry: credential helper {program} gave no answer in {HELPER_TIMEOUT:g} s"
        ) from None
    if result.returncode != 0:
        # The helper protocol's words for "nothing stored for this server".
        if b"credentials not found" in result.stdout + result.stderr:
            return None
        raise ConfigurationError(
            f"registry: credential helper {program} failed for {host} "
            f"(exit status {result.returncode})"
        )
    try:
        answer = json.loads(result.stdout)
        username, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError):
        raise ConfigurationError(
            f"registry: credential helper {program} gave no Username and Secret for {host}"
        ) from None
    if not isinstance(username, str) or not isinstance(secret, str):
        raise ConfigurationError(f"registry: credential helper {program}: malformed answer")
    if username == TOKEN_USERNAME:
        return Credentials(username, "", identity_token=secret)
    return Credentials(username, secret)
