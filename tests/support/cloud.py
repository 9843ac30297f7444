"""Registry trees in a bucket (fake-gcs-server) or a container (Azurite), as
distribution's gcs and azure drivers name their objects, and how scrape is told to read them.

The tree is one the real registry wrote on local storage, uploaded object by object with the
cloud SDK itself (the project's registry 2.8 has no gcs or azure driver for the emulators).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azurite_server import AzuriteServer
from gcs_emulator import FakeGcsServer

from tests.support.source_guard import SnapshotFn, azure_snapshot, gcs_snapshot


@dataclass(frozen=True)
class CloudSource:
    """A registry tree in a bucket or container, and how scrape is told to read it."""

    storage: str
    location: str
    options: tuple[str, ...]
    #: Every object with its size and version: for the source guard (source_unchanged).
    snapshot: SnapshotFn
    #: The storage section of a registry config.yml for this tree (credentials from env).
    registry_config: str = ""


def tree_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(storage path, file) for every file of a registry's local storage root."""
    for file in sorted(root.rglob("*")):
        if file.is_file():
            yield "/" + file.relative_to(root).as_posix(), file


def gcs_source(
    server: FakeGcsServer, monkeypatch: pytest.MonkeyPatch, registry_root: Path
) -> CloudSource:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    server.use_environment(monkeypatch)
    bucket_name = server.make_bucket()
    client = storage.Client(project=server.project, credentials=AnonymousCredentials())
    bucket = client.bucket(bucket_name)
    # distribution's gcs driver: rootdirectory "prod" puts /docker/... at prod/docker/...
    for path, file in tree_files(registry_root):
        bucket.blob("prod" + path).upload_from_filename(str(file))

    snapshot = gcs_snapshot(client, bucket_name)
    config = f"storage:\n  gcs:\n    bucket: {bucket_name}\n    rootdirectory: /prod\n"
    return CloudSource("gcs", f"{bucket_name}/prod", (), snapshot, config)


def azure_source(
    server: AzuriteServer,
    monkeypatch: pytest.MonkeyPatch,
    registry_root: Path,
    *,
    legacy: bool,
) -> CloudSource:
    server.use_environment(monkeypatch)
    container_name = server.make_container()
    container: Any = server.service_client().get_container_client(container_name)
    # distribution 2.x named blobs by the storage path itself, leading slash included;
    # distribution 3 trims it and prefixes the rootdirectory.
    prefix = "" if legacy else "prod"
    for path, file in tree_files(registry_root):
        with file.open("rb") as data:
            container.upload_blob(prefix + path, data)

    snapshot = azure_snapshot(container)
    # A 2.x config has no rootdirectory (its names carry the leading slash); a 3.x one may.
    config = f"storage:\n  azure:\n    container: {container_name}\n"
    if legacy:
        options = ("legacy_root_prefix=true",)
        return CloudSource("azure", container_name, options, snapshot, config)
    config += "    rootdirectory: /prod\n"
    return CloudSource("azure", f"{container_name}/prod", (), snapshot, config)


def source_args(source: CloudSource) -> list[str]:
    options = [arg for option in source.options for arg in ("--storage-option", option)]
    return ["--storage", source.storage, "--data-dir", source.location, *options]
