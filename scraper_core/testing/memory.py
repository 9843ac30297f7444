"""A complete in-memory :class:`~scraper_core.contract.StorageDriver`, for tests of the core.

It behaves like an object store with filesystem manners: directories exist only while a file
lies below them (so deleting the last file of ``/a/b`` makes ``/a/b`` vanish), yet a path cannot
be a file and a directory at once, because the local driver and a registry's filesystem tree
cannot either. It is strict where the contract is strict, so a core bug shows up here first.
Like every driver it leaves the wrapper's rules (paths, offsets, read-only) to
:class:`~scraper_core.checked.CheckedDriver`: wrap it, as the core does, to have them.

It is deliberately not registered as a plugin: users cannot pick it with ``--storage``.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar

from scraper_core.contract import CancelOnExit, Capability, FileInfo
from scraper_core.errors import (
    ConfigurationError,
    LocationNotFoundError,
    PathNotFoundError,
    StorageError,
)

ROOT = "/"


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or ROOT


def _ancestors(path: str) -> Iterator[str]:
    """The directories above ``path``, nearest first, ending with the root."""
    while path != ROOT:
        path = _parent(path)
        yield path


@dataclass(frozen=True)
class _StoredFile:
    # bytes, not bytearray: readers share it without copying and nobody can change it.
    data: bytes
    mod_time: float


@dataclass
class MemoryStore:
    """The state behind one or more :class:`MemoryDriver` views; every access holds ``lock``."""

    location: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    files: dict[str, _StoredFile] = field(default_factory=dict)
    #: Directory path -> full paths of its direct children. A directory is present exactly
    #: while something lies below it; the root is always present.
    children: dict[str, set[str]] = field(default_factory=lambda: {ROOT: set()})

    # The methods below expect the caller to hold ``lock``.

    def is_dir(self, path: str) -> bool:
        return path in self.children

    def conflict(self, path: str) -> str | None:
        """Why a file cannot be stored at ``path`` (a directory is in the way), or None."""
        if self.is_dir(path):
            return "is a directory"
        for ancestor in _ancestors(path):
            if ancestor in self.files:
                return f"not a directory: {ancestor}"
        return None

    def put(self, path: str, data: bytes) -> None:
        self.files[path] = _StoredFile(data, time.time())
        self.link(path)

    def link(self, path: str) -> None:
        child = path
        for parent in _ancestors(path):
            siblings = self.children.setdefault(parent, set())
            if child in siblings:
                # Everything above is linked already: that is the invariant.
                return
            siblings.add(child)
            child = parent

    def unlink(self, path: str) -> None:
        """Detach ``path`` from its parent, removing directories this leaves empty."""
        child = path
        for parent in _ancestors(path):
            siblings = self.children[parent]
            siblings.discard(child)
            if siblings or parent == ROOT:
                return
            del self.children[parent]
            child = parent

    def remove_tree(self, path: str) -> None:
        """Forget the directory ``path`` and everything below it (not its link upwards)."""
        pending = [path]
        while pending:
            directory = pending.pop()
            for child in self.children.pop(directory):
                if child in self.children:
                    pending.append(child)
                else:
                    del self.files[child]


class MemoryFileWriter(CancelOnExit):
    """Buffers privately; :meth:`commit` swaps the whole content in under the store's lock."""

    def __init__(self, driver: MemoryDriver, path: str) -> None:
        self._driver = driver
        self._path = path
        self._buffer = bytearray()
        self._state = "open"

    @property
    def size(self) -> int:
        return len(self._buffer)

    def _require_open(self) -> None:
        if self._state != "open":
            raise StorageError(self._driver.name, self._path, f"writer already {self._state}")

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._require_open()
        before = len(self._buffer)
        self._buffer += data
        # Counted in bytes, which len() of a memoryview is not in general.
        return len(self._buffer) - before

    def commit(self) -> None:
        self._require_open()
        self._driver.put_content(self._path, bytes(self._buffer))
        self._state = "committed"
        self._buffer = bytearray()

    def cancel(self) -> None:
        if self._state == "open":
            self._state = "cancelled"
            self._buffer = bytearray()


class MemoryDriver:
    """The ``memory`` driver. ``MemoryDriver()`` is a private, empty, writable store.

    :meth:`open` names stores by ``location`` for the life of the process, so a test can fill
    one writable and reopen it read-only, as the CLI does with a directory; use a unique
    location per test (``str(tmp_path)`` does) to keep tests apart. ``read_only`` says how it
    was opened; the wrapper, not the driver, refuses writes to it.
    """

    name: ClassVar[str] = "memory"
    description: ClassVar[str] = "an in-process store for tests (not persistent, not a plugin)"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    _named_stores: ClassVar[dict[str, MemoryStore]] = {}
    _named_stores_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: MemoryStore | None = None, *, read_only: bool = False) -> None:
        self.store = store if store is not None else MemoryStore()
        self.read_only = read_only

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "writable"
        return f"MemoryDriver({self.store.location!r}, {mode})"

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> MemoryDriver:
        if options:
            raise ConfigurationError(f"memory: unknown option(s): {', '.join(sorted(options))}")
        with cls._named_stores_lock:
            store = cls._named_stores.get(location)
            if store is None:
                if read_only:
                    # Like opening a missing directory as a source: nothing there to read
                    # (options were checked above, as the contract asks).
                    raise LocationNotFoundError(f"memory: no store named {location!r}")
                store = cls._named_stores[location] = MemoryStore(location)
        return cls(store, read_only=read_only)

    def read_only_view(self) -> MemoryDriver:
        """A read-only driver on the same store (what ``open(..., read_only=True)`` gives)."""
        return MemoryDriver(self.store, read_only=True)

    def _file(self, path: str) -> _StoredFile:
        """The file at ``path``; the caller holds the lock."""
        found = self.store.files.get(path)
        if found is not None:
            return found
        if self.store.is_dir(path):
            raise StorageError(self.name, path, "is a directory")
        raise PathNotFoundError(self.name, path)

    # Reading.

    def get_content(self, path: str) -> bytes:
        with self.store.lock:
            return self._file(path).data

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        with self.store.lock:
            data = self._file(path).data
        stream = io.BytesIO(data)
        # Seeking past the end is allowed; reads there return b"".
        stream.seek(offset)
        return stream

    def stat(self, path: str) -> FileInfo:
        with self.store.lock:
            found = self.store.files.get(path)
            if found is not None:
                return FileInfo(path, len(found.data), False, found.mod_time)
            if self.store.is_dir(path):
                return FileInfo(path, 0, True)
        raise PathNotFoundError(self.name, path)

    def list_dir(self, path: str) -> list[str]:
        with self.store.lock:
            children = self.store.children.get(path)
            if children is not None:
                return sorted(children)
            if path in self.store.files:
                raise StorageError(self.name, path, "not a directory")
        raise PathNotFoundError(self.name, path)

    def walk(self, path: str) -> Iterator[FileInfo]:
        found: list[FileInfo] = []
        with self.store.lock:
            if not self.store.is_dir(path):
                raise PathNotFoundError(self.name, path)
            pending = [path]
            while pending:
                for child in self.store.children[pending.pop()]:
                    if child in self.store.children:
                        pending.append(child)
                    else:
                        stored = self.store.files[child]
                        found.append(FileInfo(child, len(stored.data), False, stored.mod_time))
        # Yield outside the lock: the caller may write to the store between items.
        yield from found

    # Writing.

    def put_content(self, path: str, data: bytes) -> None:
        content = bytes(data)
        with self.store.lock:
            problem = self.store.conflict(path)
            if problem:
                raise StorageError(self.name, path, problem)
            self.store.put(path, content)

    def writer(self, path: str) -> MemoryFileWriter:
        with self.store.lock:
            # Fail early as a filesystem would; commit checks again, as things may change.
            problem = self.store.conflict(path)
        if problem:
            raise StorageError(self.name, path, problem)
        return MemoryFileWriter(self, path)

    def move(self, source: str, dest: str) -> None:
        with self.store.lock:
            moving = self._file(source)
            if source == dest:
                return
            problem = self.store.conflict(dest)
            if problem:
                raise StorageError(self.name, dest, problem)
            del self.store.files[source]
            self.store.unlink(source)
            self.store.files[dest] = moving
            self.store.link(dest)

    def delete(self, path: str) -> None:
        with self.store.lock:
            if path in self.store.files:
                del self.store.files[path]
            elif self.store.is_dir(path):
                self.store.remove_tree(path)
            else:
                raise PathNotFoundError(self.name, path)
            self.store.unlink(path)
