"""The push engine (scraper_core.push) against the in-memory image destination: order, reruns,
mounts, a damaged source blob, a refused manifest, and the stream that verifies itself."""

from __future__ import annotations

import _thread
import io
import json
import threading
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.errors import DigestMismatchError, ShortReadError
from scraper_core.plugins import PLUGINS_ENV, DriverRegistry
from scraper_core.push import Push
from scraper_core.reference import Reference
from scraper_core.scrape import Scrape, ScrapeOptions
from scraper_core.testing import MemoryDriver
from scraper_core.testing.memory_images import MemoryImageDestination, MemoryImageStore
from scraper_core.testing.tree import TreeWriter
from scraper_core.transfer import ImageResult, TransferCancelledError
from scraper_core.verified_stream import READ_SIZE, open_verified
from tests.support.plugin_site import write_distribution


@pytest.fixture
def source() -> CheckedDriver:
    return CheckedDriver(MemoryDriver(), read_only=False)


def _push(
    source: CheckedDriver, dest: MemoryImageDestination, *references: str, jobs: int = 4
) -> list[ImageResult]:
    scrape = Scrape(source, None, ScrapeOptions(jobs=jobs, stat_blobs=False))
    wanted = []
    for text in references:
        name, _, tag = text.partition(":")
        wanted.append(Reference(name, tag))
    return Push(source, dest, jobs=jobs).run(scrape.plan(wanted))


def _destination(location: str, **options: str) -> MemoryImageDestination:
    return MemoryImageDestination.open(location, options)


def test_blobs_then_children_then_index_then_tag_and_a_rerun_writes_nothing(
    source: CheckedDriver, tmp_path: Path
) -> None:
    tree = TreeWriter(source)
    amd = tree.image("app", tag=None, layer_sizes=(READ_SIZE * 3 + 5, 10))
    arm = tree.image("app", tag=None, arch="arm64")
    index = tree.index("app", "v1", [amd, arm])
    dest = _destination(str(tmp_path))

    [result] = _push(source, dest, "app:v1")

    assert result.ok, result.error
    kinds = [kind for kind, _repo, _ref in dest.writes]
    manifests = [ref for kind, _repo, ref in dest.writes if kind == "manifest"]
    # Every blob before any manifest; both children before the index; the tag last.
    assert kinds.index("manifest") == kinds.count("blob")
    assert set(manifests[:2]) == {str(amd.manifest), str(arm.manifest)}
    assert manifests[2:] == [str(index), "v1"]
    assert dest.has_manifest("app", "v1") == str(index)
    for digest in [*amd.blobs, *arm.blobs]:
        size = source.stat(layout.blob_data_path(digest)).size
        held = dest.has_blob("app", str(digest)) or len(dest.store.manifests[("app", str(digest))])
        assert held == size
    assert (result.blobs_copied, result.blobs_present) == (9, 0)

    again = _destination(str(tmp_path))
    [rerun] = _push(source, again, "app:v1")
    assert rerun.ok and again.writes == []
    assert (rerun.blobs_copied, rerun.blobs_present) == (0, 9)


def test_a_blob_put_in_one_repository_is_mounted_into_the_next(
    source: CheckedDriver, tmp_path: Path
) -> None:
    tree = TreeWriter(source)
    shared = [b"shared layer" * 1000]
    tree.image("first", "v1", layers=shared)
    tree.image("second", "v1", layers=shared)
    dest = _destination(str(tmp_path))

    results = _push(source, dest, "first:v1", "second:v1", jobs=1)

    assert all(result.ok for result in results)
    layer = str(Digest.of(shared[0]))
    assert ("blob", "first", layer) in dest.writes
    assert ("mount", "second", layer) in dest.writes
    assert ("blob", "second", layer) not in dest.writes


def test_a_damaged_source_blob_fails_its_image_alone_and_nothing_of_it_is_committed(
    source: CheckedDriver, tmp_path: Path
) -> None:
    tree = TreeWriter(source)
    bad = tree.image("bad", "v1", layer_sizes=(READ_SIZE * 2 + 1,))
    tree.image("good", "v1")
    path = layout.blob_data_path(bad.layers[0])
    damaged = bytearray(source.get_content(path))
    damaged[-1] ^= 1  # same size, other bytes: only the digest can tell
    source.put_content(path, bytes(damaged))
    dest = _destination(str(tmp_path))

    bad_result, good_result = _push(source, dest, "bad:v1", "good:v1")

    assert good_result.ok
    assert bad_result.error is not None and "corrupt in the source" in bad_result.error
    assert dest.has_blob("bad", str(bad.layers[0])) is None
    assert not [write for write in dest.writes if write[0] == "manifest" and write[1] == "bad"]


def test_a_refused_manifest_fails_that_image_in_one_line_and_the_others_go_on(
    source: CheckedDriver, tmp_path: Path
) -> None:
    tree = TreeWriter(source)
    layer = tree.blob(b"old layer")
    tree.link(layout.layer_link_path("old", layer), layer)
    schema1 = {
        "schemaVersion": 1,
        "name": "old",
        "tag": "v1",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": str(layer)}],
        "history": [{"v1Compatibility": "{}"}],
    }
    tree.tag("old", "v1", tree.manifest("old", schema1))
    tree.image("new", "v1")
    dest = _destination(str(tmp_path), schema1="false")

    old, new = _push(source, dest, "old:v1", "new:v1")

    assert new.ok
    assert old.error is not None and "schema1 manifests refused" in old.error
    assert "\n" not in old.error and "old:" in old.error
    assert dest.has_manifest("old", "v1") is None


def test_the_verified_stream_raises_before_handing_on_the_last_bad_bytes(
    source: CheckedDriver,
) -> None:
    data = bytes(range(256)) * 100
    digest = TreeWriter(source).blob(data)
    with open_verified(source, digest, len(data), 0) as stream:
        assert stream.read() == data
    # From an offset (a resumed upload): the bytes before it are hashed again first.
    with open_verified(source, digest, len(data), 1000) as stream:
        assert stream.read() == data[1000:]
    source.put_content(layout.blob_data_path(digest), data[:-1] + b"\0")
    with open_verified(source, digest, len(data), 0) as stream:
        taken = io.BytesIO()
        with pytest.raises(DigestMismatchError):
            while piece := stream.read(1000):
                taken.write(piece)
        assert len(taken.getvalue()) < len(data)
    source.put_content(layout.blob_data_path(digest), data[:-1])
    with pytest.raises(ShortReadError), open_verified(source, digest, len(data), 0) as stream:
        stream.read()
    source.put_content(layout.blob_data_path(digest), data + b"more")
    with pytest.raises(DigestMismatchError), open_verified(source, digest, len(data), 0) as stream:
        stream.read()


IMAGE_PLUGIN = """
from scraper_core import hookimpl
from scraper_core.testing.memory_images import MemoryImageDestination, MemoryImageStore

class Layout(MemoryImageDestination):
    name = "{name}"
    description = "a third party's image destination"

@hookimpl
def registry_scraper_register_image_destinations(register):
    register(Layout)
"""


def test_a_third_party_registers_an_image_destination_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(PLUGINS_ENV, raising=False)
    write_distribution(
        tmp_path, "rs-layout", "layout", "rs_layout", IMAGE_PLUGIN.format(name="layout")
    )
    registry = DriverRegistry(strict=True)
    found = registry.image_destination("layout")
    assert found is not None and found.plugin.distribution == "rs-layout"
    assert (
        found.destination_class.open(str(tmp_path), {}).has_blob("a", "sha256:" + "0" * 64) is None
    )
    # Not a storage driver: said so, in one line, where a driver is asked for.
    with pytest.raises(Exception, match="is an image destination"):
        registry.driver("layout")
    assert registry.image_destination("local") is None
    assert json.dumps([d.name for d in registry.image_destinations()])


def test_signatures_and_referrer_tags_travel_with_their_image(
    source: CheckedDriver, tmp_path: Path
) -> None:
    tree = TreeWriter(source)
    image = tree.image("app", "v1")
    tags = [f"sha256-{image.manifest.hex}.sig", f"sha256-{image.manifest.hex}"]
    for tag in tags:
        tree.image("app", tag)
    dest = _destination(str(tmp_path))

    results = _push(source, dest, "app:v1")

    assert [str(result.reference) for result in results] == ["app:v1", *(f"app:{t}" for t in tags)]
    assert all(result.ok for result in results)
    for tag in tags:
        assert dest.has_manifest("app", tag) == str(
            source.read_link(layout.tag_current_link_path("app", tag))
        )


def test_ctrl_c_stops_a_running_upload_at_its_next_read_and_nothing_is_committed(
    source: CheckedDriver, tmp_path: Path
) -> None:
    image = TreeWriter(source).image("app", "v1", layer_sizes=(READ_SIZE * 4,))
    started = threading.Event()
    uploads: list[BaseException | None] = []

    class Gated:
        """The layer's stream: its first read passes, the next waits for the interrupt."""

        def __init__(self, stream: BinaryIO) -> None:
            self.stream, self.reads = stream, 0

        def read(self, size: int = -1) -> bytes:
            self.reads += 1
            if self.reads == 2:
                started.set()
                assert Slow.push is not None and Slow.push.cancelled.wait(timeout=20)
            return self.stream.read(size)

        def __enter__(self) -> Gated:
            return self

        def __exit__(self, *exc_info: object) -> None:
            self.stream.close()

    class Slow(MemoryImageDestination):
        push: Push | None = None

        def put_blob(self, repository: str, digest: str, size: int, open_stream: Any) -> None:
            if size <= READ_SIZE:
                super().put_blob(repository, digest, size, open_stream)
                return
            try:
                super().put_blob(repository, digest, size, lambda at: Gated(open_stream(at)))
                uploads.append(None)
            except BaseException as exc:
                uploads.append(exc)
                raise

    dest = Slow(MemoryImageStore())
    scrape = Scrape(source, None, ScrapeOptions(jobs=2, stat_blobs=False))
    planned = scrape.plan([Reference("app", "v1")])
    push = Slow.push = Push(source, dest, jobs=2)
    interrupter = threading.Thread(
        target=lambda: started.wait(timeout=20) and _thread.interrupt_main(), daemon=True
    )
    interrupter.start()

    with pytest.raises(KeyboardInterrupt):
        push.run(planned)

    interrupter.join(timeout=20)
    assert [type(exc) for exc in uploads] == [TransferCancelledError]
    assert dest.has_blob("app", str(image.layers[0])) is None
    assert not [write for write in dest.writes if write[0] == "manifest"]


def test_many_tags_of_one_image_put_its_manifest_once_and_count_it_for_the_first(
    source: CheckedDriver, tmp_path: Path
) -> None:
    tree = TreeWriter(source)
    image = tree.image("app", "t0")
    tags = [f"t{number}" for number in range(40)]
    for tag in tags[1:]:
        tree.tag("app", tag, image.manifest)
    dest = _destination(str(tmp_path))

    results = _push(source, dest, *(f"app:{tag}" for tag in tags), jobs=8)

    assert all(result.ok for result in results)
    puts = [ref for kind, _repo, ref in dest.writes if kind == "manifest"]
    assert puts.count(str(image.manifest)) == 1 and puts.index(str(image.manifest)) == 0
    assert sorted(puts[1:]) == sorted(tags)
    # Counted in request order, whichever image's task finished first.
    assert (results[0].blobs_copied, results[0].blobs_present) == (4, 0)
    assert all((r.blobs_copied, r.blobs_present) == (0, 4) for r in results[1:])
