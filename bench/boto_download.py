"""The S3 baseline: the short boto3 script a user would write to fetch a list of keys.

    python bench/boto_download.py ENDPOINT BUCKET KEYS_FILE TARGET_DIR

Run as its own process, so it pays interpreter start-up and the boto3 import just as
`scrape` does; credentials come from the environment. It imports nothing from this project.
"""

from __future__ import annotations

import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

THREADS = 16
CHUNK = 1 << 20


def client(
    endpoint: str,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str | None = None,
) -> Any:
    """An S3 client for ``endpoint``; keys and region not given come from the environment."""
    import boto3
    from botocore.config import Config

    config = Config(
        max_pool_connections=THREADS * 2,
        s3={"addressing_style": "path"},
        # As scrape's driver does by default: SeaweedFS need not see CRC headers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=config,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
    )


def download(s3: Any, bucket: str, keys: list[str], target: Path) -> None:
    def fetch(key: str) -> None:
        path = target / key
        path.parent.mkdir(parents=True, exist_ok=True)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        with path.open("wb") as file:
            shutil.copyfileobj(body, file, CHUNK)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(fetch, keys))


def main(argv: list[str]) -> int:
    endpoint, bucket, keys_file, target = argv
    keys = Path(keys_file).read_text().split()
    download(client(endpoint), bucket, keys, Path(target))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
