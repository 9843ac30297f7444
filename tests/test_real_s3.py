"""Opt-in: the S3 scenario against real S3 (or any S3-compatible store) you configure.

Copy tests/registry-config.env.example to tests/registry-config.env, fill it in, export AWS
credentials, and run `make test-s3`. Without that file these tests are not collected: real S3
is an operator's choice, not a component this project's CI provides.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.images import StandardImages
from tests.support.registry import RegistryFactory, RegistryServer
from tests.support.skopeo import pull, push_standard

CONFIG = Path(__file__).parent / "registry-config.env"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.s3,
    pytest.mark.skipif(not CONFIG.exists(), reason=f"opt-in: {CONFIG.name} not present"),
]


def read_config() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in CONFIG.read_text().splitlines():
        key, equals, value = line.partition("=")
        if equals and not key.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def real_s3() -> Iterator[dict[str, str]]:
    config = read_config()
    config["PREFIX"] = f"registry-scraper-test-{secrets.token_hex(4)}"
    yield config
    import boto3

    bucket = boto3.resource(
        "s3", region_name=config["AWS_REGION"], endpoint_url=config.get("S3_ENDPOINT_URL")
    ).Bucket(config["S3_BUCKET"])
    bucket.objects.filter(Prefix=config["PREFIX"] + "/").delete()


def test_real_s3_round_trip(
    real_s3: dict[str, str],
    image_layout: StandardImages,
    registry_binary: str,
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
) -> None:
    bucket, prefix = real_s3["S3_BUCKET"], real_s3["PREFIX"]
    endpoint = real_s3.get("S3_ENDPOINT_URL", "")
    with RegistryServer.s3(
        bucket,
        endpoint,
        region=real_s3["AWS_REGION"],
        rootdirectory=f"/{prefix}",
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        workdir=tmp_path / "registry",
        binary=registry_binary,
    ) as source:
        pushed = push_standard(image_layout, source.url)
    options = ["-o", f"region={real_s3['AWS_REGION']}"]
    if endpoint:
        options += ["-o", f"endpoint_url={endpoint}"]
    refs = [image.ref for image in pushed.values()]
    output = tmp_path / "copy"
    result = run_cli(
        "--storage", "s3", "--data-dir", f"{bucket}/{prefix}", *options,
        "--output-dir", str(output), *refs,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    served = filesystem_registry(output)
    for key, image in pushed.items():
        pulled = pull(served.url, image.ref, tmp_path / key, all_platforms=key == "multiarch")
        assert pulled.digest == image.digest
