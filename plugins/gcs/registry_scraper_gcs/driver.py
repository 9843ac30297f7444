"""A storage driver over a Google Cloud Storage bucket, laid out like distribution's ``gcs``.

Object names are mapped as distribution maps them (see
:class:`~scraper_core.bucket.objectstore.KeyMap`), so a registry configured with the same
``bucket`` and ``rootdirectory`` serves what this driver writes. A bucket has no directories:
a directory is any prefix ``path/`` with an object below it, and it goes with its last object.

Credentials and endpoint come the way every google-cloud-storage user sets them:
``GOOGLE_APPLICATION_CREDENTIALS`` or the rest of the Application Default Credentials chain,
or option ``credentials_file`` (or ``credentials_json``); ``STORAGE_EMULATOR_HOST`` points the
SDK at an emulator, which is then spoken to anonymously. google-cloud-storage is imported in
:meth:`GcsDriver.open` only.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, ClassVar

from registry_scraper_gcs.config import (
    CONTENT_TYPE,
    DRIVER_NAME,
    UPLOAD_SESSION_CONTENT_TYPE,
    GcsOptions,
    Location,
    parse_location,
    parse_options,
)
from registry_scraper_gcs.errors import (
    describe,
    is_not_found,
    is_refused,
    listing,
    sdk_errors,
    status_code,
    to_storage_error,
    translated,
)
from registry_scraper_gcs.streams import ObjectReader, ObjectWriter
from scraper_core.bucket.objectstore import KeyMap
from scraper_core.bucket.options import option_names
from scraper_core.contract import Capability, FileInfo
from scraper_core.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageError,
)

#: A ``google.cloud.storage.Client`` and its ``Blob`` (the SDK ships no type information).
Client = Any
Blob = Any

READ_ONLY_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
READ_WRITE_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
#: Object deletes run at once when a directory goes (the JSON API deletes one at a time).
_DELETE_THREADS = 8
#: Seconds the bucket check at open may spend retrying before the open fails.
_OPEN_CHECK_TIMEOUT = 30.0
_BUFFER_SIZE = 64 * 1024


def make_client(options: GcsOptions, *, read_only: bool) -> Client:
    """A storage client from the options, else the SDK's usual sources.

    Precedence: ``credentials_file``; anonymous when ``STORAGE_EMULATOR_HOST`` is set (as
    the SDK itself does); then Application Default Credentials, which read
    ``GOOGLE_APPLICATION_CREDENTIALS``. The scope is read-only for a read-only open.
    """
    import google.auth
    from google.auth.credentials import AnonymousCredentials, Credentials
    from google.auth.exceptions import GoogleAuthError
    from google.cloud import storage
    from google.oauth2 import service_account

    scopes = [READ_ONLY_SCOPE if read_only else READ_WRITE_SCOPE]
    project = options.project
    credentials: Credentials
    try:
        if options.credentials_file is not None:
            # A service account key, as distribution's keyfile: loaded as that type only,
            # never as whatever kind of configuration the file claims to be.
            load = service_account.Credentials.from_service_account_file
            key = load(options.credentials_file, scopes=scopes)  # type: ignore[no-untyped-call]
            credentials, project = key, project or key.project_id
        elif options.credentials_json is not None:
            # A registry config's inline credentials map: a service account key, too.
            parse = service_account.Credentials.from_service_account_info
            info = json.loads(options.credentials_json)
            key = parse(info, scopes=scopes)  # type: ignore[no-untyped-call]
            credentials, project = key, project or key.project_id
        elif os.environ.get("STORAGE_EMULATOR_HOST"):
            credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
            project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or "test"
        else:
            credentials, found = google.auth.default(scopes=scopes)
            project = project or found
        return storage.Client(project=project, credentials=credentials)
    except (GoogleAuthError, ValueError, OSError) as exc:
        raise ConfigurationError(
            f"{DRIVER_NAME}: no usable credentials ({describe(exc)}); set "
            "GOOGLE_APPLICATION_CREDENTIALS or option credentials_file"
        ) from exc


def _check_bucket(client: Client, location: Location) -> None:
    """Fail at open, with a plain message, on a missing bucket or unusable credentials.

    A one-object listing rather than a bucket GET: reading needs storage.objects.list
    anyway, while storage.buckets.get is not in the object roles.
    """
    from google.cloud.storage.retry import DEFAULT_RETRY

    try:
        blobs = client.list_blobs(
            location.bucket,
            prefix=location.keys.base,
            max_results=1,
            retry=DEFAULT_RETRY.with_timeout(_OPEN_CHECK_TIMEOUT),
        )
        list(blobs)
    except sdk_errors() as exc:
        if is_not_found(exc):
            detail = "no such bucket"
        elif is_refused(exc):
            detail = f"access denied ({describe(exc)})"
        else:
            detail = describe(exc)
        raise ConfigurationError(
            f"{DRIVER_NAME}: cannot open bucket {location.bucket!r}: {detail}"
        ) from exc


def _is_upload_session(blob: Blob) -> bool:
    return bool(blob.content_type == UPLOAD_SESSION_CONTENT_TYPE)


def _mod_time(blob: Blob) -> float | None:
    updated = blob.updated
    return updated.timestamp() if updated is not None else None


class GcsDriver:
    """The ``gcs`` driver: ``--data-dir``/``--output-dir`` is ``BUCKET[/ROOTDIRECTORY]``."""

    name: ClassVar[str] = DRIVER_NAME
    option_keys: ClassVar[tuple[str, ...]] = option_names(GcsOptions)
    description: ClassVar[str] = (
        "a Google Cloud Storage bucket holding a registry's gcs storage (BUCKET[/ROOT])"
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.SERVER_SIDE_COPY})

    def __init__(
        self, client: Client, location: Location, options: GcsOptions, *, read_only: bool
    ) -> None:
        self.client = client
        self.bucket_name = location.bucket
        self.bucket = client.bucket(location.bucket)
        self.keys: KeyMap = location.keys
        self.options = options
        self.read_only = read_only
        #: Objects per listing page; None: the service's default, 1000 (tests lower it).
        self.list_page_size: int | None = None

    def __repr__(self) -> str:
        return f"GcsDriver({self.location!r}, endpoint={self.endpoint!r})"

    @property
    def location(self) -> str:
        """``BUCKET[/ROOT]``: what :meth:`open` takes to open this same root again."""
        return str(Location(self.bucket_name, self.keys))

    @property
    def endpoint(self) -> str:
        """The JSON API base URL (``https://storage.googleapis.com`` or an emulator's)."""
        return str(self.client.api_endpoint)

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> GcsDriver:
        parsed_options = parse_options(options)
        parsed_location = parse_location(location)
        client = make_client(parsed_options, read_only=read_only)
        _check_bucket(client, parsed_location)
        return cls(client, parsed_location, parsed_options, read_only=read_only)

    def _storage_path(self, name: str) -> str | None:
        return self.keys.listed_path(name)

    def _retry(self) -> Any:
        from google.cloud.storage.retry import DEFAULT_RETRY

        return DEFAULT_RETRY

    # -- reading ----------------------------------------------------------------------------

    def _get_blob(self, path: str) -> Blob | None:
        """The object at ``path`` with its metadata; None if absent (or an upload session)."""
        with translated(path):
            blob = self.bucket.get_blob(self.keys.key(path), retry=self._retry())
        return None if blob is None or _is_upload_session(blob) else blob

    def get_content(self, path: str) -> bytes:
        blob = self.bucket.blob(self.keys.key(path))
        with translated(path):
            # One request; the SDK checks the whole download against the stored CRC32C.
            data: bytes = blob.download_as_bytes(raw_download=True, retry=self._retry())
        if _is_upload_session(blob):
            raise PathNotFoundError(self.name, path)
        return data

    def read_head(self, path: str, size: int) -> bytes:
        """At most ``size`` bytes, in one ranged GET (the reader first asks for metadata)."""
        blob = self.bucket.blob(self.keys.key(path))
        try:
            with translated(path):
                data: bytes = blob.download_as_bytes(
                    start=0, end=size - 1, raw_download=True, retry=self._retry()
                )
        except StorageError as exc:
            # A range on an empty object is unsatisfiable: there is nothing to read.
            if exc.__cause__ is not None and status_code(exc.__cause__) == 416:
                return b""
            raise
        if _is_upload_session(blob):
            raise PathNotFoundError(self.name, path)
        return data

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        blob = self._get_blob(path)
        if blob is None:
            raise PathNotFoundError(self.name, path)
        if offset >= int(blob.size):
            return io.BytesIO(b"")
        raw = ObjectReader(blob, path, offset, self.options.chunk_size)
        return io.BufferedReader(raw, buffer_size=_BUFFER_SIZE)

    def stat(self, path: str) -> FileInfo:
        if path == "/":
            return FileInfo("/", 0, is_dir=True)
        blob = self._get_blob(path)
        if blob is not None:
            return FileInfo(path, int(blob.size), False, _mod_time(blob))
        # "key/", not "key": distribution lists prefix "key/", so "/a" is no directory
        # merely because "/ab" exists.
        with listing(path):
            found = list(
                self.client.list_blobs(
                    self.bucket_name,
                    prefix=self.keys.dir_prefix(path),
                    max_results=1,
                    retry=self._retry(),
                )
            )
        if found:
            return FileInfo(path, 0, is_dir=True)
        raise PathNotFoundError(self.name, path)

    def list_dir(self, path: str) -> list[str]:
        prefix = self.keys.dir_prefix(path)
        children: set[str] = set()
        with listing(path):
            # The SDK follows the page tokens; prefixes accumulate over all pages.
            blobs = self.client.list_blobs(
                self.bucket_name,
                prefix=prefix,
                delimiter="/",
                page_size=self.list_page_size,
                retry=self._retry(),
            )
            for blob in blobs:
                child = self._storage_path(blob.name)
                if child is not None and not _is_upload_session(blob):
                    children.add(child)
            for directory in blobs.prefixes:
                # One slash off only: "a//" must give the invalid "a/", not "a".
                child = self._storage_path(directory.removesuffix("/"))
                if child is not None:
                    children.add(child)
        # Nothing listed: the wrapper makes that PathNotFoundError (the root excepted).
        return sorted(children)

    def walk(self, path: str) -> Iterator[FileInfo]:
        with listing(path):
            blobs = self.client.list_blobs(
                self.bucket_name,
                prefix=self.keys.dir_prefix(path),
                page_size=self.list_page_size,
                retry=self._retry(),
            )
            for blob in blobs:
                child = self._storage_path(blob.name)
                if child is None or _is_upload_session(blob):
                    continue
                yield FileInfo(child, int(blob.size), False, _mod_time(blob))

    # -- writing ----------------------------------------------------------------------------

    def put_content(self, path: str, data: bytes) -> None:
        blob = self.bucket.blob(self.keys.key(path))
        with translated(path):
            # Writing the same bytes twice is harmless, so the upload may be retried.
            blob.upload_from_string(data, content_type=CONTENT_TYPE, retry=self._retry())

    def writer(self, path: str) -> ObjectWriter:
        blob = self.bucket.blob(self.keys.key(path))
        return ObjectWriter(blob, path, self.options.chunk_size)

    def move(self, source: str, dest: str) -> None:
        source_key = self.keys.key(source)
        dest_key = self.keys.key(dest)
        if source_key == dest_key:
            self.stat(source)
            return
        self._rewrite(self.bucket.blob(source_key), dest_key, source, dest)
        with translated(source):
            try:
                self.bucket.delete_blob(source_key, retry=self._retry())
            except sdk_errors() as exc:
                # Gone already (a concurrent delete): the move is done all the same.
                if not is_not_found(exc):
                    raise

    def _rewrite(self, source: Blob, dest_key: str, source_path: str, dest_path: str) -> None:
        """Server-side copy; the object appears at ``dest_key`` only once it is complete.

        A large copy between locations or storage classes takes several calls, each
        resuming with the token of the last.
        """
        dest = self.bucket.blob(dest_key)
        token: str | None = None
        try:
            while True:
                token, _, _ = dest.rewrite(source, token=token, retry=self._retry())
                if token is None:
                    return
        except sdk_errors() as exc:
            # The destination bucket was checked at open: a 404 is the source.
            if is_not_found(exc):
                raise PathNotFoundError(self.name, source_path) from exc
            raise to_storage_error(dest_path, exc) from exc

    def delete(self, path: str) -> None:
        key = self.keys.key(path)
        deleted = 0
        with translated(path):
            try:
                self.bucket.delete_blob(key, retry=self._retry())
                deleted += 1
            except sdk_errors() as exc:
                if not is_not_found(exc):
                    raise
        with listing(path):
            pages = self.client.list_blobs(
                self.bucket_name,
                prefix=self.keys.dir_prefix(path),
                page_size=self.list_page_size,
                retry=self._retry(),
            ).pages
            with ThreadPoolExecutor(_DELETE_THREADS, thread_name_prefix="gcs-delete") as pool:
                for page in pages:
                    names = [blob.name for blob in page]
                    deleted += sum(pool.map(lambda name: self._delete_one(name, path), names))
        if not deleted:
            raise PathNotFoundError(self.name, path)

    def _delete_one(self, name: str, path: str) -> int:
        """1 when this call deleted ``name``, 0 when it was already gone."""
        try:
            self.bucket.delete_blob(name, retry=self._retry())
        except sdk_errors() as exc:
            if is_not_found(exc):
                return 0
            failed = self.keys.path(name) or path
            raise StorageError(self.name, failed, describe(exc)) from exc
        return 1

    # -- capabilities -----------------------------------------------------------------------

    def server_side_copy(self, source: object, src_path: str, dst_path: str) -> bool:
        """Copy ``src_path`` of ``source`` to ``dst_path`` here with a GCS rewrite.

        Returns False, having written nothing, when ``source`` is not a gcs driver on this
        endpoint or this driver's credentials may not read the source object; the caller then
        streams the object instead. The wrapper validated both paths, refuses the copy on a
        read-only open, and hands over the source driver itself, never its wrapper.
        """
        dest_key = self.keys.key(dst_path)
        if not isinstance(source, GcsDriver) or source.endpoint != self.endpoint:
            return False
        source_key = source.keys.key(src_path)
        if (source.bucket_name, source_key) == (self.bucket_name, dest_key):
            source.stat(src_path)
            return True
        # The source named through this client: the rewrite runs with these credentials.
        source_blob = self.client.bucket(source.bucket_name).blob(source_key)
        try:
            self._rewrite(source_blob, dest_key, src_path, dst_path)
        except StorageError as exc:
            if exc.__cause__ is not None and is_refused(exc.__cause__):
                return False
            raise
        return True
