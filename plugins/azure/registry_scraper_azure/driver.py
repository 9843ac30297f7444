"""A storage driver over an Azure Blob Storage container, laid out like distribution's ``azure``.

Blob names are mapped as distribution maps them (see
:func:`~registry_scraper_azure.config.key_map`), with option ``legacy_root_prefix`` for the
leading ``/`` that distribution 2.x put in every name; left unset, the driver looks which
naming the container's registry tree has (:func:`probe_naming`) and says what it chose. A
container has no directories: a directory is any prefix ``path/`` with a blob below it, and it
goes with its last blob.

The account and its credential are found as the Azure CLI finds them (see
:mod:`registry_scraper_azure.credentials`). azure-storage-blob is imported in
:meth:`AzureDriver.open` only.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlsplit

from registry_scraper_azure.config import (
    DRIVER_NAME,
    AzureOptions,
    Location,
    key_map,
    parse_location,
    parse_options,
)
from registry_scraper_azure.credentials import STORAGE_SCOPE, ConnectionString, find_account
from registry_scraper_azure.errors import (
    describe,
    error_code,
    is_not_found,
    is_refused,
    is_unsupported,
    sdk_errors,
    status_code,
    to_storage_error,
    translated,
)
from registry_scraper_azure.streams import BlockWriter, blob_stream, content_settings
from scraper_core.bucket.objectstore import KeyMap
from scraper_core.bucket.options import MIB, option_names
from scraper_core.contract import Capability, FileInfo
from scraper_core.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageError,
)

#: ``azure.storage.blob`` clients (typed loosely: the driver touches a small part of them).
ServiceClient = Any
ContainerClient = Any
BlobClient = Any

#: Copy Blob From URL (synchronous, so atomic at the destination) takes up to this much.
SYNC_COPY_LIMIT = 256 * MIB
#: Put Blob sends at most this much at once; the SDK stages blocks above it.
_MAX_SINGLE_PUT = 5000 * MIB
#: How long a SAS made for a server-side copy stays valid (an asynchronous copy of a large
#: blob must finish within it) and how far back it starts (clocks differ).
_COPY_SAS_LIFETIME = timedelta(hours=24)
_CLOCK_SKEW = timedelta(minutes=5)
#: An asynchronous copy still pending after this long is aborted.
_COPY_TIMEOUT = 3600.0
#: Names deleted per Blob Batch request (the service's limit).
_BATCH = 256
_BUFFER_SIZE = 64 * 1024
#: Set by ADLS Gen2 (hierarchical namespace) on the blob that stands for a directory.
_FOLDER_METADATA = "hdi_isfolder"


#: Backoff before retry n (n >= 1): initial + base ** n, +- jitter (azure-core's formula).
RETRY_INITIAL_BACKOFF = 1
RETRY_INCREMENT_BASE = 2
RETRY_JITTER = 1


def make_service(options: AzureOptions) -> ServiceClient:
    """A BlobServiceClient for the account and credential the options and the environment
    give (see registry_scraper_azure.credentials)."""
    from azure.storage.blob import BlobServiceClient, ExponentialRetry

    # Reads fetch, and the SDK's own uploads send, one block-sized range per request.
    settings: dict[str, Any] = {
        "retry_policy": ExponentialRetry(
            initial_backoff=RETRY_INITIAL_BACKOFF,
            increment_base=RETRY_INCREMENT_BASE,
            retry_total=options.max_attempts - 1,
            random_jitter_range=RETRY_JITTER,
        ),
        "max_single_get_size": options.block_size,
        "max_chunk_get_size": options.block_size,
        "max_block_size": options.block_size,
        "max_single_put_size": min(_MAX_SINGLE_PUT, max(64 * MIB, options.block_size)),
        "user_agent": "registry-scraper-azure",
    }
    account = find_account(options, os.environ)
    try:
        if isinstance(account, ConnectionString):
            return BlobServiceClient.from_connection_string(account.text, **settings)
        return BlobServiceClient(account.url, credential=account.credential, **settings)
    except (ValueError, TypeError) as exc:
        # The SDK's parse errors name the faulty part, never the key it holds.
        raise ConfigurationError(f"{DRIVER_NAME}: {describe(exc)}") from exc


def _first_name(container: ContainerClient, location: Location, prefix: str) -> str | None:
    """The first blob name starting with ``prefix``; a missing container or unusable
    credentials fail with a plain message."""
    try:
        pages = container.list_blob_names(name_starts_with=prefix, results_per_page=1)
        return next(iter(pages), None)
    except sdk_errors() as exc:
        code = error_code(exc)
        if code == "ContainerNotFound":
            detail = "no such container"
        elif is_refused(exc):
            detail = f"access denied ({describe(exc)}); check the key, SAS or identity"
        else:
            detail = describe(exc)
        raise ConfigurationError(
            f"{DRIVER_NAME}: cannot open container {location.bucket!r}: {detail}"
        ) from exc


def _check_container(container: ContainerClient, location: Location, keys: KeyMap) -> None:
    """Fail at open, with a plain message, on a missing container or unusable credentials."""
    _first_name(container, location, keys.base)


#: The directory every registry tree holds (distribution's paths.go); the probe looks for it.
_REGISTRY_TREE = "/docker/registry/v2"
_NAMINGS = {True: "registry 2.x naming (names start with '/')", False: "registry 3.x naming"}


def probe_naming(container: ContainerClient, location: Location) -> tuple[bool, str]:
    """Which naming the registry tree under the root has, found by looking: whether a blob
    name starts with ``/ROOT/docker/registry/v2/`` (2.x) or ``ROOT/docker/registry/v2/``
    (3.x). Returns (legacy_root_prefix, a one-line note saying what was chosen and why).

    A config need not say which registry wrote the container (issue 11: a minimal 3.x config
    was taken for 2.x and every listing came back empty), so the container decides. With
    neither tree (an empty destination), 3.x names; with both, the user must choose.
    """
    found = {
        legacy: _first_name(
            container,
            location,
            key_map(location, legacy_root_prefix=legacy).dir_prefix(_REGISTRY_TREE),
        )
        is not None
        for legacy in (True, False)
    }
    where = f"{DRIVER_NAME}: container {str(location)!r}"
    choose = "set option legacy_root_prefix=true or false to choose"
    if found[True] and found[False]:
        raise ConfigurationError(
            f"{where} holds a registry tree in both namings (2.x, names starting with '/', "
            f"and 3.x); {choose}"
        )
    if found[True] or found[False]:
        legacy = found[True]
        return legacy, f"{where}: blob names follow {_NAMINGS[legacy]}, found by looking"
    return False, f"{where}: no registry tree found; using {_NAMINGS[False]}"


def _is_folder(properties: Any) -> bool:
    metadata = getattr(properties, "metadata", None) or {}
    return str(metadata.get(_FOLDER_METADATA, "")).lower() == "true"


def _mod_time(properties: Any) -> float | None:
    modified = getattr(properties, "last_modified", None)
    return modified.timestamp() if modified is not None else None


class AzureDriver:
    """The ``azure`` driver: ``--data-dir``/``--output-dir`` is ``CONTAINER[/ROOTDIRECTORY]``."""

    name: ClassVar[str] = DRIVER_NAME
    option_keys: ClassVar[tuple[str, ...]] = option_names(AzureOptions)
    description: ClassVar[str] = (
        "an Azure Blob Storage container holding a registry's azure storage (CONTAINER[/ROOT])"
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.SERVER_SIDE_COPY})

    def __init__(
        self,
        service: ServiceClient,
        location: Location,
        options: AzureOptions,
        *,
        read_only: bool,
    ) -> None:
        self.service = service
        self.container_name = location.bucket
        self.container = service.get_container_client(location.bucket)
        self.keys = key_map(location, legacy_root_prefix=bool(options.legacy_root_prefix))
        #: One line each about choices made while opening, for the user (see probe_naming).
        self.notes: list[str] = []
        self.options = options
        self.read_only = read_only
        self._location = location
        #: Blobs up to this size are copied synchronously (tests lower it).
        self.sync_copy_limit = SYNC_COPY_LIMIT
        #: Blobs per listing page; None: the service's default, 5000 (tests lower it).
        self.list_page_size: int | None = None

    def __repr__(self) -> str:
        return f"AzureDriver({self.location!r}, account={self.account!r})"

    @property
    def location(self) -> str:
        """``CONTAINER[/ROOT]``: what :meth:`open` takes to open this same root again."""
        return str(self._location)

    @property
    def account(self) -> tuple[str, str]:
        """(host, account name): two drivers with the same one share a storage account."""
        return (urlsplit(str(self.service.url)).netloc, str(self.service.account_name))

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> AzureDriver:
        parsed_options = parse_options(options)
        parsed_location = parse_location(location)
        service = make_service(parsed_options)
        driver = cls(service, parsed_location, parsed_options, read_only=read_only)
        if parsed_options.legacy_root_prefix is None:
            legacy, note = probe_naming(driver.container, parsed_location)
            driver.keys = key_map(parsed_location, legacy_root_prefix=legacy)
            driver.notes.append(note)
        else:
            _check_container(driver.container, parsed_location, driver.keys)
        return driver

    def _blob(self, key: str) -> BlobClient:
        return self.container.get_blob_client(key)

    def _storage_path(self, name: str) -> str | None:
        return self.keys.listed_path(name)

    # -- reading ----------------------------------------------------------------------------

    def _properties(self, path: str) -> Any | None:
        """The blob's properties; None if there is none (or only a directory's marker)."""
        try:
            properties = self._blob(self.keys.key(path)).get_blob_properties()
        except sdk_errors() as exc:
            if is_not_found(exc):
                return None
            raise to_storage_error(path, exc) from exc
        return None if _is_folder(properties) else properties

    def get_content(self, path: str) -> bytes:
        with translated(path):
            downloader = self._blob(self.keys.key(path)).download_blob()
            if _is_folder(downloader.properties):
                raise StorageError(self.name, path, "a directory, not a file")
            data: bytes = downloader.readall()
        return data

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        blob = self._blob(self.keys.key(path))
        try:
            # Without an offset no range is sent: a range on an empty blob is refused.
            downloader = blob.download_blob(offset=offset or None, max_concurrency=1)
        except sdk_errors() as exc:
            # The blob exists (or it would be 404) but ends before the offset.
            if status_code(exc) == 416:
                return io.BytesIO(b"")
            raise to_storage_error(path, exc) from exc
        if _is_folder(downloader.properties):
            raise StorageError(self.name, path, "a directory, not a file")
        return io.BufferedReader(blob_stream(downloader, path), buffer_size=_BUFFER_SIZE)

    def stat(self, path: str) -> FileInfo:
        if path == "/":
            return FileInfo("/", 0, is_dir=True)
        properties = self._properties(path)
        if properties is not None:
            return FileInfo(path, int(properties.size), False, _mod_time(properties))
        # "key/", not "key": as in distribution, "/a" is no directory because "/ab" exists.
        with translated(path):
            pages = self.container.list_blob_names(
                name_starts_with=self.keys.dir_prefix(path), results_per_page=1
            )
            found = next(iter(pages), None)
        if found is not None:
            return FileInfo(path, 0, is_dir=True)
        raise PathNotFoundError(self.name, path)

    def list_dir(self, path: str) -> list[str]:
        from azure.storage.blob import BlobPrefix

        prefix = self.keys.dir_prefix(path)
        children: set[str] = set()
        with translated(path):
            # The SDK follows the continuation markers; a BlobPrefix is a subdirectory.
            items = self.container.walk_blobs(
                name_starts_with=prefix,
                delimiter="/",
                include=["metadata"],
                results_per_page=self.list_page_size,
            )
            for item in items:
                if isinstance(item, BlobPrefix):
                    # One slash off only: "a//" must give the invalid "a/", not "a".
                    child = self._storage_path(item.name.removesuffix("/"))
                elif _is_folder(item):
                    continue
                else:
                    child = self._storage_path(item.name)
                if child is not None:
                    children.add(child)
        # Nothing listed: the wrapper makes that PathNotFoundError (the root excepted).
        return sorted(children)

    def walk(self, path: str) -> Iterator[FileInfo]:
        with translated(path):
            blobs = self.container.list_blobs(
                name_starts_with=self.keys.dir_prefix(path),
                include=["metadata"],
                results_per_page=self.list_page_size,
            )
            for blob in blobs:
                child = self._storage_path(blob.name)
                if child is None or _is_folder(blob):
                    continue
                yield FileInfo(child, int(blob.size), False, _mod_time(blob))

    # -- writing ----------------------------------------------------------------------------

    def put_content(self, path: str, data: bytes) -> None:
        blob = self._blob(self.keys.key(path))
        with translated(path):
            blob.upload_blob(data, overwrite=True, content_settings=content_settings())

    def writer(self, path: str) -> BlockWriter:
        return BlockWriter(
            self._blob(self.keys.key(path)),
            path,
            self.options.block_size,
            parallel_parts=self.options.write_concurrency,
        )

    def move(self, source: str, dest: str) -> None:
        source_key = self.keys.key(source)
        dest_key = self.keys.key(dest)
        if source_key == dest_key:
            self.stat(source)
            return
        self._copy_from(self, source_key, dest_key, source, dest)
        with translated(source):
            try:
                self._blob(source_key).delete_blob(delete_snapshots="include")
            except sdk_errors() as exc:
                # Gone already (a concurrent delete): the move is done all the same.
                if not is_not_found(exc):
                    raise

    def delete(self, path: str) -> None:
        key = self.keys.key(path)
        deleted = 0
        with translated(path):
            try:
                self._blob(key).delete_blob(delete_snapshots="include")
                deleted += 1
            except sdk_errors() as exc:
                if not is_not_found(exc):
                    raise
            pages = self.container.list_blob_names(
                name_starts_with=self.keys.dir_prefix(path),
                results_per_page=min(_BATCH, self.list_page_size or _BATCH),
            ).by_page()
            for page in pages:
                deleted += self._delete_names(list(page), path)
        if not deleted:
            raise PathNotFoundError(self.name, path)

    def _delete_names(self, names: list[str], path: str) -> int:
        """Delete ``names`` in one Blob Batch request; how many this call deleted."""
        if not names:
            return 0
        responses = self.container.delete_blobs(
            *names, delete_snapshots="include", raise_on_any_failure=False
        )
        deleted = 0
        for name, response in zip(names, responses, strict=True):
            if response.status_code == 404:
                continue  # gone already: a concurrent delete
            if response.status_code >= 300:
                failed = self.keys.path(name) or path
                detail = f"Blob Batch delete: HTTP {response.status_code} {response.reason}"
                raise StorageError(self.name, failed, detail)
            deleted += 1
        return deleted

    # -- copies inside the service ----------------------------------------------------------

    def copy_source(self, blob: BlobClient) -> tuple[str, dict[str, Any]]:
        """A URL of ``blob`` that another request may copy from, and the copy's extra
        arguments: a read-only SAS made from the shared key, the client's own SAS, or the
        identity's token (synchronous copies only take one)."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        credential = self.service.credential
        url = str(blob.url)
        account_key = getattr(credential, "account_key", None)
        if account_key is not None:
            now = datetime.now(UTC)
            sas = generate_blob_sas(
                blob.account_name,
                blob.container_name,
                blob.blob_name,
                account_key=account_key,
                permission=BlobSasPermissions(read=True),
                start=now - _CLOCK_SKEW,
                expiry=now + _COPY_SAS_LIFETIME,
            )
            return f"{url}?{sas}", {}
        if hasattr(credential, "get_token"):
            token = credential.get_token(STORAGE_SCOPE).token
            return url, {"source_authorization": f"Bearer {token}"}
        # A SAS client's URLs carry the SAS already; an anonymous one's need none.
        return url, {}

    def _copy_from(
        self, other: AzureDriver, source_key: str, dest_key: str, source_path: str, dest_path: str
    ) -> None:
        """Copy a blob of ``other`` (same account) to ``dest_key`` inside the service."""
        source = other._blob(source_key)
        try:
            size = int(source.get_blob_properties().size)
        except sdk_errors() as exc:
            if is_not_found(exc):
                raise PathNotFoundError(self.name, source_path) from exc
            raise to_storage_error(source_path, exc) from exc
        url, extra = other.copy_source(source)
        dest = self._blob(dest_key)
        with translated(dest_path):
            if size <= self.sync_copy_limit:
                # Copy Blob From URL: done when it returns, the blob appears whole.
                dest.start_copy_from_url(url, requires_sync=True, **extra)
                return
            # Larger: an asynchronous copy, which a bearer token cannot authorize (the
            # account's own authorization covers a source in the same account).
            plain = url if "source_authorization" not in extra else str(source.url)
            started = dest.start_copy_from_url(plain)
            self._wait_for_copy(dest, str(started["copy_id"]), dest_path)

    def _wait_for_copy(self, dest: BlobClient, copy_id: str, dest_path: str) -> None:
        deadline = time.monotonic() + _COPY_TIMEOUT
        delay = 0.1
        while True:
            copy = dest.get_blob_properties().copy
            if copy.id != copy_id:
                raise StorageError(self.name, dest_path, "another copy replaced this one")
            if copy.status == "success":
                return
            if copy.status != "pending":
                detail = f"copy {copy.status}: {copy.status_description or ''}".strip()
                raise StorageError(self.name, dest_path, detail)
            if time.monotonic() > deadline:
                dest.abort_copy(copy_id)
                raise StorageError(self.name, dest_path, "copy still pending after an hour")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def server_side_copy(self, source: object, src_path: str, dst_path: str) -> bool:
        """Copy ``src_path`` of ``source`` to ``dst_path`` here, inside the storage service.

        Returns False, having written nothing, when ``source`` is not an azure driver on this
        storage account, or when the service refuses the copy (these credentials cannot read
        the source, or the service lacks copy from URL); the caller then streams the blob.
        The wrapper validated both paths, refuses the copy on a read-only open, and hands over
        the source driver itself, never its wrapper.
        """
        dest_key = self.keys.key(dst_path)
        if not isinstance(source, AzureDriver) or source.account != self.account:
            return False
        source_key = source.keys.key(src_path)
        if (source.container_name, source_key) == (self.container_name, dest_key):
            source.stat(src_path)
            return True
        try:
            self._copy_from(source, source_key, dest_key, src_path, dst_path)
        except StorageError as exc:
            cause = exc.__cause__
            if cause is not None and (is_refused(cause) or is_unsupported(cause)):
                return False
            raise
        return True
