"""Planning grows with distinct content, not with tags (issue 13).

Through the real CLI on a synthetic tree, every source call is counted by method and path:
within one run each manifest is read (and hashed) once, each link once, each blob stat'ed
once, however many tags lead to them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from registry_scraper_local.driver import LocalDriver
from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.digest import Digest
from scraper_core.memo import Memo
from scraper_core.plan import ImagePlan, Planner
from scraper_core.reference import Reference
from scraper_core.testing.tree import SyntheticImage
from tests.support.cli import scrape_ok
from tests.support.counting import counting_calls
from tests.support.trees import images_sharing_a_layer, local_writer

TAGS = 60
READS = ("get_content", "read_head", "reader", "stat", "list_dir", "walk")

Calls = Counter[tuple[str, str]]


def counting_source_calls() -> AbstractContextManager[Calls]:
    """Count every read the core makes of a read-only driver, by (method, path); a call the
    wrapper makes itself (read_head through reader) is not counted again."""
    return counting_calls(
        CheckedDriver,
        READS,
        lambda driver, name, args: (name, args[0]) if driver.read_only else None,
        outermost_only=True,
    )


def _tree(root: Path) -> tuple[list[SyntheticImage], Digest]:
    """``app`` with TAGS tags over two images and an index of both (one layer shared)."""
    writer = local_writer(root)
    images = images_sharing_a_layer(writer, "app", 2)
    index = writer.index("app", "multi", images)
    for number in range(TAGS):
        target = index if number % 3 == 0 else images[number % 2].manifest
        writer.tag("app", f"build-{number:03d}", target)
    return images, index


def _content_reads(calls: Calls, path: str) -> int:
    """Whole or bounded reads of a small object (a manifest)."""
    return calls["get_content", path] + calls["read_head", path]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "copy"])
def test_each_manifest_link_and_blob_is_read_once_a_run(tmp_path: Path, dry_run: bool) -> None:
    images, index = _tree(tmp_path / "src")
    args = ["--data-dir", str(tmp_path / "src"), "--output-dir", str(tmp_path / "out")]
    with counting_source_calls() as calls:
        scrape_ok(
            "-q", "--jobs", "8", *args, *(["--dry-run"] if dry_run else []), "--all-tags", "app"
        )

    manifests = [index] + [image.manifest for image in images]
    for digest in manifests:
        assert _content_reads(calls, layout.blob_data_path(digest)) == 1, digest
        assert calls["read_head", layout.revision_link_path("app", digest)] == 1, digest
    layers = {digest for image in images for digest in (image.config, *image.layers)}
    for digest in layers:
        assert calls["read_head", layout.layer_link_path("app", digest)] == 1, digest
    # A manifest is read (bounded) without a stat. A dry run stats each layer once, to name
    # a missing one up front; a copy takes layer sizes from the manifests and streams each
    # layer once (checking size and digest), and writes the manifests from the bytes
    # planning read.
    for digest in [*manifests, *layers]:
        stats = 1 if dry_run and digest in layers else 0
        assert calls["stat", layout.blob_data_path(digest)] == stats, digest
        streams = 0 if dry_run or digest in manifests else 1
        assert calls["reader", layout.blob_data_path(digest)] == streams, digest
    tags = [f"build-{n:03d}" for n in range(TAGS)] + ["multi"]
    for tag in tags:
        assert calls["read_head", layout.tag_current_link_path("app", tag)] == 1, tag
    # --all-tags listed every tag: signature tags are looked up there, without a stat.
    assert not [path for method, path in calls if "/sha256-" in path], calls
    # Nothing else read more than once, so the total is what the content needs, not the tags.
    repeated = {key: n for key, n in calls.items() if n > 1 and key[0] != "reader"}
    assert repeated == {}


def test_a_no_op_rerun_reads_each_manifest_once(tmp_path: Path) -> None:
    images, index = _tree(tmp_path / "src")
    args = ["--data-dir", str(tmp_path / "src"), "--output-dir", str(tmp_path / "out")]
    scrape_ok("-q", "--jobs", "8", *args, "--all-tags", "app")
    with counting_source_calls() as calls:
        scrape_ok("-q", "--jobs", "8", *args, "--all-tags", "app")
    for digest in [index] + [image.manifest for image in images]:
        assert _content_reads(calls, layout.blob_data_path(digest)) == 1
    streamed = [path for method, path in calls if method == "reader" and path.endswith("/data")]
    assert streamed == [], "a blob already at the destination was read again"


def test_plans_of_one_image_share_the_manifest_bytes(tmp_path: Path) -> None:
    images, _ = _tree(tmp_path)
    planner = Planner(CheckedDriver(LocalDriver(tmp_path, read_only=True), read_only=True))
    tags = [f"build-{n:03d}" for n in range(1, TAGS, 3)]  # all on images[n % 2]
    plans = [planner.plan(Reference("app", tag)) for tag in tags]

    def manifest_bytes(plan: ImagePlan) -> bytes | None:
        return plan.blobs[0].content

    by_image: dict[Digest, list[ImagePlan]] = {}
    for plan in plans:
        by_image.setdefault(plan.digest, []).append(plan)
    assert set(by_image) == {image.manifest for image in images}
    for same in by_image.values():
        first = manifest_bytes(same[0])
        assert first is not None
        assert all(manifest_bytes(plan) is first for plan in same)
        assert all(plan.content is same[0].content for plan in same)
    # Each plan keeps its own reference and tag links.
    assert len({plan.reference for plan in plans}) == len(plans)
    assert len({link.path for plan in plans for link in plan.tag_links}) == 2 * len(plans)


def test_memo_computes_once_for_threads_arriving_together() -> None:
    memo: Memo[str, int] = Memo()
    computed = []

    def slow() -> int:
        computed.append(1)
        time.sleep(0.05)
        return 42

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: memo.get("key", slow), range(64)))
    assert answers == [42] * 64
    assert len(computed) == 1


def test_memo_forgets_a_failure_and_lets_the_next_asker_try() -> None:
    memo: Memo[str, int] = Memo()
    attempts = []

    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("transient")
        return 7

    with pytest.raises(OSError, match="transient"):
        memo.get("key", flaky)
    assert memo.get("key", flaky) == 7
    assert memo.get("key", flaky) == 7
    assert len(attempts) == 2


def test_memo_wakes_a_waiter_when_the_compute_it_waited_for_fails() -> None:
    memo: Memo[str, int] = Memo()
    started, release = threading.Event(), threading.Event()

    def failing() -> int:
        started.set()
        release.wait(5)
        raise OSError("transient")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(memo.get, "key", failing)
        assert started.wait(5)
        second = pool.submit(memo.get, "key", lambda: 9)
        time.sleep(0.05)  # the second asker is waiting on the first one's compute
        assert not second.done()
        release.set()
        with pytest.raises(OSError, match="transient"):
            first.result(5)
        assert second.result(5) == 9
    assert memo.get("key", failing) == 9


def test_a_dry_run_over_a_copy_looks_each_blob_up_once_at_the_destination(
    tmp_path: Path,
) -> None:
    images, index = _tree(tmp_path / "src")
    args = ["--data-dir", str(tmp_path / "src"), "--output-dir", str(tmp_path / "out")]
    scrape_ok("-q", "--jobs", "8", *args, "--all-tags", "app")
    with counting_source_calls() as calls:  # a dry run opens the destination read-only too
        scrape_ok("-q", "--jobs", "8", *args, "--dry-run", "--all-tags", "app")
    manifests = {index} | {image.manifest for image in images}
    blobs = manifests | {digest for image in images for digest in image.blobs}
    for digest in blobs:
        # One stat of the source while planning (none for a manifest: it is read), one of the
        # destination in the preview.
        stats = 1 if digest in manifests else 2
        assert calls["stat", layout.blob_data_path(digest)] == stats, digest


class _WaitingDriver(LocalDriver):
    """A local tree read as if over a network: each link read waits a little."""

    latency_bound = True

    def read_head(self, path: str, size: int) -> bytes:
        time.sleep(0.002)
        return super().read_head(path, size)


@pytest.mark.parametrize("driver_class", [LocalDriver, _WaitingDriver], ids=["local", "waiting"])
def test_only_a_source_whose_calls_wait_is_planned_in_parallel(
    tmp_path: Path, driver_class: type[LocalDriver], monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper_core.scrape import Scrape, ScrapeOptions

    _tree(tmp_path)
    source = CheckedDriver(driver_class(tmp_path, read_only=True), read_only=True)
    threads: set[str] = set()
    original = Planner.plan

    def recording(self: Planner, reference: Reference) -> ImagePlan:
        threads.add(threading.current_thread().name)
        return original(self, reference)

    refs = [Reference("app", f"build-{number:03d}") for number in range(TAGS)]
    monkeypatch.setattr(Planner, "plan", recording)
    planned = Scrape(source, None, ScrapeOptions(jobs=8)).plan(refs)
    assert all(isinstance(item, ImagePlan) for item in planned)
    # A filesystem's calls are syscalls: threads would only contend (see latency_bound).
    if driver_class is LocalDriver:
        assert len(threads) == 1
    else:
        assert len(threads) > 1
