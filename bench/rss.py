"""Peak RSS while scraping one image whose single layer is 1 GiB.

The image is written straight through the local driver (TreeWriter for the manifest, config and
links): pushing 1 GiB through skopeo and a registry would add a minute and prove nothing more.
The layer is streamed to disk in 16 MiB chunks, so building it holds no more than that.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from bench.measure import SCRAPE, Sample, clear, peak_rss_mib, scrape_args
from bench.report import Row, Target
from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.testing.tree import TreeWriter

CHUNK = 16 << 20
REPOSITORY = "bench/one-layer"
BUDGET_MIB = 150.0


def _chunks(size: int, block: bytearray) -> Iterator[bytes]:
    """``size`` bytes as chunks of ``block``, each stamped with its number (so they differ).

    Called twice with one block it yields the same bytes twice: the digest names the blob's
    path, so one pass hashes and the next writes, and neither holds more than a chunk.
    """
    for number, start in enumerate(range(0, size, CHUNK)):
        block[:8] = number.to_bytes(8, "big")
        yield bytes(block[: min(CHUNK, size - start)])


def _write_layer(driver: CheckedDriver, size: int) -> Digest:
    block = bytearray(os.urandom(CHUNK))
    hasher = hashlib.sha256()
    for chunk in _chunks(size, block):
        hasher.update(chunk)
    digest = Digest("sha256", hasher.hexdigest())
    with driver.writer(layout.blob_data_path(digest)) as writer:
        for chunk in _chunks(size, block):
            writer.write(chunk)
        writer.commit()
    return digest


def build_one_layer_image(root: Path, size: int) -> tuple[str, Digest]:
    """A registry tree at ``root`` holding ``bench/one-layer:1``: the reference, the layer."""
    local = LocalDriver.open(str(root), {}, read_only=False)
    driver = CheckedDriver(local, read_only=False)
    tree = TreeWriter(driver)
    layer = _write_layer(driver, size)
    tree.image_of_stored_layers(REPOSITORY, "1", [(layer, size)])
    local.close()
    return f"{REPOSITORY}:1", layer


def rss_row(work: Path, size: int, repeat: int) -> Row:
    """Peak RSS of the copy (worst of ``repeat`` fresh runs) against that of `scrape --help`."""
    root, out = work / "rss-source", work / "rss-out"
    ref, layer = build_one_layer_image(root, size)
    copies = []
    for _ in range(repeat):
        clear(out)
        copies.append(peak_rss_mib(scrape_args(root, out, [ref])))
    copied = out / layout.blob_data_path(layer).lstrip("/")
    complete = copied.is_file() and copied.stat().st_size == size
    clear(root, out)
    floor = [peak_rss_mib([SCRAPE, "--help"]) for _ in range(repeat)]
    return Row(
        f"peak RSS copying a {size >> 20} MiB layer",
        "MiB",
        Sample(tuple(copies)),
        Sample(tuple(floor)),
        "peak RSS of scrape --help",
        Target("<=", BUDGET_MIB, absolute=True, unit="MiB"),
        notes=[f"target is on the worst run; layer copied whole: {complete}"],
    )
