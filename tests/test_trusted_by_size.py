""" "N present blobs trusted by size" counts blobs that were at the destination before the run,
never blobs shared by images of the same run (issue 18: it was printed for a layer two images
share inside one new archive, where nothing was present). A shared blob is still "already
present" for the second image in its own line: it was copied once, for the first."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import run_cli
from tests.support.trees import local_writer


def two_images_sharing_a_layer(root: Path) -> None:
    writer = local_writer(root)
    shared = b"a layer both images have" * 100
    writer.image("one", "v1", layers=[shared, b"only one" * 50])
    writer.image("two", "v1", layers=[shared, b"only two" * 50])


def scrape(tmp_path: Path, *output: str) -> Result:
    args = ["--data-dir", str(tmp_path / "data"), *output, "one:v1", "two:v1"]
    return run_cli(*args)


@pytest.mark.parametrize("output", ["--output-dir", "--output-tar"])
def test_blobs_shared_in_one_new_copy_are_not_trusted_by_size(tmp_path: Path, output: str) -> None:
    two_images_sharing_a_layer(tmp_path / "data")
    suffix = ".tar" if output == "--output-tar" else ""
    result = scrape(tmp_path, output, str(tmp_path / f"copy{suffix}"))
    assert result.exit_code == 0, result.output
    assert "trusted by size" not in result.stderr
    assert "2 of 2 images copied" in result.stderr
    # The second image's own line still says its shared layer was there already.
    [line] = [line for line in result.stdout.splitlines() if line.startswith("two:v1")]
    assert line.endswith("1 already present")


def test_a_rerun_trusts_each_present_blob_once(tmp_path: Path) -> None:
    two_images_sharing_a_layer(tmp_path / "data")
    assert scrape(tmp_path, "--output-dir", str(tmp_path / "copy")).exit_code == 0
    again = scrape(tmp_path, "--output-dir", str(tmp_path / "copy"))
    assert again.exit_code == 0, again.output
    # Two manifests, two configs, two own layers and the shared one: 7 blobs, each once.
    assert "7 present blobs trusted by size (--recheck re-hashes them)" in again.stderr
