"""Issue 19's scenario, weeks in a row, through the real CLI, registry 2.8 and skopeo.

Week 1 a signed full shipment is checked with ssh-keygen and imported under trusted keys;
week 2 a delta (a tag moved, one deleted, one new) is verified on its own and against the
site's inventory, imported, and the deleted tag pruned; week 1 replayed is refused and a
no-op re-import writes nothing; a platform shipment imports with ``--all-tags`` only; a
migration with ``--all-manifests`` serves every revision the source serves. At the end a
registry on the site serves every tag as the source does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scraper_core import layout
from tests.support.cli_process import Completed, run_scrape
from tests.support.registry import RegistryFactory, RegistryServer
from tests.support.signing import allowed_signers, make_key, ssh_keygen_verifies
from tests.support.skopeo import PushSource, inspect_digest, inspect_raw
from tests.support.trees import snapshot
from tests.test_shipment_order import WEEK_1, WEEK_2

pytestmark = pytest.mark.e2e

WEEK_3 = "1701209600"
REVISIONS = "docker/registry/v2/repositories/{}/_manifests/revisions/sha256"


def scrape(*args: str) -> Completed:
    result = run_scrape(*args)
    assert "Traceback" not in result.stderr, result.describe()
    return result


def ok(*args: str) -> Completed:
    result = scrape(*args)
    assert result.returncode == 0, result.describe()
    return result


def served_tags(server: RegistryServer) -> dict[str, str]:
    """Every tag the registry serves, ``name:tag`` -> the digest skopeo reads for it."""
    return {
        f"{name}:{tag}": inspect_digest(server.url, f"{name}:{tag}")
        for name in server.catalog()
        for tag in server.tags(name)
    }


def revisions(root: Path, name: str) -> set[str]:
    """The manifest revisions a registry tree links for ``name`` (a deleted one has no link)."""
    directory = root / REVISIONS.format(name)
    return {f"sha256:{entry.name}" for entry in directory.iterdir() if (entry / "link").exists()}


def test_weeks_of_shipments_leave_the_site_as_the_source_is(
    tmp_path: Path,
    push_source: PushSource,
    filesystem_registry: RegistryFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    keys = tmp_path / "keys"
    keys.mkdir()
    key = make_key(keys, "shipper")
    trusted = allowed_signers(keys, key)
    source = push_source.server
    assert source.rootdir is not None
    data = str(source.rootdir)
    site = tmp_path / "site"
    tar_site = ("--output-dir", str(site), "-o", f"trusted-keys={trusted}")

    # Week 1: the source as first shipped; a signed full shipment, checked, imported.
    first_latest = push_source.push("plain", "team/app:latest")
    stable = push_source.push("shared-a", "team/app:stable")
    doomed = push_source.push("shared-b", "team/app:old")
    multi = push_source.push("multiarch", "team/multi:v1", all_platforms=True)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", WEEK_1)
    week1 = tmp_path / "w1.tar.zst"
    ok("--data-dir", data, "--output-tar", str(week1), "--all-tags", "team/**",
       "--sign-key", str(key))  # fmt: skip
    ssh_keygen_verifies(week1, trusted)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    ok("--storage", "tar", "--data-dir", str(week1), *tar_site, "--all-tags", "**")

    # Week 2: latest moves, old is deleted (its tag only: the manifest stays, by digest), new
    # appears. A DELETE through the registry's API is test_a_migration_after_a_registry_delete.
    moved = push_source.push("schema2", "team/app:latest")
    shutil.rmtree(source.rootdir / layout.tag_path("team/app", "old").lstrip("/"))
    fresh = push_source.push("schema1", "team/app:new")
    inventory = tmp_path / "site.json"
    inventory.write_text(ok("inventory", "--data-dir", str(site)).stdout)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", WEEK_2)
    week2 = tmp_path / "w2.tar.zst"
    ok("--data-dir", data, "--output-tar", str(week2), "--all-tags", "team/**",
       "--have", str(inventory), "--sign-key", str(key))  # fmt: skip
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    ssh_keygen_verifies(week2, trusted)
    delta = ("--storage", "tar", "--data-dir", str(week2), "-o", f"trusted-keys={trusted}")
    ok("verify", *delta)
    ok("verify", *delta, "--have", str(inventory))
    # Refused before any write: under another key's trust, and at a site it does not complete.
    before = snapshot(site, own_too=True)
    strangers = tmp_path / "strangers"
    strangers.mkdir()
    untrusted = allowed_signers(strangers, make_key(strangers, "stranger"))
    refused = scrape("--storage", "tar", "--data-dir", str(week2), "--output-dir", str(site),
                     "-o", f"trusted-keys={untrusted}", "--all-tags", "**")  # fmt: skip
    assert refused.returncode == 2, refused.describe()
    assert "does not trust" in refused.stderr
    assert snapshot(site, own_too=True) == before
    elsewhere = tmp_path / "elsewhere"
    incomplete = scrape(*delta, "--output-dir", str(elsewhere), "--all-tags", "**")
    assert incomplete.returncode == 2, incomplete.describe()
    assert "the source is a delta" in incomplete.stderr
    # Refused before the destination is opened for writing: not even its directory is made.
    assert not elsewhere.exists()
    imported = ok(*delta, "--output-dir", str(site), "--all-tags", "**")
    assert "no longer at the source: team/app:old" in imported.stderr
    pruned = ok(*delta, "--output-dir", str(site), "--all-tags", "**", "--prune")
    assert "removed 1 tags no longer at the source: team/app:old" in pruned.stdout

    # Week 1 replayed: refused before any write, naming the tag it would move back.
    settled = snapshot(site, own_too=True)
    replay = scrape("--storage", "tar", "--data-dir", str(week1), *tar_site, "--all-tags", "**")
    assert replay.returncode == 2, replay.describe()
    assert "team/app:latest" in replay.stderr and "--allow-older" in replay.stderr
    assert snapshot(site, own_too=True) == settled
    # Week 2 again: nothing to copy, no link to change, so nothing written, receipt included.
    again = ok(*delta, "--output-dir", str(site), "--all-tags", "**")
    assert "no longer at the source" not in again.stderr
    assert snapshot(site, own_too=True) == settled

    # A platform shipment: arm64 only, imported with --all-tags alone, at an arm-only site.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", WEEK_3)
    arm = tmp_path / "arm.tar.gz"
    ok("--data-dir", data, "--output-tar", str(arm), "--platform", "linux/arm64",
       "team/multi:v1")  # fmt: skip
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    edge = tmp_path / "edge"
    ok("--storage", "tar", "--data-dir", str(arm), "--output-dir", str(edge), "--all-tags", "**")
    ok("verify", "--data-dir", str(edge))

    # A migration to a new site: every revision, tagged or not (week 1's latest and old are).
    migrated = tmp_path / "migrated"
    ok("--data-dir", data, "--output-dir", str(migrated), "--all-tags", "**", "--all-manifests")
    served = filesystem_registry(migrated)
    untagged = revisions(source.rootdir, "team/app") - {moved, fresh, stable}
    assert untagged == {first_latest, doomed}
    for name in ("team/app", "team/multi"):
        for digest in revisions(source.rootdir, name):
            assert source.get_manifest(name, digest)[0] == 200, digest
            assert inspect_digest(served.url, f"{name}@{digest}") == digest

    # The end: each site's registry serves every tag as the source does.
    expected = {
        "team/app:latest": moved,
        "team/app:new": fresh,
        "team/app:stable": stable,
        "team/multi:v1": multi,
    }
    assert served_tags(source) == expected
    assert served_tags(filesystem_registry(site)) == expected
    assert served_tags(served) == expected
    at_edge = filesystem_registry(edge)
    assert served_tags(at_edge) == {"team/multi:v1": multi}
    index = json.loads(inspect_raw(at_edge.url, "team/multi:v1"))
    children = {c["platform"]["architecture"]: c["digest"] for c in index["manifests"]}
    assert inspect_digest(at_edge.url, f"team/multi@{children['arm64']}") == children["arm64"]
    assert at_edge.get_manifest("team/multi", children["amd64"])[0] == 404


def test_a_migration_after_a_registry_delete(
    tmp_path: Path,
    push_source: PushSource,
    filesystem_registry: RegistryFactory,
) -> None:
    source = push_source.server
    assert source.rootdir is not None
    push_source.push("plain", "team/app:v1")
    deleted = push_source.push("shared-a", "team/app:v2")
    status, _headers, body = source.http_request("DELETE", f"/v2/team/app/manifests/{deleted}")
    assert status == 202, body
    migrated = tmp_path / "migrated"
    ok("--data-dir", str(source.rootdir), "--output-dir", str(migrated), "--all-tags", "**",
       "--all-manifests")  # fmt: skip
    served = filesystem_registry(migrated)
    for digest in revisions(source.rootdir, "team/app"):
        assert inspect_digest(served.url, f"team/app@{digest}") == digest
