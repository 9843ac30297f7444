"""A migration that loses nothing, through registry 2.8 and skopeo (issue 19, item 1).

The source holds tagged images, one whose tag moved away (its old manifest untagged) and one
left without a tag (as a push by digest leaves it). ``--all-tags '**' --all-manifests``
copies them all: a registry on the copy serves by digest every revision the source serves.
Without the flag the run says how many it left out.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_cli as cli
from tests.support.registry import RegistryFactory, RegistryServer
from tests.support.skopeo import PushSource, inspect_digest
from tests.support.trees import stored_blobs

pytestmark = pytest.mark.e2e

REVISIONS = Path("docker/registry/v2/repositories/team/app/_manifests/revisions/sha256")


def root_of(server: RegistryServer) -> Path:
    assert server.rootdir is not None
    return server.rootdir


def verify_counts(root: Path) -> tuple[int, int]:
    """Blobs verified through tags, and orphans (held, reached by no tag), as verify says."""
    checked = cli("verify", "--data-dir", str(root), "--json")
    assert checked.exit_code == 0, checked.output
    document = json.loads(checked.stdout)
    return document["blobs_verified"], len(document["orphans"])


def test_all_manifests_migrates_every_revision_the_source_serves(
    push_source: PushSource, filesystem_registry: RegistryFactory, tmp_path: Path
) -> None:
    source = push_source.server
    moved_away = push_source.push("plain", "team/app:v1")
    tagged = push_source.push("shared-a", "team/app:v1")
    untagged = push_source.push("shared-b", "team/app:gone")
    source.stop()
    # What a push by digest leaves: a revision and no tag.
    shutil.rmtree(root_of(source) / "docker/registry/v2/repositories/team/app/_manifests/tags/gone")
    revisions = {f"sha256:{entry.name}" for entry in (root_of(source) / REVISIONS).iterdir()}
    assert revisions == {moved_away, tagged, untagged}

    partial = tmp_path / "partial"
    without = cli(
        "--data-dir", str(root_of(source)), "--output-dir", str(partial), "--all-tags", "**"
    )
    assert without.exit_code == 0, without.output
    assert "team/app: left out 2 untagged manifests" in without.stderr

    migrated = tmp_path / "migrated"
    copied = cli(
        "--data-dir",
        str(root_of(source)),
        "--output-dir",
        str(migrated),
        "--all-tags",
        "**",
        "--all-manifests",
    )
    assert copied.exit_code == 0, copied.output
    assert "untagged" not in copied.stderr
    assert stored_blobs(migrated) == stored_blobs(root_of(source))
    assert verify_counts(migrated) == verify_counts(root_of(source))

    source.start()
    served = filesystem_registry(migrated)
    for digest in revisions:
        assert inspect_digest(source.url, f"team/app@{digest}") == digest
        assert inspect_digest(served.url, f"team/app@{digest}") == digest
    assert inspect_digest(served.url, "team/app:v1") == tagged
