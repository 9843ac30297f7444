"""Staging directories: one per run, ``<root>/.scrape-tmp/<name>/``, alive while locked.

A run keeps ``<name>/lock`` locked (``flock``, exclusive) for as long as its driver lives; the
kernel drops the lock when the process ends, however it ends (SIGKILL, a crash). A later run
removes a staging directory only if it can take that lock itself, so liveness never depends on
a PID or a host name, which mean nothing across containers (PID namespaces) sharing one output.

A directory is made under a pending name (``<name>.new``), locked, then renamed to ``<name>``,
so no other run ever sees a staging directory whose lock is not yet held. A pending directory
or one without a lock file (left by a crash in the instant of making or removing one, or by an
older version of this driver) is judged by age instead: removed once untouched for
:data:`UNLOCKED_STALE_AFTER` seconds.

Every call here works through directory descriptors the caller has checked to lie inside the
root, so a staging directory swapped for a symlink cannot send a removal elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time

#: Names starting with this are ours and never part of the registry tree.
TEMP_PREFIX = ".scrape-tmp"
STAGING_ROOT = TEMP_PREFIX
LOCK_NAME = "lock"
PENDING_SUFFIX = ".new"
#: Age after which a staging directory that has no lock to ask is taken for dead.
UNLOCKED_STALE_AFTER = 600.0

#: flock refused by the filesystem rather than by another holder.
_NO_LOCKS = frozenset({errno.EOPNOTSUPP, errno.ENOLCK, errno.EINVAL})
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _remove_tree(name: str, dir_fd: int) -> None:
    import shutil  # ~4 ms, only when something is removed

    shutil.rmtree(name, ignore_errors=True, dir_fd=dir_fd)


class Staging:
    """This run's staging directory (``fd`` opened on it) and the lock that keeps it alive."""

    def __init__(self, fd: int, path: str, lock_fd: int) -> None:
        self.fd = fd
        self.path = path
        self._lock_fd = lock_fd

    @classmethod
    def create(cls, parent_fd: int, parent_path: str, name: str) -> Staging:
        """Make, lock and publish ``name`` in the directory open as ``parent_fd``.

        :class:`FileNotFoundError` if the parent vanished meanwhile (another run removed the
        empty ``.scrape-tmp``): the caller makes it again and retries.
        """
        pending = name + PENDING_SUFFIX
        os.mkdir(pending, 0o777, dir_fd=parent_fd)
        fd = lock_fd = -1
        try:
            fd = os.open(pending, _DIR_FLAGS, dir_fd=parent_fd)
            lock_fd = os.open(
                LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666, dir_fd=fd
            )
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                # A filesystem without locks: others cannot judge it either, so it is kept.
                if exc.errno not in _NO_LOCKS:
                    raise
            os.rename(pending, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
        except BaseException:
            for opened in (lock_fd, fd):
                if opened >= 0:
                    os.close(opened)
            _remove_tree(pending, parent_fd)
            raise
        return cls(fd, os.path.join(parent_path, name), lock_fd)

    def remove(self) -> None:
        """Remove the directory (whatever is left in it), then let go of the lock."""
        with contextlib.suppress(OSError):
            for entry in os.listdir(self.fd):
                if entry != LOCK_NAME:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry, dir_fd=self.fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(LOCK_NAME, dir_fd=self.fd)
        parent = os.path.dirname(self.path)
        name = os.path.basename(self.path)
        # By name, through a descriptor on the parent checked when the staging was made.
        with contextlib.suppress(OSError):
            parent_fd = os.open(parent, _DIR_FLAGS)
            try:
                if os.path.samestat(
                    os.stat(name, dir_fd=parent_fd, follow_symlinks=False), os.fstat(self.fd)
                ):
                    os.rmdir(name, dir_fd=parent_fd)
                # The last run out removes .scrape-tmp too; another run's entry keeps it.
                with contextlib.suppress(OSError):
                    os.rmdir(parent)
            finally:
                os.close(parent_fd)
        os.close(self.fd)
        os.close(self._lock_fd)
        # A late user of a closed staging gets EBADF, never a descriptor number reused since.
        self.fd = self._lock_fd = -1


def _lock_is_free(entry: str, parent_fd: int) -> bool | None:
    """True: the lock could be taken (its owner is gone); False: held; None: no lock file."""
    try:
        lock_fd = os.open(
            f"{entry}/{LOCK_NAME}",
            os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
            dir_fd=parent_fd,
        )
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    finally:
        # Released at once: a run that names its staging uniquely never comes back for it.
        os.close(lock_fd)
    return True


def _untouched_for(entry: str, parent_fd: int, seconds: float) -> bool:
    modified = os.stat(entry, dir_fd=parent_fd, follow_symlinks=False).st_mtime
    return time.time() - modified > seconds


def remove_stale(parent_fd: int) -> list[str]:
    """Remove the staging directories no live run holds, below ``parent_fd``; return them."""
    removed = []
    for entry in os.listdir(parent_fd):
        try:
            mode = os.stat(entry, dir_fd=parent_fd, follow_symlinks=False).st_mode
            if not stat.S_ISDIR(mode):
                # Not ours to keep: nothing but staging directories belongs here.
                os.unlink(entry, dir_fd=parent_fd)
                removed.append(entry)
                continue
            free = _lock_is_free(entry, parent_fd)
            if entry.endswith(PENDING_SUFFIX) or free is None:
                stale = free is not False and _untouched_for(entry, parent_fd, UNLOCKED_STALE_AFTER)
            else:
                stale = free
        except FileNotFoundError:
            continue  # removed meanwhile by its owner or another run's clean-up
        except OSError:
            continue  # cannot be judged from here (permissions): left alone
        if stale:
            _remove_tree(entry, parent_fd)
            removed.append(entry)
    return removed
