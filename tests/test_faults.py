"""Faults between the S3 driver and a real S3 store: the copy is right, or fails clearly.

A fault-injecting proxy sits between `scrape` and SeaweedFS (written by registry 2.8's own s3
driver) and breaks a share of requests: 500s, SlowDown, connection resets mid-body, truncated
bodies, latency. Every run must end either with a copy whose every blob verifies and which a
registry serves, or with one-line errors and still nothing corrupt or dangling in the copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3_servers import SeaweedServer

from tests.support.cli import run_cli
from tests.support.faultproxy import FaultProxy
from tests.support.faultruns import check_fault_run, fault_figures
from tests.support.images import StandardImages
from tests.support.registry import RegistryFactory, RegistryServer
from tests.support.reliability import measuring
from tests.support.skopeo import PushedImage, push_standard
from tests.support.source_guard import SourceGuard, s3_snapshot

pytestmark = [pytest.mark.e2e, pytest.mark.s3]


@pytest.fixture(scope="module")
def seaweed_source(
    image_layout: StandardImages, registry_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SeaweedServer, str, dict[str, PushedImage]]]:
    with SeaweedServer() as server:
        bucket = server.make_bucket()
        workdir = tmp_path_factory.mktemp("fault-source")
        with RegistryServer.on_s3_server(
            server, bucket, workdir=workdir, binary=registry_binary
        ) as registry:
            pushed = push_standard(image_layout, registry.url)
        yield server, bucket, pushed


RUNS = [(0.15, seed) for seed in range(4)] + [(0.4, seed) for seed in range(4, 7)]


@pytest.mark.parametrize(("rate", "seed"), RUNS)
def test_scrape_through_faults(
    seaweed_source: tuple[SeaweedServer, str, dict[str, PushedImage]],
    filesystem_registry: RegistryFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    rate: float,
    seed: int,
    source_unchanged: SourceGuard,
) -> None:
    server, bucket, pushed = seaweed_source
    server.use_environment(monkeypatch)
    source_unchanged.watch(f"s3://{bucket}", s3_snapshot(server.client(), bucket))
    output = tmp_path / "copy"
    refs = [image.ref for image in pushed.values()]
    percent = round(rate * 100)
    with measuring(
        f"faults-s3-{percent:02d}",
        title=f"S3 faults at {percent}% of requests",
        how="a proxy between scrape and SeaweedFS (written by registry 2.8) answers 500 or "
        "SlowDown, resets or truncates bodies, adds latency (`tests/test_faults.py`); seeds "
        "are runs",
        outcome="every image reported copied verifies and pulls back from a registry serving "
        "the copy; the others failed with one-line errors; nothing corrupt or partial",
    ) as measured:
        with FaultProxy(server.endpoint_url, rate=rate, seed=seed) as proxy:
            result = run_cli(
                "--storage", "s3", "--data-dir", bucket,
                "-o", f"endpoint_url={proxy.endpoint_url}", "-o", "max_attempts=4",
                "--output-dir", str(output), "--json", *refs,
            )  # fmt: skip
        assert sum(proxy.injected.values()) > 0, "no fault was injected: the test proves nothing"
        measured.figures.update(fault_figures(proxy))
        ok = check_fault_run(result, output, pushed, filesystem_registry, tmp_path)
        measured.figures["images copied"] = len(ok)
        measured.figures["images failed"] = len(json.loads(result.stdout)["images"]) - len(ok)
