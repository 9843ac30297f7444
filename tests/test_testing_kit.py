"""The kit shipped to plugin authors fails, and never hangs, on drivers that are wrong.

Each case writes a small test module that runs scraper_core.testing's suites against a broken
MemoryDriver, runs pytest on it in a child process with a deadline, and checks the outcome:
the suite must fail (a conformance suite that passes a broken driver, or hangs on it, is
worse than none).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from textwrap import dedent

import pytest

from scraper_core.testing.threads import ThreadsFailedError, run_threads

#: Seconds a child pytest may take: far above what the cases need, so that a hang fails the
#: test instead of blocking the run.
CHILD_DEADLINE = 240

PREAMBLE = """
import threading

import pytest

from scraper_core.contract import Capability, StorageDriver, StorageReader
from scraper_core.testing import DriverSuite, MemoryDriver


class _Suite(DriverSuite):
    driver_class = MemoryDriver

    @pytest.fixture
    def driver(self):
        return self.driver_class()

    def open_read_only(self, driver):
        return driver.read_only_view()

    def open_copy_source(self, driver):
        return self.driver_class()
"""


def run_suite(pytester: pytest.Pytester, body: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_kit_case=PREAMBLE + dedent(body))
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "-rf", *args, timeout=CHILD_DEADLINE
    )


def test_a_writer_thread_that_raises_fails_the_suite_instead_of_hanging_it(
    pytester: pytest.Pytester,
) -> None:
    body = """
    class BrokenWriter(MemoryDriver):
        # The second writer on the contended path raises before its thread reaches the
        # barrier: every other writer would wait there forever without a timeout.
        opened = 0
        lock = threading.Lock()

        def writer(self, path):
            if path.endswith("/contended"):
                with BrokenWriter.lock:
                    BrokenWriter.opened += 1
                    if BrokenWriter.opened == 2:
                        raise RuntimeError("broken writer")
            return super().writer(path)


    class TestBroken(_Suite):
        driver_class = BrokenWriter
        wait_timeout = 30.0
    """
    started = time.monotonic()
    result = run_suite(pytester, body, "-k", "racing_commits")
    result.assert_outcomes(failed=1)
    # The failing thread is named with its error, not hidden behind the others' timeouts.
    for line in ("*of 9 thread(s) failed*", "*  thread *Error: *broken writer*"):
        result.stdout.fnmatch_lines([line])
    # The barrier was aborted at the failure: no thread waited for the whole timeout.
    assert time.monotonic() - started < 30


def test_a_hung_thread_fails_at_the_suite_deadline(pytester: pytest.Pytester) -> None:
    body = """
    class HangingReader(MemoryDriver):
        def reader(self, path, offset=0):
            if path.endswith("/shared") and offset > 0:
                threading.Event().wait()  # never returns
            return super().reader(path, offset)


    class TestHanging(_Suite):
        driver_class = HangingReader
        wait_timeout = 5.0
    """
    result = run_suite(pytester, body, "-k", "concurrent_readers")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*still running after 5 s*"])


def test_declared_capabilities_without_methods_fail(pytester: pytest.Pytester) -> None:
    body = """
    class Liar(MemoryDriver):
        capabilities = frozenset(
            {Capability.SERVER_SIDE_COPY, Capability.HARDLINK, Capability.KERNEL_COPY}
        )


    class TestLiar(_Suite):
        driver_class = Liar
    """
    result = run_suite(pytester, body, "-k", "server_side or link_blob or kernel or declared")
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) == 0
    for name in (
        "test_declared_copy_capabilities_have_their_method",
        "test_fast_copy_gives_the_bytes_and_keeps_the_source[[]server_side_copy[]]",
        "test_fast_copy_gives_the_bytes_and_keeps_the_source[[]link_blob[]]",
        "test_kernel_copy_is_published_only_on_commit",
    ):
        result.stdout.fnmatch_lines([f"FAILED *{name}*"])


def test_declared_capabilities_that_always_decline_fail(pytester: pytest.Pytester) -> None:
    body = """
    class Decliner(MemoryDriver):
        capabilities = frozenset({Capability.SERVER_SIDE_COPY, Capability.HARDLINK})

        def server_side_copy(self, source, src_path, dst_path):
            return False

        def link_blob(self, source, src_path, dst_path):
            return False


    class TestDecliner(_Suite):
        driver_class = Decliner
    """
    result = run_suite(pytester, body, "-k", "server_side or link_blob")
    result.stdout.fnmatch_lines(["*declined a source of the same backend*"])
    outcomes = result.parseoutcomes()
    # Copies and replacements fail; declining another backend and a missing source pass.
    assert (outcomes.get("failed"), outcomes.get("passed")) == (4, 4)


def test_an_honest_capability_passes(pytester: pytest.Pytester) -> None:
    body = """
    class Honest(MemoryDriver):
        capabilities = frozenset({Capability.SERVER_SIDE_COPY, Capability.HARDLINK})

        def server_side_copy(self, source, src_path, dst_path):
            if not isinstance(source, Honest):
                return False
            # One store to another, as a backend copies between two roots.
            self.put_content(dst_path, source.get_content(src_path))
            return True

        link_blob = server_side_copy


    class TestHonest(_Suite):
        driver_class = Honest
    """
    result = run_suite(pytester, body, "-k", "server_side or link_blob or declared")
    result.assert_outcomes(passed=9)


def test_run_threads_reports_every_failure_first_cause_first() -> None:
    barrier = threading.Barrier(3, timeout=60)

    def fails() -> int:
        raise ValueError("the cause")

    tasks: list[Callable[[], int]] = [barrier.wait, fails, barrier.wait]
    with pytest.raises(ThreadsFailedError) as failure:
        run_threads(tasks, timeout=60, on_error=barrier.abort)
    message = str(failure.value)
    assert message.startswith("3 of 3 thread(s) failed")
    assert message.index("ValueError: the cause") < message.index("BrokenBarrierError")
    assert isinstance(failure.value.__cause__, ValueError)


def test_run_threads_returns_results_in_order() -> None:
    tasks = [functools.partial(pow, n, 2) for n in range(5)]
    assert run_threads(tasks, timeout=60) == [0, 1, 4, 9, 16]
