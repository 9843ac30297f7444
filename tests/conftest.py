"""Fixtures for end-to-end tests through the real registry and skopeo.

Every server binds 127.0.0.1 on a free port and is stopped at teardown. A missing component
skips the test on a workstation and fails it in CI (CI=true).

Every test has a source guard (``source_unchanged``, tests/support/source_guard.py): what it
watches is compared right after the test body, while the test's servers still run, and a
change fails the test. It watches ``populated_registry``'s tree by itself; tests watch any
other source they scrape.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import azurite_server
import gcs_emulator
import pytest
import s3_servers

from scraper_core.plugins import PLUGINS_ENV
from tests.support import reliability
from tests.support.components import require_binary
from tests.support.images import StandardImages, build_standard_images
from tests.support.registry import RegistryFactory, RegistryServer, S3Endpoint
from tests.support.skopeo import PopulatedRegistry, PushSource, push_standard
from tests.support.source_guard import SourceGuard

_GUARD = pytest.StashKey[SourceGuard]()


@pytest.fixture(autouse=True)
def source_unchanged(request: pytest.FixtureRequest) -> SourceGuard:
    """The test's source guard: ``source_unchanged.watch_local(root)`` (or ``.watch(label,
    snapshot)`` for a bucket) once a source is set up; checked after the test body."""
    guard = SourceGuard()
    request.node.stash[_GUARD] = guard
    if "populated_registry" in request.fixturenames:
        populated: PopulatedRegistry = request.getfixturevalue("populated_registry")
        guard.watch_local(populated.root)
    return guard


def pytest_configure(config: pytest.Config) -> None:
    """Take the emulators' session fixtures (moto_server, seaweed_server, s3_server,
    gcs_server, azurite_server) from the modules that start those servers in each plugin's
    tests (found through pyproject's pythonpath): one definition serves both.

    Registered as pytest_plugins would, but not marked for assertion rewriting: they hold no
    assert, and a plugin's conftest may have imported them first."""
    for module in (s3_servers, gcs_emulator, azurite_server):
        if config.pluginmanager.get_plugin(module.__name__) is None:
            config.pluginmanager.register(module, module.__name__)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    # After the body and before any teardown: fixtures' servers are still there to list.
    # A test that already failed keeps its own failure.
    yield
    guard = item.stash.get(_GUARD, None)
    if guard is None:
        return
    try:
        guard.assert_unchanged()
    finally:
        if guard.checked:
            reliability.record(
                "source-never-written",
                title="source never written",
                how="every source a test scrapes, snapshotted before and compared after "
                "(local trees: bytes, mode, mtime, listings; S3, GCS, Azure: keys, sizes, "
                "etags or generations, mtimes), by the fixture `source_unchanged`",
                held=not guard.written,
                outcome="no source changed" if not guard.written else guard.written[0],
                runs=len(guard.checked),
                figures={"tests": 1},
            )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write what the tests measured (tests/support/reliability.py says when the docs too)."""
    measured = reliability.parts()
    if not measured:
        return
    rows = reliability.save_results(measured)
    whole_suite = (
        session.config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not session.config.option.keyword
        and not session.config.option.markexpr
        and exitstatus == 0
    )
    if whole_suite or os.environ.get("RELIABILITY_DOCS") == "1":
        reliability.write_docs(rows)


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for fake installed plugins (tests/support/plugin_site's
    ``write_distribution``), with every installed plugin allowed."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(PLUGINS_ENV, raising=False)
    return site


@pytest.fixture(scope="session")
def registry_binary() -> str:
    return require_binary("docker-registry")


@pytest.fixture(scope="session")
def skopeo_binary() -> str:
    return require_binary("skopeo")


@pytest.fixture(scope="session")
def umoci_binary() -> str:
    return require_binary("umoci")


@pytest.fixture(scope="session")
def image_layout(tmp_path_factory: pytest.TempPathFactory) -> StandardImages:
    """One OCI layout with every standard image (see StandardImages); read-only for tests."""
    return build_standard_images(tmp_path_factory.mktemp("oci-layout"))


def _make_factory(
    base: Path, registry_binary: str, servers: list[RegistryServer]
) -> RegistryFactory:
    counter = itertools.count()

    def start(rootdir: Path | None = None) -> RegistryServer:
        number = next(counter)
        root = rootdir if rootdir is not None else base / f"registry-{number}" / "storage"
        server = RegistryServer.filesystem(
            root, workdir=base / f"registry-{number}" / "run", binary=registry_binary
        )
        servers.append(server)
        return server.start()

    return start


@pytest.fixture
def filesystem_registry(tmp_path: Path, registry_binary: str) -> Iterator[RegistryFactory]:
    """Factory: `filesystem_registry(rootdir=None) -> RegistryServer`, already running.

    Without rootdir each call gets fresh, empty storage under tmp_path; pass a directory (e.g.
    a scraped copy) to serve it. Config and log stay in tmp_path for garbage-collect and for
    reading after a failure. All servers stop at teardown.
    """
    servers: list[RegistryServer] = []
    try:
        yield _make_factory(tmp_path, registry_binary, servers)
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def registry_server(filesystem_registry: RegistryFactory) -> RegistryServer:
    """One running registry on fresh, empty filesystem storage."""
    return filesystem_registry()


@pytest.fixture
def push_source(
    filesystem_registry: RegistryFactory, image_layout: StandardImages, skopeo_binary: str
) -> PushSource:
    """An empty running registry to push standard images into (``push_source.push``)."""
    return PushSource(filesystem_registry(), image_layout)


@pytest.fixture(scope="session")
def populated_registry(
    tmp_path_factory: pytest.TempPathFactory,
    registry_binary: str,
    skopeo_binary: str,
    image_layout: StandardImages,
) -> Iterator[PopulatedRegistry]:
    """Session-wide source registry with every standard image pushed.

    Shared by many tests, so treat its storage as read-only: copy `root` (shutil.copytree)
    before changing anything in it.
    """
    servers: list[RegistryServer] = []
    start = _make_factory(tmp_path_factory.mktemp("populated"), registry_binary, servers)
    try:
        server = start()
        pushed = push_standard(image_layout, server.url)
        assert server.rootdir is not None
        yield PopulatedRegistry(server, server.rootdir, image_layout, pushed)
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def s3_registry(tmp_path: Path, registry_binary: str) -> Iterator[Callable[..., RegistryServer]]:
    """Factory: `s3_registry(server, bucket, rootdirectory=None) -> RegistryServer`, running.

    `server` is any S3 endpoint with endpoint_url/access_key/secret_key/region (e.g. a
    s3_servers.MotoServer); the registry uses the 2.8 s3 driver on that bucket.
    """
    servers: list[RegistryServer] = []
    counter = itertools.count()

    def start(server: S3Endpoint, bucket: str, rootdirectory: str | None = None) -> RegistryServer:
        registry = RegistryServer.on_s3_server(
            server,
            bucket,
            rootdirectory,
            workdir=tmp_path / f"s3-registry-{next(counter)}",
            binary=registry_binary,
        )
        servers.append(registry)
        return registry.start()

    try:
        yield start
    finally:
        for registry in servers:
            registry.close()


@pytest.fixture
def moto(
    moto_server: s3_servers.MotoServer, monkeypatch: pytest.MonkeyPatch
) -> s3_servers.MotoServer:
    """The session's moto, with this process set up as its client (credentials, no profile)."""
    moto_server.use_environment(monkeypatch)
    return moto_server
