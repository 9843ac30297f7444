"""A rerun and blobs already at the destination: trusted by size, or re-hashed (--recheck).

A default rerun keeps a present blob of the right size without reading it (fast, and what the
README promises); --recheck re-hashes each one, in chunks, and replaces a damaged one with a
fresh copy verified while it streams, renamed over it atomically.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import Result

from scraper_core.transfer import KERNEL_COPY_MIN_SIZE
from tests.support.cli import run_cli
from tests.support.registry import RegistryFactory
from tests.support.reliability import record
from tests.support.skopeo import PopulatedRegistry, SkopeoError, pull
from tests.support.trees import V2, blob_file, local_writer, snapshot


def damage(path: Path) -> bytes:
    """Flip bytes in the middle of a file, keeping its size; returns the sound bytes."""
    sound = path.read_bytes()
    middle = len(sound) // 2
    damaged = bytearray(sound)
    for offset in range(middle, min(middle + 16, len(sound))):
        damaged[offset] ^= 0xFF
    path.write_bytes(bytes(damaged))
    return sound


def is_sound(path: Path) -> bool:
    return hashlib.sha256(path.read_bytes()).hexdigest() == path.parent.name


def scrape(source: Path, output: Path, *args: str) -> Result:
    command = ["--data-dir", str(source), "--output-dir", str(output), *args]
    return run_cli(*command)


def test_recheck_replaces_damaged_blobs_and_only_those(tmp_path: Path) -> None:
    source, output = tmp_path / "data", tmp_path / "copy"
    writer = local_writer(source)
    # A streamed layer, a kernel-copied one, and the manifest (written from the plan).
    image = writer.image("app", "v1", layer_sizes=(5000, KERNEL_COPY_MIN_SIZE + 4096))
    before = snapshot(source)
    assert scrape(source, output, "app:v1").exit_code == 0
    damaged = [image.layers[0], image.layers[1], image.manifest]
    for digest in damaged:
        damage(blob_file(output, digest))

    trusting = scrape(source, output, "app:v1")
    assert trusting.exit_code == 0, trusting.output
    assert "4 present blobs trusted by size (--recheck re-hashes them)" in trusting.stderr
    assert not any(is_sound(blob_file(output, digest)) for digest in damaged)

    checking = scrape(source, output, "--recheck", "--json", "app:v1")
    assert checking.exit_code == 0, checking.output
    document = json.loads(checking.stdout)
    assert (document["blobs_rechecked"], document["blobs_replaced"]) == (1, 3)
    [result] = document["images"]
    assert (result["blobs_copied"], result["blobs_present"]) == (3, 1)
    assert "4 present blobs re-hashed, 3 damaged replaced" in checking.stderr
    assert all(is_sound(path) for path in (output / V2 / "blobs").rglob("data"))
    assert not [path for path in output.rglob("*") if ".scrape-tmp" in path.name]

    again = scrape(source, output, "--recheck", "app:v1")
    assert again.exit_code == 0
    assert "app:v1" in again.stdout and "(4 re-checked, 0 replaced)" in again.stdout
    assert snapshot(source) == before


def test_recheck_of_a_blob_grown_in_place_copies_it_anew(tmp_path: Path) -> None:
    # A wrong size is caught by every rerun, --recheck or not.
    source, output = tmp_path / "data", tmp_path / "copy"
    writer = local_writer(source)
    image = writer.image("app", "v1")
    assert scrape(source, output, "app:v1").exit_code == 0
    path = blob_file(output, image.layers[0])
    path.write_bytes(path.read_bytes() + b"tail")
    assert scrape(source, output, "app:v1").exit_code == 0
    assert is_sound(path)


@pytest.mark.e2e
def test_recheck_then_a_stock_registry_serves_the_copy(
    populated_registry: PopulatedRegistry,
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
) -> None:
    source = populated_registry.root
    pushed = populated_registry.pushed["plain"]
    output = tmp_path / "copy"
    before = snapshot(source)
    first = scrape(source, output, pushed.ref)
    assert first.exit_code == 0, first.output
    layers = populated_registry.images.plain.layer_digests
    biggest = max(layers, key=lambda digest: blob_file(output, digest).stat().st_size)
    target = blob_file(output, biggest)
    sound = damage(target)
    served = filesystem_registry(output)

    # Default rerun: the damaged blob has the right size, so it is trusted and stays damaged.
    trusting = scrape(source, output, pushed.ref)
    assert trusting.exit_code == 0, trusting.output
    assert "trusted by size (--recheck re-hashes them)" in trusting.stderr
    assert target.read_bytes() != sound
    with pytest.raises(SkopeoError):
        pull(served.url, pushed.ref, tmp_path / "pull-damaged")

    checking = scrape(source, output, "--recheck", pushed.ref)
    assert checking.exit_code == 0, checking.output
    assert "1 damaged replaced" in checking.stderr
    assert target.read_bytes() == sound
    pulled = pull(served.url, pushed.ref, tmp_path / "pull-repaired")
    assert pulled.digest == pushed.digest
    assert snapshot(source) == before
    record("rerun-recheck")
