"""Signed shipments (issue 19 item 6): ``--sign-key`` writes ``FILE.sha256.sig``, checked by
ssh-keygen as a site would, and ``-o trusted-keys`` refuses, before any write, a shipment
that is unsigned, signed by another key, or whose volumes or checksums do not match.

Through the real CLI and the real ssh-keygen, with keys made here.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import run_cli as run
from tests.support.trees import local_writer

#: ssh-keygen signs or checks a small file in well under a second; never wait forever.
TIMEOUT = 60
PRINCIPAL = "shipper@example.org"


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


def everything(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (receipts included) with its bytes."""
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The shipper's key and the allowed-signers file trusting it; no agent in play."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    directory = tmp_path / "keys"
    directory.mkdir()
    key = make_key(directory, "shipper")
    return key, allowed_signers(directory, key)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    tree = local_writer(root)
    tree.image("app", "v1", layer_sizes=(30_000, 20_000))
    tree.image("app", "v2", layer_sizes=(10_000,))
    return root


def ship(source: Path, archive: Path, *args: str) -> None:
    result = run("--data-dir", str(source), "--output-tar", str(archive), *args, "app:v1")
    assert result.exit_code == 0, result.output


def import_to(archive: Path, site: Path, trusted: Path) -> Result:
    return run(
        "--storage", "tar", "--data-dir", str(archive), "-o", f"trusted-keys={trusted}",
        "--output-dir", str(site), "--all-tags", "**",
    )  # fmt: skip


def verify(archive: Path, trusted: Path) -> Result:
    return run(
        "verify", "--storage", "tar", "--data-dir", str(archive), "-o", f"trusted-keys={trusted}"
    )


@pytest.mark.parametrize("split", [False, True], ids=["one-file", "volumes"])
def test_signed_shipment_checks_with_ssh_keygen_and_imports_under_trusted_keys(
    tmp_path: Path, source: Path, keys: tuple[Path, Path], split: bool
) -> None:
    key, trusted = keys
    archive = tmp_path / "ship.tar"
    ship(source, archive, "--sign-key", str(key), *(["--split-size", "16K"] if split else []))
    sums, signature = Path(f"{archive}.sha256"), Path(f"{archive}.sha256.sig")
    # The site's check, exactly as documented.
    with sums.open("rb") as stdin:
        checked = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(trusted), "-I", PRINCIPAL, "-n",
             "registry-scraper", "-s", str(signature)],
            stdin=stdin, capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert (".000" in sums.read_text()) is split

    assert verify(archive, trusted).exit_code == 0
    site = tmp_path / "site"
    result = import_to(archive, site, trusted)
    assert result.exit_code == 0, result.output
    (receipt,) = (site / "scrape-receipts").iterdir()
    shipped = Path(f"{archive}.receipt.json").read_bytes()
    assert json.loads(receipt.read_bytes())["signed_shipment"] == {
        "receipt_sha256": hashlib.sha256(shipped).hexdigest(),
        "signed_by": {"principal": PRINCIPAL, "key": fingerprint(key)},
    }


def unsigned(archive: Path, keys_dir: Path) -> None:
    Path(f"{archive}.sha256.sig").unlink()


def signed_by_another_key(archive: Path, keys_dir: Path) -> None:
    other = make_key(keys_dir, "intruder")
    Path(f"{archive}.sha256.sig").unlink()
    subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-f", str(other), "-n", "registry-scraper",
         f"{archive}.sha256"],
        check=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def volume_altered(archive: Path, keys_dir: Path) -> None:
    with archive.open("r+b") as volume:
        volume.seek(4000)
        byte = volume.read(1)
        volume.seek(4000)
        volume.write(bytes([byte[0] ^ 1]))


def checksums_altered(archive: Path, keys_dir: Path) -> None:
    """The checksum file made to agree with an altered volume: the signature no longer does."""
    volume_altered(archive, keys_dir)
    sums = Path(f"{archive}.sha256")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    lines = sums.read_text().splitlines()
    lines[0] = f"{digest}  {archive.name}"
    sums.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (unsigned, "is not signed"),
        (signed_by_another_key, "signed by a key"),
        (volume_altered, "does not match the signed"),
        (checksums_altered, "does not match its signature"),
    ],
    ids=["unsigned", "another-key", "volume-altered", "checksums-altered"],
)
def test_a_shipment_not_trusted_is_refused_before_any_write(
    tmp_path: Path,
    source: Path,
    keys: tuple[Path, Path],
    spoil: Callable[[Path, Path], None],
    says: str,
) -> None:
    key, trusted = keys
    site = tmp_path / "site"
    first = tmp_path / "first.tar"
    ship(source, first, "--sign-key", str(key))
    assert import_to(first, site, trusted).exit_code == 0
    archive = tmp_path / "ship.tar"
    result = run(
        "--data-dir", str(source), "--output-tar", str(archive), "--sign-key", str(key), "app:v2"
    )
    assert result.exit_code == 0, result.output
    spoil(archive, key.parent)
    before = everything(site)

    for refused in (import_to(archive, site, trusted), verify(archive, trusted)):
        assert refused.exit_code == 2, refused.output
        lines = refused.output.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], refused.output
        assert "Traceback" not in refused.output
    assert everything(site) == before


def test_a_key_with_a_passphrase_is_refused_before_anything_is_written(
    tmp_path: Path, source: Path, keys: tuple[Path, Path]
) -> None:
    locked = make_key(tmp_path / "keys", "locked", passphrase="secret words")
    archive = tmp_path / "out" / "ship.tar"
    archive.parent.mkdir()
    result = run(
        "--data-dir", str(source), "--output-tar", str(archive), "--sign-key", str(locked),
        "app:v1",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "cannot be loaded without a passphrase" in result.output.strip().splitlines()[-1]
    assert os.listdir(archive.parent) == []


def test_an_unsigned_run_over_a_signed_set_leaves_no_stale_signature(
    tmp_path: Path, source: Path, keys: tuple[Path, Path]
) -> None:
    key, trusted = keys
    archive = tmp_path / "ship.tar"
    ship(source, archive, "--sign-key", str(key))
    assert Path(f"{archive}.sha256.sig").exists()
    ship(source, archive)
    assert not Path(f"{archive}.sha256.sig").exists()
    assert verify(archive, trusted).exit_code == 2


def test_an_entry_naming_several_principals_is_trusted(
    tmp_path: Path, source: Path, keys: tuple[Path, Path]
) -> None:
    key, trusted = keys
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    trusted.write_text(f"ops@example.org,{PRINCIPAL} {kind} {blob}\n")
    archive = tmp_path / "ship.tar"
    ship(source, archive, "--sign-key", str(key))
    result = verify(archive, trusted)
    assert result.exit_code == 0, result.output
