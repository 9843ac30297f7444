"""A shipment's SSH signature: ``FILE.sha256.sig`` over ``FILE.sha256``, made and checked by
``ssh-keygen -Y`` (namespace ``registry-scraper``), so a site can check it with ssh-keygen
alone. No signature format is written or parsed here: ssh-keygen does all of it.

The signature covers the checksum file, which lists every volume and the receipt; it cannot
list itself. ssh-keygen runs with no standard input and no terminal, so a key with a
passphrase fails in one line instead of prompting (give the public key with an agent at
``SSH_AUTH_SOCK`` to sign with a key the agent holds).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass

from scraper_core.errors import ConfigurationError

NAMESPACE = "registry-scraper"
#: ssh-keygen signs and checks a small file; a minute means it is waiting on something.
TIMEOUT = 60
#: An SSH signature of any key type is a few kilobytes at most.
MAX_SIGNATURE_SIZE = 64 * 1024
_FINGERPRINT_RE = re.compile(r" key (SHA256:[A-Za-z0-9+/=]+)")


@dataclass(frozen=True)
class Signer:
    """Who signed a shipment: the principal the allowed-signers file names for the key, and
    the key's fingerprint as ssh-keygen prints it."""

    principal: str
    fingerprint: str


def _run(
    args: list[str], what: str, data: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, SSH_ASKPASS_REQUIRE="never")
    try:
        return subprocess.run(
            ["ssh-keygen", *args],
            input=data,
            stdin=None if data is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT,
            env=env,
            # No controlling terminal: ssh-keygen cannot prompt for a passphrase.
            start_new_session=True,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigurationError(f"tar: {what} needs ssh-keygen (openssh-client)") from None
    except subprocess.TimeoutExpired:
        raise ConfigurationError(f"tar: {what}: ssh-keygen did not answer in {TIMEOUT}s") from None


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    """ssh-keygen's last line of complaint, for a one-line message."""
    lines = (result.stderr or result.stdout).decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else f"exit {result.returncode}"


def check_key(key: str) -> None:
    """Refuse, before anything is written, a signing key that cannot sign: not a readable
    file, a private key with a passphrase, or a public key with no agent to hold it."""
    try:
        with open(key, "rb") as file:
            head = file.read(64)
    except OSError as exc:
        raise ConfigurationError(f"tar: sign-key {key} cannot be read ({exc.strerror})") from None
    if head.startswith(b"-----BEGIN"):
        # Loading it with an empty passphrase is what signing will do; a passphrase fails here.
        loaded = _run(["-y", "-P", "", "-f", key], "signing")
        if loaded.returncode != 0:
            raise ConfigurationError(
                f"tar: sign-key {key} cannot be loaded without a passphrase "
                "(add it to ssh-agent and give its .pub)"
            )
    elif not os.environ.get("SSH_AUTH_SOCK"):
        raise ConfigurationError(
            f"tar: sign-key {key} is not a private key, and no ssh-agent (SSH_AUTH_SOCK) "
            "holds one for it"
        )


def sign(sums: str, key: str) -> str:
    """Sign the checksum file at ``sums``; the signature is written beside it, its path
    returned. One-line ConfigurationError when ssh-keygen cannot sign (the key itself was
    checked when the archive was opened for writing: :func:`check_key`)."""
    result = _run(["-q", "-Y", "sign", "-f", key, "-n", NAMESPACE, sums], "signing")
    signature = sums + ".sig"
    if result.returncode != 0 or not os.path.isfile(signature):
        raise ConfigurationError(f"tar: cannot sign with {key}: {_said(result)}")
    return signature


def verify(sums: bytes, signature: bytes, allowed_signers: str, archive: str) -> Signer:
    """Check ``signature`` over the bytes ``sums`` against the allowed-signers file; the
    signer, or a one-line ConfigurationError naming ``archive``."""
    if not os.path.isfile(allowed_signers) or not os.access(allowed_signers, os.R_OK):
        raise ConfigurationError(f"tar: trusted-keys {allowed_signers} is not a readable file")
    with tempfile.TemporaryDirectory(prefix="scrape-sig-") as directory:
        # The bytes already read are the ones checked: the file beside may change meanwhile.
        sig_path = os.path.join(directory, "sha256.sig")
        with open(sig_path, "wb") as out:
            out.write(signature)
        found = _run(["-Y", "find-principals", "-s", sig_path, "-f", allowed_signers], "checking")
        # One principal a line (an entry naming several gives one line each): any will do.
        principals = found.stdout.decode("utf-8", "replace").split()
        if found.returncode != 0 or not principals:
            raise ConfigurationError(
                f"tar: {archive} is signed by a key {allowed_signers} does not trust"
            )
        principal = principals[0]
        verify_args = ["-Y", "verify", "-f", allowed_signers, "-I", principal]
        checked = _run([*verify_args, "-n", NAMESPACE, "-s", sig_path], "checking", sums)
    said = (checked.stdout + checked.stderr).decode("utf-8", "replace")
    fingerprint = _FINGERPRINT_RE.search(said)
    if checked.returncode != 0 or fingerprint is None:
        raise ConfigurationError(
            f"tar: {archive}.sha256 does not match its signature: {_said(checked)}"
        )
    return Signer(principal, fingerprint.group(1))
