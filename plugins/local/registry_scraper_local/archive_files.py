"""The files a run writes beside an archive, and how they are made without following links.

Beside ``FILE`` a run writes ``FILE`` itself (or volumes ``FILE.000``, ...), ``FILE.sha256``,
``FILE.sha256.sig`` (signed runs), ``FILE.receipt.json``, ``FILE.lock`` and a work directory
``.FILE.scrape-tmp-*``. Any of those names may already be there, placed by someone else: a
symlink to a file that must not be written, a directory, a FIFO. So a file is created or opened
with ``O_NOFOLLOW`` and ``O_NONBLOCK`` and checked with ``fstat`` after it is open; a name that
ends up replaced is replaced by ``rename``, which replaces a symlink itself and never writes
through it; and old volumes are removed only when the checksum file of the set being replaced
names them.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from dataclasses import dataclass

from scraper_core.errors import ConfigurationError

#: A checksum file longer than this is not one a run wrote (about 10,000 volumes).
MAX_SUMS_SIZE = 1024 * 1024
_SUMS_LINE_RE = re.compile(r"[0-9a-f]{64}  (\S+)")
_VOLUME_SUFFIX_RE = re.compile(r"\.\d{3,}")
_FIRST_VOLUMES_RE = re.compile(r"\.\d{3}")


@dataclass(frozen=True)
class ArchiveFiles:
    """The final names of one archive's files (``target`` as given, made absolute)."""

    target: str

    @property
    def directory(self) -> str:
        return os.path.dirname(self.target)

    @property
    def base(self) -> str:
        return os.path.basename(self.target)

    @property
    def sums(self) -> str:
        return self.target + ".sha256"

    @property
    def signature(self) -> str:
        return self.sums + ".sig"

    @property
    def receipt(self) -> str:
        return self.target + ".receipt.json"

    @property
    def lock(self) -> str:
        return self.target + ".lock"

    def volume_names(self, count: int, *, split: bool) -> list[str]:
        """Base names of the ``count`` volumes of a set (one unsplit file: the base)."""
        return [f"{self.base}.{index:03d}" for index in range(count)] if split else [self.base]

    def is_volume_name(self, name: str) -> bool:
        """``name`` is the base or the base and a volume number: a name a set may hold."""
        if not name.startswith(self.base):
            return False
        suffix = name[len(self.base) :]
        return not suffix or _VOLUME_SUFFIX_RE.fullmatch(suffix) is not None

    def check_volume_names(self) -> None:
        """Refuse, before anything is written, a name a split set's volume would be renamed
        over (``FILE.000`` to ``FILE.999``) that is not a file; later volumes are checked
        when the set is published."""
        try:
            entries = os.listdir(self.directory)
        except OSError as exc:
            raise ConfigurationError(f"tar: cannot list {self.directory}: {exc.strerror}") from None
        for name in entries:
            if name.startswith(self.base) and _FIRST_VOLUMES_RE.fullmatch(name[len(self.base) :]):
                check_replaceable(os.path.join(self.directory, name), "volume")

    def replaced(self) -> list[str]:
        """Names a run replaces by ``rename`` whatever it writes (volumes aside)."""
        return [self.sums, self.signature, self.receipt]

    def listed_volumes(self) -> list[str]:
        """Base names of the volumes the current checksum file lists: the files of the set a
        run replaces, hence its own to remove. Nothing when the file is absent, not a regular
        file, larger than a run writes, or not in the format a run writes."""
        data = read_regular(self.sums, MAX_SUMS_SIZE)
        if data is None:
            return []
        try:
            lines = data.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            return []
        listed: list[str] = []
        for line in lines:
            match = _SUMS_LINE_RE.fullmatch(line)
            if match is None:
                return []
            name = match.group(1)
            if self.is_volume_name(name):
                listed.append(name)
        return listed


def describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_replaceable(path: str, what: str) -> None:
    """A name a run will rename over must be absent, a regular file or a symlink (the link
    is replaced, not followed); anything else is refused before anything is written."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigurationError(f"tar: cannot open the {what} {path} ({exc.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise ConfigurationError(f"tar: {what} {path} is {describe(mode)}; remove it first")


def open_regular(path: str, flags: int, what: str, mode: int = 0o644) -> int:
    """``os.open`` that never follows a symlink at ``path``, never blocks on a FIFO, and
    returns only a regular file; anything else is a one-line ConfigurationError."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        try:
            found = describe(os.lstat(path).st_mode)
        except OSError:
            found = None
        if found is not None and found != "not a regular file":
            raise ConfigurationError(f"tar: {what} {path} is {found}; remove it first") from None
        raise ConfigurationError(f"tar: cannot open the {what} {path} ({exc.strerror})") from None
    try:
        found_mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(found_mode):
            found = describe(found_mode)
            raise ConfigurationError(f"tar: {what} {path} is {found}; remove it first")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str, limit: int) -> bytes | None:
    """The bytes of the regular file at ``path`` (not through a symlink), or None when it is
    absent, anything else, or larger than ``limit``."""
    try:
        fd = open_regular(path, os.O_RDONLY, "file")
    except ConfigurationError:
        return None
    try:
        data = os.read(fd, limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None if len(data) > limit else data


def remove_listed(files: ArchiveFiles, listed: list[str], kept: list[str]) -> None:
    """Remove the old set's volumes that the new set does not replace (a longer old set, or
    a split old set replaced by one file): ``cat FILE.[0-9]*`` must read the new set only."""
    for name in listed:
        if name not in kept:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(files.directory, name))
