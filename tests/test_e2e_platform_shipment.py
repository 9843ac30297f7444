"""A platform-subset shipment imports and verifies without repeating ``--platform`` (issue 19,
item 2), through the real CLI, the tar archive and registry 2.8."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli as cli
from tests.support.registry import RegistryFactory
from tests.support.skopeo import PopulatedRegistry, inspect_digest, inspect_raw, manifest_digest

pytestmark = pytest.mark.e2e


def shipped_receipt(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive) as tar:
        [member] = [m for m in tar.getmembers() if m.name.startswith("scrape-receipts/")]
        extracted = tar.extractfile(member)
        assert extracted is not None
        document: dict[str, Any] = json.loads(extracted.read())
        return document


def test_a_platform_shipment_imports_with_all_tags_verifies_and_serves(
    populated_registry: PopulatedRegistry, filesystem_registry: RegistryFactory, tmp_path: Path
) -> None:
    pushed = populated_registry.pushed["multiarch"]
    archive = tmp_path / "arm.tar.gz"
    shipped = cli(
        "--data-dir",
        str(populated_registry.root),
        "--output-tar",
        str(archive),
        "--platform",
        "linux/arm64",
        pushed.ref,
    )
    assert shipped.exit_code == 0, shipped.output

    receipt = shipped_receipt(archive)
    assert receipt["shaped_by"]["platforms"] == ["linux/arm64"]
    assert receipt["shaped_by"]["patterns"] == [pushed.ref]
    [image] = receipt["images"]
    assert image["platforms"] == ["linux/arm64/v8"]
    assert image["platform_subset"] is True

    checked = cli("verify", "--storage", "tar", "--data-dir", str(archive))
    assert checked.exit_code == 0, checked.output

    site = tmp_path / "site"
    tar_source = ("--storage", "tar", "--data-dir", str(archive))
    imported = cli(*tar_source, "--output-dir", str(site), "--all-tags", "**")
    assert imported.exit_code == 0, imported.output
    assert "not shipped" in imported.stderr  # the amd64 child, noted as left out
    site_checked = cli("verify", "--data-dir", str(site))
    assert site_checked.exit_code == 0, site_checked.output

    served = filesystem_registry(site)
    # The index as it is; the arm64 image by digest; the amd64 one was not shipped.
    assert inspect_digest(served.url, pushed.ref) == pushed.digest
    index = json.loads(inspect_raw(served.url, pushed.ref))
    children = {c["platform"]["architecture"]: c["digest"] for c in index["manifests"]}
    arm = inspect_raw(served.url, f"{pushed.repository}@{children['arm64']}")
    assert manifest_digest(arm) == children["arm64"]
    status, _headers, _body = served.get_manifest(pushed.repository, children["amd64"])
    assert status == 404
