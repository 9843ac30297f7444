"""Hooks for every test folder of the checkout, the plugins' included.

The plugins' tests import nothing from the host's ``tests/``; a figure one of them measures for
docs/reliability.md goes through pytest's ``record_property("reliability", {...})`` (the keyword
arguments of :func:`tests.support.reliability.record`) and is recorded here.
"""

from __future__ import annotations

import pytest


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "reliability" and isinstance(value, dict):
            from tests.support.reliability import record

            record(**value)
