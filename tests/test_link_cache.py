"""A copy checks each revision and layer link at the destination once a run (issue 13).

30,000 tags on 4 manifests name the same dozen revision and layer links; a no-op rerun read
each of them again for every tag (150,000 reads where 60,000 are tag links). Through the real
CLI on a synthetic tree, every destination call is counted by method and path: each shared
link is read (and written, if needed) once a run, each tag's own links once per tag.
"""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest, link_content
from scraper_core.testing.tree import SyntheticImage
from tests.support.cli import scrape_ok
from tests.support.counting import counting_calls
from tests.support.trees import images_sharing_a_layer, local_writer

TAGS = 40
METHODS = ("read_head", "put_content", "get_content")

Calls = Counter[tuple[str, str]]


def counting_destination_calls() -> AbstractContextManager[Calls]:
    """Count the core's calls on writable drivers (the destination), by (method, path)."""
    return counting_calls(
        CheckedDriver,
        METHODS,
        lambda driver, name, args: None if driver.read_only else (name, args[0]),
    )


def _tree(root: Path) -> list[SyntheticImage]:
    """``app`` with TAGS tags over two images sharing a layer."""
    writer = local_writer(root)
    images = images_sharing_a_layer(writer, "app", 2)
    for number in range(TAGS):
        writer.tag("app", f"build-{number:03d}", images[number % 2].manifest)
    return images


def _shared_links(images: list[SyntheticImage]) -> list[str]:
    paths = [layout.revision_link_path("app", image.manifest) for image in images]
    layers = {digest for image in images for digest in (image.config, *image.layers)}
    return paths + [layout.layer_link_path("app", digest) for digest in sorted(layers, key=str)]


def _tag_links(images: list[SyntheticImage]) -> list[str]:
    paths = []
    for number in range(TAGS):
        tag, digest = f"build-{number:03d}", images[number % 2].manifest
        paths.append(layout.tag_current_link_path("app", tag))
        paths.append(layout.tag_index_link_path("app", tag, digest))
    return paths


def test_a_copy_checks_and_writes_each_shared_link_once(tmp_path: Path) -> None:
    images = _tree(tmp_path / "src")
    args = ["--data-dir", str(tmp_path / "src"), "--output-dir", str(tmp_path / "out")]
    with counting_destination_calls() as calls:
        scrape_ok("-q", "--jobs", "8", *args, "--all-tags", "app")
    for path in _shared_links(images):
        assert calls["read_head", path] == 1, path
        assert calls["put_content", path] == 1, path
    for path in _tag_links(images):
        assert calls["read_head", path] == 1, path
        assert calls["put_content", path] == 1, path


def test_a_no_op_rerun_reads_each_shared_link_once_and_each_tag_link(tmp_path: Path) -> None:
    images = _tree(tmp_path / "src")
    args = ["--data-dir", str(tmp_path / "src"), "--output-dir", str(tmp_path / "out")]
    scrape_ok("-q", "--jobs", "8", *args, "--all-tags", "app")
    with counting_destination_calls() as calls:
        scrape_ok("-q", "--jobs", "8", *args, "--all-tags", "app")
    for path in _shared_links(images):
        assert calls["read_head", path] == 1, path
    # Each tag's own links are checked, every one of them, every run.
    for path in _tag_links(images):
        assert calls["read_head", path] == 1, path
    # Nothing is rewritten; the only write is the run's own receipt.
    writes = [path for method, path in calls if method == "put_content"]
    assert [path for path in writes if not path.startswith(layout.RECEIPTS_ROOT + "/")] == []
    link_reads = sum(n for (method, path), n in calls.items() if method == "read_head")
    assert link_reads == len(_shared_links(images)) + len(_tag_links(images))


def test_a_rerun_repairs_shared_and_tag_links_damaged_at_the_destination(tmp_path: Path) -> None:
    images = _tree(tmp_path / "src")
    out = tmp_path / "out"
    args = ["--data-dir", str(tmp_path / "src"), "--output-dir", str(out)]
    scrape_ok("-q", "--jobs", "8", *args, "--all-tags", "app")
    wrong = link_content(Digest("sha256", "0" * 64))
    revision = layout.revision_link_path("app", images[0].manifest)
    tag = layout.tag_current_link_path("app", "build-002")
    for path in (revision, tag):
        (out / path.lstrip("/")).write_bytes(wrong)
    with counting_destination_calls() as calls:
        scrape_ok("-q", "--jobs", "8", *args, "--all-tags", "app")
    # Found wrong once, rewritten once, and then trusted for the other tags of the image.
    assert calls["read_head", revision] == 1
    assert calls["put_content", revision] == 1
    assert calls["put_content", tag] == 1
    assert (out / revision.lstrip("/")).read_bytes() == link_content(images[0].manifest)
    assert (out / tag.lstrip("/")).read_bytes() == link_content(images[0].manifest)
