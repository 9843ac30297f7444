"""Faults between the GCS and Azure drivers and their emulators: a right copy, or clear errors.

The same fault-injecting proxy as for S3 sits between `scrape` and fake-gcs-server or Azurite,
which hold a tree registry 2.8 wrote: 500s, 503s, connections reset mid-body, truncated bodies
and latency on a seeded share of requests. The SDKs' own retries (google-api-core's, azure-core's)
must carry the copy through, or the images that cannot be copied fail with one line each;
whatever is in the copy verifies and is served.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azurite_server import AzuriteServer
from gcs_emulator import FakeGcsServer

from tests.support.cli import run_cli
from tests.support.cloud import CloudSource, azure_source, gcs_source, source_args
from tests.support.faultproxy import FaultProxy
from tests.support.faultruns import check_fault_run, fault_figures
from tests.support.registry import RegistryFactory
from tests.support.reliability import measuring
from tests.support.skopeo import PopulatedRegistry
from tests.support.source_guard import SourceGuard

pytestmark = pytest.mark.e2e

RUNS = [
    pytest.param(backend, rate, seed, marks=getattr(pytest.mark, backend))
    for backend, rate, seed in [
        ("gcs", 0.15, 1),
        ("gcs", 0.3, 2),
        ("azure", 0.15, 1),
        ("azure", 0.3, 2),
    ]
]


def through_proxy(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    populated: PopulatedRegistry,
    backend: str,
    proxy: FaultProxy,
) -> CloudSource:
    """The tree uploaded directly, then the environment pointed at the proxy for scrape."""
    if backend == "gcs":
        gcs: FakeGcsServer = request.getfixturevalue("gcs_server")
        source = gcs_source(gcs, monkeypatch, populated.root)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint_url)
        return source
    azurite: AzuriteServer = request.getfixturevalue("azurite_server")
    source = azure_source(azurite, monkeypatch, populated.root, legacy=False)
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        azurite.connection_string.replace(azurite.base_url, proxy.endpoint_url),
    )
    return source


@pytest.mark.parametrize(("backend", "rate", "seed"), RUNS)
def test_scrape_through_faults(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    populated_registry: PopulatedRegistry,
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
    backend: str,
    rate: float,
    seed: int,
    source_unchanged: SourceGuard,
) -> None:
    upstream: FakeGcsServer | AzuriteServer = request.getfixturevalue(
        "gcs_server" if backend == "gcs" else "azurite_server"
    )
    output = tmp_path / "copy"
    pushed = populated_registry.pushed
    refs = [image.ref for image in pushed.values()]
    with measuring("faults-gcs-azure") as measured:
        # Upload first, with no fault: the proxy only ever sees scrape's requests.
        with FaultProxy(upstream.base_url, rate=0.0, seed=seed) as proxy:
            source = through_proxy(request, monkeypatch, populated_registry, backend, proxy)
            source_unchanged.watch(source.location, source.snapshot)
            proxy.rate = rate
            result = run_cli(*source_args(source), "--output-dir", str(output), "--json", *refs)
            proxy.rate = 0.0
            # Now, while the proxy still runs (the listing may go through it).
            source_unchanged.assert_unchanged()
        assert sum(proxy.injected.values()) > 0, "no fault was injected: the test proves nothing"
        measured.figures.update(fault_figures(proxy))
        ok = check_fault_run(result, output, pushed, filesystem_registry, tmp_path)
        measured.figures["images copied"] = len(ok)
        measured.figures["images failed"] = len(json.loads(result.stdout)["images"]) - len(ok)
        # At 15% the SDKs' retries must carry every image through.
        if rate <= 0.15:
            assert len(ok) == len(refs), result.stdout
