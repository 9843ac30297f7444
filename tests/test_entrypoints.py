"""The entry-point scan finds what importlib.metadata finds, without importing it."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from scraper_core import entrypoints, hookspecs
from scraper_core.plugins import DriverRegistry
from scraper_core.receipt import tool_version
from scraper_core.testing.tree import TreeWriter
from tests.support.cli import run_cli
from tests.support.plugin_site import write_distribution


def _by_importlib(group: str) -> list[tuple[str, str, str, str]]:
    found = []
    for entry in importlib.metadata.entry_points(group=group):
        assert entry.dist is not None
        found.append((entry.name, entry.value, entry.dist.metadata["Name"], entry.dist.version))
    return sorted(found)


def _by_scan(group: str) -> list[tuple[str, str, str, str]]:
    found = entrypoints.entry_points(group)
    return sorted((entry.name, entry.value, entry.distribution, entry.version) for entry in found)


def test_the_installed_plugins_and_console_scripts_are_found_as_importlib_finds_them() -> None:
    for group in (hookspecs.ENTRY_POINT_GROUP, "console_scripts", "pytest11"):
        assert _by_scan(group) == _by_importlib(group), group
    assert {"local", "s3", "tar"} <= {name for name, *_ in _by_scan(hookspecs.ENTRY_POINT_GROUP)}


def test_versions_are_read_from_the_metadata(plugin_site: Path) -> None:
    write_distribution(plugin_site, "Rs.Odd-Name", "odd", "rs_odd", "", version="4.5.6")
    assert entrypoints.version("rs-odd-name") == "4.5.6"
    assert entrypoints.version("no-such-distribution") is None
    assert tool_version() == importlib.metadata.version("registry-scraper")


def test_a_distribution_first_on_sys_path_hides_a_later_one(
    plugin_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = tmp_path / "later"
    later.mkdir()
    write_distribution(later, "rs-twice", "twice", "rs_twice", "", version="1.0")
    write_distribution(plugin_site, "rs-twice", "twice", "rs_twice", "", version="2.0")
    monkeypatch.setattr(sys, "path", [*sys.path, str(later)])
    assert _by_scan(hookspecs.ENTRY_POINT_GROUP) == _by_importlib(hookspecs.ENTRY_POINT_GROUP)
    assert entrypoints.version("rs-twice") == "2.0"


def test_sections_comments_extras_and_attributes(plugin_site: Path) -> None:
    write_distribution(plugin_site, "rs-many", "one", "rs_many", "class Holder:\n    x = 7\n")
    info = next(plugin_site.glob("rs_many-*.dist-info"))
    (info / "entry_points.txt").write_text(
        "# a comment\n[console_scripts]\nnot-ours = rs_many:Holder\n\n"
        "[registry_scraper]\n# three = rs_many:gone\none = rs_many:Holder.x [extra]\ntwo=rs_many\n"
    )
    assert _by_scan(hookspecs.ENTRY_POINT_GROUP) == _by_importlib(hookspecs.ENTRY_POINT_GROUP)
    found = entrypoints.entry_points(hookspecs.ENTRY_POINT_GROUP)
    one, two = [entry for entry in found if entry.distribution == "rs-many"]
    assert one.load() == 7
    assert getattr(two.load(), "__name__", None) == "rs_many"


def test_within_one_command_the_installed_distributions_are_listed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = []
    real = entrypoints._distributions

    def counted() -> list[entrypoints._Distribution]:
        listed.append(1)
        return real()

    monkeypatch.setattr(entrypoints, "_distributions", counted)
    source = tmp_path / "data"
    TreeWriter(DriverRegistry().open("local", str(source), read_only=False)).image("app", "v1")
    listed.clear()
    copy = ["--data-dir", str(source), "--output-dir", str(tmp_path / "out"), "app:v1"]
    for _ in range(2):  # a copy, then the rerun with nothing to do
        result = run_cli(*copy)
        assert result.exit_code == 0, result.output
        assert len(listed) == 1
        listed.clear()


def test_a_distribution_installed_after_a_command_is_found_by_the_next(
    plugin_site: Path,
) -> None:
    with entrypoints.scanned_once():
        before = entrypoints.entry_points(hookspecs.ENTRY_POINT_GROUP)
        write_distribution(plugin_site, "rs-late", "late", "rs_late", "")
        # Within one command the first scan stands.
        assert entrypoints.entry_points(hookspecs.ENTRY_POINT_GROUP) == before
    after = entrypoints.entry_points(hookspecs.ENTRY_POINT_GROUP)
    assert [entry.name for entry in after if entry not in before] == ["late"]
