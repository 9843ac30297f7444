"""Files named by options (``--registry-config``, ``--have``, ``--images-file``): opened
without blocking, refused unless regular (or ``-``, standard input), read up to a cap.
Standard input is given to one of them at most: the second would read nothing, or the end of
what the first was meant to read.

A FIFO would block ``open`` until a writer comes, a device such as ``/dev/zero`` never ends:
both are refused before a byte is read, naming the option and the path. Standard input is
read up to the same cap. Text must be UTF-8; where it is not is named by line and column.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import sys
from collections.abc import Iterable
from typing import BinaryIO

from scraper_core.errors import ConfigurationError, ScraperError

MIB = 1024 * 1024
#: A registry's config.yml is a few KB.
REGISTRY_CONFIG_CAP = 1 * MIB
#: One image a line: a million entries.
IMAGES_FILE_CAP = 64 * MIB
#: Inventories of big registries are tens of MB (one line per blob).
HAVE_FILE_CAP = 256 * MIB
STDIN = "-"
#: The options whose file this module opens: the ones that may read standard input.
OPTION_FILES = ("--registry-config", "--have", "--images-file")

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class OptionFileError(ConfigurationError):
    """A file given to an option that cannot be used: not regular, too large, unreadable."""


class TextDecodeError(ScraperError):
    """Bytes that should be UTF-8 text and are not."""


def cap_text(cap: int) -> str:
    return f"{cap // MIB} MiB"


def shown_name(path: str) -> str:
    """How messages name the file given as ``path``."""
    return "standard input" if path == STDIN else path


def refuse_stdin_twice(given: Iterable[tuple[str, str]]) -> None:
    """:class:`OptionFileError` naming both options when two of ``given`` (option, path),
    or one option twice, say ``-``: called before any is read, so nothing is consumed."""
    readers = [option for option, path in given if path == STDIN]
    if len(readers) > 1:
        raise OptionFileError(
            f"{readers[0]} - and {readers[1]} -: standard input can be read by one option "
            "only; give a file to the other"
        )


def _opener(path: str, flags: int) -> int:
    # O_NONBLOCK: opening a FIFO for reading would wait for a writer; it returns at once and
    # is refused below. A regular file ignores the flag.
    return os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)


def open_option_file(path: str, option: str) -> BinaryIO:
    """The regular file at ``path`` (``-``: standard input), opened for reading, never
    blocking; :class:`OptionFileError` naming ``option`` and ``path`` when it is something else.
    The caller closes it (not standard input)."""
    if path == STDIN:
        return sys.stdin.buffer
    try:
        stream = open(path, "rb", opener=_opener)  # noqa: SIM115 (the caller closes it)
    except OSError as exc:
        # A directory, or a socket (ENXIO), cannot even be opened: say what it is.
        mode = _mode_of(path)
        if mode is not None and not stat.S_ISREG(mode):
            raise _not_regular(path, option, mode) from None
        raise OptionFileError(f"{option} {path}: {exc.strerror or exc}") from None
    mode = os.fstat(stream.fileno()).st_mode
    if not stat.S_ISREG(mode):
        stream.close()
        raise _not_regular(path, option, mode)
    return stream


def _mode_of(path: str) -> int | None:
    try:
        return os.stat(path).st_mode
    except OSError:
        return None


def _not_regular(path: str, option: str, mode: int) -> OptionFileError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return OptionFileError(f"{option} {path}: is {kind}; give a regular file or -")


def read_capped(stream: BinaryIO, path: str, option: str, cap: int) -> bytes:
    """Every byte of ``stream``; :class:`OptionFileError` past ``cap`` bytes (nothing more is
    read: standard input may be endless)."""
    too_large = OptionFileError(
        f"{option} {shown_name(path)}: larger than {cap_text(cap)}, the cap for {option}"
    )
    if _regular_size(stream) > cap:
        raise too_large  # without reading it
    try:
        # Pages of the buffer read() reserves are only touched by the bytes that come.
        data = stream.read(cap + 1)
    except OSError as exc:
        raise OptionFileError(f"{option} {shown_name(path)}: {exc.strerror or exc}") from None
    if len(data) > cap:
        raise too_large
    return data


def _regular_size(stream: BinaryIO) -> int:
    """The size of the regular file behind ``stream``; 0 for anything else (a pipe)."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return 0
    return status.st_size if stat.S_ISREG(status.st_mode) else 0


def decode_utf8(data: bytes, where: str) -> str:
    """``data`` as text; :class:`TextDecodeError` naming ``where``, the line and the column."""
    try:
        # A byte order mark (some Windows editors write one) is not part of the text.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Positions count from after the mark.
        start = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise TextDecodeError(
            f"{where}: not UTF-8 text: byte 0x{data[start]:02x} at line {line}, column {column}"
        ) from None


def read_option_text(path: str, option: str, cap: int) -> str:
    """The UTF-8 text of the file given to ``option`` (``-``: standard input)."""
    stream = open_option_file(path, option)
    try:
        data = read_capped(stream, path, option, cap)
    finally:
        if path != STDIN:
            stream.close()
    return decode_utf8(data, f"{option} {shown_name(path)}")
