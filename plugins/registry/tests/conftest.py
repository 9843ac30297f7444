"""Real registries (distribution 2.8) with htpasswd or token auth, behind a counting proxy.

Every test gets a registry whose only way in is :class:`Proxy`: it records each request
(method, path) and can drop one upload connection mid-body, on purpose. Token auth is served by
:class:`TokenIssuer`, started here: it checks the password and signs real JWTs (RS256, ``x5c``)
that the registry verifies against the certificate it is configured with. Helpers live here
only; the tests use them through fixtures. Every test has a time limit (:data:`TEST_LIMIT`).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import ipaddress
import json
import signal
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, ClassVar
from urllib.parse import parse_qs, urlsplit

import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from registry_scraper_registry.destination import RegistryDestination
from tests.support import skopeo
from tests.support.quiet_http import QuietHandler
from tests.support.registry import RegistryServer

TEST_LIMIT = 30  # seconds, per test
USER = "pusher"
PASSWORD = "s3cret-Pa55"
#: The refresh token the issuer accepts (an auth file's ``identitytoken``).
REFRESH_TOKEN = "refresh-R3fr3sh-t0ken"
SERVICE = "test-registry"
ISSUER = "test-issuer"
AUTH_KINDS = ("htpasswd", "token")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@pytest.fixture(autouse=True)
def time_limit() -> Iterator[None]:
    """Fail a test that runs past TEST_LIMIT seconds instead of hanging the suite."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        pytest.fail(f"test ran past its {TEST_LIMIT} s limit", pytrace=True)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# A quiet, threaded HTTP server on 127.0.0.1 ---------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up (or a connection cut on purpose) is not worth a traceback


def _serve(handler: type[BaseHTTPRequestHandler]) -> _Server:
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# The token issuer ------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def self_signed(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    common_name: str,
    *extensions: x509.ExtensionType,
) -> x509.Certificate:
    """A certificate for ``common_name`` signed by its own ``key``, valid for the next hour
    (and the last five minutes: clocks differ), with ``extensions`` (all non-critical but
    BasicConstraints)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    for extension in extensions:
        critical = isinstance(extension, x509.BasicConstraints)
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA256())


@dataclass
class TokenIssuer:
    """``GET /token?service=...&scope=...``: a signed token granting what was asked for."""

    certificate_file: Path
    key: rsa.RSAPrivateKey
    certificate_der: bytes
    issued: list[list[str]] = field(default_factory=list)
    refreshed: int = 0  # tokens issued for a refresh token (the OAuth2 POST)
    refused: int = 0
    stale_tokens: int = 0  # how many of the next tokens are issued already expired
    server: _Server | None = None

    @classmethod
    def create(cls, workdir: Path) -> TokenIssuer:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = self_signed(key, ISSUER)
        path = workdir / "token-issuer.pem"
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return cls(path, key, certificate.public_bytes(serialization.Encoding.DER))

    def token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind_name, _, actions = scope.rpartition(":")
            kind, _, name = kind_name.partition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        if self.stale_tokens:
            # Past distribution's 60 s leeway: the registry answers 401 to it.
            self.stale_tokens -= 1
            now -= 600
        # x5c: the registry checks the chain against its rootcertbundle, then the signature.
        x5c = [base64.b64encode(self.certificate_der).decode("ascii")]
        header = {"typ": "JWT", "alg": "RS256", "x5c": x5c}
        claims = {
            "iss": ISSUER,
            "sub": USER,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = ".".join(
            _b64url(json.dumps(part).encode()) for part in (header, claims)
        ).encode()
        signature = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode()}.{_b64url(signature)}"

    def start(self) -> str:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    issuer.refused += 1
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                scopes = parse_qs(urlsplit(self.path).query).get("scope", [])
                issuer.issued.append(scopes)
                body = json.dumps({"token": issuer.token(scopes), "expires_in": 300}).encode()
                self.answer(200, body)

            def do_POST(self) -> None:
                """The OAuth2 refresh-token grant, as distribution's token spec has it: a form
                with grant_type, refresh_token, client_id and space-separated scopes."""
                length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
                form = parse_qs(self.rfile.read(length).decode())
                grant = form.get("grant_type", [""])[0]
                token = form.get("refresh_token", [""])[0]
                if grant != "refresh_token" or token != REFRESH_TOKEN or "client_id" not in form:
                    issuer.refused += 1
                    self.answer(400, b'{"error":"invalid_grant"}')
                    return
                scopes = form.get("scope", [""])[0].split()
                issuer.issued.append(scopes)
                issuer.refreshed += 1
                answer = {"access_token": issuer.token(scopes), "expires_in": 300}
                self.answer(200, json.dumps(answer).encode())

            def answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = _serve(Handler)
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# Registries with auth --------------------------------------------------------------------------


class AuthRegistry(RegistryServer):
    """registry 2.8 on a filesystem tree with an ``auth:`` section (and schema1 as chosen)."""

    def __init__(self, root: Path, auth_yaml: str, *, schema1: bool = True) -> None:
        super().__init__(
            f"  filesystem:\n    rootdirectory: {json.dumps(str(root))}\n",
            workdir=root.parent / "registry-work",
            description=f"registry on {root}",
        )
        self.auth_yaml = auth_yaml
        self.schema1 = schema1

    def config_yaml(self) -> str:
        config = super().config_yaml() + self.auth_yaml
        if not self.schema1:
            config = config.replace(
                "  schema1:\n    enabled: true\n", "  schema1:\n    enabled: false\n"
            )
        return config


def htpasswd_auth(workdir: Path) -> str:
    path = workdir / "htpasswd"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"{USER}:{hashed}\n")
    return f"auth:\n  htpasswd:\n    realm: test-realm\n    path: {json.dumps(str(path))}\n"


def token_auth(realm: str, certificate: Path) -> str:
    return (
        "auth:\n  token:\n"
        f"    realm: {json.dumps(realm)}\n"
        f"    service: {SERVICE}\n"
        f"    issuer: {ISSUER}\n"
        f"    rootcertbundle: {json.dumps(str(certificate))}\n"
    )


# The proxy: counts requests, drops one upload connection when told -----------------------------


@dataclass
class Proxy:
    upstream_port: int
    requests: list[tuple[str, str]] = field(default_factory=list)
    cut_at: tuple[int, int] | None = None  # (nth PATCH/PUT with a body, bytes of it)
    bodies: int = 0
    cut_done: threading.Event = field(default_factory=threading.Event)
    server: _Server | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def writes(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(method, path) for method, path in self.requests if method in WRITES]

    def cut(self, nth: int, after: int) -> None:
        """Drop the connection of the ``nth`` upload request from now after ``after`` bytes."""
        with self.lock:
            self.bodies, self.cut_at = 0, (nth, after)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    def start(self) -> Proxy:
        proxy = self

        class Handler(QuietHandler):
            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                limit = None
                with proxy.lock:
                    proxy.requests.append((self.command, self.path))
                    if self.command in ("PATCH", "PUT") and length and proxy.cut_at:
                        proxy.bodies += 1
                        if proxy.bodies == proxy.cut_at[0]:
                            limit, proxy.cut_at = proxy.cut_at[1], None
                if limit is not None and length > limit:
                    # Read part of the body and hang up: the registry never sees this request.
                    self.rfile.read(limit)
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    proxy.cut_done.set()
                    return
                body = self.rfile.read(length) if length else None
                answer, data = self.relay("127.0.0.1", proxy.upstream_port, body, timeout=20)
                self.send_response_only(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                if self.command == "HEAD":
                    self.send_header("Content-Length", answer.getheader("Content-Length") or "0")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward  # noqa: N815

        self.server = _serve(Handler)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# What a test gets ------------------------------------------------------------------------------


@dataclass
class Target:
    """A started registry behind its proxy, and an auth file holding the right password."""

    kind: str
    registry: AuthRegistry
    proxy: Proxy
    auth_file: Path
    issuer: TokenIssuer | None
    #: The refresh token the issuer takes (write it as an auth file's ``identitytoken``).
    refresh_token: ClassVar[str] = REFRESH_TOKEN

    @staticmethod
    def secrets() -> tuple[str, ...]:
        """What no output or log may show: the password (also as Basic sends it), the
        refresh token, and any bearer token (by its header's word)."""
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return (PASSWORD, basic, REFRESH_TOKEN, "Bearer ")

    def served(self, reference: str) -> bytes:
        """The manifest bytes the registry serves for ``reference``, read with the password."""
        return skopeo.inspect_raw(self.registry.url, reference, self.auth_file)

    def wrong_auth_file(self, password: str) -> Path:
        return write_auth_file(
            self.auth_file.with_name("wrong.json"), [self.proxy.address], password
        )

    def output_args(self, namespace: str = "/mirror", auth_file: Path | None = None) -> list[str]:
        """The ``scrape`` options that push into this registry (through its proxy)."""
        return [
            "--output-storage",
            "registry",
            "--output-dir",
            self.proxy.address + namespace,
            "--output-storage-option",
            "tls=false",
            "--output-storage-option",
            f"auth-file={auth_file or self.auth_file}",
        ]

    def open(self, location_suffix: str = "", **options: str) -> RegistryDestination:
        options.setdefault("tls", "false")
        options.setdefault("auth-file", str(self.auth_file))
        return RegistryDestination.open(self.proxy.address + location_suffix, options)

    def skopeo_digest(self, reference: str) -> str:
        return skopeo.run(
            "inspect",
            "--tls-verify=false",
            "--authfile",
            str(self.auth_file),
            "--format",
            "{{.Digest}}",
            f"docker://{self.registry.url}/{reference}",
            timeout=20,
        ).strip()

    def get_blob(self, repository: str, digest: str) -> bytes:
        """The blob's bytes as the registry serves them (htpasswd registries only)."""
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        status, _headers, body = self.registry.http_request(
            "GET", f"/v2/{repository}/blobs/{digest}", headers={"Authorization": f"Basic {token}"}
        )
        assert status == 200, status
        return body


def write_auth_file(path: Path, hosts: list[str], password: str) -> Path:
    auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": auth} for host in hosts}}))
    return path


def _target(kind: str, tmp_path: Path, *, schema1: bool = True) -> Iterator[Target]:
    issuer = None
    if kind == "token":
        issuer = TokenIssuer.create(tmp_path)
        auth_yaml = token_auth(issuer.start(), issuer.certificate_file)
    else:
        auth_yaml = htpasswd_auth(tmp_path)
    registry = AuthRegistry(tmp_path / "storage", auth_yaml, schema1=schema1)
    proxy = Proxy(0)
    try:
        registry.start()
        proxy.upstream_port = registry.port
        proxy.start()
        # skopeo talks to the registry directly: its address gets the same credentials.
        hosts = [proxy.address, registry.url]
        auth_file = write_auth_file(tmp_path / "auth.json", hosts, PASSWORD)
        yield Target(kind, registry, proxy, auth_file, issuer)
    finally:
        proxy.stop()
        registry.close()
        if issuer is not None:
            issuer.stop()


@pytest.fixture(params=AUTH_KINDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A registry with htpasswd auth, then one with token auth."""
    yield from _target(request.param, tmp_path)


@pytest.fixture
def token_issuer(tmp_path: Path) -> Iterator[tuple[TokenIssuer, str]]:
    """A token issuer alone, and its realm."""
    issuer = TokenIssuer.create(tmp_path)
    try:
        yield issuer, issuer.start()
    finally:
        issuer.stop()


@pytest.fixture
def token_target(tmp_path: Path) -> Iterator[Target]:
    yield from _target("token", tmp_path)


@pytest.fixture
def htpasswd_target(tmp_path: Path) -> Iterator[Target]:
    yield from _target("htpasswd", tmp_path)


@pytest.fixture
def schema1_refusing_target(tmp_path: Path) -> Iterator[Target]:
    yield from _target("htpasswd", tmp_path, schema1=False)


# A small image, and pushing it as the core will ------------------------------------------------


@dataclass
class Image:
    blobs: dict[str, bytes]  # digest -> bytes: config and layers
    manifest: bytes
    media_type: str = "application/vnd.docker.distribution.manifest.v2+json"

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.manifest).hexdigest()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_image(seed: str, large: int = 200_000) -> Image:
    """A config and two layers (one small, one of ``large`` bytes) under a docker v2 manifest."""
    small_layer = hashlib.sha512(seed.encode()).digest() * 20
    large_layer = (hashlib.sha256(seed.encode()).digest() * (large // 32 + 1))[:large]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [_digest(small_layer), _digest(large_layer)]},
        }
    ).encode()
    layer_type = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": _digest(config),
            },
            "layers": [
                {"mediaType": layer_type, "size": len(layer), "digest": _digest(layer)}
                for layer in (small_layer, large_layer)
            ],
        }
    ).encode()
    blobs = {_digest(data): data for data in (config, small_layer, large_layer)}
    return Image(blobs, manifest)


class Source:
    """``open_stream(offset)`` over bytes, recording every offset it was opened at."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offsets: list[int] = []

    def open_stream(self, offset: int) -> BinaryIO:
        self.offsets.append(offset)
        return io.BytesIO(self.data[offset:])


def push_image(destination: RegistryDestination, repository: str, tag: str, image: Image) -> None:
    """What the core's copy does: blobs unless present, the manifest by digest, then the tag."""
    for digest, data in image.blobs.items():
        if destination.has_blob(repository, digest) is None:
            destination.put_blob(repository, digest, len(data), Source(data).open_stream)
    if destination.has_manifest(repository, image.digest) is None:
        destination.put_manifest(repository, image.digest, image.media_type, image.manifest)
    if destination.has_manifest(repository, tag) != image.digest:
        destination.put_manifest(repository, tag, image.media_type, image.manifest)


PushImage = Callable[[RegistryDestination, str, str, Image], None]


@pytest.fixture
def push() -> PushImage:
    return push_image


@pytest.fixture
def image() -> Image:
    return make_image("one")


@pytest.fixture
def source_of() -> Callable[[bytes], Source]:
    return Source


class _TlsRegistry(BaseHTTPRequestHandler):
    """Enough of a registry for open(): 200 on /v2/, 404 for everything else."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/v2/" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self.do_GET()


@pytest.fixture
def https_registry(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Enough of a registry for open() over HTTPS, with a certificate of its own: (address,
    the certificate's file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed(
        key,
        "127.0.0.1",
        x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
        x509.BasicConstraints(ca=True, path_length=None),
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TlsRegistry)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", cert_file
    finally:
        server.shutdown()
        server.server_close()
