"""A storage driver over a local directory, like distribution's ``filesystem`` driver.

Every storage path is resolved (symlinks included) and must stay under the root: a symlink in
the tree that points elsewhere is refused rather than followed out. Writes go to a temporary
file in the target's directory and are renamed into place, so a reader (or a registry serving
the tree) sees either the old content or the new, never a partial file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, ClassVar, Self

from scraper_core.driver import Capability, FileInfo
from scraper_core.errors import (
    ConfigurationError,
    InvalidOffsetError,
    InvalidPathError,
    PathNotFoundError,
    ReadOnlyError,
    StorageError,
)

#: Prefix of in-flight temporary files; `scrape` removes stale ones it finds on a rerun.
TEMP_PREFIX = ".scrape-tmp-"


class LocalFileWriter:
    """Streams into a temporary sibling of the target; :meth:`commit` renames it into place."""

    def __init__(self, target: str) -> None:
        self._target = target
        directory = os.path.dirname(target)
        os.makedirs(directory, exist_ok=True)
        # Not mkstemp: its 0600 would survive the rename and a registry running as another
        # user could not serve the file. 0666 less the umask is what distribution writes.
        self._temp = os.path.join(directory, TEMP_PREFIX + secrets.token_hex(8))
        fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._file = os.fdopen(fd, "wb")
        self._size = 0
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> int:
        written = self._file.write(data)
        self._size += written
        return written

    def commit(self) -> None:
        self._file.close()
        os.replace(self._temp, self._target)
        self._done = True

    def cancel(self) -> None:
        if self._done:
            return
        self._done = True
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()


class LocalDriver:
    """The ``local`` driver: ``--data-dir`` is the registry's filesystem ``rootdirectory``."""

    name: ClassVar[str] = "local"
    description: ClassVar[str] = "a directory holding a registry's filesystem storage"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, root: Path, *, read_only: bool) -> None:
        self.root = os.path.realpath(root)
        self.read_only = read_only

    def __repr__(self) -> str:
        return f"LocalDriver({self.root!r})"

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> LocalDriver:
        if options:
            raise ConfigurationError(f"local: unknown option(s): {', '.join(sorted(options))}")
        root = Path(location).expanduser()
        if read_only:
            if not root.is_dir():
                raise ConfigurationError(f"local: not a directory: {location}")
        else:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(f"local: cannot create {location}: {exc}") from exc
        return cls(root, read_only=read_only)

    def local_path(self, path: str) -> str:
        """The filesystem path for a storage path, refused if it resolves outside the root."""
        joined = os.path.join(self.root, path.lstrip("/"))
        real = os.path.realpath(joined)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise InvalidPathError(self.name, path)
        return real

    def _writable(self, path: str) -> str:
        if self.read_only:
            raise ReadOnlyError(self.name, path)
        return self.local_path(path)

    def get_content(self, path: str) -> bytes:
        with open(self.local_path(path), "rb") as file:
            return file.read()

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        if offset < 0:
            # Checked before opening: a failed seek would leak the open file.
            raise InvalidOffsetError(self.name, path, f"negative offset {offset}")
        file = open(self.local_path(path), "rb")  # noqa: SIM115 - the caller closes it
        if offset:
            file.seek(offset)
        return file

    def stat(self, path: str) -> FileInfo:
        result = os.stat(self.local_path(path))
        is_dir = stat.S_ISDIR(result.st_mode)
        return FileInfo(path, 0 if is_dir else result.st_size, is_dir, result.st_mtime)

    def list_dir(self, path: str) -> list[str]:
        target = self.local_path(path)
        try:
            names = os.listdir(target)
        except FileNotFoundError:
            if path == "/":
                return []
            raise PathNotFoundError(self.name, path) from None
        except NotADirectoryError:
            raise StorageError(self.name, path, "not a directory") from None
        prefix = "" if path == "/" else path
        children = sorted(f"{prefix}/{name}" for name in names if not name.startswith(TEMP_PREFIX))
        if not children and path != "/":
            raise PathNotFoundError(self.name, path)
        return children

    def walk(self, path: str) -> Iterator[FileInfo]:
        top = self.local_path(path)
        if not os.path.isdir(top):
            raise PathNotFoundError(self.name, path)
        for directory, _dirs, files in os.walk(top):
            relative = os.path.relpath(directory, self.root)
            base = "" if relative == "." else "/" + relative.replace(os.sep, "/")
            for file_name in files:
                if file_name.startswith(TEMP_PREFIX):
                    continue
                full = os.path.join(directory, file_name)
                result = os.lstat(full)
                yield FileInfo(f"{base}/{file_name}", result.st_size, False, result.st_mtime)

    def put_content(self, path: str, data: bytes) -> None:
        with self.writer(path) as writer:
            writer.write(data)
            writer.commit()

    def writer(self, path: str) -> LocalFileWriter:
        return LocalFileWriter(self._writable(path))

    def move(self, source: str, dest: str) -> None:
        source_path = self._writable(source)
        dest_path = self._writable(dest)
        os.makedirs(os.path.dirname(dest_path), exist_ok=True)
        os.replace(source_path, dest_path)

    def delete(self, path: str) -> None:
        target = self._writable(path)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        else:
            os.unlink(target)
