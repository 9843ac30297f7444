"""Signed shipments (issue 19 item 6): ``--sign-key`` writes ``FILE.sha256.sig``, checked by
ssh-keygen as a site would, and trusted keys (``--trusted-keys FILE`` or ``-o trusted-keys=``)
refuse, before any write, a shipment that is unsigned, signed by another key, or whose volumes
or checksums do not match; the flag belongs to the tar source alone.

Through the real CLI and the real ssh-keygen, with keys made here.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import run_cli as run
from tests.support.cli import without_env_notes
from tests.support.signing import (
    PRINCIPAL,
    allowed_signers,
    fingerprint,
    make_key,
    sign,
    ssh_keygen_verifies,
)
from tests.support.trees import local_tree

#: The two ways to name the allowed-signers file: the shorthand flag and the driver option.
TRUST_FORMS = ("flag", "option")


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
    return local_tree(tmp_path / "data", {"app:v1": (30_000, 20_000), "app:v2": (10_000,)})


def ship(source: Path, archive: Path, *args: str) -> None:
    result = run("--data-dir", str(source), "--output-tar", str(archive), *args, "app:v1")
    assert result.exit_code == 0, result.output


def trusting(trusted: Path, form: str) -> list[str]:
    if form == "flag":
        return ["--trusted-keys", str(trusted)]
    return ["-o", f"trusted-keys={trusted}"]


def import_to(archive: Path, site: Path, trusted: Path, form: str = "option") -> Result:
    return run(
        "--storage", "tar", "--data-dir", str(archive), *trusting(trusted, form),
        "--output-dir", str(site), "--all-tags", "**",
    )  # fmt: skip


def verify(archive: Path, trusted: Path, form: str = "option") -> Result:
    return run("verify", "--storage", "tar", "--data-dir", str(archive), *trusting(trusted, form))


def one_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


# Volumes named by the flag, one file by the option: each form of trust, each archive shape.
@pytest.mark.parametrize(("split", "form"), [(False, "option"), (True, "flag")])
def test_signed_shipment_checks_with_ssh_keygen_and_imports_under_trusted_keys(
    tmp_path: Path, source: Path, keys: tuple[Path, Path], split: bool, form: str
) -> None:
    key, trusted = keys
    archive = tmp_path / "ship.tar"
    ship(source, archive, "--sign-key", str(key), *(["--split-size", "16K"] if split else []))
    ssh_keygen_verifies(archive, trusted)
    assert (".000" in Path(f"{archive}.sha256").read_text()) is split

    assert verify(archive, trusted, form).exit_code == 0
    site = tmp_path / "site"
    result = import_to(archive, site, trusted, form)
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
    sign(other, Path(f"{archive}.sha256"))


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
    ("spoil", "says", "form"),
    [
        (unsigned, "is not signed", "flag"),
        (signed_by_another_key, "signed by a key", "flag"),
        (volume_altered, "does not match the signed", "option"),
        (checksums_altered, "does not match its signature", "option"),
    ],
    ids=["unsigned", "another-key", "volume-altered", "checksums-altered"],
)
def test_a_shipment_not_trusted_is_refused_in_one_line_before_any_write(
    tmp_path: Path,
    source: Path,
    keys: tuple[Path, Path],
    spoil: Callable[[Path, Path], None],
    says: str,
    form: str,
) -> None:
    key, trusted = keys
    site = tmp_path / "site"
    shipments = tmp_path / "shipments"
    shipments.mkdir()
    first = shipments / "first.tar"
    ship(source, first, "--sign-key", str(key))
    assert import_to(first, site, trusted).exit_code == 0
    archive = shipments / "ship.tar"
    result = run(
        "--data-dir", str(source), "--output-tar", str(archive), "--sign-key", str(key), "app:v2"
    )
    assert result.exit_code == 0, result.output
    spoil(archive, key.parent)
    before, shipped = everything(site), everything(shipments)

    for refused in (import_to(archive, site, trusted, form), verify(archive, trusted, form)):
        assert refused.exit_code == 2, refused.output
        assert says in one_line(refused)
    assert everything(site) == before
    assert everything(shipments) == shipped


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


@pytest.mark.parametrize("command", ["copy", "verify", "list", "inventory"])
def test_the_flag_is_in_the_help_of_every_command_reading_a_source(command: str) -> None:
    helped = run(command, "--help")
    assert helped.exit_code == 0, helped.output
    listed = without_env_notes(helped.stdout)
    assert "KEY=VALUE Option for the storage driver (repeatable). --trusted-keys " in listed
    assert "--trusted-keys ALLOWED_SIGNERS With --storage tar:" in listed


@pytest.mark.parametrize("command", ["copy", "verify", "list", "inventory"])
def test_trusted_keys_with_another_source_is_refused_in_one_line(
    tmp_path: Path, source: Path, keys: tuple[Path, Path], command: str
) -> None:
    _, trusted = keys
    out = tmp_path / "out"
    more = ["--output-dir", str(out), "app:v1"] if command == "copy" else []
    refused = run(
        command, "--storage", "local", "--data-dir", str(source), "--trusted-keys", str(trusted),
        *more,
    )  # fmt: skip
    assert refused.exit_code == 2, refused.output
    assert one_line(refused) == (
        "error: --trusted-keys belongs to the tar source (--storage tar), not --storage local"
    )
    assert not out.exists()


def test_trusted_keys_with_a_source_from_a_registry_config_is_refused(
    tmp_path: Path, source: Path
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {source}\n")
    assert run("list", "--registry-config", str(config)).exit_code == 0
    refused = run("list", "--registry-config", str(config), "--trusted-keys", "keys")
    assert refused.exit_code == 2
    assert one_line(refused) == (
        "error: --trusted-keys belongs to the tar source (--storage tar), not --registry-config"
    )
