"""Signed shipments as a shipper and a site make them: ed25519 keys, an allowed-signers file,
and the site's own check of a signature with ``ssh-keygen -Y verify`` (as the README gives it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

#: ssh-keygen signs or checks a small file in well under a second; never wait forever.
TIMEOUT = 60
PRINCIPAL = "shipper@example.org"
NAMESPACE = "registry-scraper"


def make_key(directory: Path, name: str, passphrase: str = "") -> Path:
    key = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", str(key)],
        check=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    return key


def allowed_signers(directory: Path, key: Path) -> Path:
    """An allowed-signers file trusting ``key`` for ``PRINCIPAL``."""
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    path = directory / "allowed_signers"
    path.write_text(f"{PRINCIPAL} {kind} {blob}\n")
    return path


def fingerprint(key: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(key.with_suffix(".pub"))],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    )
    return out.stdout.split()[1]


def sign(key: Path, path: Path) -> None:
    """``ssh-keygen -Y sign`` of ``path`` with ``key``: writes ``PATH.sig``."""
    subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(path)],
        check=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def ssh_keygen_verifies(archive: Path, trusted: Path) -> None:
    """The site's check of a signed shipment, exactly as the README gives it."""
    with Path(f"{archive}.sha256").open("rb") as sums:
        checked = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(trusted), "-I", PRINCIPAL,
             "-n", NAMESPACE, "-s", f"{archive}.sha256.sig"],
            stdin=sums, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
