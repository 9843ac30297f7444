"""Hooks for every test folder of the checkout, the plugins' included.

The plugins' tests import nothing from the host's ``tests/``; a figure one of them measures for
docs/reliability.md goes through pytest's ``record_property("reliability", {...})`` (the keyword
arguments of :func:`tests.support.reliability.record`) and is recorded here.

The run sets the signal handling its tests depend on, whatever it inherited: started as a
script's background job (``bash -c 'make test &'``) or under nohup, SIGINT arrives ignored, and
an ignored signal stays ignored across exec in every process a test starts.
"""

from __future__ import annotations

import signal

import pytest

#: Signals the tests send or rely on: Ctrl-C (to this process and to children), the per-test
#: time limit (pytest-timeout's SIGALRM), stopping servers, and reaping children.
_RELIED_ON = {signal.SIGINT, signal.SIGALRM, signal.SIGTERM, signal.SIGCHLD}


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Handled here (KeyboardInterrupt), so the default again in each child after its exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Ignored, children are reaped by the kernel and no exit status can be read.
    if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # A blocked signal stays blocked across exec, too.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _RELIED_ON)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "reliability" and isinstance(value, dict):
            from tests.support.reliability import record

            record(**value)
