"""``--storage-option KEY=VALUE`` pairs made into a driver's typed, frozen options dataclass.

For plugin authors: declare each option as a dataclass field made by :func:`option`, with a
parser taking the text and returning the value or raising :class:`OptionValueError` with what
the value must be; :func:`parse_options` refuses unknown keys (naming all of them and the known
ones) and words every error the same way, never echoing a secret. Pure: no I/O.

    @dataclass(frozen=True)
    class MyOptions:
        part_size: int = option(size(5 * MIB, 5 * GIB), 16 * MIB)
        token: str | None = option(text, None, secret=True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args

from scraper_core import sizes
from scraper_core.errors import ConfigurationError
from scraper_core.sizes import GIB, KIB, MIB, show_size

__all__ = [
    "GIB",
    "KIB",
    "MIB",
    "OptionValueError",
    "choice",
    "flag",
    "http_url",
    "option",
    "option_names",
    "parse_options",
    "parse_size",
    "positive_int",
    "show_size",
    "size",
    "text",
]
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})

Options = TypeVar("Options")
Parser = Callable[[str], Any]


class OptionValueError(ValueError):
    """Raised by a parser: its text says what the value must be ("must be ...")."""


def option(parse: Parser, default: Any, *, secret: bool = False, echo: bool | None = None) -> Any:
    """A field of an options dataclass: how its text is parsed, and whether it is a secret
    (then kept out of ``repr`` and out of every error message). ``echo=False`` keeps only the
    value out of error messages."""
    metadata = {"parse": parse, "echo": not secret if echo is None else echo}
    return dataclasses.field(default=default, repr=not secret, metadata=metadata)


def option_names(options_class: type[Any]) -> tuple[str, ...]:
    return tuple(item.name for item in dataclasses.fields(options_class))


def parse_options(driver: str, options_class: type[Options], pairs: Mapping[str, str]) -> Options:
    """The options dataclass from ``--storage-option`` pairs; ConfigurationError names the
    driver, the option and what it must be."""
    known = option_names(options_class)
    unknown = sorted(set(pairs) - set(known))
    if unknown:
        raise ConfigurationError(
            f"{driver}: unknown option(s): {', '.join(unknown)} (known: {', '.join(known)})"
        )
    values: dict[str, Any] = {}
    for item in dataclasses.fields(options_class):  # type: ignore[arg-type]
        if item.name not in pairs:
            continue
        text = pairs[item.name]
        try:
            values[item.name] = item.metadata["parse"](text)
        except OptionValueError as exc:
            shown = f", got {text!r}" if item.metadata["echo"] else ""
            raise ConfigurationError(f"{driver}: option {item.name} {exc}{shown}") from None
    return options_class(**values)


def text(value: str) -> str:
    """Any text but an empty one, stripped."""
    if not value.strip():
        raise OptionValueError("must not be empty")
    return value.strip()


def flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in _TRUE | _FALSE:
        raise OptionValueError("must be true or false")
    return lowered in _TRUE


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise OptionValueError("must be a positive integer")
    return number


def choice(literal: Any) -> Parser:
    """One of the values of a ``Literal[...]`` type."""
    allowed: tuple[str, ...] = get_args(literal)

    def parse(value: str) -> str:
        if value not in allowed:
            raise OptionValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def http_url(value: str) -> str:
    """An http:// or https:// URL, without a trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise OptionValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def parse_size(value: str) -> int:
    """Bytes in the one size grammar of :mod:`scraper_core.sizes` (``8M``, ``16MiB``...)."""
    try:
        return sizes.parse_size(value)
    except ValueError as exc:
        raise OptionValueError(str(exc)) from None


def size(low: int, high: int, *, multiple: int = 1) -> Parser:
    """A size from ``low`` to ``high`` bytes, a multiple of ``multiple``."""
    if multiple > 1:
        must = f"must be a multiple of {show_size(multiple)} up to {show_size(high)}"
    else:
        must = f"must be between {show_size(low)} and {show_size(high)}"

    def parse(value: str) -> int:
        number = parse_size(value)
        if not low <= number <= high or number % multiple:
            raise OptionValueError(must)
        return number

    return parse
