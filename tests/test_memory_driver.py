"""MemoryDriver: the conformance suite, its own rules, and how scraper_core.testing is packaged."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper_core import hookspecs
from scraper_core.checked import CheckedDriver
from scraper_core.contract import StorageDriver, StorageReader
from scraper_core.errors import (
    ConfigurationError,
    PathNotFoundError,
    ReadOnlyError,
    StorageError,
)
from scraper_core.testing import DriverSuite, MemoryDriver
from tests.support.cli_process import python_output


class TestMemoryConformance(DriverSuite):
    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver()

    def open_read_only(self, driver: StorageDriver) -> StorageReader:
        assert isinstance(driver, MemoryDriver)
        return driver.read_only_view()


def test_open_names_a_store_shared_by_location(tmp_path: Path) -> None:
    location = str(tmp_path)
    writable = MemoryDriver.open(location, {}, read_only=False)
    writable.put_content("/x", b"shared")
    # As the core opens a source: the wrapper refuses its writes.
    source = CheckedDriver(MemoryDriver.open(location, {}, read_only=True), read_only=True)
    assert source.get_content("/x") == b"shared"
    with pytest.raises(ReadOnlyError):
        source.put_content("/y", b"refused")
    assert set(writable.store.files) == {"/x"}
    assert MemoryDriver.open(location, {}, read_only=False).get_content("/x") == b"shared"
    other = MemoryDriver.open(f"{location}-other", {}, read_only=False)
    assert other.list_dir("/") == []


def test_open_read_only_of_an_unknown_location_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no store"):
        MemoryDriver.open(str(tmp_path / "never-written"), {}, read_only=True)


def test_open_refuses_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown option"):
        MemoryDriver.open(str(tmp_path), {"region": "x"}, read_only=False)


def test_a_path_is_never_both_file_and_directory() -> None:
    driver = MemoryDriver()
    driver.put_content("/file", b"x")
    driver.put_content("/dir/child", b"y")
    attempts: dict[str, Callable[[], object]] = {
        "put below a file": lambda: driver.put_content("/file/child", b"z"),
        "put over a directory": lambda: driver.put_content("/dir", b"z"),
        "writer below a file": lambda: driver.writer("/file/child"),
        "move over a directory": lambda: driver.move("/file", "/dir"),
        "move a directory": lambda: driver.move("/dir", "/elsewhere"),
    }
    for attempt, call in attempts.items():
        with pytest.raises(StorageError) as caught:
            call()
        assert type(caught.value) is StorageError, attempt
    assert {info.path for info in driver.walk("/")} == {"/file", "/dir/child"}


def test_commit_checks_again_for_a_directory_created_meanwhile() -> None:
    driver = MemoryDriver()
    writer = driver.writer("/path")
    writer.write(b"late")
    driver.put_content("/path/child", b"first")
    with pytest.raises(StorageError, match="is a directory"):
        writer.commit()
    assert driver.list_dir("/path") == ["/path/child"]


def test_writer_is_unusable_after_commit_or_cancel() -> None:
    driver = MemoryDriver()
    committed = driver.writer("/a")
    committed.write(b"x")
    committed.commit()
    cancelled = driver.writer("/b")
    cancelled.cancel()
    for closed in (committed, cancelled):
        with pytest.raises(StorageError, match="writer already"):
            closed.write(b"more")
        with pytest.raises(StorageError, match="writer already"):
            closed.commit()
    committed.cancel()
    assert driver.get_content("/a") == b"x"
    assert driver.list_dir("/") == ["/a"]


def test_writer_does_not_keep_the_callers_buffer() -> None:
    # The copy engine may reuse one bytearray for every chunk it reads.
    driver = MemoryDriver()
    buffer = bytearray(b"first")
    with driver.writer("/b") as writer:
        writer.write(buffer)
        buffer[:] = b"again"
        writer.write(buffer)
        buffer[:] = b"later"
        writer.commit()
    assert driver.get_content("/b") == b"firstagain"


# A model check: random operations on a few colliding names, compared after every step with a
# plain dict, so the directory index can never drift from the files it indexes.

_NAMES = ("a", "b", "ab")
_PATHS = st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)


class Step(NamedTuple):
    kind: str
    path: str
    data: bytes = b""
    dest: str = ""


_STEPS = st.one_of(
    st.builds(Step, st.just("put"), _PATHS, data=st.binary(max_size=8)),
    st.builds(Step, st.just("delete"), _PATHS),
    st.builds(Step, st.just("move"), _PATHS, dest=_PATHS),
)


def _model_dirs(model: dict[str, bytes]) -> set[str]:
    found = {"/"}
    for path in model:
        parts = path.split("/")[1:-1]
        found.update("/" + "/".join(parts[: depth + 1]) for depth in range(len(parts)))
    return found


def _model_children(model: dict[str, bytes], directory: str) -> list[str]:
    prefix = "" if directory == "/" else directory
    heads = {key[len(prefix) + 1 :].split("/")[0] for key in model if key.startswith(prefix + "/")}
    return sorted(f"{prefix}/{head}" for head in heads)


def _model_conflict(model: dict[str, bytes], path: str) -> bool:
    parts = path.split("/")[1:]
    ancestors = ("/" + "/".join(parts[:depth]) for depth in range(1, len(parts)))
    return path in _model_dirs(model) or any(ancestor in model for ancestor in ancestors)


def _apply_to_model(model: dict[str, bytes], step: Step) -> type[StorageError] | None:
    """Apply ``step`` to the model; the error type the driver must raise, if any."""
    if step.kind == "put":
        if _model_conflict(model, step.path):
            return StorageError
        model[step.path] = step.data
    elif step.kind == "delete":
        below = [key for key in model if key == step.path or key.startswith(step.path + "/")]
        if not below:
            return PathNotFoundError
        for key in below:
            del model[key]
    elif step.path not in model:
        return StorageError if step.path in _model_dirs(model) else PathNotFoundError
    elif step.path != step.dest:
        if _model_conflict(model, step.dest):
            return StorageError
        model[step.dest] = model.pop(step.path)
    return None


def _apply_to_driver(driver: MemoryDriver, step: Step) -> None:
    if step.kind == "put":
        driver.put_content(step.path, step.data)
    elif step.kind == "delete":
        driver.delete(step.path)
    else:
        driver.move(step.path, step.dest)


@settings(max_examples=300, deadline=None)
@given(st.lists(_STEPS, max_size=25))
def test_memory_driver_matches_a_dict_model(steps: list[Step]) -> None:
    driver = MemoryDriver()
    model: dict[str, bytes] = {}
    for step in steps:
        expected_error = _apply_to_model(model, step)
        try:
            _apply_to_driver(driver, step)
        except StorageError as error:
            assert type(error) is expected_error, step
        else:
            assert expected_error is None, step
        walked = {info.path: info.size for info in driver.walk("/")}
        assert walked == {key: len(value) for key, value in model.items()}
        for directory in _model_dirs(model):
            assert driver.list_dir(directory) == _model_children(model, directory)
            assert driver.stat(directory).is_dir


# Packaging of scraper_core.testing.


def test_importing_the_core_does_not_import_pytest() -> None:
    script = (
        "import pkgutil, sys, importlib, scraper_core\n"
        # iter_modules, not walk_packages: the latter imports every package to look inside.
        "for module in pkgutil.iter_modules(scraper_core.__path__):\n"
        "    if module.name != 'testing':\n"
        "        importlib.import_module('scraper_core.' + module.name)\n"
        "        print(module.name)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'pytest'))\n"
    )
    *imported, pytest_modules = python_output(script).split("\n")[:-1]
    assert {"checked", "cli", "contract", "plugins", "transfer"} <= set(imported)
    assert pytest_modules == "[]"


def test_shipped_suite_assertions_are_rewritten() -> None:
    suite_module = sys.modules["scraper_core.testing.suite"]
    assert type(suite_module.__loader__).__name__ == "AssertionRewritingHook"


def test_memory_driver_is_not_a_plugin() -> None:
    for entry_point in entry_points(group=hookspecs.ENTRY_POINT_GROUP):
        assert not entry_point.value.startswith("scraper_core"), entry_point
