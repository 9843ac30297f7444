"""The kit never waits without a timeout: a staged copy that hangs is cancelled and fails."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import pytest

from scraper_core.checked import CheckedStagedCopy
from scraper_core.testing import CapabilitySuite


class _HangingCopy:
    """wait() blocks until cancel(), which must come from another thread."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def wait(self) -> int:
        self.cancelled.wait(30)
        raise OSError("cancelled")

    def cancel(self) -> None:
        self.cancelled.set()


class _Suite(CapabilitySuite):
    wait_timeout = 0.5


def test_a_hanging_staged_copy_is_cancelled_and_fails_the_test() -> None:
    staged = _HangingCopy()
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"still running after 0\.5 s"):
        _Suite()._wait(cast(CheckedStagedCopy, staged))
    assert staged.cancelled.is_set()
    assert time.monotonic() - started < 10


def test_what_wait_raises_is_raised_to_the_test() -> None:
    class Failing(_HangingCopy):
        def wait(self) -> int:
            raise OSError("no such source")

    with pytest.raises(OSError, match="no such source"):
        _Suite()._wait(cast(Any, Failing()))
