"""`scrape verify` on what `scrape --platform` makes, through the real registry and skopeo.

The copy holds the index unchanged and only the chosen children: the others are left out by
choice (a note), not missing (a problem). `verify --platform` mirrors the copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_process import Completed, run_scrape
from tests.support.images import build_image, build_index
from tests.support.recorded import recorded
from tests.support.registry import RegistryServer
from tests.support.skopeo import push
from tests.support.trees import V2, blob_file

pytestmark = pytest.mark.e2e


def revision_link(root: Path, name: str, digest: str) -> Path:
    return root / V2 / "repositories" / name / "_manifests/revisions/sha256" / digest[7:] / "link"


def verify(root: Path, *args: str) -> tuple[Completed, dict[str, Any]]:
    result = run_scrape("verify", "--data-dir", str(root), "--json", *args)
    assert "Traceback" not in result.stderr, result.describe()
    return result, json.loads(result.stdout)


def test_a_platform_copy_verifies_clean_and_verify_platform_mirrors_it(
    registry_server: RegistryServer, skopeo_binary: str, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    index = build_index(layout, "multi", seed="verify-platform", layer_sizes=(3000,))
    build_image(layout, "single", seed="verify-platform-single")
    push(layout, "multi", registry_server.url, "team/multi:v1", all_platforms=True)
    push(layout, "single", registry_server.url, "team/single:v1")
    amd64, arm64 = index.images
    assert (amd64.platform.architecture, arm64.platform.architecture) == ("amd64", "arm64")
    source = registry_server.rootdir
    assert source is not None
    copy = tmp_path / "copy"
    scraped = run_scrape(
        "--data-dir",
        str(source),
        "--output-dir",
        str(copy),
        "--platform",
        "linux/arm64",
        "team/multi:v1",
        "team/single:v1",
    )
    assert scraped.returncode == 0, scraped.describe()
    assert not blob_file(copy, amd64.manifest_digest).exists()

    with recorded("verify-platform-copy"):
        plain, report = verify(copy)
        assert plain.returncode == 0, plain.describe()
        assert report["problems"] == [] and report["orphans"] == []
        assert report["notes"] == [
            f"team/multi:v1: left out linux/amd64 ({amd64.manifest_digest}): not in team/multi"
        ]
        note = f"note: team/multi:v1: left out linux/amd64 ({amd64.manifest_digest})"
        assert note in plain.stderr

        mirrored, report = verify(copy, "--platform", "linux/arm64")
        assert mirrored.returncode == 0, mirrored.describe()
        assert report["notes"] == [] and report["problems"] == []

        left_out, report = verify(copy, "--platform", "linux/amd64")
        assert left_out.returncode == 1, left_out.describe()
        problems = report["problems"]
        assert len(problems) == 1
        assert f"manifest not found: team/multi@{amd64.manifest_digest}" in problems[0]

        absent, report = verify(copy, "--platform", "linux/s390x")
        assert absent.returncode == 1, absent.describe()
        assert report["problems"] == [
            f"team/multi:v1: team/multi@{index.digest[:19]} has no manifest for linux/s390x "
            "(it has: linux/amd64, linux/arm64/v8)"
        ]

        # The source, which holds every platform, verifies with no note.
        whole, report = verify(source)
        assert whole.returncode == 0 and report["notes"] == [], whole.describe()


def test_half_a_child_is_a_problem_a_left_out_one_is_not(
    registry_server: RegistryServer, skopeo_binary: str, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    index = build_index(layout, "multi", seed="verify-platform-half", layer_sizes=(2000,))
    push(layout, "multi", registry_server.url, "team/multi:v1", all_platforms=True)
    source = registry_server.rootdir
    assert source is not None
    amd64, _arm64 = index.images

    # Linked, but its blob is gone: a pull of that platform fails. A problem.
    linked_only = tmp_path / "linked-only"
    shutil.copytree(source, linked_only)
    blob_file(linked_only, amd64.manifest_digest).unlink()
    result, report = verify(linked_only)
    assert result.returncode == 1, result.describe()
    problems = "\n".join(report["problems"])
    assert f"blob missing from source: {amd64.manifest_digest}" in problems

    # Stored, but this repository does not link it: the registry answers 404 for it, as for
    # a left-out child. A note, and its blob, which nothing uses, an orphan.
    stored_only = tmp_path / "stored-only"
    shutil.copytree(source, stored_only)
    shutil.rmtree(revision_link(stored_only, "team/multi", amd64.manifest_digest).parent)
    result, report = verify(stored_only)
    assert result.returncode == 0, result.describe()
    assert report["notes"] == [
        f"team/multi:v1: left out linux/amd64 ({amd64.manifest_digest}): not in team/multi"
    ]
    assert amd64.manifest_digest in report["orphans"]
