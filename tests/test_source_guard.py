"""The source guard every end-to-end test relies on can fail: each kind of write is caught."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from tests.support.source_guard import SourceGuard

REPO = Path(__file__).resolve().parent.parent


def _tree(root: Path) -> Path:
    (root / "a/b").mkdir(parents=True)
    (root / "a/b/data").write_bytes(b"blob")
    (root / "a/link").write_bytes(b"sha256:" + b"0" * 64)
    os.symlink("b/data", root / "a/alias")
    return root


def _rewrite_same_bytes(root: Path) -> None:
    (root / "a/b/data").write_bytes(b"blob")
    stat = (root / "a/b/data").stat()
    os.utime(root / "a/b/data", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def _retarget(link: Path, target: str) -> None:
    link.unlink()
    os.symlink(target, link)


WRITES: dict[str, Callable[[Path], object]] = {
    "bytes": lambda root: (root / "a/b/data").write_bytes(b"BLOB"),
    "mtime only": _rewrite_same_bytes,
    "mode": lambda root: (root / "a/link").chmod(0o600),
    "new file": lambda root: (root / "a/b/extra").write_bytes(b""),
    "new directory": lambda root: (root / "a/c").mkdir(),
    "removed file": lambda root: (root / "a/link").unlink(),
    "symlink retargeted": lambda root: _retarget(root / "a/alias", "link"),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_kind_of_write_is_caught(tmp_path: Path, write: str) -> None:
    root = _tree(tmp_path / "source")
    (root / "a/link").chmod(0o644)
    guard = SourceGuard()
    guard.watch_local(root)
    WRITES[write](root)
    with pytest.raises(AssertionError, match=f"the source {root} was written"):
        guard.assert_unchanged()


def test_reading_is_not_a_change_and_excluded_names_are_ignored(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    guard = SourceGuard()
    guard.watch_local(root, exclude=["copy"])
    (root / "a/b/data").read_bytes()
    (root / "copy").mkdir()
    (root / "copy/out").write_bytes(b"output")
    guard.assert_unchanged()
    assert guard.checked == [str(root)]


def test_only_existing_allows_additions_but_not_changes(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    guard = SourceGuard()
    guard.watch_local(root, only_existing=True)
    (root / "a/pushed").write_bytes(b"new tag")
    guard.assert_unchanged()
    guard.watch_local(root, only_existing=True)
    (root / "a/b/data").write_bytes(b"rewritten")
    with pytest.raises(AssertionError, match="changed a/b/data"):
        guard.assert_unchanged()


def test_the_autouse_fixture_fails_a_test_that_writes_its_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real fixture and hook of tests/conftest.py, in a child pytest."""
    # What pyproject's pythonpath gives the suite: the repository, and the plugins' test
    # folders whose emulator modules tests/conftest.py imports.
    paths = [REPO, *(REPO / "plugins" / name / "tests" for name in ("s3", "gcs", "azure"))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(str(path) for path in paths))
    pytester.makeconftest("from tests.conftest import pytest_runtest_call, source_unchanged\n")
    pytester.makepyfile(
        test_writes=dedent(
            """
            def test_writes_into_its_source(tmp_path, source_unchanged):
                (tmp_path / "blob").write_bytes(b"original")
                source_unchanged.watch_local(tmp_path)
                (tmp_path / "blob").write_bytes(b"written by the test")

            def test_only_reads_its_source(tmp_path, source_unchanged):
                (tmp_path / "blob").write_bytes(b"original")
                source_unchanged.watch_local(tmp_path)
                assert (tmp_path / "blob").read_bytes() == b"original"
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=120)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*was written: changed blob*"])
