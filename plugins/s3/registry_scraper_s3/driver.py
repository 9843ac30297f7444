"""A storage driver over an S3 bucket, laid out like distribution's ``s3-aws`` driver.

Keys are mapped as distribution maps them (see :class:`~registry_scraper_s3.config.KeyMap`),
so a registry configured with the same ``bucket`` and ``rootdirectory`` serves what this
driver writes. Object stores have no directories: a directory is any prefix ``path/`` with an
object below it, and it disappears with its last object.

botocore is imported in :meth:`S3Driver.open` only (boto3 for a large managed copy only); the
plugin module stays light.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, ClassVar

from registry_scraper_s3.config import (
    DRIVER_NAME,
    MAX_SINGLE_COPY,
    KeyMap,
    Location,
    S3Options,
    parse_location,
    parse_options,
)
from registry_scraper_s3.errors import (
    ACCESS_DENIED_CODES,
    describe,
    error_code,
    is_not_found,
    redact,
    sdk_errors,
    to_storage_error,
    translated,
)
from registry_scraper_s3.linklisting import MAX_LISTING_PAGES, LinkListings
from registry_scraper_s3.native import NativeGets, make_native
from registry_scraper_s3.reader import ObjectSource, RangeStream, ReadAhead, open_object
from registry_scraper_s3.settings import attempts, client_config, use_driver_defaults
from registry_scraper_s3.writer import CONTENT_TYPE, MultipartWriter
from scraper_core.bucket.options import option_names
from scraper_core.contract import Capability, FileInfo
from scraper_core.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageError,
)

#: A botocore S3 client (generated at run time; boto3-stubs is not a dependency).
Client = Any

#: Bytes of a read the native client fetches (the first GET), the rest going through botocore.
NATIVE_HEAD = 1024 * 1024
#: DeleteObjects takes at most this many keys; ListObjectsV2 returns at most as many.
_BATCH = 1000
#: Keys asked for when only checking that a prefix holds a file, and checks run at once.
_PROBE_PAGE = 10
_PROBE_THREADS = 8
# Codes meaning "this server cannot do that copy": the caller falls back to streaming.
_COPY_UNSUPPORTED = ACCESS_DENIED_CODES | {"NotImplemented", "InvalidRequest"}


def make_session(options: S3Options) -> Any:
    """The botocore session clients are made from: the options' profile and keys (set as
    boto3's session sets them), the driver's defaults at the end of each setting's chain (see
    registry_scraper_s3.settings). boto3 itself is not imported: its session and resource layer
    cost 50-70 ms of start-up that reading needs nothing of (its managed copy is imported by
    :meth:`S3Driver._managed_copy` when a copy is that large)."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    from registry_scraper_s3.timestamps import parse_timestamp

    core = botocore.session.get_session()
    # A public hook of botocore's session (the parser factory component): dateutil's parser
    # was a fifth of a small GET's CPU.
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp
    )
    try:
        if options.profile is not None:
            core.set_config_variable("profile", options.profile)
        if options.access_key or options.secret_key:
            # One may be missing, as boto3's session passes them: signing then fails, as before.
            key, secret = options.access_key, options.secret_key
            core.set_credentials(key, secret)  # type: ignore[arg-type]
        use_driver_defaults(core)
    except BotoCoreError as exc:
        raise ConfigurationError(f"{DRIVER_NAME}: {describe(exc)}") from exc
    return core


def make_client(options: S3Options, session: Any = None) -> Client:
    """An S3 client: each setting from the options, else the usual AWS sources (env, profile),
    else the driver's default (see registry_scraper_s3.settings)."""
    import os

    from botocore.exceptions import BotoCoreError

    core = session if session is not None else make_session(options)
    try:
        # botocore reads only AWS_DEFAULT_REGION; the other SDKs prefer AWS_REGION.
        region = (
            options.region or os.environ.get("AWS_REGION") or core.get_config_variable("region")
        )
        config = client_config(options, region)
        return core.create_client("s3", endpoint_url=options.endpoint_url, config=config)
    except (BotoCoreError, ValueError) as exc:
        raise ConfigurationError(f"{DRIVER_NAME}: {describe(exc)}") from exc


def _check_bucket(client: Client, location: Location) -> str | None:
    """Fail at open, with a plain message, on a missing bucket or unusable credentials.

    Returns the bucket's region where the server names it (AWS does, SeaweedFS does not).
    """
    try:
        response = client.head_bucket(Bucket=location.bucket)
    except sdk_errors() as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            detail = "no such bucket"
        elif code in ACCESS_DENIED_CODES:
            detail = "access denied (check the credentials and the bucket policy)"
        else:
            detail = describe(exc)
        raise ConfigurationError(
            f"{DRIVER_NAME}: cannot open bucket {location.bucket!r}: {detail}"
        ) from exc
    region = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    return str(region) if region else None


def _too_large(client: Client, bucket: str, key: str) -> bool:
    """Whether CopyObject refused ``key`` for its size (it takes at most 5 GiB)."""
    try:
        size = int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except sdk_errors():
        return False
    return size > MAX_SINGLE_COPY


class S3Driver:
    """The ``s3`` driver: ``--data-dir``/``--output-dir`` is ``BUCKET[/ROOTDIRECTORY]``."""

    name: ClassVar[str] = DRIVER_NAME
    option_keys: ClassVar[tuple[str, ...]] = option_names(S3Options)
    description: ClassVar[str] = "an S3 bucket holding a registry's s3 storage (BUCKET[/ROOT])"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.SERVER_SIDE_COPY})

    def __init__(
        self,
        client: Client,
        location: Location,
        options: S3Options,
        *,
        read_only: bool,
        native: NativeGets | None = None,
    ) -> None:
        self.client = client
        #: Who sends each read's first GET (a small object's only one): obstore where it can
        #: do what botocore would (see registry_scraper_s3.native), else the botocore client.
        self.getter: NativeGets | Client = native if native is not None else client
        self.native = native
        self.bucket = location.bucket
        self.keys: KeyMap = location.keys
        self.options = options
        self.read_only = read_only
        #: Tuning knobs (tests lower them to exercise the multi-range paths on small objects).
        self.read_range_size = options.part_size
        # Shared by every reader: ``read_concurrency`` connections in all, open readers
        # included, so a blob left alone gets ranges fetched ahead, while many blobs copied at
        # once each stream on their own (as fast, and memory stays at most those few ranges).
        self.read_ahead = ReadAhead(
            options.read_concurrency - 1, connections=options.read_concurrency
        )
        self.multipart_copy_threshold = MAX_SINGLE_COPY + 1
        self.links = LinkListings(self._link_etags)

    def __repr__(self) -> str:
        return f"S3Driver({self.location!r}, endpoint={self.endpoint_url!r})"

    @property
    def attempts(self) -> int:
        """Attempts per request as the client resolved them (option, env, profile, default)."""
        return attempts(self.client)

    @property
    def location(self) -> str:
        """``BUCKET[/ROOT]``: what :meth:`open` takes to open this same root again."""
        return str(Location(self.bucket, self.keys))

    @property
    def endpoint_url(self) -> str:
        return redact(str(self.client.meta.endpoint_url))

    @classmethod
    def open(cls, location: str, options: Mapping[str, str], *, read_only: bool) -> S3Driver:
        parsed_options = parse_options(options)
        parsed_location = parse_location(location)
        session = make_session(parsed_options)
        client = make_client(parsed_options, session)
        bucket_region = _check_bucket(client, parsed_location)
        native = make_native(client, session, parsed_location.bucket, bucket_region)
        return cls(client, parsed_location, parsed_options, read_only=read_only, native=native)

    def object_url(self, path: str) -> str:
        """``s3://BUCKET/KEY`` of ``path`` (for a bulk engine's plan: ``--plan-format``)."""
        return f"s3://{self.bucket}/{self.keys.key(path)}"

    def object_key(self, path: str) -> tuple[str, str]:
        """Bucket and key of ``path`` (``--plan-format csv``/``keys`` name them apart)."""
        return self.bucket, self.keys.key(path)

    # -- reading ----------------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        with self.reader(path) as stream:
            return stream.read()

    def _source(self, path: str) -> ObjectSource:
        key = self.keys.key(path)
        return ObjectSource(
            self.client, self.bucket, key, path, self.attempts, first_client=self.getter
        )

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        source = self._source(path)
        return open_object(
            source,
            offset,
            range_size=self.read_range_size,
            concurrency=self.options.read_concurrency,
            budget=self.read_ahead,
            # The native client's GET covers no more than a small object: its buffers held
            # 48 MiB more at peak than botocore's for four 64 MiB layers read at once.
            head_size=NATIVE_HEAD if self.getter is not self.client else None,
        )

    def read_head(self, path: str, size: int) -> bytes:
        """One ranged GET of the first ``size`` bytes, or none for a link a listing vouches
        for (registry_scraper_s3.linklisting)."""
        listed = self.links.content(path)
        if listed is not None:
            return listed[:size]
        source = self._source(path)
        body = source.open(0, size)
        if body is None:
            return b""
        assert source.size is not None
        stream = RangeStream(source, 0, min(size, source.size), body)
        content = b""
        try:
            while chunk := stream.read(size - len(content)):
                content += chunk
        finally:
            stream.close()
        return content

    def _link_etags(self, directory: str) -> dict[str, str]:
        """Path -> ETag of the files below ``directory``, from its first pages of listing
        (obstore's where it can list them: the keys are all that is read)."""
        etags: dict[str, str] = {}
        prefix = self.keys.dir_prefix(directory)
        if self.native is not None:
            listed = self.native.list_etags(prefix, MAX_LISTING_PAGES * _BATCH)
            if listed is not None:
                for key, etag in listed:
                    path = self._storage_path(key)
                    if path is not None:
                        etags[path] = etag
                return etags
        for number, page in enumerate(self._pages(directory, Prefix=prefix)):
            for item in page.get("Contents", []):
                path = self._storage_path(item["Key"])
                if path is not None:
                    etags[path] = str(item.get("ETag", "")).strip('"')
            if number + 1 >= MAX_LISTING_PAGES:
                break
        return etags

    def _head(self, key: str, path: str) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except sdk_errors() as exc:
            if is_not_found(exc):
                return None
            raise to_storage_error(path, exc) from exc
        return response

    def _has_files(self, prefix: str, path: str) -> bool:
        """Whether a file (not a "dir/" placeholder) lies anywhere below ``prefix``."""
        for page in self._pages(path, page_size=_PROBE_PAGE, Prefix=prefix):
            if any(self._storage_path(item["Key"]) for item in page.get("Contents", [])):
                return True
        return False

    def stat(self, path: str) -> FileInfo:
        if path == "/":
            return FileInfo("/", 0, is_dir=True)
        head = self._head(self.keys.key(path), path)
        if head is not None:
            modified = head.get("LastModified")
            mod_time = modified.timestamp() if modified is not None else None
            return FileInfo(path, int(head["ContentLength"]), False, mod_time)
        # Not "key" itself but "key/": distribution's Stat lists prefix "key", which makes
        # "/a" a directory whenever "/ab" exists.
        if self._has_files(self.keys.dir_prefix(path), path):
            return FileInfo(path, 0, is_dir=True)
        raise PathNotFoundError(self.name, path)

    def _pages(
        self, path: str, *, page_size: int = _BATCH, **request: Any
    ) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        with translated(path):
            yield from paginator.paginate(
                Bucket=self.bucket, PaginationConfig={"PageSize": page_size}, **request
            )

    def list_dir(self, path: str) -> list[str]:
        prefix = self.keys.dir_prefix(path)
        files: list[str] = []
        directories: list[str] = []
        for page in self._pages(path, Prefix=prefix, Delimiter="/"):
            files += [item["Key"] for item in page.get("Contents", [])]
            directories += [item["Prefix"] for item in page.get("CommonPrefixes", [])]
        names = files + [key.rstrip("/") for key in self._live(directories, path)]
        # Nothing listed: the wrapper makes that PathNotFoundError (the root excepted).
        return sorted(set(self._child_paths(prefix, names)))

    def _live(self, prefixes: list[str], path: str) -> list[str]:
        """The prefixes with a file below them.

        Stores that keep real directories (SeaweedFS) go on listing a directory as a common
        prefix after its last object is deleted; on S3 itself this costs one small request
        per subdirectory, run a few at a time.
        """
        if len(prefixes) <= 1:
            return [prefix for prefix in prefixes if self._has_files(prefix, path)]
        workers = min(_PROBE_THREADS, len(prefixes))
        with ThreadPoolExecutor(workers, thread_name_prefix="s3-list") as pool:
            found = list(pool.map(lambda prefix: self._has_files(prefix, path), prefixes))
        return [prefix for prefix, live in zip(prefixes, found, strict=True) if live]

    def _child_paths(self, prefix: str, keys: list[str]) -> Iterator[str]:
        for key in keys:
            if "/" not in key[len(prefix) :]:
                child = self._storage_path(key)
                if child is not None:
                    yield child

    def _storage_path(self, key: str) -> str | None:
        return self.keys.listed_path(key)

    def walk(self, path: str) -> Iterator[FileInfo]:
        for page in self._pages(path, Prefix=self.keys.dir_prefix(path)):
            for item in page.get("Contents", []):
                child = self._storage_path(item["Key"])
                if child is None:
                    continue
                modified = item.get("LastModified")
                mod_time = modified.timestamp() if modified is not None else None
                yield FileInfo(child, int(item["Size"]), False, mod_time)

    # -- writing ----------------------------------------------------------------------------

    def put_content(self, path: str, data: bytes) -> None:
        key = self.keys.key(path)
        with translated(path):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=CONTENT_TYPE)

    def writer(self, path: str) -> MultipartWriter:
        key = self.keys.key(path)
        return MultipartWriter(
            self.client,
            self.bucket,
            key,
            path,
            self.options.part_size,
            parallel_parts=self.options.write_concurrency,
        )

    def move(self, source: str, dest: str) -> None:
        source_key = self.keys.key(source)
        dest_key = self.keys.key(dest)
        if source_key == dest_key:
            self.stat(source)
            return
        self._copy(self.client, self.bucket, source_key, dest_key, source, dest)
        with translated(source):
            self.client.delete_object(Bucket=self.bucket, Key=source_key)

    def _copy(
        self,
        source_client: Client,
        source_bucket: str,
        source_key: str,
        dest_key: str,
        source_path: str,
        dest_path: str,
    ) -> None:
        """Server-side copy: CopyObject, or parallel UploadPartCopy above 5 GiB.

        One CopyObject first: boto3's managed copy would HEAD the source and start a thread
        pool for every object (two calls and a pool per blob: s5cmd copies twice as fast).
        The managed copy runs only when the server refuses a copy that large.
        """
        if self.multipart_copy_threshold > MAX_SINGLE_COPY:
            try:
                self.client.copy_object(
                    CopySource={"Bucket": source_bucket, "Key": source_key},
                    Bucket=self.bucket,
                    Key=dest_key,
                )
                return
            except sdk_errors() as exc:
                if is_not_found(exc):
                    raise PathNotFoundError(self.name, source_path) from exc
                if error_code(exc) != "InvalidRequest" or not _too_large(
                    source_client, source_bucket, source_key
                ):
                    raise to_storage_error(dest_path, exc) from exc
        self._managed_copy(
            source_client, source_bucket, source_key, dest_key, source_path, dest_path
        )

    def _managed_copy(
        self,
        source_client: Client,
        source_bucket: str,
        source_key: str,
        dest_key: str,
        source_path: str,
        dest_path: str,
    ) -> None:
        # boto3's managed copy (what its client's injected ``copy`` method calls): the
        # client here is botocore's.
        from boto3.s3.inject import copy as managed_copy
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=self.multipart_copy_threshold,
            multipart_chunksize=self.options.part_size,
            max_concurrency=max(1, min(10, self.options.max_pool_connections // 4)),
        )
        try:
            managed_copy(
                self.client,
                CopySource={"Bucket": source_bucket, "Key": source_key},
                Bucket=self.bucket,
                Key=dest_key,
                SourceClient=source_client,
                Config=config,
            )
        except sdk_errors() as exc:
            # Only the source can be missing; anything else concerns the destination.
            if is_not_found(exc):
                raise PathNotFoundError(self.name, source_path) from exc
            raise to_storage_error(dest_path, exc) from exc

    def delete(self, path: str) -> None:
        key = self.keys.key(path)
        deleted = 0
        if self._head(key, path) is not None:
            deleted += self._delete_keys([key], path)
        for keys in self._keys_below(self.keys.dir_prefix(path), path):
            deleted += self._delete_keys(keys, path)
        if not deleted:
            raise PathNotFoundError(self.name, path)

    def _keys_below(self, prefix: str, path: str) -> Iterator[list[str]]:
        """Batches of keys under ``prefix``, each listed after the previous one was deleted.

        Paging goes by ``StartAfter`` (the last key seen), not a continuation token: a token's
        meaning after its keys are deleted is up to the server, a key's is not.
        """
        request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": _BATCH}
        while True:
            with translated(path):
                response = self.client.list_objects_v2(**request)
            keys = [item["Key"] for item in response.get("Contents", [])]
            if not keys:
                return
            yield keys
            if not response.get("IsTruncated"):
                return
            request["StartAfter"] = keys[-1]

    def _delete_keys(self, keys: list[str], path: str) -> int:
        with translated(path):
            response = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            failed = self.keys.path(str(first.get("Key", ""))) or path
            detail = f"DeleteObjects: {first.get('Code')}: {first.get('Message', '')}".strip()
            raise StorageError(self.name, failed, f"{detail} ({len(errors)} key(s) not deleted)")
        return len(keys)

    # -- capabilities -----------------------------------------------------------------------

    def server_side_copy(self, source: object, src_path: str, dst_path: str) -> bool:
        """Copy ``src_path`` of ``source`` to ``dst_path`` here without streaming the bytes.

        Returns False, having written nothing, when ``source`` is not an S3 driver on this
        endpoint or the server refuses the copy (the credentials cannot read the source, or
        the server lacks CopyObject); the caller then streams the object instead.
        The wrapper validated both paths, refuses the copy on a read-only open, and hands over
        the source driver itself, never its wrapper.
        """
        dest_key = self.keys.key(dst_path)
        if not isinstance(source, S3Driver) or source.endpoint_url != self.endpoint_url:
            return False
        source_key = source.keys.key(src_path)
        if (source.bucket, source_key) == (self.bucket, dest_key):
            source.stat(src_path)
            return True
        try:
            self._copy(source.client, source.bucket, source_key, dest_key, src_path, dst_path)
        except StorageError as exc:
            if error_code(exc.__cause__ or exc) in _COPY_UNSUPPORTED:
                return False
            raise
        return True
