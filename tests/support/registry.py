"""A real `docker-registry` (distribution 2.8) process on a storage the test chooses.

The registry is the reference for the storage layout: tests push through it, read its tree,
and serve a scraped copy with it. Everything here binds 127.0.0.1 and stops on exit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tests.support.components import free_port, http_open, require_binary, stop_process

# Every manifest type the registry can hold. Without an Accept header a 2.8 registry with
# schema1 compatibility enabled rewrites a docker schema2 manifest to schema1 (new digest) and
# answers 404 for OCI manifests and indexes, so callers that want the stored document need this.
ACCEPT_ALL_MANIFESTS = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
    ]
)

START_TIMEOUT = 20.0
_START_ATTEMPTS = 3  # free_port() can race with another process; a new port fixes that


class RegistryError(RuntimeError):
    pass


class S3Endpoint(Protocol):
    """What RegistryServer.on_s3_server needs (the s3 plugin's s3_servers provide it)."""

    @property
    def endpoint_url(self) -> str: ...

    access_key: str
    secret_key: str
    region: str


def _q(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: safe for paths, keys and URLs.
    return json.dumps(value)


def registry_env() -> dict[str, str]:
    """The environment for the registry process.

    AWS_CA_BUNDLE makes the Go AWS SDK in the s3 driver panic at start-up; REGISTRY_* variables
    override the config file, so the file would not be the whole truth.
    """
    return {
        key: value
        for key, value in os.environ.items()
        if key != "AWS_CA_BUNDLE" and not key.startswith("REGISTRY_")
    }


def parse_gc_summary(output: str) -> tuple[int, int, int]:
    """(blobs marked, blobs eligible for deletion, manifests eligible) from garbage-collect."""
    match = re.search(
        r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion", output
    )
    if match is None:
        raise RegistryError(f"no garbage-collect summary in output:\n{output}")
    marked, blobs, manifests = (int(group) for group in match.groups())
    return marked, blobs, manifests


class RegistryServer:
    """`docker-registry serve CONFIG` as a context manager.

    The storage section is given as YAML lines (see filesystem() and s3()). `workdir` holds the
    config and the server log; when omitted a temporary directory is used and removed on stop,
    when given it is left in place so the config outlives the server (e.g. for garbage-collect).
    """

    def __init__(
        self,
        storage_yaml: str,
        *,
        workdir: Path | None = None,
        binary: str | None = None,
        log_level: str = "warn",
        description: str = "registry",
    ) -> None:
        self.binary = binary or require_binary("docker-registry")
        self.storage_yaml = storage_yaml
        self.log_level = log_level
        self.description = description
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="registry-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "config.yml"
        self.log_path = self.workdir / "registry.log"
        self.port = 0
        self.rootdir: Path | None = None  # filesystem storage only
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def storage_root(self) -> Path:
        """The filesystem storage's root (it holds ``docker/``); only a filesystem registry
        has one."""
        assert self.rootdir is not None, f"{self.description}: not on filesystem storage"
        return self.rootdir

    # Construction per storage driver -------------------------------------------------------

    @classmethod
    def filesystem(
        cls,
        rootdir: Path,
        *,
        workdir: Path | None = None,
        binary: str | None = None,
        log_level: str = "warn",
    ) -> RegistryServer:
        """A registry whose filesystem driver's rootdirectory is `rootdir` (holds `docker/`)."""
        root = Path(rootdir).resolve()
        root.mkdir(parents=True, exist_ok=True)
        storage = f"  filesystem:\n    rootdirectory: {_q(str(root))}\n"
        server = cls(
            storage,
            workdir=workdir,
            binary=binary,
            log_level=log_level,
            description=f"registry on {root}",
        )
        server.rootdir = root
        return server

    @classmethod
    def s3(
        cls,
        bucket: str,
        endpoint: str,
        region: str = "us-east-1",
        rootdirectory: str | None = None,
        access_key: str = "test",
        secret_key: str = "test",
        *,
        workdir: Path | None = None,
        binary: str | None = None,
        log_level: str = "warn",
    ) -> RegistryServer:
        """A registry on the 2.8 `s3` (s3-aws) driver against an S3-compatible endpoint.

        2.8 has no `forcepathstyle` key: setting `regionendpoint` turns path-style addressing
        on by itself, which is what local S3 servers (moto, minio) need. `secure: false`
        because the endpoint is plain http.
        """
        # An empty endpoint means real AWS: the driver's own endpoint, over https.
        secure = "false" if endpoint.startswith("http://") else "true"
        lines = [
            "  s3:",
            f"    accesskey: {_q(access_key)}",
            f"    secretkey: {_q(secret_key)}",
            f"    region: {_q(region)}",
            f"    bucket: {_q(bucket)}",
            f"    secure: {secure}",
            "    v4auth: true",
            "    chunksize: 5242880",
        ]
        if endpoint:
            lines.append(f"    regionendpoint: {_q(endpoint)}")
        if rootdirectory:
            lines.append(f"    rootdirectory: {_q(rootdirectory)}")
        # Blob GETs are served by the registry itself, not redirected to presigned S3 URLs: a
        # test sees the registry's behaviour, and clients never need to reach the endpoint.
        lines += ["  redirect:", "    disable: true"]
        storage = "\n".join(lines) + "\n"
        where = f"s3://{bucket}/{(rootdirectory or '').strip('/')}"
        return cls(
            storage,
            workdir=workdir,
            binary=binary,
            log_level=log_level,
            description=f"registry on {where}",
        )

    @classmethod
    def on_s3_server(
        cls,
        server: S3Endpoint,
        bucket: str,
        rootdirectory: str | None = None,
        *,
        workdir: Path | None = None,
        binary: str | None = None,
        log_level: str = "warn",
    ) -> RegistryServer:
        return cls.s3(
            bucket,
            server.endpoint_url,
            region=server.region,
            rootdirectory=rootdirectory,
            access_key=server.access_key,
            secret_key=server.secret_key,
            workdir=workdir,
            binary=binary,
            log_level=log_level,
        )

    # Config and lifecycle --------------------------------------------------------------------

    def config_yaml(self) -> str:
        # No `cache:` section means no blob-descriptor cache at all: the registry reads storage
        # on every request, so a test that changes the tree behind its back sees the change.
        # Upload purging is off so the registry never deletes anything on its own.
        return (
            "version: 0.1\n"
            "log:\n"
            f"  level: {self.log_level}\n"
            "  accesslog:\n"
            "    disabled: true\n"
            "storage:\n"
            f"{self.storage_yaml}"
            "  delete:\n"
            "    enabled: true\n"
            "  maintenance:\n"
            "    uploadpurging:\n"
            "      enabled: false\n"
            "http:\n"
            f"  addr: 127.0.0.1:{self.port}\n"
            # A fixed secret avoids the "generating a random secret" warning on every start.
            "  secret: registry-scraper-tests\n"
            "compatibility:\n"
            "  schema1:\n"
            # Without this 2.8 refuses schema1 pushes (`skopeo copy --format v2s1`).
            "    enabled: true\n"
        )

    def write_config(self) -> Path:
        self.config_path.write_text(self.config_yaml())
        return self.config_path

    @property
    def url(self) -> str:
        """host:port, as used in image references (`{url}/name:tag`)."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.url}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> RegistryServer:
        if self.running:
            return self
        failure = ""
        for _attempt in range(_START_ATTEMPTS):
            self.port = free_port()
            self.write_config()
            if self._start_once():
                return self
            failure = self.log_text()
            if "address already in use" not in failure:
                break
        raise RegistryError(f"{self.description} did not start:\n{failure}")

    def _start_once(self) -> bool:
        # The log goes to a file, not a pipe: a chatty server can never block on a full pipe.
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [self.binary, "serve", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=registry_env(),
                cwd=self.workdir,
            )
        deadline = time.monotonic() + START_TIMEOUT
        request = urllib.request.Request(f"{self.base_url}/v2/")
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            try:
                status, _headers, _body = http_open(request, timeout=2.0)
                # 401: it serves, behind an `auth:` section a subclass's config added.
                if status in (200, 401):
                    return True
            except OSError:
                pass  # not listening yet
            time.sleep(0.05)
        self.stop()
        raise RegistryError(
            f"{self.description} gave no 200 on /v2/ within {START_TIMEOUT:g} s:\n"
            + self.log_text()
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)

    def close(self) -> None:
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Talking to it ---------------------------------------------------------------------------

    def http_request(
        self,
        method: str,
        path: str,
        *,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of METHOD base_url+path; error statuses are returned."""
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers=dict(headers or {})
        )
        if accept is not None:
            request.add_header("Accept", accept)
        return http_open(request)

    def http_get(self, path: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
        return self.http_request("GET", path, accept=accept)

    def get_manifest(self, name: str, reference: str) -> tuple[int, dict[str, str], bytes]:
        """GET /v2/<name>/manifests/<reference> accepting every manifest type (no rewriting)."""
        return self.http_get(f"/v2/{name}/manifests/{reference}", accept=ACCEPT_ALL_MANIFESTS)

    def upload_blob(self, name: str, data: bytes) -> dict[str, object]:
        """``data`` pushed as a blob of ``name`` with the HTTP API (monolithic POST + PUT):
        its descriptor's digest and size."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, body = self.http_request("POST", f"/v2/{name}/blobs/uploads/")
        if status != 202:
            raise RegistryError(f"upload to {name}: HTTP {status}: {body[:500]!r}")
        path = headers["Location"].split("/v2/", 1)[1]
        separator = "&" if "?" in path else "?"
        status, _headers, body = self.http_request(
            "PUT",
            f"/v2/{path}{separator}digest={digest}",
            headers={"Content-Type": "application/octet-stream"},
            body=data,
        )
        if status != 201:
            raise RegistryError(f"upload to {name}: HTTP {status}: {body[:500]!r}")
        return {"digest": digest, "size": len(data)}

    def put_manifest(self, name: str, reference: str, document: dict[str, object]) -> str:
        """``document`` put as manifest ``reference`` of ``name``: its digest."""
        data = json.dumps(document).encode()
        status, _headers, body = self.http_request(
            "PUT",
            f"/v2/{name}/manifests/{reference}",
            headers={"Content-Type": str(document["mediaType"])},
            body=data,
        )
        if status != 201:
            raise RegistryError(f"manifest {name}:{reference}: HTTP {status}: {body[:500]!r}")
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def tags(self, name: str) -> list[str]:
        status, _headers, body = self.http_get(f"/v2/{name}/tags/list")
        if status == 404:
            return []
        if status != 200:
            raise RegistryError(f"tags of {name}: HTTP {status}: {body[:500]!r}")
        return sorted(json.loads(body).get("tags") or [])

    def catalog(self) -> list[str]:
        # 2.8 rejects n above its maxentries (1000 by default): follow the Link pages instead.
        repositories: list[str] = []
        path: str | None = "/v2/_catalog"
        while path is not None:
            status, headers, body = self.http_get(path)
            if status != 200:
                raise RegistryError(f"catalog: HTTP {status}: {body[:500]!r}")
            repositories += json.loads(body).get("repositories") or []
            link = re.match(r'<([^>]+)>;\s*rel="next"', headers.get("Link", ""))
            path = link.group(1) if link else None
        return sorted(repositories)

    # Offline tools on the same config ------------------------------------------------------

    def run_tool(self, *args: str, timeout: float = 120.0) -> str:
        """`docker-registry ARGS... CONFIG`; stdout on success, RegistryError otherwise."""
        if not self.config_path.exists():
            self.write_config()
        result = subprocess.run(
            [self.binary, *args, str(self.config_path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=registry_env(),
            cwd=self.workdir,
            timeout=timeout,
            check=False,
        )
        stdout = result.stdout.decode(errors="replace")
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace")
            raise RegistryError(
                f"docker-registry {' '.join(args)} exited {result.returncode}:\n{stdout}{stderr}"
            )
        return stdout

    def garbage_collect_dry_run(self) -> str:
        """The mark report (`<repo>: marking blob ...` lines and a summary) of a dry-run GC."""
        return self.run_tool("garbage-collect", "--dry-run")


# The type of the `filesystem_registry` fixture: `(rootdir: Path | None = None) -> started server`.
RegistryFactory = Callable[..., RegistryServer]
