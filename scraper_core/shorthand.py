"""Shorthand destination options that plugins add to ``scrape copy``, and what they mean.

A plugin contributes them through the hook ``registry_scraper_add_destination_options`` (the
idea of pytest's ``pytest_addoption``): the ``tar`` plugin's ``--output-tar FILE`` means
``--output-storage tar --output-dir FILE``, and its ``--split-size SIZE`` means the option
``split-size=SIZE`` of that driver. The core names no driver: it learns the flags from the
installed plugins, checks how they combine, and turns them into one destination. Pure: the
command line wires click, this module says what the values mean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scraper_core.errors import ConfigurationError

#: The flag every destination can be given with; a location shorthand stands in for it.
OUTPUT_DIR_FLAG = "--output-dir"
_FLAG_RE = re.compile(r"--[a-z][a-z0-9]*(-[a-z0-9]+)*")


@dataclass(frozen=True)
class DestinationOption:
    """One shorthand option of ``scrape copy`` for a plugin's own destination driver.

    ``option`` None: the value is the destination's location (``--output-tar FILE``). Else
    the value is that driver option (``--split-size SIZE`` sets ``split-size``), and the
    option needs one of the driver's location shorthands (or ``--output-storage DRIVER`` when
    it has none). ``path``: the value is a file path (completed as one, a directory refused).
    ``stdout``: the location meaning standard output (``-``), which ``--json`` cannot share.
    """

    flag: str
    driver: str
    help: str
    metavar: str = "VALUE"
    option: str | None = None
    path: bool = False
    stdout: str | None = None

    def problem(self) -> str | None:
        """Why this option cannot be offered, in a few words; None when it can."""
        if not isinstance(self.flag, str) or not _FLAG_RE.fullmatch(self.flag):
            return f"invalid flag {self.flag!r} (expected --lower-case-words)"
        fields = (self.driver, self.help, self.metavar)
        if not all(isinstance(value, str) and value for value in fields):
            return f"{self.flag}: driver, help and metavar must be non-empty text"
        if self.option is not None and (not isinstance(self.option, str) or not self.option):
            return f"{self.flag}: option must be a driver option key or None"
        return None

    @property
    def sets_location(self) -> bool:
        return self.option is None


@dataclass(frozen=True)
class Destination:
    """Where a copy goes, as the command line said it."""

    driver: str
    location: str
    #: ``KEY=VALUE`` pairs, those of ``--output-storage-option`` first.
    options: tuple[str, ...]
    #: The flag that named the location (``--output-dir`` or a shorthand), for messages.
    flag: str
    #: The location is standard output.
    stdout: bool = False


def offered(
    contributed: Iterable[tuple[str, DestinationOption]], taken: Iterable[str]
) -> tuple[list[DestinationOption], list[str]]:
    """The contributed options that can be offered, and one warning for each that cannot.

    ``contributed`` pairs each option with the plugin that registered it (for the warning);
    ``taken`` are the flags the command has already. The first plugin to claim a flag has it.
    """
    flags = set(taken)
    kept: list[DestinationOption] = []
    warnings: list[str] = []
    for plugin, option in contributed:
        problem = option.problem()
        if problem is None and option.flag in flags:
            problem = f"{option.flag} is already an option of scrape copy"
        if problem is not None:
            warnings.append(f"plugin {plugin} offers a destination option left out: {problem}")
            continue
        flags.add(option.flag)
        kept.append(option)
    return kept, warnings


def _one_of(flags: Sequence[str]) -> str:
    return flags[0] if len(flags) == 1 else f"{', '.join(flags[:-1])} and {flags[-1]}"


def destination(
    shorthands: Sequence[DestinationOption],
    given: Mapping[str, str | None],
    output_storage: str,
    output_dir: str | None,
    output_options: Sequence[str],
) -> Destination:
    """The one destination the command line names; ConfigurationError (one line) when the
    flags do not combine. ``given`` maps each shorthand's flag to its value (None: absent)."""
    locations = [option for option in shorthands if option.sets_location]
    named = [option for option in locations if given.get(option.flag) is not None]
    if len(named) + (output_dir is not None) != 1:
        flags = [OUTPUT_DIR_FLAG, *(option.flag for option in locations)]
        raise ConfigurationError(f"give exactly one of {_one_of(flags)}")
    chosen = named[0] if named else None
    driver = chosen.driver if chosen is not None else output_storage
    options = list(output_options)
    for option in shorthands:
        value = given.get(option.flag)
        if option.sets_location or value is None:
            continue
        if chosen is None or chosen.driver != option.driver:
            needed = [other.flag for other in locations if other.driver == option.driver]
            wanted = " or ".join(needed) or f"--output-storage {option.driver}"
            if needed or driver != option.driver:
                raise ConfigurationError(f"{option.flag} needs {wanted}")
        options.append(f"{option.option}={value}")
    if chosen is None:
        assert output_dir is not None
        return Destination(driver, output_dir, tuple(options), OUTPUT_DIR_FLAG)
    location = given[chosen.flag]
    assert location is not None
    at_stdout = chosen.stdout is not None and location == chosen.stdout
    return Destination(driver, location, tuple(options), chosen.flag, at_stdout)
