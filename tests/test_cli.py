"""The copy command on synthetic trees through the real local driver: fast, exact checks."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from scraper_core import layout
from scraper_core.cli import main
from scraper_core.errors import ConfigurationError
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import copy_under
from tests.support.trees import (
    SCRAPE_OWN_DIRECTORIES,
    blob_file,
    expected_files,
    local_writer,
    snapshot,
)


@pytest.fixture
def source(tmp_path: Path) -> TreeWriter:
    return local_writer(tmp_path / "data")


def test_copies_exactly_what_the_image_needs(tmp_path: Path, source: TreeWriter) -> None:
    wanted = source.image("team/app", "v1")
    source.image("team/app", "v2")
    source.image("other")
    before = snapshot(tmp_path / "data")
    result = copy_under(tmp_path, "team/app:v1")
    assert result.exit_code == 0, result.output
    copy = snapshot(tmp_path / "copy")
    assert set(copy) == expected_files(wanted, "v1")
    for path, (content, _mtime) in copy.items():
        assert content == before[path][0]
        if path.endswith("/link"):
            assert len(content) == 71 and content.startswith(b"sha256:")
    assert snapshot(tmp_path / "data") == before


def test_rerun_changes_nothing(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app")
    assert copy_under(tmp_path, "app").exit_code == 0
    first = snapshot(tmp_path / "copy")
    result = copy_under(tmp_path, "app")
    assert result.exit_code == 0
    assert "0 blobs copied" in result.stdout and "4 already present" in result.stdout
    assert snapshot(tmp_path / "copy") == first


def test_index_copies_every_child_and_shared_blobs_once(tmp_path: Path, source: TreeWriter) -> None:
    shared = os.urandom(5000)
    amd = source.image("multi", None, layers=[shared, os.urandom(100)])
    arm = source.image("multi", None, layers=[shared, os.urandom(200)], arch="arm64")
    index = source.index("multi", "1.0", [amd, arm])
    result = copy_under(tmp_path, "multi:1.0")
    assert result.exit_code == 0, result.output
    copy = snapshot(tmp_path / "copy")
    for child in (amd, arm):
        assert expected_files(child, None) <= set(copy)
    assert layout.revision_link_path("multi", index).lstrip("/") in copy
    # index + 2 manifests + 2 configs + shared + 2 own layers
    assert sum(1 for path in copy if path.endswith("/data")) == 8


def test_by_digest_writes_no_tag(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app", "v1")
    result = copy_under(tmp_path, f"app@{image.manifest}")
    assert result.exit_code == 0, result.output
    assert set(snapshot(tmp_path / "copy")) == expected_files(image, None)


def test_missing_tag_fails_that_image_only(tmp_path: Path, source: TreeWriter) -> None:
    good = source.image("app", "v1")
    result = copy_under(tmp_path, "app:nosuch", "app:v1", "ghost")
    assert result.exit_code == 1
    assert "error: app:nosuch: tag not found: app:nosuch\n" in result.stderr
    assert "error: ghost:latest: repository not found: ghost\n" in result.stderr
    assert "Traceback" not in result.output
    assert set(snapshot(tmp_path / "copy")) == expected_files(good, "v1")


def test_corrupt_blob_is_named_and_never_lands(tmp_path: Path, source: TreeWriter) -> None:
    bad = source.image("bad")
    good = source.image("good")
    blob = blob_file(tmp_path / "data", bad.layers[1])
    data = bytearray(blob.read_bytes())
    data[10] ^= 0xFF
    blob.write_bytes(bytes(data))
    result = copy_under(tmp_path, "bad", "good")
    assert result.exit_code == 1
    assert f"blob {bad.layers[1]} is corrupt in the source" in result.stderr
    copy = snapshot(tmp_path / "copy")
    assert layout.blob_data_path(bad.layers[1]).lstrip("/") not in copy
    # No link and no tag of the failed image: the copy never points at missing content.
    assert not any(path.startswith(layout.repository_path("bad").lstrip("/")) for path in copy)
    assert expected_files(good, "latest") <= set(copy)
    assert not [path for path in copy if ".scrape-tmp-" in path]


def test_missing_blob_is_named(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app")
    blob_file(tmp_path / "data", image.layers[0]).unlink()
    result = copy_under(tmp_path, "app")
    assert result.exit_code == 1
    assert f"blob missing from source: {image.layers[0]}" in result.stderr


@pytest.mark.parametrize(
    ("change", "copy_says", "preview_says"),
    [
        (b"more", "is 3004 bytes, its manifest says 3000", "its manifest says 3000"),
        (b"", "read 2999 ", "its manifest says 3000"),
    ],
    ids=["longer", "shorter"],
)
@pytest.mark.parametrize("layer_size", [3000, 2 << 20], ids=["streamed", "kernel-copied"])
def test_blob_size_unlike_its_manifest_fails_the_image(
    tmp_path: Path,
    source: TreeWriter,
    change: bytes,
    copy_says: str,
    preview_says: str,
    layer_size: int,
) -> None:
    # A copy takes sizes from the manifest and checks them while it streams; a preview stats.
    image = source.image("app", layer_sizes=(1000, layer_size))
    copy_says = copy_says.replace("3000", str(layer_size)).replace("2999", str(layer_size - 1))
    copy_says = copy_says.replace("3004", str(layer_size + 4))
    preview_says = preview_says.replace("3000", str(layer_size))
    blob = blob_file(tmp_path / "data", image.layers[1])
    data = blob.read_bytes()
    blob.write_bytes(data + change if change else data[:-1])
    preview = copy_under(tmp_path, "--dry-run", "app")
    assert preview.exit_code == 1
    assert f"blob {image.layers[1]} is {len(data) + len(change) - (not change)} bytes" in (
        preview.stderr
    )
    assert preview_says in preview.stderr
    result = copy_under(tmp_path, "app")
    assert result.exit_code == 1
    assert copy_says in result.stderr and str(image.layers[1]) in result.stderr
    assert not (tmp_path / "copy" / layout.tag_current_link_path("app", "latest")[1:]).exists()


@pytest.mark.parametrize("content", [b"", b"sha256:abc\n", b"garbage", b"../../../etc/passwd"])
def test_corrupt_tag_link_is_named(tmp_path: Path, source: TreeWriter, content: bytes) -> None:
    source.image("app")
    link = layout.tag_current_link_path("app", "latest")
    (tmp_path / "data" / link.lstrip("/")).write_bytes(content)
    result = copy_under(tmp_path, "app")
    assert result.exit_code == 1
    assert f"corrupt link file {link}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # the error, then the summary


def test_link_with_trailing_newline_is_corrupt(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app")
    link = tmp_path / "data" / layout.layer_link_path("app", image.config).lstrip("/")
    link.write_bytes(link.read_bytes() + b"\n")
    result = copy_under(tmp_path, "app")
    assert result.exit_code == 1
    assert "corrupt link file" in result.stderr


def test_invalid_reference_touches_nothing(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app")
    result = copy_under(tmp_path, "app", "../etc:passwd")
    assert result.exit_code == 2
    assert result.stderr == "error: invalid repository name: '../etc'\n"
    assert not (tmp_path / "copy").exists()


def test_output_equal_to_source_is_refused(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app")
    data = str(tmp_path / "data")
    result = CliRunner().invoke(main, ["--data-dir", data, "--output-dir", data + "/", "app"])
    assert result.exit_code == 2
    assert "the source is never written" in result.stderr


def test_missing_source_is_one_line(tmp_path: Path) -> None:
    result = copy_under(tmp_path, "app")
    assert result.exit_code == 2
    assert result.stderr == f"error: local: no such directory: {tmp_path / 'data'}\n"


def test_unwritable_output_is_one_line(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app")
    (tmp_path / "copy").write_text("a file, not a directory")
    result = copy_under(tmp_path, "app")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: local: cannot create")
    assert len(result.stderr.splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = copy_under(tmp_path, "--debug", "app")
    assert result.exit_code != 0
    assert result.exc_info is not None
    assert isinstance(result.exception, ConfigurationError)


def test_no_tag_means_latest(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app", "latest")
    result = copy_under(tmp_path, "app")
    assert result.exit_code == 0
    assert f"app:latest {image.manifest.short}" in result.stdout


def test_drivers_command_lists_every_shipped_driver_by_name() -> None:
    result = CliRunner().invoke(main, ["drivers"])
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == sorted(names)
    assert {"local", "tar", "s3", "gcs", "azure"} <= set(names)
    local_line = next(line for line in result.stdout.splitlines() if line.startswith("local "))
    assert "registry-scraper-local 0.1.0" in local_line


def test_dry_run_writes_nothing_and_counts(tmp_path: Path, source: TreeWriter) -> None:
    source.image("app", layer_sizes=(1000, 2000))
    result = copy_under(tmp_path, "--dry-run", "app")
    assert result.exit_code == 0, result.output
    assert "4 blobs would copy" in result.stdout
    assert not (tmp_path / "copy").exists()
    assert copy_under(tmp_path, "app").exit_code == 0
    again = copy_under(tmp_path, "--dry-run", "app")
    assert "0 blobs would copy (0 B), 4 already present" in again.stdout


def test_json_summary(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app")
    result = copy_under(tmp_path, "--json", "app", "ghost")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["images_ok"] == 1 and document["images_failed"] == 1
    first, second = document["images"]
    assert first["digest"] == str(image.manifest) and first["blobs_copied"] == 4
    assert second == {
        "reference": "ghost:latest",
        "digest": None,
        "ok": False,
        "error": "repository not found: ghost",
        "blobs_copied": 0,
        "bytes_copied": 0,
        "blobs_present": 0,
        "skipped": [],
    }


def test_platform_filter_copies_chosen_children_only(tmp_path: Path, source: TreeWriter) -> None:
    amd = source.image("multi", None)
    arm = source.image("multi", None, arch="arm64")
    index = source.index("multi", "1", [amd, arm])  # platforms linux/arch0, linux/arch1
    result = copy_under(tmp_path, "--platform", "linux/arch1", "multi:1")
    assert result.exit_code == 0, result.output
    copy = set(snapshot(tmp_path / "copy"))
    assert expected_files(arm, None) <= copy
    assert layout.blob_data_path(index).lstrip("/") in copy
    assert not {layout.blob_data_path(d).lstrip("/") for d in amd.blobs} & copy
    missing = copy_under(tmp_path, "--platform", "linux/s390x", "multi:1")
    assert missing.exit_code == 1
    assert "has no manifest for linux/s390x (it has: linux/arch0, linux/arch1)" in missing.stderr


def test_signatures_come_along_unless_refused(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app", "v1")
    signature = source.image("app", f"sha256-{image.manifest.hex}.sig")
    result = copy_under(tmp_path, "--no-signatures", "app:v1")
    assert result.exit_code == 0
    assert set(snapshot(tmp_path / "copy")) == expected_files(image, "v1")
    result = copy_under(tmp_path, "app:v1")
    assert result.exit_code == 0, result.output
    wanted = expected_files(image, "v1") | expected_files(signature, signature.tags[0])
    assert set(snapshot(tmp_path / "copy")) == wanted
    assert f"app:sha256-{image.manifest.hex}.sig" in result.stdout


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tar.zst"])
def test_output_tar_extracts_to_the_same_tree(
    tmp_path: Path, source: TreeWriter, suffix: str
) -> None:
    image = source.image("app", "v1")
    archive = tmp_path / f"copy{suffix}"
    data = str(tmp_path / "data")
    result = CliRunner().invoke(main, ["--data-dir", data, "--output-tar", str(archive), "app:v1"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".scrape-tmp-")] == []
    if suffix == ".tar.zst":
        import zstandard

        plain = tmp_path / "copy.tar"
        with archive.open("rb") as packed, plain.open("wb") as out:
            zstandard.ZstdDecompressor().copy_stream(packed, out)
        archive = plain
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
        names = tar.getnames()
    assert set(snapshot(tmp_path / "extracted")) == expected_files(image, "v1")
    # Tag links come last (only the receipt and the member index follow), so a truncated archive
    # never holds a tag without its content.
    names = [name for name in names if not name.startswith(SCRAPE_OWN_DIRECTORIES)]
    assert names[-1] == layout.tag_current_link_path("app", "v1").lstrip("/")


def test_output_tar_and_dir_are_exclusive(tmp_path: Path, source: TreeWriter) -> None:
    result = copy_under(tmp_path, "--output-tar", str(tmp_path / "x.tar"), "app")
    assert result.exit_code == 2
    assert "exactly one of --output-dir and --output-tar" in result.stderr


def test_link_mode_hardlinks_blobs_but_never_links(tmp_path: Path, source: TreeWriter) -> None:
    image = source.image("app", layer_sizes=(5000,))
    result = copy_under(tmp_path, "--link", "app")
    assert result.exit_code == 0, result.output
    for digest in image.blobs:
        relative = layout.blob_data_path(digest).lstrip("/")
        copied, original = tmp_path / "copy" / relative, tmp_path / "data" / relative
        assert copied.stat().st_ino == original.stat().st_ino
    link = layout.tag_current_link_path("app", "latest").lstrip("/")
    assert (tmp_path / "copy" / link).stat().st_ino != (tmp_path / "data" / link).stat().st_ino
    assert not (tmp_path / "copy" / ".scrape-tmp").exists()


def test_selection_by_globs_all_tags_and_file(tmp_path: Path, source: TreeWriter) -> None:
    for tag in ("1.0", "1.1", "2.0"):
        source.image("team/app", tag)
    source.image("team/tool", "latest")
    source.image("team/tool/sub", "latest")
    source.image("other/x", "latest")

    def copied_tags() -> set[str]:
        root = tmp_path / "copy" / layout.REPOSITORIES_ROOT.lstrip("/")
        return {
            f"{path.parents[4].relative_to(root)}:{path.parents[1].name}"
            for path in root.rglob("current/link")
        }

    result = copy_under(tmp_path, "team/app:1.*")
    assert result.exit_code == 0, result.output
    assert copied_tags() == {"team/app:1.0", "team/app:1.1"}

    result = copy_under(tmp_path, "team/*")  # per component: not team/tool/sub
    assert result.exit_code == 1  # team/app has no latest
    assert "error: team/app:latest: tag not found" in result.stderr
    assert "team/tool:latest" in copied_tags() and "team/tool/sub:latest" not in copied_tags()

    images = tmp_path / "images.txt"
    images.write_text("# release\nteam/tool/sub   # nested\n\nother/x:latest\n")
    result = copy_under(tmp_path, "--images-file", str(images), "--all-tags", "team/app")
    assert result.exit_code == 0, result.output
    assert copied_tags() >= {"team/app:2.0", "team/tool/sub:latest", "other/x:latest"}

    result = copy_under(tmp_path, "nomatch/*", "team/app:9.*", "other/x")
    assert result.exit_code == 1
    assert "error: nomatch/*: no repository matches 'nomatch/*'" in result.stderr
    assert "error: team/app:9.*: no tag matches 'team/app:9.*'" in result.stderr
    assert "other/x:latest" in result.stdout


def test_no_images_is_a_usage_error(tmp_path: Path, source: TreeWriter) -> None:
    result = copy_under(tmp_path)
    assert result.exit_code == 2
    assert "no images given" in result.stderr


def test_foreign_layer_not_stored_is_reported_and_skipped(
    tmp_path: Path, source: TreeWriter
) -> None:
    base = source.image("win", None, layer_sizes=(500,))
    document = json.loads(blob_file(tmp_path / "data", base.manifest).read_bytes())
    foreign = "sha256:" + "f" * 64
    document["layers"].append(
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": foreign,
            "size": 1234,
            "urls": ["https://example.invalid/base-layer"],
        }
    )
    manifest = source.manifest("win", document)
    source.tag("win", "ltsc", manifest)
    result = copy_under(tmp_path, "win:ltsc")
    assert result.exit_code == 0, result.output
    assert f"warning: win:ltsc: foreign layer {foreign} is not stored" in result.stderr
    assert "3 blobs copied" in result.stdout  # manifest, config, one layer: no foreign blob


def test_fsync_output_option_copies_the_same_tree(
    tmp_path: Path, source: TreeWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = source.image("app", "v1")
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd))[1])
    result = copy_under(tmp_path, "--output-storage-option", "fsync=true", "app:v1")
    assert result.exit_code == 0, result.output
    assert set(snapshot(tmp_path / "copy")) == expected_files(image, "v1")
    # Every file written (blobs, links, tag links) and the directories they went into.
    assert len(calls) > len(expected_files(image, "v1"))
