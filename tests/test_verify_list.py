"""`scrape verify` and `scrape list` on trees the real registry wrote, then broken ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.skopeo import PopulatedRegistry
from tests.support.trees import V2, blob_file

pytestmark = pytest.mark.e2e


def test_verify_a_real_registry_tree(populated_registry: PopulatedRegistry) -> None:
    result = run_cli("verify", "--data-dir", str(populated_registry.root), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and report["problems"] == [] and report["orphans"] == []
    assert report["repositories"] == 6 and report["tags"] == 6
    on_disk = list((populated_registry.root / V2 / "blobs").rglob("data"))
    assert report["blobs_verified"] == len(on_disk)


def test_verify_finds_corruption_dangling_links_and_orphans(
    populated_registry: PopulatedRegistry, tmp_path: Path
) -> None:
    root = tmp_path / "tree"
    shutil.copytree(populated_registry.root, root)
    images = populated_registry.images
    corrupt = blob_file(root, images.plain.layer_digests[0])
    data = bytearray(corrupt.read_bytes())
    data[0] ^= 1
    corrupt.write_bytes(bytes(data))
    blob_file(root, images.shared_b.layer_digests[-1]).unlink()
    orphan = blob_file(root, "sha256:" + "0" * 64)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"orphan")
    result = run_cli("verify", "--data-dir", str(root), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    problems = "\n".join(report["problems"])
    assert f"blob {images.plain.layer_digests[0]} is corrupt" in problems
    assert images.shared_b.layer_digests[-1] in problems
    # Its _layers link now dangles: a warning (garbage-collect leaves those too).
    assert any("dangling link" in line for line in report["warnings"])
    # No link reaches it, so it is an orphan (reported, not verified, not a failure).
    assert report["orphans"] == ["sha256:" + "0" * 64]
    only_shared_a = run_cli(
        "verify", "--data-dir", str(root), populated_registry.pushed["shared_a"].ref
    )
    assert only_shared_a.exit_code == 0, only_shared_a.output


def test_orphans_are_reported_not_failed(
    populated_registry: PopulatedRegistry, tmp_path: Path
) -> None:
    root = tmp_path / "tree"
    shutil.copytree(populated_registry.root, root)
    shutil.rmtree(root / V2 / "repositories" / "shared" / "b")
    result = run_cli("verify", "--data-dir", str(root))
    assert result.exit_code == 0, result.output
    own_layer = populated_registry.images.shared_b.layer_digests[-1]
    assert f"orphan blob {own_layer}" in result.stdout
    assert f"orphan blob {populated_registry.pushed['shared_b'].digest}" in result.stdout


def test_list_repositories_and_tags(populated_registry: PopulatedRegistry) -> None:
    result = run_cli("list", "--data-dir", str(populated_registry.root))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "legacy/schema1  old",
        "library/plain  1.0",
        "shared/a  1",
        "shared/b  1",
        "team/multiarch  v1",
        "team/schema2  latest",
    ]
    narrowed = run_cli("list", "--data-dir", str(populated_registry.root), "shared/*")
    assert narrowed.stdout.splitlines() == ["shared/a  1", "shared/b  1"]
