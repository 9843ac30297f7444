"""The ``tar`` driver: the shallow clone as one archive, written (destination) or read (source).

Writing streams: an object enters the archive when the copy engine commits it (verified), in
commit order, so the order stays blobs, then links, then tag links, as on a filesystem. Until
then a writer's bytes wait in a bounded memory buffer or, past that, in the archive's single
:class:`~registry_scraper_local.blob_spool.BlobSpool` beside it (for standard output, in the
temp directory or ``spool-dir``: never the current directory, which may be the source).

A file archive is built in a work directory beside it (``.FILE.scrape-tmp-*``) and published
by :meth:`TarDriver.close`: the volume(s), ``FILE.receipt.json`` (the run's receipt, also stored
inside), with ``-o sign-key=KEY`` ``FILE.sha256.sig`` (:mod:`shipment_signature`) and, last,
``FILE.sha256``, which lists all of them but the signature over it. :meth:`TarDriver.abort` and
every failure of ``close`` remove the work directory; nothing appears under a final name.
``FILE.lock`` keeps a second run off the same archive. Every file beside the archive is made
without following links (:mod:`~registry_scraper_local.archive_files`), and before anything is
opened :meth:`TarDriver.overlaps` refuses a run whose files are, by identity, the source's.
``-`` writes to standard output, which cannot be taken back: a failed run leaves a stream that
``tar -x`` refuses (see :meth:`ArchiveStream.poison`).

The same content and the same command give the same bytes: entries in commit order (the core
commits in plan order for a destination with ``commits_in_order``), every header at one instant
(:func:`archive_time`), fixed owners and modes, fixed compression parameters.

Reading (``--storage tar``) is :class:`~registry_scraper_local.archive_reader.ArchiveReader`.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import secrets
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, ClassVar

from registry_scraper_local.archive_files import (
    ArchiveFiles,
    check_replaceable,
    remove_listed,
)
from registry_scraper_local.archive_index import INDEX_MEMBER, IndexEntry, render
from registry_scraper_local.archive_lock import ArchiveLock
from registry_scraper_local.archive_writer import (
    ArchiveStream,
    FdSink,
    Sink,
    VolumeSink,
    compression_for,
    make_compressor,
)
from registry_scraper_local.blob_spool import BlobSpool
from registry_scraper_local.overlap import archive_overlap, contains, same_directory, same_file
from registry_scraper_local.shipment_signature import check_key, sign
from scraper_core.contract import CancelOnExit, Capability, FileInfo, StorageDriver
from scraper_core.errors import ConfigurationError, PathNotFoundError, StorageError
from scraper_core.layout import BLOBS_ROOT, RECEIPTS_ROOT, blob_digest_of
from scraper_core.sizes import parse_size

#: Bytes one writer keeps in memory before it needs the spool beside the archive.
SPOOL_LIMIT = 8 * 1024 * 1024
#: Link files are kept so a later ``get_content`` can tell they are already there.
KEEP_CONTENT_LIMIT = 4096
STDOUT = "-"
#: A volume must hold at least a few headers; smaller limits are surely a typo.
MIN_SPLIT_SIZE = 4 * 1024
#: The latest time a tar header holds without an extended record (11 octal digits).
MAX_EPOCH = 8**11 - 1


def parse_split_size(text: str) -> int:
    """The volume size, in the core's one size grammar (:mod:`scraper_core.sizes`)."""
    try:
        size = parse_size(text)
    except ValueError as exc:
        raise ConfigurationError(f"tar: split size {text!r} {exc}") from None
    if size < MIN_SPLIT_SIZE:
        raise ConfigurationError(f"tar: split size {text!r} is under 4K")
    return size


def archive_time() -> int:
    """The one instant every header carries: ``SOURCE_DATE_EPOCH`` when set (so a volume can
    be made again, byte for byte), else now."""
    text = os.environ.get("SOURCE_DATE_EPOCH")
    if text is None:
        return int(time.time())
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_EPOCH:
        raise ConfigurationError(
            f"SOURCE_DATE_EPOCH {text[:40]!r} is not a whole number of seconds since 1970"
        )
    return int(text)


class TarEntryWriter(CancelOnExit):
    """Holds one object until :meth:`commit` appends it to the archive."""

    def __init__(self, owner: TarDriver, path: str) -> None:
        self._owner = owner
        self._path = path
        self._buffer = bytearray()
        self._spooled = False
        self._size = 0
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> int:
        if self._done:
            raise StorageError(self._owner.name, self._path, "writer already finished")
        if not self._spooled and len(self._buffer) + len(data) > SPOOL_LIMIT:
            self._owner.spool.take(self._path, self._owner.is_closed)
            self._spooled = True
            buffered, self._buffer = bytes(self._buffer), bytearray()
            self._owner.spool.write(buffered)
        if self._spooled:
            self._owner.spool.write(data)
        else:
            self._buffer += data
        self._size += len(data)
        return len(data)

    def commit(self) -> None:
        if self._done:
            raise StorageError(self._owner.name, self._path, "writer already finished")
        try:
            if self._spooled:
                self._owner.append(self._path, self._size, self._owner.spool.chunks())
            else:
                self._owner.append(self._path, self._size, [bytes(self._buffer)])
        finally:
            self.cancel()

    def cancel(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        if self._spooled:
            self._owner.spool.give_back()


WRITER_OPTIONS = ("compression", "sign-key", "split-size", "spool-dir")


class TarDriver:
    """Write an archive; see the module docstring. Reads answer what this run has written."""

    name: ClassVar[str] = "tar"
    #: Writing's and reading's (ArchiveReader's, not imported before it reads; a test keeps
    #: them equal).
    option_keys: ClassVar[tuple[str, ...]] = tuple(
        sorted({*WRITER_OPTIONS, "allow-unindexed", "trusted-keys"})
    )
    description: ClassVar[str] = "an archive (.tar, .tar.gz, .tar.zst, split or not): write or read"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: Same content, same command, same archive: the core commits in plan order.
    commits_in_order: ClassVar[bool] = True
    #: A writer holds this much in memory before the spool (the core plans around it).
    stages_in_memory_up_to: ClassVar[int] = SPOOL_LIMIT
    #: :meth:`overlaps` is given the destination's options (where the spool goes).
    overlap_reads_options: ClassVar[bool] = True

    def __init__(
        self,
        target: str,
        *,
        compression: str | None,
        split_size: int | None = None,
        spool_dir: str | None = None,
        sign_key: str | None = None,
    ) -> None:
        self.target = target
        self.sign_key = sign_key
        self.split_size = split_size
        #: Told the uncompressed bytes of each blob as it enters the archive (progress).
        self.on_archived: Callable[[int], None] | None = None
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}
        self._contents: dict[str, bytes] = {}
        #: Every member so far, in archive order: the index written last lists them.
        self._members: list[IndexEntry] = []
        self._receipt: bytes | None = None
        self._closed = False
        #: Why the stream is unusable: an entry failed half-way into it (a full disk, a
        #: source longer than announced). Nothing more is added and nothing is published.
        self._broken: str | None = None
        self._archive_lock: ArchiveLock | None = None
        self._workdir: str | None = None
        self._volumes: VolumeSink | None = None
        self._files = ArchiveFiles(os.path.abspath(target))
        mtime = archive_time()
        compressor = make_compressor(compression)
        sink: Sink
        if target == STDOUT:
            # Never the current directory: it may be the source tree, or read-only.
            self.spool = BlobSpool(spool_dir or tempfile.gettempdir(), self.name)
            sink = FdSink(_take_stdout())
        else:
            self._archive_lock = ArchiveLock.acquire(self._files.target)
            try:
                self._make_workdir()
                assert self._workdir is not None
                self.spool = BlobSpool(spool_dir or self._workdir, self.name)
                self._volumes = sink = VolumeSink(self._workdir, split_size)
            except BaseException:
                self._discard()
                raise
        self._stream = ArchiveStream(sink, compressor, mtime, self._archived)
        # A run that ends without close or abort (an uncaught error) still cleans up.
        atexit.register(self.abort)

    def _make_workdir(self) -> None:
        files = self._files
        name = f".{files.base}.scrape-tmp-{secrets.token_hex(4)}"
        # Named before it is made: an interrupt right after mkdir still finds it to remove.
        self._workdir = os.path.join(files.directory, name)
        try:
            os.mkdir(self._workdir, 0o700)
        except OSError as exc:
            self._workdir = None  # not made, so not ours to remove
            raise ConfigurationError(
                f"tar: cannot make the work directory beside {self.target} ({exc.strerror})"
            ) from None

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> StorageDriver:
        if read_only:
            from registry_scraper_local.archive_reader import ArchiveReader

            # A reader is not a StorageDriver; the core only reads through a read-only wrapper.
            return ArchiveReader.open(location, options)  # type: ignore[return-value]
        target, compression, split_size, spool_dir = cls._writing(location, options)
        return cls(
            target,
            compression=compression,
            split_size=split_size,
            spool_dir=spool_dir,
            sign_key=options.get("sign-key"),
        )

    @classmethod
    def check_output(cls, location: str, options: Mapping[str, str]) -> None:
        """What a dry run into an archive asks: would writing it here with these options work?
        Nothing is written; an archive is written anew, so nothing in it counts as present."""
        cls._writing(location, options)
        archive_time()

    @classmethod
    def _writing(
        cls, location: str, options: Mapping[str, str]
    ) -> tuple[str, str | None, int | None, str | None]:
        """Target, compression, split size and spool directory for writing at ``location``;
        ConfigurationError for anything that would fail."""
        unknown = set(options) - set(WRITER_OPTIONS)
        if unknown:
            raise ConfigurationError(f"tar: unknown option(s): {', '.join(sorted(unknown))}")
        sign_key = options.get("sign-key")
        if sign_key is not None:
            if location == STDOUT:
                raise ConfigurationError("tar: sign-key signs FILE.sha256: write a file, not -")
            check_key(sign_key)
        split = options.get("split-size")
        split_size = None if split is None else parse_split_size(split)
        spool_dir = options.get("spool-dir")
        if spool_dir is not None and not os.path.isdir(spool_dir):
            raise ConfigurationError(f"tar: spool-dir {spool_dir} is not a directory")
        if location == STDOUT:
            if split_size is not None:
                raise ConfigurationError("tar: standard output cannot be split into volumes")
            wanted = options.get("compression", "none")
            if wanted not in ("none", "gz", "zst"):
                raise ConfigurationError(f"tar: compression {wanted!r}: none, gz or zst")
            return STDOUT, None if wanted == "none" else wanted, None, spool_dir
        if "compression" in options:
            raise ConfigurationError("tar: a file archive's compression comes from its name")
        if not Path(location).expanduser().parent.is_dir():
            raise ConfigurationError(f"tar: directory does not exist for {location}")
        target = str(Path(location).expanduser())
        compression = compression_for(target)
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            mode = None
        # Replaced by a rename on close: only a regular file (or a symlink, itself replaced,
        # never written through) may be there already.
        if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise ConfigurationError(f"tar: {location} is {what}")
        files = ArchiveFiles(os.path.abspath(target))
        check_replaceable(files.sums, "checksum file")
        check_replaceable(files.signature, "signature")
        check_replaceable(files.receipt, "receipt")
        if split_size is not None:
            files.check_volume_names()
        return target, compression, split_size, spool_dir

    @classmethod
    def overlaps(
        cls, location: str, other: object, options: Mapping[str, str] | None = None
    ) -> str | None:
        """Why writing the archive at ``location`` (its volumes, the files beside it, the work
        directory and the spool) could write, replace or remove a file of ``other``, a local
        tree or an archive being read; None when it cannot, or ``other`` is neither."""
        from registry_scraper_local.archive_reader import ArchiveReader
        from registry_scraper_local.driver import LocalDriver

        # Without the options (a caller that does not pass them), assume volumes may be cut.
        split = options is None or "split-size" in options
        options = options or {}
        spool_dir = options.get("spool-dir")
        if location == STDOUT:
            spool_dir = spool_dir or tempfile.gettempdir()
        if isinstance(other, LocalDriver):
            if spool_dir is not None and contains(other.root, spool_dir):
                return f"its spool directory {spool_dir} is inside the source {other.root}"
            if location == STDOUT:
                return None
            files = ArchiveFiles(os.path.abspath(os.path.expanduser(location)))
            return archive_overlap(location, other.root, cls._written_beside(files))
        if isinstance(other, ArchiveReader) and location != STDOUT:
            return cls._archive_overlap(location, other, split=split)
        return None

    @staticmethod
    def _written_beside(files: ArchiveFiles) -> list[str]:
        """Existing names the run replaces or removes beside the archive (volumes of the set
        it replaces, checksums, receipt, lock); new names are judged by their directory."""
        listed = [os.path.join(files.directory, name) for name in files.listed_volumes()]
        return [files.target, *files.replaced(), files.lock, *listed]

    @classmethod
    def _archive_overlap(cls, location: str, reader: object, *, split: bool) -> str | None:
        """The archive being read (its volumes and the files beside them) against every file
        this run writes, replaces or removes, compared by identity both ways."""
        volumes: list[str] = list(getattr(reader, "volumes", []))
        files = ArchiveFiles(os.path.abspath(os.path.expanduser(location)))
        read = [*volumes, *_beside_read(volumes)]
        found = same_file(cls._written_beside(files), read)
        if found is not None:
            written, source = found
            return f"it would replace or remove {written}, which is the source's {source}"
        # New volumes FILE.000, ... (their count is known only at the end): any volume-like
        # name of the source in the archive's directory is one the run may replace.
        for source in read if split else []:
            for path in (os.path.abspath(source), os.path.realpath(source)):
                name = os.path.basename(path)
                if files.is_volume_name(name) and same_directory(
                    os.path.dirname(path), files.directory
                ):
                    return f"its volumes would replace {source}, which the source reads"
        return None

    def is_closed(self) -> bool:
        return self._closed

    def follow_output(self, bytes_written: Callable[[int], None], copied: int) -> int:
        """WholeOutput: each blob is archived (and compressed) once after it is copied in,
        half of the work, so the progress bar counts both."""
        self.on_archived = bytes_written
        return copied * 2

    def _archived(self, size: int) -> None:
        if self.on_archived is not None:
            self.on_archived(size)

    def append(self, path: str, size: int, chunks: Iterable[bytes]) -> None:
        with self._lock:
            if self._closed:
                raise StorageError(self.name, path, "archive already closed")
            self._append(path, size, chunks)

    def _append(self, path: str, size: int, chunks: Iterable[bytes]) -> None:
        kept: list[bytes] = []
        # A sha256 blob's data was verified against the digest its path names before the
        # engine committed it: hashing it again here would only cost time.
        named = blob_digest_of(path)
        sha256 = named.hex if named is not None and named.algorithm == "sha256" else None
        hasher = hashlib.sha256() if sha256 is None else None

        def keep(source: Iterable[bytes]) -> Iterator[bytes]:
            for chunk in source:
                if size <= KEEP_CONTENT_LIMIT:
                    kept.append(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                yield chunk

        if self._broken is not None:
            raise StorageError(self.name, path, f"archive unusable: {self._broken}")
        try:
            self._stream.add(path, size, keep(chunks), counted=path.startswith(BLOBS_ROOT))
        except BaseException as exc:
            self._broken = f"writing {path} failed: {exc}"
            raise
        self._sizes[path] = size
        if size <= KEEP_CONTENT_LIMIT:
            self._contents[path] = b"".join(kept)
        digest = hasher.hexdigest() if hasher is not None else sha256
        assert digest is not None, "a hasher whenever the path names no sha256"
        self._members.append(IndexEntry(path.lstrip("/"), size, digest))

    # -- finishing ------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the archive and publish it with its receipt and checksums."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._broken is not None:
                    raise StorageError(self.name, "/", f"archive unusable: {self._broken}")
                # Last member: the proof of what the archive must contain (archive_index).
                index = render(self._members)
                self._append("/" + INDEX_MEMBER, len(index), [index])
                self._stream.finish()
                if self._volumes is not None:
                    self._publish(self._volumes.finish())
            except BaseException:
                self._discard()
                raise
            self._discard()

    def abort(self) -> None:
        """Drop the unfinished archive: nothing appears under a final name; on standard
        output, the stream is left unusable. Safe to call more than once, from any state."""
        if self._closed and self._workdir is None and self._archive_lock is None:
            return
        was_closed, self._closed = self._closed, True
        if self._volumes is None and not was_closed and not self._stream.finished:
            with contextlib.suppress(OSError):
                self._stream.poison()
        self._discard()

    def _discard(self) -> None:
        if self._volumes is not None:
            self._volumes.discard()
        with contextlib.suppress(AttributeError):
            self.spool.close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        if self._archive_lock is not None:
            self._archive_lock.release()
            self._archive_lock = None
        atexit.unregister(self.abort)

    def _publish(self, volumes: list[tuple[str, int, str]]) -> None:
        """Rename the finished files into place, ``FILE.sha256`` last: a set is complete
        when its checksum file is there (an old one is removed first). Every rename replaces
        a name (a symlink there is replaced, not followed)."""
        assert self._workdir is not None
        files = self._files
        names = files.volume_names(len(volumes), split=self.split_size is not None)
        for name in names:
            check_replaceable(os.path.join(files.directory, name), "volume")
        # Read before anything is replaced: the old set's own list of its files.
        listed = files.listed_volumes()
        sums = [(digest, name) for (_, _, digest), name in zip(volumes, names, strict=True)]
        receipt_temp = None
        if self._receipt is not None:
            receipt_temp = self._work_file("receipt.json", self._receipt)
            receipt_name = os.path.basename(files.receipt)
            sums.append((hashlib.sha256(self._receipt).hexdigest(), receipt_name))
        text = "".join(f"{digest}  {name}\n" for digest, name in sums)
        sums_temp = self._work_file("sha256", text.encode())
        # Signed before anything is published: a key that cannot sign publishes nothing.
        signature_temp = None if self.sign_key is None else sign(sums_temp, self.sign_key)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(files.sums)
        for (temp, _, _), name in zip(volumes, names, strict=True):
            os.replace(temp, os.path.join(files.directory, name))
        remove_listed(files, listed, names)
        if receipt_temp is not None:
            os.replace(receipt_temp, files.receipt)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(files.receipt)
        if signature_temp is not None:
            os.replace(signature_temp, files.signature)
        else:
            # An old set's signature must not stand beside a new unsigned set.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(files.signature)
        os.replace(sums_temp, files.sums)
        _sync_directory(files.directory)

    def _work_file(self, name: str, data: bytes) -> str:
        assert self._workdir is not None
        path = os.path.join(self._workdir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return path

    # -- the storage contract -------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        with self._lock:
            if path in self._contents:
                return self._contents[path]
        raise PathNotFoundError(self.name, path)

    def read_head(self, path: str, size: int) -> bytes:
        # The small entries written so far are kept; nothing else can be read back.
        return self.get_content(path)[:size]

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        raise StorageError(self.name, path, "an archive being written cannot be read")

    def stat(self, path: str) -> FileInfo:
        with self._lock:
            if path in self._sizes:
                return FileInfo(path, self._sizes[path])
            if any(known.startswith(path.rstrip("/") + "/") for known in self._sizes):
                return FileInfo(path, 0, is_dir=True)
        raise PathNotFoundError(self.name, path)

    def list_dir(self, path: str) -> list[str]:
        prefix = "" if path == "/" else path
        with self._lock:
            children = {
                prefix + "/" + known[len(prefix) + 1 :].split("/")[0]
                for known in self._sizes
                if known.startswith(prefix + "/")
            }
        # Nothing listed: the wrapper makes that PathNotFoundError (the root excepted).
        return sorted(children)

    def walk(self, path: str) -> Iterator[FileInfo]:
        prefix = "" if path == "/" else path
        with self._lock:
            found = [FileInfo(p, s) for p, s in self._sizes.items() if p.startswith(prefix + "/")]
        yield from found

    def put_content(self, path: str, data: bytes) -> None:
        if path.startswith(RECEIPTS_ROOT + "/"):
            # Travels inside the archive and is published beside it as FILE.receipt.json.
            self._receipt = data
        self.append(path, len(data), [data])

    def writer(self, path: str) -> TarEntryWriter:
        if self._closed:
            raise StorageError(self.name, path, "archive already closed")
        return TarEntryWriter(self, path)

    def move(self, source: str, dest: str) -> None:
        raise StorageError(self.name, source, "an archive cannot move entries")

    def delete(self, path: str) -> None:
        raise StorageError(self.name, path, "an archive cannot delete entries")


def _beside_read(volumes: list[str]) -> list[str]:
    """The files beside an archive being read (its checksums, receipt and lock), under its
    name as spelt and as resolved: a run writing them would spoil the source set."""
    found: list[str] = []
    for first in volumes[:1]:
        for path in (os.path.abspath(first), os.path.realpath(first)):
            base = path[:-4] if path.endswith(".000") else path
            found += [base + ".sha256", base + ".sha256.sig", base + ".receipt.json"]
            found.append(base + ".lock")
    return found


def _take_stdout() -> int:
    """The archive gets standard output to itself: a duplicate of fd 1 is kept for it, and
    fd 1 now goes to stderr, so no message printed later can mix into the archive."""
    sys.stdout.flush()
    archive_fd = os.dup(1)
    os.dup2(2, 1)
    return archive_fd


def _sync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
