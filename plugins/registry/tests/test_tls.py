"""TLS is verified by default; ``ca-bundle=PATH`` names the authority to trust."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from registry_scraper_registry.destination import RegistryDestination
from scraper_core.errors import ConfigurationError


class _Registry(BaseHTTPRequestHandler):
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
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
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
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", cert_file
    finally:
        server.shutdown()
        server.server_close()


def test_an_unknown_certificate_is_refused_in_one_line(
    https_registry: tuple[str, Path], tmp_path: Path
) -> None:
    address, _cert = https_registry
    empty_auth = tmp_path / "none.json"
    empty_auth.write_text("{}")
    with pytest.raises(ConfigurationError) as raised:
        RegistryDestination.open(address, {"auth-file": str(empty_auth)})
    assert "TLS" in str(raised.value) and "\n" not in str(raised.value)


def test_the_ca_bundle_is_trusted(https_registry: tuple[str, Path], tmp_path: Path) -> None:
    address, cert = https_registry
    empty_auth = tmp_path / "none.json"
    empty_auth.write_text("{}")
    options = {"ca-bundle": str(cert), "auth-file": str(empty_auth)}
    destination = RegistryDestination.open(address, options)
    try:
        assert destination.has_blob("any", "sha256:" + "0" * 64) is None
    finally:
        destination.close()
