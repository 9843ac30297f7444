"""Pure configuration: the ``--data-dir``/``--output-dir`` location, options and key mapping.

Nothing here touches boto3, so all of it is cheap to import and easy to test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from scraper_core.bucket.objectstore import BucketLocation, KeyMap, parse_bucket_location
from scraper_core.bucket.options import (
    GIB,
    MIB,
    choice,
    http_url,
    option,
    option_names,
    positive_int,
    size,
    text,
)
from scraper_core.bucket.options import parse_options as parse_option_pairs
from scraper_core.registry_config import RegistrySection, StorageConfig, secret_option_names

__all__ = [
    "GIB",
    "MIB",
    "KeyMap",
    "Location",
    "S3Options",
    "from_registry_config",
    "parse_location",
    "parse_options",
]

DRIVER_NAME = "s3"
#: distribution's names for its S3 driver in a config.yml: 2.x registers s3aws too (and
#: older documents spell it s3-aws).
REGISTRY_DRIVER_NAMES = ("s3", "s3aws", "s3-aws")

#: S3 refuses multipart parts under 5 MiB (except the last) and over 5 GiB.
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * GIB
#: The largest object a single CopyObject may copy; beyond it only UploadPartCopy works.
MAX_SINGLE_COPY = 5 * GIB

AddressingStyle = Literal["auto", "path", "virtual"]
Checksum = Literal["when_required", "when_supported"]
RetryMode = Literal["standard", "adaptive", "legacy"]


#: Keys map exactly as distribution's s3-aws ``s3Path`` maps them (see the core's KeyMap).
Location = BucketLocation


def parse_location(location: str) -> Location:
    """``BUCKET[/ROOTDIRECTORY]`` (an ``s3://`` prefix is allowed) as the registry config has it.

    ``bucket: reg`` and ``rootdirectory: /prod`` are written ``reg/prod``.
    """
    return parse_bucket_location(DRIVER_NAME, location, scheme="s3://")


@dataclass(frozen=True)
class S3Options:
    """``--storage-option`` values. Unset ones defer to the usual AWS sources (env, profile)."""

    #: Default: ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, else AWS itself.
    # Never quoted in an error: an endpoint may be written with user:password@ in it.
    endpoint_url: str | None = option(http_url, None, echo=False)
    #: Default: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile's region.
    region: str | None = option(text, None)
    profile: str | None = option(text, None)
    #: Static keys, as a registry config's accesskey/secretkey give them; never shown.
    access_key: str | None = option(text, None, secret=True)
    secret_key: str | None = option(text, None, secret=True)
    # Unset, these four come from the environment, then the profile, then the driver's
    # defaults (registry_scraper_s3.settings): as the AWS CLI and SDKs find them.
    addressing_style: AddressingStyle | None = option(choice(AddressingStyle), None)
    #: Sets both request_checksum_calculation and response_checksum_validation.
    checksum: Checksum | None = option(choice(Checksum), None)
    #: Attempts per request, the first included.
    max_attempts: int | None = option(positive_int, None)
    retry_mode: RetryMode | None = option(choice(RetryMode), None)
    # One client serves every copy thread, and each large read holds several connections.
    max_pool_connections: int = option(positive_int, 32)
    part_size: int = option(size(MIN_PART_SIZE, MAX_PART_SIZE), 16 * MIB)
    #: Connections reading at once, over all readers of the driver: a blob read alone gets
    #: this many ranged GETs in flight, blobs read together stream one each (1: never ahead).
    #: Memory: at most read_concurrency - 1 parts fetched ahead, for the whole driver.
    read_concurrency: int = option(positive_int, 4)
    #: Parts one writer uploads at once while the next fills (1: one at a time). Memory per
    #: writer: write_concurrency + 1 parts. Default 1: against SeaweedFS on two cores, 2 and 4
    #: were no faster (the server is the bottleneck); a long link to a cloud may gain.
    write_concurrency: int = option(positive_int, 1)


OPTION_NAMES = option_names(S3Options)


def parse_options(options: Mapping[str, str]) -> S3Options:
    """Validate ``--storage-option`` pairs; unknown keys are refused, all of them named."""
    return parse_option_pairs(DRIVER_NAME, S3Options, options)


SECRET_OPTIONS = secret_option_names(S3Options)


def _with_scheme(endpoint: str, secure: bool) -> str:
    # The AWS SDK distribution uses adds the scheme when the endpoint has none.
    if "://" in endpoint:
        return endpoint
    return f"{'https' if secure else 'http'}://{endpoint}"


def _addressing_style(section: RegistrySection, has_endpoint: bool) -> str | None:
    """``forcepathstyle`` as both generations read it.

    2.x forces path style for a custom endpoint unless told ``forcepathstyle: false``; 3.x
    takes ``forcepathstyle`` as given (default false). Unset with an endpoint, path style is
    kept: S3-compatible stores serve it, while virtual hosts need DNS for each bucket.
    """
    force = section.flag("forcepathstyle")
    if force:
        return "path"
    if not has_endpoint:
        return None
    return "virtual" if force is False else "path"


def from_registry_config(section: RegistrySection) -> StorageConfig:
    """``storage.s3`` (``s3aws``) of a registry config, 2.x or 3.x, as this driver's options."""
    options: dict[str, str] = {}
    if region := section.text("region"):
        options["region"] = region
    endpoint = section.text("regionendpoint")
    if endpoint:
        options["endpoint_url"] = _with_scheme(endpoint, section.flag("secure") is not False)
    if style := _addressing_style(section, bool(endpoint)):
        options["addressing_style"] = style
    access_key, secret_key = section.text("accesskey"), section.text("secretkey")
    # distribution uses static keys only when both are set; else the usual AWS chain.
    if access_key and secret_key:
        options["access_key"] = access_key
        options["secret_key"] = secret_key
    return StorageConfig(DRIVER_NAME, section.location("bucket"), options, SECRET_OPTIONS)
