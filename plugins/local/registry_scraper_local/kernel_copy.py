"""Copies inside the kernel, in bounded chunks so that a cancel takes effect promptly."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable

from scraper_core.contract import CancelOnExit
from scraper_core.errors import StorageError

#: Bytes per copy_file_range/sendfile call: a cancel waits for one chunk at most (a fraction
#: of a second even on a slow disk), while the per-call cost stays negligible.
COPY_CHUNK = 16 * 1024 * 1024
#: How long a cancel waits for the copying thread before it discards the file regardless.
CANCEL_GRACE = 2.0


#: copy_file_range refusing this pair of files, not failing: sendfile is tried instead.
_RANGE_REFUSED = frozenset({errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})


class CopyCancelledError(Exception):
    """The copy was told to stop between two chunks."""


def kernel_copy(
    source_fd: int,
    dest_fd: int,
    stop: threading.Event | None = None,
    chunk: int = COPY_CHUNK,
) -> int:
    """Copy a whole file inside the kernel: copy_file_range (a reflink where the filesystem
    shares extents), falling back to sendfile where it is refused (older kernels, some
    cross-filesystem pairs). Returns the bytes copied; checks ``stop`` between chunks."""
    total = 0
    use_range = True
    while True:
        if stop is not None and stop.is_set():
            raise CopyCancelledError
        try:
            if use_range:
                copied = os.copy_file_range(source_fd, dest_fd, chunk)
            else:
                copied = os.sendfile(dest_fd, source_fd, None, chunk)
        except OSError as exc:
            if use_range and total == 0 and exc.errno in _RANGE_REFUSED:
                use_range = False
                continue
            raise
        if copied == 0:
            return total
        total += copied


class LocalStagedCopy(CancelOnExit):
    """A kernel copy running in a thread into a staged file; ``publish`` moves it into place.

    Every failure (a full disk, an I/O error, the publish refused) comes out of :meth:`wait`
    or :meth:`commit` as a :class:`StorageError` naming the path.

    On an interrupt :meth:`cancel` comes from another thread while the one that started the
    copy may be in :meth:`wait`. So nobody joins the copying thread (CPython 3.11's
    ``Thread.join`` from two threads at once can end in "release unlocked lock"): both wait
    on an event it sets last; and whether it was committed or cancelled is decided once,
    under a lock, so the staged file is published or discarded, never both, never twice.
    """

    def __init__(
        self,
        source_fd: int,
        dest_fd: int,
        path: str,
        *,
        publish: Callable[[], None],
        discard: Callable[[], None],
        fsync: bool = False,
        driver: str = "local",
    ) -> None:
        """Takes ownership of both descriptors (closed when the copy ends)."""
        self._source_fd = source_fd
        self._dest_fd = dest_fd
        self._path = path
        self._publish = publish
        self._discard = discard
        self._fsync = fsync
        self._driver = driver
        self._copied = 0
        self._error: BaseException | None = None
        #: Committed or cancelled: set once, under ``_ending``.
        self._done = False
        self._ending = threading.Lock()
        self._stop = threading.Event()
        #: Set by the copying thread when it is done with both descriptors.
        self._finished = threading.Event()
        thread = threading.Thread(target=self._run, name="kernel-copy", daemon=True)
        thread.start()

    def _run(self) -> None:
        try:
            self._copied = kernel_copy(self._source_fd, self._dest_fd, self._stop)
            if self._fsync:
                os.fsync(self._dest_fd)
        except BaseException as exc:  # handed to the waiting thread
            self._error = exc
        finally:
            try:
                os.close(self._source_fd)
                os.close(self._dest_fd)
            finally:
                self._finished.set()

    def _failure(self, what: str, exc: BaseException) -> StorageError:
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, CopyCancelledError):
            return StorageError(self._driver, self._path, "copy cancelled")
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return StorageError(self._driver, self._path, f"{what}: {detail or type(exc).__name__}")

    def wait(self, timeout: float | None = None) -> int:
        """The bytes copied, once the copy is done. With ``timeout``, :class:`TimeoutError`
        if it is still running then (a caller may poll, checking its own cancel flag)."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"{self._path}: kernel copy still running")
        if self._error is not None:
            raise self._failure("kernel copy failed", self._error) from self._error
        return self._copied

    def commit(self) -> None:
        self.wait()
        with self._ending:
            if self._done:
                raise StorageError(self._driver, self._path, "copy cancelled")
            try:
                self._publish()
            except Exception as exc:
                raise self._failure("cannot publish the copy", exc) from exc
            self._done = True

    def cancel(self) -> None:
        """Stop the copy at the next chunk and remove the staged file."""
        with self._ending:
            if self._done:
                return
            self._done = True
        self._stop.set()
        # A chunk takes well under a second; a kernel stuck longer (a hung NFS server) is not
        # waited for: the staged file is removed anyway and the thread's writes go nowhere.
        self._finished.wait(CANCEL_GRACE)
        self._discard()
