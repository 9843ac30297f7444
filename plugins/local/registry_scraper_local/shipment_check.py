"""The volumes read are the ones ``FILE.sha256`` beside them lists, with its sha256 each.

A signed shipment (``--storage tar -o trusted-keys=ALLOWED_SIGNERS``): its checksum file is
signed by a trusted key, and every volume (and the receipt beside it) has the sha256 that file
lists; nothing in the archive is looked at before this holds. Unsigned, the same volumes check
is made whenever ``FILE.sha256`` is there (:func:`check_listed_sums`): the member index proves
every member the reader gives out, but not what no run reads (another image's blobs, padding,
headers' unchecked fields), so a volume damaged there would import silently.

The checksum file and the signature are read once, bounded, and those bytes are the ones
checked and used; the volumes are hashed through the descriptors the reader then reads.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from registry_scraper_local.archive_files import open_regular, read_regular
from registry_scraper_local.archive_volumes import SUMS_LIMIT, Concatenation, VolumeSet
from registry_scraper_local.shipment_signature import MAX_SIGNATURE_SIZE, Signer, verify
from scraper_core.errors import ConfigurationError

_SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
#: Bytes hashed per read: memory stays bounded whatever a volume's size.
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Provenance:
    """What a checked shipment proves: who signed it and the sha256 of its receipt (the
    one beside it, ``FILE.receipt.json``; None when the set has none)."""

    signer: Signer
    receipt_sha256: str | None

    def document(self) -> dict[str, object]:
        return {
            "receipt_sha256": self.receipt_sha256,
            "signed_by": {"principal": self.signer.principal, "key": self.signer.fingerprint},
        }


def base_of(volumes: VolumeSet) -> str:
    first = volumes.paths[0]
    return first[:-4] if first.endswith(".000") else first


def check_shipment(
    volumes: VolumeSet, data: Concatenation, allowed_signers: str, location: str
) -> Provenance:
    """The shipment's provenance, or a one-line ConfigurationError naming what is wrong."""
    base = base_of(volumes)
    sums = read_regular(base + ".sha256", SUMS_LIMIT)
    if sums is None:
        raise ConfigurationError(f"tar: {location} has no checksum file {base}.sha256 to trust")
    signature = read_regular(base + ".sha256.sig", MAX_SIGNATURE_SIZE)
    if signature is None:
        raise ConfigurationError(f"tar: {location} is not signed (no {base}.sha256.sig)")
    signer = verify(sums, signature, allowed_signers, base)
    listed = _listed(sums, base)
    _check_volumes(volumes, data, listed, f"the signed {base}.sha256")
    return Provenance(signer, _receipt_sha256(base, listed))


def check_listed_sums(volumes: VolumeSet, data: Concatenation) -> None:
    """When ``FILE.sha256`` is beside the set (a regular file, not through a symlink): the
    volumes are those it lists, each with the sha256 it lists; else a one-line
    ConfigurationError naming the volume. Without one there is nothing to check against."""
    base = base_of(volumes)
    sums = read_regular(base + ".sha256", SUMS_LIMIT)
    if sums is not None:
        _check_volumes(volumes, data, _listed(sums, base), f"{base}.sha256")


def _check_volumes(
    volumes: VolumeSet, data: Concatenation, listed: dict[str, str], sums_name: str
) -> None:
    base = base_of(volumes)
    names = [os.path.basename(path) for path in volumes.paths]
    volume_names = [name for name in listed if name != os.path.basename(base) + ".receipt.json"]
    if volume_names != names:
        raise ConfigurationError(
            f"tar: {base}.sha256 lists volumes {', '.join(volume_names) or 'none'}, "
            f"not {', '.join(names)}"
        )
    for part in data.parts:
        if _hash_fd(part.fd, part.size) != listed[part.name]:
            raise ConfigurationError(f"tar: volume {part.name} does not match {sums_name}")


def _listed(sums: bytes, base: str) -> dict[str, str]:
    """Name -> sha256 of each line of the checksum file (in order)."""
    listed: dict[str, str] = {}
    for line in sums.decode("utf-8", "replace").splitlines():
        match = _SUM_LINE.fullmatch(line)
        if match is None or match.group(2) in listed:
            raise ConfigurationError(f"tar: {base}.sha256 has a line not in sha256sum format")
        listed[match.group(2)] = match.group(1)
    return listed


def _receipt_sha256(base: str, listed: dict[str, str]) -> str | None:
    name = os.path.basename(base) + ".receipt.json"
    expected = listed.get(name)
    if expected is None:
        return None
    path = base + ".receipt.json"
    # A regular file only: a FIFO there would block the import.
    fd = open_regular(path, os.O_RDONLY, "receipt")
    try:
        found = _hash_fd(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    if found != expected:
        raise ConfigurationError(f"tar: {path} does not match the signed {base}.sha256")
    return expected


def _hash_fd(fd: int, size: int) -> str:
    hasher = hashlib.sha256()
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(_CHUNK, size - offset), offset)
        if not chunk:
            break
        hasher.update(chunk)
        offset += len(chunk)
    # A volume longer than when it was opened is not the one listed either.
    if os.pread(fd, 1, offset):
        hasher.update(b"\0")
    return hasher.hexdigest()
