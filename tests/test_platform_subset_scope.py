"""Index children left out by choice: only in the images a ``--platform`` shipment carried.

A shipment tree takes runs one after another, each with its receipt. One run with
``--platform`` makes its images hold only some children, on purpose; a later run without it
ships whole images, and a child missing from one of those is damage, whatever an earlier
receipt said. Through the real CLI, into a tree that took both runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from scraper_core import layout
from scraper_core.testing.tree import SyntheticImage
from tests.support.cli import run_cli
from tests.support.trees import local_writer


def two_indexes(root: Path) -> dict[str, list[SyntheticImage]]:
    """``app:multi`` and ``other:multi``, indexes of two children (arch0, arch1) each."""
    writer = local_writer(root)
    children = {}
    for name in ("app", "other"):
        children[name] = [writer.image(name, None, arch=f"arch{n}") for n in range(2)]
        writer.index(name, "multi", children[name])
    return children


def test_only_the_platform_shipment_s_images_may_lack_children(tmp_path: Path) -> None:
    data, ship = tmp_path / "data", tmp_path / "ship"
    children = two_indexes(data)
    into_ship = ("--data-dir", str(data), "--output-dir", str(ship))
    subset = run_cli(*into_ship, "--platform", "linux/arch0", "app:multi")
    assert subset.exit_code == 0, subset.output
    whole = run_cli(*into_ship, "other:multi")
    assert whole.exit_code == 0, whole.output
    # Lost on the way: a child of the image the whole run shipped.
    lost = children["other"][1].manifest
    revision = ship / layout.revision_link_path("other", lost).lstrip("/")
    shutil.rmtree(revision.parent)

    from_ship = ("--data-dir", str(ship))
    damaged = run_cli(*from_ship, "--output-dir", str(tmp_path / "site"), "other:multi")
    assert damaged.exit_code == 1, damaged.output
    assert "not shipped" not in damaged.stderr
    assert f"manifest not found: other@{lost}" in damaged.output, damaged.output

    chosen = run_cli(*from_ship, "--output-dir", str(tmp_path / "site2"), "app:multi")
    assert chosen.exit_code == 0, chosen.output
    assert "not shipped" in chosen.stderr  # the arch1 child, left out by choice
