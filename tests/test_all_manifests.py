"""``--all-manifests``: untagged revisions of repositories chosen whole come along."""

from __future__ import annotations

from pathlib import Path

from scraper_core import layout, selection
from scraper_core.checked import CheckedDriver
from scraper_core.plan import ImagePlan, PlatformFilter
from scraper_core.scrape import Scrape, ScrapeOptions
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.tree import SyntheticImage, TreeWriter
from scraper_core.transfer import ImageResult
from tests.support.cli import run_cli

Images = tuple[CheckedDriver, SyntheticImage, SyntheticImage, SyntheticImage, SyntheticImage]


def _tree() -> Images:
    """``app:v1`` tagged; one image pushed by digest; one whose tag moved away, and one whose
    blob was garbage-collected."""
    raw = MemoryDriver()
    driver = CheckedDriver(raw, read_only=False)
    writer = TreeWriter(driver)
    tagged = writer.image("app", "v1")
    by_digest = writer.image("app", None)
    moved = writer.image("app", "v1")  # v1 now names this one; the first is untagged
    gone = writer.image("app", None)
    raw.delete(layout.blob_data_path(gone.layers[0]))
    return driver, tagged, by_digest, moved, gone


def _plan(driver: CheckedDriver, all_manifests: bool) -> tuple[Scrape, list[object]]:
    chosen = selection.select(driver, ["app"], all_tags=True)
    assert chosen.whole_repositories == ["app"]
    scrape = Scrape(driver, None, ScrapeOptions(all_manifests=all_manifests, signatures=False))
    planned = scrape.plan(chosen.references, chosen.tag_listings, chosen.whole_repositories)
    return scrape, list(planned)


def test_all_manifests_plans_every_revision_and_fails_only_the_broken_one() -> None:
    driver, first, by_digest, moved, gone = _tree()

    _scrape, planned = _plan(driver, all_manifests=True)

    plans = {item.digest for item in planned if isinstance(item, ImagePlan)}
    assert plans == {first.manifest, by_digest.manifest, moved.manifest}
    failed = [item for item in planned if isinstance(item, ImageResult)]
    assert [str(item.reference) for item in failed] == [f"app@{gone.manifest}"]
    assert "blob missing from source" in (failed[0].error or "")


def test_without_the_flag_the_untagged_are_counted_not_planned() -> None:
    driver, _first, _by_digest, moved, _gone = _tree()

    scrape, planned = _plan(driver, all_manifests=False)

    assert [item.digest for item in planned if isinstance(item, ImagePlan)] == [moved.manifest]
    assert scrape.untagged_left_out == {"app": 3}


def test_children_a_platform_copy_leaves_out_are_not_counted_as_untagged() -> None:
    driver = CheckedDriver(MemoryDriver(), read_only=False)
    writer = TreeWriter(driver)
    children = [writer.image("multi", None, arch=f"arch{n}") for n in range(2)]
    writer.index("multi", "v1", children)
    chosen = selection.select(driver, ["multi"], all_tags=True)
    options = ScrapeOptions(platforms=(PlatformFilter.parse("linux/arch0"),), signatures=False)
    scrape = Scrape(driver, None, options)

    planned = scrape.plan(chosen.references, chosen.tag_listings, chosen.whole_repositories)

    assert all(isinstance(item, ImagePlan) for item in planned)
    assert scrape.untagged_left_out == {}


def test_all_manifests_without_all_tags_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--data-dir", str(tmp_path), "--output-dir", str(out), "--all-manifests", "app:v1"]

    result = run_cli(*args)

    assert result.exit_code == 2
    assert result.stderr == "error: --all-manifests needs --all-tags (whole repositories)\n"
    assert not out.exists()
