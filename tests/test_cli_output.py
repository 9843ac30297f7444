"""-q/-v/--debug/--json on every command, and its JSON: format and version, one document on
stdout, an error document for any failure (usage errors too). Through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import copy_under, run_cli
from tests.support.cli_process import start_scrape
from tests.support.copy_gate import CopyGate, signal_at_gate
from tests.support.trees import local_writer

COMMANDS = ("copy", "list", "verify", "inventory", "drivers")
MIB = 1024 * 1024


def _document(stdout: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stdout)
    return document


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_the_output_options(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.exit_code == 0, result.output
    for flag in ("-q, --quiet", "-v, --verbose", "--debug", "--json"):
        assert flag in result.stdout


def test_copy_json_has_format_and_version_and_keeps_its_keys(tmp_path: Path) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    result = copy_under(tmp_path, "--json", "app:v1")
    assert result.exit_code == 0, result.output
    document = _document(result.stdout)
    assert (document["format"], document["version"]) == ("registry-scraper/copy", 1)
    assert {"destination", "dry_run", "images", "images_ok", "images_failed"} <= set(document)
    assert document["images_ok"] == 1


@pytest.mark.parametrize("leading", [False, True])
def test_list_json_before_or_after_the_command(tmp_path: Path, leading: bool) -> None:
    local_writer(tmp_path / "data").image("team/app", "v1")
    tail = ["--data-dir", str(tmp_path / "data")]
    args = ["--json", "-q", "list", *tail] if leading else ["list", *tail, "--json", "-q"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    document = _document(result.stdout)
    assert document["format"] == "registry-scraper/list"
    assert document["repositories"] == [{"name": "team/app", "tags": ["v1"]}]
    assert document["errors"] == []


def test_verify_and_drivers_json_are_framed(tmp_path: Path) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    verify = run_cli("verify", "--data-dir", str(tmp_path / "data"), "--json")
    assert verify.exit_code == 0, verify.output
    document = _document(verify.stdout)
    assert (document["format"], document["version"], document["ok"]) == (
        "registry-scraper/verify",
        1,
        True,
    )
    drivers = run_cli("drivers", "--json")
    assert drivers.exit_code == 0, drivers.output
    listed = _document(drivers.stdout)
    assert listed["format"] == "registry-scraper/drivers"
    assert "local" in {driver["name"] for driver in listed["drivers"]}


def test_inventory_keeps_its_own_format(tmp_path: Path) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    plain = run_cli("inventory", "--data-dir", str(tmp_path / "data"))
    framed = run_cli("inventory", "--data-dir", str(tmp_path / "data"), "--json")
    assert plain.exit_code == framed.exit_code == 0, framed.output
    assert plain.stdout == framed.stdout
    assert _document(framed.stdout)["format"] == "registry-scraper/inventory"


def _error(stdout: str) -> dict[str, Any]:
    document = _document(stdout)
    assert (document["format"], document["version"]) == ("registry-scraper/error", 1)
    error: dict[str, Any] = document["error"]
    return error


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--json"],  # a set-up error the command finds
        ["list", "--json", "--no-such-option"],  # a usage error click finds
        ["--json", "verify", "--jobs", "0", "--data-dir", "x"],
        ["--json", "--output-dir", "out", "app"],  # copy, named by default
    ],
)
def test_failures_under_json_are_one_error_document(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    error = _error(result.stdout)
    assert error["exit"] == 2 and error["message"]
    assert error["message"] in result.stderr


def test_a_partial_copy_prints_its_summary_only(tmp_path: Path) -> None:
    local_writer(tmp_path / "data").image("app", "v1")
    result = copy_under(tmp_path, "--json", "app:v1", "app:nosuchtag")
    assert result.exit_code == 1, result.output
    document = _document(result.stdout)  # one document: json.loads refuses two
    assert (document["images_ok"], document["images_failed"]) == (1, 1)


def test_without_json_a_failure_prints_nothing_on_stdout() -> None:
    result = run_cli("list")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")


def test_an_interrupted_copy_under_json_prints_the_error_document(tmp_path: Path) -> None:
    local_writer(tmp_path / "data").image("app", "v1", layers=[os.urandom(3 * MIB)])
    args = ["--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "copy")]
    with CopyGate("read", after=MIB) as gate:
        process = start_scrape(
            *args, "--json", "app:v1", gate=gate, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = signal_at_gate(process, gate, signal.SIGINT)
    assert process.returncode == 130, err
    assert err.splitlines()[-1] == "interrupted: nothing partial was left at a final path"
    error = _error(out or "")
    assert error == {"message": "nothing partial was left at a final path", "exit": 130}
