"""The examples in every command's --help, and every `scrape` command line in the README's
code blocks, parse as command lines of the CLI: their options exist and take the values
given (run with --help appended, which click answers after parsing every option)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.support.cli import run_cli

COMMANDS = ("copy", "list", "verify", "inventory", "drivers")
README = Path(__file__).resolve().parent.parent / "README.md"
_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")


def scrape_lines(text: str) -> list[str]:
    """Each ``scrape ...`` command in ``text``: continuation lines joined, comments, pipes and
    redirections cut, `$(...)` evaluations and placeholders (``COMMAND``) left out."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for raw in joined.splitlines():
        line = raw.strip().split(" #", 1)[0].split(" |", 1)[0]
        line = re.split(r" (?:[<>]|&&) ", line, maxsplit=1)[0]
        words = shlex.split(line) if "scrape " in line else []
        while words and _ASSIGNMENT.match(words[0]):
            words.pop(0)
        if words[:1] == ["scrape"] and "COMMAND" not in words and "$(" not in line:
            found.append(shlex.join(words))
    return found


def _parses(line: str) -> None:
    words = shlex.split(line)[1:]
    result = run_cli(*words, "--help")
    assert result.exit_code == 0, f"{line}\n{result.output}"
    assert "Usage:" in result.stdout


def _epilog(command: str | None) -> str:
    result = run_cli(*([command] if command else []), "--help")
    assert result.exit_code == 0, result.output
    return result.stdout.split("Examples:", 1)[1]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_ends_with_examples_that_parse(command: str | None) -> None:
    examples = scrape_lines(_epilog(command))
    assert examples, command
    for example in examples:
        if command not in (None, "copy"):
            assert example.startswith(f"scrape {command}"), example
        _parses(example)


def test_every_command_line_of_the_readme_parses() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    lines = [line for block in blocks for line in scrape_lines(block)]
    assert len(lines) > 30
    for line in lines:
        _parses(line)


def test_a_wrong_option_in_an_example_would_be_caught() -> None:
    result = run_cli("list", "--data-dri", "x", "--help")
    assert result.exit_code == 2
