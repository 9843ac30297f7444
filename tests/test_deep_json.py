"""JSON nested deeper than Python's decoder can recurse: one bad manifest, one line.

A stock registry (Go's decoder allows 10,000 levels) stores a manifest with an unknown field
nested 1,500 levels deep and answers 201. Python's decoder recurses once per level: past its
recursion limit it raises RecursionError, and in a thread with a small stack (musl's default is
128 KiB) it overflows the stack and the process dies. Nesting is bounded before decoding.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from scraper_core.errors import ManifestError
from scraper_core.manifest import MAX_JSON_DEPTH, nesting_depth_exceeds, parse_manifest
from tests.support.cli_process import Completed, run_scrape
from tests.support.images import OCI_MANIFEST, build_image
from tests.support.recorded import recorded
from tests.support.registry import RegistryServer
from tests.support.skopeo import push

DEEP = 1500


def deep_field(depth: int) -> object:
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


def with_deep_field(manifest: bytes, depth: int = DEEP) -> bytes:
    document = json.loads(manifest)
    document["x-unknown"] = {"nested": "["}  # a bracket in a string is text, not nesting
    # json.dumps recurses too: build the text by hand.
    head = json.dumps(document)[:-1]
    return f'{head}, "deep": {"[" * depth}{"]" * depth}}}'.encode()


SOUND = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "c", "digest": "sha256:" + "a" * 64, "size": 2},
        "layers": [],
    }
).encode()


def test_deep_nesting_is_one_manifest_error() -> None:
    with pytest.raises(ManifestError, match=r"^manifest m: invalid JSON \(nested deeper"):
        parse_manifest(with_deep_field(SOUND), "manifest m")


def test_nesting_up_to_the_limit_still_parses() -> None:
    assert parse_manifest(with_deep_field(SOUND, MAX_JSON_DEPTH - 1), "m").blobs


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"[]", 1),
        (b'{"a": [1, {"b": "[[[[[["}]}', 3),
        (b'[[["\\"[[[", "\\\\"]]]', 3),
        (b'["\\\\\\"]]]]"]', 1),
        (b"[[[[", 4),
        (b"]]][[", 2),
        (b'"[[[[', 0),
    ],
)
def test_nesting_depth_ignores_brackets_in_strings(text: bytes, depth: int) -> None:
    assert not nesting_depth_exceeds(text, depth)
    assert depth == 0 or nesting_depth_exceeds(text, depth - 1)


@pytest.mark.parametrize(
    "text",
    [
        b"[" * (4 << 20),
        b"[" * (2 << 20) + b"]" * (2 << 20),
        b'"' + b'\\"' * (2 << 20),
        b"[]," * (1 << 20),
        b'"a",' * (1 << 20),
    ],
    ids=["openers", "balanced", "escaped-quotes", "wide", "strings"],
)
def test_the_depth_check_is_fast_on_4_mib_of_hostile_json(text: bytes) -> None:
    started = time.perf_counter()
    nesting_depth_exceeds(text, MAX_JSON_DEPTH)
    # Well under a second unloaded; generous for a busy CI machine.
    assert time.perf_counter() - started < 5.0


def test_a_small_thread_stack_survives_deep_json() -> None:
    # In its own process: if the bound were missing, the stack overflow would kill it.
    code = textwrap.dedent(
        f"""
        import threading
        from scraper_core.errors import ManifestError
        from scraper_core.manifest import parse_manifest
        from tests.test_deep_json import SOUND, with_deep_field
        results = []
        def parse(depth):
            try:
                parse_manifest(with_deep_field(SOUND, depth), "m")
                results.append("parsed")
            except ManifestError:
                results.append("refused")
        threading.stack_size(64 * 1024)
        for depth in (90, {DEEP}):
            thread = threading.Thread(target=parse, args=(depth,))
            thread.start()
            thread.join()
        print(results)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout.decode().strip() == "['parsed', 'refused']"


def _put_manifest(server: RegistryServer, name: str, tag: str, body: bytes) -> int:
    status, _headers, answer = server.http_request(
        "PUT",
        f"/v2/{name}/manifests/{tag}",
        headers={"Content-Type": OCI_MANIFEST},
        body=body,
    )
    assert status in (201, 400), answer[:500]
    return status


@pytest.mark.e2e
def test_deep_manifest_through_a_real_registry_fails_alone(
    registry_server: RegistryServer, skopeo_binary: str, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    one = build_image(layout, "one", seed="deep-one")
    build_image(layout, "two", seed="deep-two")
    for ref_name, target in (("one", "app:one"), ("two", "app:two"), ("one", "other:1")):
        push(layout, ref_name, registry_server.url, target)
    # The registry decodes with Go's encoding/json (10,000 levels) and stores it.
    assert _put_manifest(registry_server, "app", "deep", with_deep_field(one.manifest)) == 201
    assert registry_server.get_manifest("app", "deep")[0] == 200
    root = registry_server.rootdir
    assert root is not None

    copy = tmp_path / "copy"
    scrape = run_scrape("--data-dir", str(root), "--output-dir", str(copy), "--all-tags", "*")
    verify = run_scrape("verify", "--data-dir", str(root))
    listing = run_scrape("list", "--data-dir", str(root))
    copied = run_scrape("verify", "--data-dir", str(copy), "--json")

    def one_line_naming_it(result: Completed) -> bool:
        lines = result.error_lines
        return (
            result.returncode == 1
            and "Traceback" not in result.stderr
            and len(lines) == 1
            and "app:deep" in lines[0]
            and "nested deeper than" in lines[0]
        )

    tags = copy / "docker/registry/v2/repositories/app/_manifests/tags"
    with recorded("deep-json-manifest"):
        for result in (scrape, verify):
            assert one_line_naming_it(result), result.describe()
        assert listing.returncode == 0, listing.describe()
        assert listing.stdout.splitlines() == ["app  deep one two", "other  1"]
        assert copied.returncode == 0, copied.describe()
        report = json.loads(copied.stdout)
        assert (report["repositories"], report["tags"]) == (2, 3)
        assert sorted(path.name for path in tags.iterdir()) == ["one", "two"]
